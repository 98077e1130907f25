package kql

import (
	"bytes"
	"encoding/json"
)

// More of Kusto's documented functions: series_stats (several columns, from
// series_stats_dynamic's bag), bag_pack_columns (a bag keyed by the column
// names), bitset_count_ones (set bits of a 64-bit number), repeat (count
// copies of a value; a negative count is null), zip (arrays side by side,
// the shorter ones padded with nulls), jaccard_index (|A ∩ B| / |A ∪ B| of
// the distinct elements, compared as the set_* functions do, by their
// JSON), bag_zip (keys from one array, values from the other: extra values
// dropped, missing ones null, keys that are not strings skipped).

var moreFunctions = map[string]funcDef{
	"bag_pack_columns":  sig(1, variadic, TypeDynamic).with(checkPackColumns),
	"bitset_count_ones": sig(1, 1, TypeLong, argWhole),
	"repeat":            sig(2, 2, TypeDynamic, argScalar, argWhole),
	"zip":               sig(2, 16, TypeDynamic, argDynamic),
	"jaccard_index":     sig(2, 2, TypeReal, argDynamic, argDynamic),
	"bag_zip":           sig(2, 2, TypeDynamic, argDynamic, argDynamic).with(goCall("_tb_bag_zip", TypeDynamic)),
}

// maxRepeat bounds repeat's array.
const maxRepeat = 1 << 20

func checkPackColumns(ck *checker, c *Call, a []texpr) texpr {
	args := make([]texpr, 0, 2*len(a))
	for i, x := range a {
		id, ok := c.Args[i].(*Ident)
		if !ok {
			ck.fail(c.Args[i].Position(), "the arguments of bag_pack_columns must be columns")
		}
		args = append(args, &tLiteral{value: id.Name, t: TypeString}, x)
	}
	return mkCall("pack", TypeDynamic, args...)
}

var duckdbMore = map[string]sqlFunc{
	"bitset_count_ones": tmpl("CAST(bit_count(CAST($0 AS BIGINT)) AS BIGINT)"),
	"repeat": func(c sqlCall) frag {
		n := c.arg(1)
		return cat("(CASE WHEN ", n, " < 0 THEN NULL WHEN ", n, " > ", param(int64(maxRepeat)), " THEN error(", param("repeat makes at most 1048576 elements"), ") ELSE to_json(list_transform(range(CAST(", n, " AS BIGINT)), _tb_i -> ", c.pl.duckJSON(c.arg(0), c.typ(0)), ")) END)")
	},
	"zip": func(c sqlCall) frag {
		lists := make([]frag, len(c.e.args))
		lens := make([]frag, len(c.e.args))
		elems := make([]frag, len(c.e.args))
		for i := range c.e.args {
			lists[i] = cat("CAST(", c.arg(i), " AS JSON[])")
			lens[i] = cat("len(", lists[i], ")")
			elems[i] = cat(lists[i], "[_tb_i + 1]")
		}
		return cat("to_json(list_transform(range(greatest(", joinFrags(lens, ", "), ")), _tb_i -> [", joinFrags(elems, ", "), "]))")
	},
	"jaccard_index": func(c sqlCall) frag {
		a, b := cat("CAST(", c.arg(0), " AS JSON[])"), cat("CAST(", c.arg(1), " AS JSON[])")
		return cat("(CAST(len(list_distinct(list_filter(", a, ", _tb_e -> list_contains(", b, ", _tb_e)))) AS DOUBLE) / len(list_distinct(flatten([", a, ", ", b, "]))))")
	},
}

var _ = registerGo(GoFunc{Name: "_tb_bag_zip", Args: []Type{TypeDynamic, TypeDynamic}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	var keys []any
	var vals []json.RawMessage
	if json.Unmarshal([]byte(a[0].(string)), &keys) != nil || json.Unmarshal([]byte(a[1].(string)), &vals) != nil {
		return nil, nil
	}
	// Written key by key: the bag keeps the keys' order, and a repeated
	// key keeps its last value, as a JSON object read later would.
	seen := map[string]int{}
	var names []string
	values := map[string]json.RawMessage{}
	for i, k := range keys {
		name, ok := k.(string)
		if !ok {
			continue
		}
		if _, dup := seen[name]; !dup {
			seen[name] = len(names)
			names = append(names, name)
		}
		v := json.RawMessage("null")
		if i < len(vals) {
			v = vals[i]
		}
		values[name] = v
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(values[name])
	}
	b.WriteByte('}')
	return b.String(), nil
}})

// ClickHouse 18.16 has no bitCount: bitset_count_ones is DuckDB only.
var clickhouseMore = map[string]sqlFunc{}

// seriesStatsParts are series_stats' columns, in the order of Kusto's
// example output.
var seriesStatsParts = []struct {
	key string
	t   Type
}{{"min", TypeReal}, {"min_idx", TypeLong}, {"max", TypeReal}, {"max_idx", TypeLong}, {"avg", TypeReal}, {"stdev", TypeReal}, {"variance", TypeReal}}

func checkSeriesStats(ck *checker, c *Call, a []texpr) ([]tupleCol, bool) {
	ck.need(c, a, 0, a[0].typ() == TypeDynamic, "a dynamic array of numbers")
	if len(a) == 2 {
		ck.need(c, a, 1, a[1].typ() == TypeBool, "a bool (ignore_nonfinite)")
	}
	stats := mkCall("series_stats_dynamic", TypeDynamic, a...)
	cols := make([]tupleCol, len(seriesStatsParts))
	for i, p := range seriesStatsParts {
		path := &tPath{x: stats, path: []pathElem{{key: p.key}}}
		fn := "todouble"
		if p.t == TypeLong {
			fn = "tolong"
		}
		cols[i] = tupleCol{name: ck.tupleName(c, p.key), e: mkCall(fn, p.t, path)}
	}
	return cols, true
}

// columnIfExists is column_ifexists(name, default): the column when the
// input has it (name is a constant), else the default, checked while the
// query is analysed.
func (ck *checker) columnIfExists(c *Call, cols []Column) texpr {
	if len(c.Args) != 2 {
		ck.fail(c.NamePos, "%s takes 2 argument(s), not %d", c.Name, len(c.Args))
	}
	l, ok := c.Args[0].(*Literal)
	name, isString := "", false
	if ok {
		name, isString = l.Value.(string)
	}
	if !isString {
		ck.fail(c.Args[0].Position(), "argument 1 of %s must be a constant string (the column name)", c.Name)
	}
	if i := findColumn(cols, name); i >= 0 {
		return &tColumn{idx: i, t: cols[i].Type}
	}
	return ck.expr(c.Args[1], cols)
}
