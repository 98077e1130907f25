package kql

import (
	"fmt"
	"strings"
)

// aggregate computes non-column keys in an inner SELECT first: engines
// cannot match a GROUP BY expression containing parameters with the same
// expression in the select list, but they can group by a column.
func (pl *planner) aggregate(r *relAggregate) stage {
	in := pl.relation(r.in)
	keyCols := make([]string, len(r.keys))
	var pre []frag
	for i, k := range r.keys {
		if c, ok := k.(*tColumn); ok {
			keyCols[i] = in.cols[c.idx]
			continue
		}
		keyCols[i] = pl.internal("k")
		pre = append(pre, cat(pl.expr(k, in.cols), " AS ", quoteIdent(keyCols[i])))
	}
	if len(pre) > 0 {
		in = stage{src: pl.selectFrom(joinFrags(append([]frag{raw("*")}, pre...), ", "), in, frag{}), cols: in.cols}
	}
	names := pl.sqlNames(r.cols[:len(r.keys)], nil)
	var list []frag
	for i, k := range keyCols {
		list = append(list, raw(quoteIdent(k)+" AS "+quoteIdent(names[i])))
	}
	// Aggregates of one arg_max/arg_min group become one call over a tuple,
	// so that all returned columns come from the same row.
	type groupInfo struct {
		name   string
		fields []texpr
		by     texpr
		fn     string
	}
	groups := map[int]*groupInfo{}
	var groupOrder []int
	aggNames := make([]string, len(r.aggs))
	groupField := make([]int, len(r.aggs))
	for i, a := range r.aggs {
		if a.fn == "arg_max" || a.fn == "arg_min" {
			g, ok := groups[a.group]
			if !ok {
				g = &groupInfo{name: pl.internal("g"), by: a.args[0], fn: a.fn}
				groups[a.group] = g
				groupOrder = append(groupOrder, a.group)
			}
			groupField[i] = len(g.fields)
			g.fields = append(g.fields, a.value)
			continue
		}
		aggNames[i] = pl.internal("a")
		list = append(list, cat(pl.aggregateSQL(a, in.cols), " AS ", quoteIdent(aggNames[i])))
	}
	for _, gid := range groupOrder {
		g := groups[gid]
		list = append(list, cat(pl.argMinMax(g.fn, g.fields, g.by, in.cols), " AS ", quoteIdent(g.name)))
	}
	tail := frag{}
	if len(keyCols) > 0 {
		gb := make([]string, len(keyCols))
		for i, k := range keyCols {
			gb[i] = quoteIdent(k)
		}
		tail = raw(" GROUP BY " + strings.Join(gb, ", "))
	}
	grouped := stage{src: pl.selectFrom(joinFrags(list, ", "), in, tail)}
	grouped.cols = append(append(grouped.cols, names...), aggNames...)
	if len(groups) == 0 {
		return grouped
	}
	// Unpack the tuples into one column per returned value.
	out := make([]frag, 0, len(r.cols))
	cols := append([]string(nil), names...)
	for _, n := range names {
		out = append(out, raw(quoteIdent(n)))
	}
	for i, a := range r.aggs {
		if a.fn != "arg_max" && a.fn != "arg_min" {
			out = append(out, raw(quoteIdent(aggNames[i])))
			cols = append(cols, aggNames[i])
			continue
		}
		name := pl.internal("a")
		g := groups[a.group].name
		var field string
		if pl.d == ClickHouse {
			field = fmt.Sprintf("tupleElement(%s, %d)", quoteIdent(g), groupField[i]+1)
		} else {
			field = fmt.Sprintf("struct_extract(%s, 'v%d')", quoteIdent(g), groupField[i])
		}
		out = append(out, raw(field+" AS "+quoteIdent(name)))
		cols = append(cols, name)
	}
	return stage{src: pl.selectFrom(joinFrags(out, ", "), grouped, frag{}), cols: cols}
}

func (pl *planner) argMinMax(fn string, fields []texpr, by texpr, cols []string) frag {
	parts := make([]frag, len(fields))
	for i, f := range fields {
		if pl.d == ClickHouse {
			parts[i] = pl.expr(f, cols)
		} else {
			parts[i] = cat(fmt.Sprintf("v%d := ", i), pl.expr(f, cols))
		}
	}
	if pl.d == ClickHouse {
		name := "argMax"
		if fn == "arg_min" {
			name = "argMin"
		}
		return cat(name+"(tuple(", joinFrags(parts, ", "), "), ", pl.expr(by, cols), ")")
	}
	return cat(fn+"(struct_pack(", joinFrags(parts, ", "), "), ", pl.expr(by, cols), ")")
}

func (pl *planner) aggregateSQL(a aggregate, cols []string) frag {
	ch := pl.d == ClickHouse
	arg := func(i int) frag { return pl.expr(a.args[i], cols) }
	switch a.fn {
	case "count":
		if ch {
			return raw("count()")
		}
		return raw("count(*)")
	case "countif":
		if ch {
			return cat("countIf(", arg(0), ")")
		}
		return cat("count_if(", arg(0), ")")
	case "sum", "sumif":
		var s frag
		switch {
		case ch && a.fn == "sumif":
			// sumIf gives 0 when no row matches; Kusto (and DuckDB) give null.
			s = cat("if(countIf(isNotNull(", arg(0), ") AND ", arg(1), ") = 0, NULL, sumIf(", arg(0), ", ", arg(1), "))")
		case ch:
			s = cat("sum(", arg(0), ")")
		case a.fn == "sumif":
			s = cat("sum(", arg(0), ") FILTER (WHERE ", arg(1), ")")
		default:
			s = cat("sum(", arg(0), ")")
		}
		// DuckDB sums integers into HUGEINT; Kusto's sum of longs is a long.
		if !ch && a.t == TypeLong {
			return cat("CAST(", s, " AS BIGINT)")
		}
		return s
	case "avg", "min", "max":
		return cat(a.fn+"(", arg(0), ")")
	case "dcount":
		if ch {
			return cat("uniq(", arg(0), ")")
		}
		return cat("approx_count_distinct(", arg(0), ")")
	case "percentile":
		level, err := inlineNumber(a.level / 100)
		if err != nil {
			panic(err)
		}
		// Kusto's percentile returns a value of the set (nearest rank),
		// which quantile_disc matches better than interpolation.
		if ch {
			// Nearest rank, exactly: ClickHouse's quantile() samples and
			// interpolates, and quantileExact picks the rank above.
			x := arg(0)
			return cat("if(count(", x, ") = 0, NULL, arrayElement(arraySort(groupArray(", x, ")), toUInt64(greatest(1, ceil("+level+" * count(", x, "))))))")
		}
		return cat("quantile_disc(", arg(0), ", "+level+")")
	case "make_list", "make_set":
		if ch {
			fn := "groupArray"
			if a.fn == "make_set" {
				fn = "groupUniqArray"
			}
			return pl.chJSONArray(cat(fn+"(", arg(0), ")"), a.args[0].typ())
		}
		distinct := ""
		if a.fn == "make_set" {
			distinct = "DISTINCT "
		}
		x := arg(0)
		return cat("COALESCE(to_json(list("+distinct, x, ") FILTER (WHERE ", x, " IS NOT NULL)), CAST('[]' AS JSON))")
	case "any":
		if ch {
			return cat("any(", arg(0), ")")
		}
		return cat("any_value(", arg(0), ")")
	}
	panic(fmt.Sprintf("unexpected aggregate %s", a.fn))
}

// chJSONArray renders a ClickHouse array as JSON text, since ClickHouse
// 18.16 has no JSON serialisation function.
func (pl *planner) chJSONArray(arr frag, elem Type) frag {
	return cat("concat('[', arrayStringConcat(arrayMap(x -> ", raw(chJSONValue("x", elem)), ", ", arr, "), ','), ']')")
}

func chJSONValue(x string, t Type) string {
	switch t {
	case TypeLong, TypeInt, TypeReal, TypeTimespan:
		return "toString(" + x + ")"
	case TypeBool:
		return "if(" + x + ", 'true', 'false')"
	case TypeDynamic:
		return x
	case TypeDatetime:
		return chJSONString("concat(replaceOne(toString(" + x + ", 'UTC'), ' ', 'T'), 'Z')")
	}
	return chJSONString(x)
}

func chJSONString(x string) string {
	return `concat('"', replaceAll(replaceAll(` + x + `, '\\', '\\\\'), '"', '\\"'), '"')`
}
