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
		in = stage{src: pl.selectFrom(joinFrags(append([]frag{raw("*")}, pre...), ", "), in, frag{}), cols: in.cols, order: in.order}
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
		list = append(list, cat(pl.aggregateSQL(a, in.cols, in.order), " AS ", quoteIdent(aggNames[i])))
	}
	for _, gid := range groupOrder {
		g := groups[gid]
		list = append(list, cat(pl.argMinMax(g.fn, g.fields, g.by, in.cols, in.order), " AS ", quoteIdent(g.name)))
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

func (pl *planner) argMinMax(fn string, fields []texpr, by texpr, cols []string, order []orderKey) frag {
	parts := make([]frag, len(fields))
	for i, f := range fields {
		if pl.d == ClickHouse {
			parts[i] = pl.expr(f, cols)
		} else {
			parts[i] = cat(fmt.Sprintf("v%d := ", i), pl.expr(f, cols))
		}
	}
	// When every value to maximise is null, Kusto still returns a row of
	// the group; the engines skip null keys and would return none.
	b := pl.expr(by, cols)
	if pl.d == ClickHouse {
		name := "argMax"
		if fn == "arg_min" {
			name = "argMin"
		}
		tuple := cat("tuple(", joinFrags(parts, ", "), ")")
		return cat("if(count(", b, ") = 0, any(", tuple, "), "+name+"(", tuple, ", ", b, "))")
	}
	st := cat("struct_pack(", joinFrags(parts, ", "), ")")
	firstOrder := ""
	if len(order) > 0 {
		// The first row of a serialized input, as Kusto returns.
		firstOrder = " ORDER BY " + orderBy(order)
	}
	return cat("(CASE WHEN count(", b, ") = 0 THEN first(", st, firstOrder+") ELSE "+fn+"(", st, ", ", b, ") END)")
}

func (pl *planner) aggregateSQL(a aggregate, cols []string, order []orderKey) frag {
	table := duckdbAggregates
	if pl.d == ClickHouse {
		table = clickhouseAggregates
	}
	f, ok := table[a.fn]
	if !ok {
		pl.fail("aggregate %s is not supported on %s", a.fn, pl.d)
	}
	return f(aggSQL{pl: pl, a: a, cols: cols, order: order})
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
