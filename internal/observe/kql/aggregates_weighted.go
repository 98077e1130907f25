package kql

// Weighted percentiles: percentilew(x, weight, p) and percentilesw(x,
// weight, p1, p2, ...), the nearest rank of the values each counted weight
// times, as Kusto documents (the value at which the running weight first
// reaches p % of the total). Rows with a null value or a weight below 1
// count for nothing. DuckDB walks the sorted (value, weight) pairs once;
// ClickHouse has quantileExactWeighted, which stops at the same value.

func checkPercentileW(ck *checker, c *Call, a []texpr) aggregate {
	x, w := a[0], a[1]
	if !x.typ().isNumeric() && x.typ() != TypeDatetime && x.typ() != TypeTimespan {
		ck.fail(c.Args[0].Position(), "%s needs a number, datetime or timespan, but this is %s", c.Name, x.typ())
	}
	ck.need(c, a, 1, w.typ().isInteger(), "a whole-number weight")
	return aggregate{fn: "percentilew", args: []texpr{x, w}, level: ck.percentileLevel(c.Args[2]), t: percentileType(x.typ())}
}

// percentilesW adds the columns of percentilesw to a summarize.
func (ck *checker) percentilesW(agg *relAggregate, call *Call, cols []Column, add func(name string, t Type, idx int)) {
	if len(call.Args) < 3 {
		ck.fail(call.NamePos, "percentilesw needs a value, a weight and at least one percentile, such as percentilesw(x, w, 50, 95)")
	}
	value := ck.aggArg(call, 0, cols)
	weight := ck.aggArg(call, 1, cols)
	a := checkPercentileW(ck, &Call{Name: call.Name, NamePos: call.NamePos, Args: call.Args[:3]}, []texpr{value, weight})
	for _, lvl := range call.Args[2:] {
		a.level = ck.percentileLevel(lvl)
		agg.aggs = append(agg.aggs, a)
		add("percentile_"+ck.resultName(call.Args[0], cols)+"_"+validNameFragment(lvl.String()), a.t, len(agg.aggs)-1)
	}
}

func duckPercentileW(c aggSQL) frag {
	x, w := c.arg(0), c.arg(1)
	keep := cat(x, " IS NOT NULL AND ", w, " >= 1")
	target := cat("greatest(1, ceil("+c.pl.level(c.a)+" * sum(", w, ") FILTER (WHERE ", keep, ")))")
	pairs := cat("list_sort(list(struct_pack(v := ", x, ", w := CAST(", w, " AS HUGEINT))) FILTER (WHERE ", keep, "))")
	return cat("(list_reduce(", pairs, ", (acc, e) -> CASE WHEN acc.c >= ", target, " THEN acc ELSE struct_pack(c := acc.c + e.w, v := e.v) END, struct_pack(c := CAST(0 AS HUGEINT), v := ", c.pl.d.nullOf(c.a.args[0].typ()), "))).v")
}

func chPercentileW(c aggSQL) frag {
	x, w := c.arg(0), c.arg(1)
	return cat("if(countIf(isNotNull(", x, ") AND ", w, " >= 1) = 0, NULL, quantileExactWeightedIf("+c.pl.level(c.a)+")(", x, ", toUInt64(greatest(", w, ", 0)), isNotNull(", x, ") AND ", w, " >= 1))")
}

func init() {
	duckdbAggregates["percentilew"] = duckPercentileW
	clickhouseAggregates["percentilew"] = chPercentileW
}

// percentilesArray rewrites percentiles_array(x, p1, p2, ...) and
// percentilesw_array(x, w, p1, ...) as the array of the percentiles, one
// dynamic column named percentile_x as Kusto names it.
func (ck *checker) percentilesArray(call *Call, cols []Column) (Expr, string) {
	fixed, fn := 1, "percentile"
	if call.Name == "percentilesw_array" {
		fixed, fn = 2, "percentilew"
	}
	if len(call.Args) <= fixed {
		ck.fail(call.NamePos, "%s needs a value%s and at least one percentile", call.Name, map[bool]string{true: ", a weight", false: ""}[fixed == 2])
	}
	parts := make([]Expr, 0, len(call.Args)-fixed)
	for _, p := range call.Args[fixed:] {
		args := append(append([]Expr{}, call.Args[:fixed]...), p)
		parts = append(parts, &Call{NamePos: call.NamePos, Name: fn, Args: args})
	}
	return &Call{NamePos: call.NamePos, Name: "pack_array", Args: parts}, "percentile_" + ck.resultName(call.Args[0], cols)
}
