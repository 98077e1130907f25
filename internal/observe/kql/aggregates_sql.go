package kql

// aggSQL is an aggregate being planned.
type aggSQL struct {
	pl    *planner
	a     aggregate
	cols  []string
	order []orderKey // the input's row order, which lists keep
}

// orderSuffix orders a list aggregate by the input's order, when it has one:
// Kusto's lists of a serialized input keep its order.
func (c aggSQL) orderSuffix() string {
	if len(c.order) == 0 {
		return ""
	}
	return " ORDER BY " + orderBy(c.order)
}

func (c aggSQL) arg(i int) frag { return c.pl.expr(c.a.args[i], c.cols) }

// limit is the constant maxSize argument at i, or 0.
func (c aggSQL) limit(i int) int64 {
	if i < len(c.a.args) {
		n, _ := constInt(c.a.args[i])
		return n
	}
	return 0
}

type aggFunc func(c aggSQL) frag

// duckdbAggregates is the DuckDB SQL of each aggregate of the registry.
var duckdbAggregates = map[string]aggFunc{
	"count": func(c aggSQL) frag {
		if len(c.a.args) == 1 {
			return cat("count(", c.arg(0), ")")
		}
		return raw("count(*)")
	},
	"countif":          func(c aggSQL) frag { return cat("count_if(", c.arg(0), ")") },
	"count_distinct":   func(c aggSQL) frag { return cat("count(DISTINCT ", c.arg(0), ")") },
	"count_distinctif": func(c aggSQL) frag { return cat("count(DISTINCT ", c.arg(0), ") FILTER (WHERE ", c.arg(1), ")") },
	"dcount":           func(c aggSQL) frag { return cat("approx_count_distinct(", c.arg(0), ")") },
	"dcountif":         func(c aggSQL) frag { return cat("approx_count_distinct(", c.arg(0), ") FILTER (WHERE ", c.arg(1), ")") },
	"sum":              func(c aggSQL) frag { return duckSum(c, cat("sum(", c.arg(0), ")")) },
	"sumif":            func(c aggSQL) frag { return duckSum(c, cat("sum(", c.arg(0), ") FILTER (WHERE ", c.arg(1), ")")) },
	"avg":              duckAgg("avg", false),
	"avgif":            duckAgg("avg", true),
	"min":              duckAgg("min", false),
	"max":              duckAgg("max", false),
	"minif":            duckAgg("min", true),
	"maxif":            duckAgg("max", true),
	"stdev":            duckAgg("stddev_samp", false),
	"stdevp":           duckAgg("stddev_pop", false),
	"stdevif":          duckAgg("stddev_samp", true),
	"stdevpif":         duckAgg("stddev_pop", true),
	"variance":         duckAgg("var_samp", false),
	"variancep":        duckAgg("var_pop", false),
	"varianceif":       duckAgg("var_samp", true),
	"variancepif":      duckAgg("var_pop", true),
	"binary_all_and":   duckAgg("bit_and", false),
	"binary_all_or":    duckAgg("bit_or", false),
	"binary_all_xor":   duckAgg("bit_xor", false),
	"any":              duckAgg("any_value", false),
	"take_anyif":       duckAgg("any_value", true),
	"percentile": func(c aggSQL) frag {
		// Kusto's percentile returns a value of the set (nearest rank),
		// which quantile_disc matches better than interpolation.
		return cat("quantile_disc(", c.arg(0), ", "+c.pl.level(c.a)+")")
	},
	"make_list":            duckList("", 1, nil, false),
	"make_list_if":         duckList("", 2, ptr(1), false),
	"make_list_with_nulls": duckList("", 1, nil, true),
	"make_set":             duckList("DISTINCT ", 1, nil, false),
	"make_set_if":          duckList("DISTINCT ", 2, ptr(1), false),
	"make_bag":             duckBag(nil),
	"covariance":           func(c aggSQL) frag { return cat("covar_samp(", c.arg(0), ", ", c.arg(1), ")") },
	"covariancep":          func(c aggSQL) frag { return cat("covar_pop(", c.arg(0), ", ", c.arg(1), ")") },
	"make_bag_if":          duckBag(ptr(1)),
}

func ptr(i int) *int { return &i }

func duckSum(c aggSQL, s frag) frag {
	// DuckDB sums integers into HUGEINT; Kusto's sum of longs is a long.
	if c.a.t == TypeLong {
		return cat("CAST(", s, " AS BIGINT)")
	}
	return s
}

// duckAgg is fn(x), with FILTER (WHERE pred) for the -if variants whose
// predicate is the second argument.
func duckAgg(fn string, filtered bool) aggFunc {
	return func(c aggSQL) frag {
		if filtered {
			return cat(fn+"(", c.arg(0), ") FILTER (WHERE ", c.arg(1), ")")
		}
		return cat(fn+"(", c.arg(0), ")")
	}
}

// duckList is make_list/make_set and their -if variants: nulls are left
// out (unless withNulls), an empty group gives [], maxSize cuts the list.
// make_set of arrays collects their elements, as Kusto's does.
func duckList(distinct string, limitArg int, pred *int, withNulls bool) aggFunc {
	return func(c aggSQL) frag {
		x := c.arg(0)
		cond := cat(x, " IS NOT NULL")
		if withNulls {
			cond = raw("true")
		}
		if pred != nil {
			cond = cat(cond, " AND ", c.arg(*pred))
		}
		// Sets keep the first occurrence of each value, in input order.
		var l frag
		switch {
		case distinct != "" && c.a.args[0].typ() == TypeDynamic:
			l = duckDistinct(cat("flatten(list(CASE WHEN json_type(", x, ") = 'ARRAY' THEN CAST(", x, " AS JSON[]) ELSE [", x, "] END"+c.orderSuffix()+") FILTER (WHERE ", cond, "))"))
		case distinct != "":
			l = duckDistinct(cat("list(", x, c.orderSuffix()+") FILTER (WHERE ", cond, ")"))
		default:
			l = cat("list(", x, c.orderSuffix()+") FILTER (WHERE ", cond, ")")
		}
		if n := c.limit(limitArg); n > 0 {
			ns, _ := inlineNumber(float64(n))
			l = cat("list_slice(", l, ", 1, "+ns+")")
		}
		return cat("COALESCE(to_json(", l, "), CAST('[]' AS JSON))")
	}
}

// duckBag merges the property bags of the group; later keys win.
func duckBag(pred *int) aggFunc {
	return func(c aggSQL) frag {
		x := c.arg(0)
		cond := cat("json_type(", x, ") = 'OBJECT'")
		if pred != nil {
			cond = cat(cond, " AND ", c.arg(*pred))
		}
		return cat("COALESCE(list_reduce(list(", x, ") FILTER (WHERE ", cond, "), (a, b) -> json_merge_patch(a, b)), CAST('{}' AS JSON))")
	}
}

// level is the percentile level as a fraction, inlined: both engines need
// a constant there.
func (pl *planner) level(a aggregate) string {
	level, err := inlineNumber(a.level / 100)
	if err != nil {
		panic(err)
	}
	return level
}

// clickhouseAggregates is the ClickHouse 18.16 SQL of each aggregate; one
// missing here is refused on ClickHouse with an error naming it.
var clickhouseAggregates = map[string]aggFunc{
	"count": func(c aggSQL) frag {
		if len(c.a.args) == 1 {
			return cat("count(", c.arg(0), ")")
		}
		return raw("count()")
	},
	"countif":          func(c aggSQL) frag { return cat("countIf(", c.arg(0), ")") },
	"count_distinct":   func(c aggSQL) frag { return cat("uniqExact(", c.arg(0), ")") },
	"count_distinctif": func(c aggSQL) frag { return cat("uniqExactIf(", c.arg(0), ", ", c.arg(1), ")") },
	"dcount":           func(c aggSQL) frag { return cat("uniq(", c.arg(0), ")") },
	"dcountif":         func(c aggSQL) frag { return cat("uniqIf(", c.arg(0), ", ", c.arg(1), ")") },
	"sum":              func(c aggSQL) frag { return cat("sum(", c.arg(0), ")") },
	"sumif": func(c aggSQL) frag {
		// sumIf gives 0 when no row matches; Kusto (and DuckDB) give null.
		return cat("if(countIf(isNotNull(", c.arg(0), ") AND ", c.arg(1), ") = 0, NULL, sumIf(", c.arg(0), ", ", c.arg(1), "))")
	},
	"avg":            chAgg("avg", false),
	"avgif":          chAgg("avg", true),
	"min":            chAgg("min", false),
	"max":            chAgg("max", false),
	"minif":          chAgg("min", true),
	"maxif":          chAgg("max", true),
	"stdev":          chAgg("stddevSamp", false),
	"stdevp":         chAgg("stddevPop", false),
	"stdevif":        chAgg("stddevSamp", true),
	"stdevpif":       chAgg("stddevPop", true),
	"variance":       chAgg("varSamp", false),
	"variancep":      chAgg("varPop", false),
	"varianceif":     chAgg("varSamp", true),
	"variancepif":    chAgg("varPop", true),
	"binary_all_and": func(c aggSQL) frag { return cat("toInt64(groupBitAnd(toUInt64(", c.arg(0), ")))") },
	"binary_all_or":  func(c aggSQL) frag { return cat("toInt64(groupBitOr(toUInt64(", c.arg(0), ")))") },
	"binary_all_xor": func(c aggSQL) frag { return cat("toInt64(groupBitXor(toUInt64(", c.arg(0), ")))") },
	"any":            chAgg("any", false),
	"take_anyif":     chAgg("any", true),
	"percentile": func(c aggSQL) frag {
		// Nearest rank, exactly: ClickHouse's quantile() samples and
		// interpolates, and quantileExact picks the rank above.
		x := c.arg(0)
		return cat("if(count(", x, ") = 0, NULL, arrayElement(arraySort(groupArray(", x, ")), toUInt64(greatest(1, ceil("+c.pl.level(c.a)+" * count(", x, "))))))")
	},
	"covariance":   func(c aggSQL) frag { return cat("covarSamp(", c.arg(0), ", ", c.arg(1), ")") },
	"covariancep":  func(c aggSQL) frag { return cat("covarPop(", c.arg(0), ", ", c.arg(1), ")") },
	"make_list":    chList("groupArray", 1, nil),
	"make_list_if": chList("groupArray", 2, ptr(1)),
	"make_set":     chList("groupUniqArray", 1, nil),
	"make_set_if":  chList("groupUniqArray", 2, ptr(1)),
}

func chAgg(fn string, filtered bool) aggFunc {
	return func(c aggSQL) frag {
		if filtered {
			return cat(fn+"If(", c.arg(0), ", ", c.arg(1), ")")
		}
		return cat(fn+"(", c.arg(0), ")")
	}
}

func chList(fn string, limitArg int, pred *int) aggFunc {
	return func(c aggSQL) frag {
		if fn == "groupUniqArray" && c.a.args[0].typ() == TypeDynamic {
			c.pl.fail("make_set of a dynamic value is not supported on ClickHouse 18.16, which cannot split JSON arrays")
		}
		name := fn
		if n := c.limit(limitArg); n > 0 {
			ns, _ := inlineNumber(float64(n))
			name += "(" + ns + ")"
		}
		if pred != nil {
			return c.pl.chJSONArray(cat(fn+"If(", c.arg(0), ", ", c.arg(*pred), ")"), c.a.args[0].typ())
		}
		return c.pl.chJSONArray(cat(name+"(", c.arg(0), ")"), c.a.args[0].typ())
	}
}
