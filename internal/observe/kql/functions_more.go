package kql

// More of Kusto's documented functions: series_stats (several columns, from
// series_stats_dynamic's bag), bag_pack_columns (a bag keyed by the column
// names) and bitset_count_ones (set bits of a 64-bit number).

var moreFunctions = map[string]funcDef{
	"bag_pack_columns":  sig(1, variadic, TypeDynamic).with(checkPackColumns),
	"bitset_count_ones": sig(1, 1, TypeLong, argWhole),
}

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
}

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
