package kql

// The aggregate function registry, the counterpart of functions.go for
// summarize: arity, argument kinds, result type and an optional check hook
// per aggregate; the SQL is in aggregates_sql.go, one table per dialect.
// arg_max, arg_min and percentiles make several columns and are handled by
// summarize itself.

type aggDef struct {
	min, max int
	args     []argKind
	prefix   string // the result column's name prefix (sum for sum_x); default the name
	result   func(args []texpr) Type
	check    func(ck *checker, c *Call, a []texpr) aggregate // typing beyond the kinds
	name     string                                          // the canonical name in the plan
}

func agg(min, max int, result func(args []texpr) Type, args ...argKind) aggDef {
	return aggDef{min: min, max: max, args: args, result: result}
}

func (d aggDef) named(prefix string) aggDef { d.prefix = prefix; return d }
func (d aggDef) alias(name string) aggDef   { d.name = name; return d }
func (d aggDef) with(check func(ck *checker, c *Call, a []texpr) aggregate) aggDef {
	d.check = check
	return d
}

func fixed(t Type) func([]texpr) Type { return func([]texpr) Type { return t } }

// sumType is Kusto's: integers sum to long.
func sumType(a []texpr) Type {
	if a[0].typ().isInteger() {
		return TypeLong
	}
	return a[0].typ()
}

func firstType(a []texpr) Type { return a[0].typ() }

var aggregates = map[string]aggDef{
	"count":                agg(0, 1, fixed(TypeLong)),
	"countif":              agg(1, 1, fixed(TypeLong), argBool),
	"count_distinct":       agg(1, 1, fixed(TypeLong), argScalar),
	"count_distinctif":     agg(2, 2, fixed(TypeLong), argScalar, argBool).named("count_distinctif"),
	"dcount":               agg(1, 2, fixed(TypeLong), argScalar, argConstWhole),
	"dcountif":             agg(2, 3, fixed(TypeLong), argScalar, argBool, argConstWhole),
	"sum":                  agg(1, 1, sumType).with(checkSum),
	"sumif":                agg(2, 2, sumType, argAny, argBool).with(checkSum),
	"avg":                  agg(1, 1, fixed(TypeReal), argNumber),
	"avgif":                agg(2, 2, fixed(TypeReal), argNumber, argBool),
	"min":                  agg(1, 1, firstType, argScalar),
	"max":                  agg(1, 1, firstType, argScalar),
	"minif":                agg(2, 2, firstType, argScalar, argBool),
	"maxif":                agg(2, 2, firstType, argScalar, argBool),
	"stdev":                agg(1, 1, fixed(TypeReal), argNumber),
	"stdevp":               agg(1, 1, fixed(TypeReal), argNumber),
	"stdevif":              agg(2, 2, fixed(TypeReal), argNumber, argBool),
	"stdevpif":             agg(2, 2, fixed(TypeReal), argNumber, argBool),
	"variance":             agg(1, 1, fixed(TypeReal), argNumber),
	"variancep":            agg(1, 1, fixed(TypeReal), argNumber),
	"varianceif":           agg(2, 2, fixed(TypeReal), argNumber, argBool),
	"variancepif":          agg(2, 2, fixed(TypeReal), argNumber, argBool),
	"binary_all_and":       agg(1, 1, fixed(TypeLong), argWhole),
	"binary_all_or":        agg(1, 1, fixed(TypeLong), argWhole),
	"binary_all_xor":       agg(1, 1, fixed(TypeLong), argWhole),
	"any":                  agg(1, 1, firstType, argAny).with(checkAny),
	"take_any":             agg(1, 1, firstType, argAny).with(checkAny).alias("any").named("any"),
	"take_anyif":           agg(2, 2, firstType, argAny, argBool).named("any"),
	"percentile":           agg(2, 2, firstType, argAny, argAny).with(checkPercentile),
	"make_list":            agg(1, 2, fixed(TypeDynamic), argAny, argConstWhole).named("list"),
	"makelist":             agg(1, 2, fixed(TypeDynamic), argAny, argConstWhole).named("list").alias("make_list"),
	"make_list_if":         agg(2, 3, fixed(TypeDynamic), argAny, argBool, argConstWhole).named("list"),
	"make_list_with_nulls": agg(1, 2, fixed(TypeDynamic), argAny, argConstWhole).named("list"),
	"make_set":             agg(1, 2, fixed(TypeDynamic), argAny, argConstWhole).named("set"),
	"makeset":              agg(1, 2, fixed(TypeDynamic), argAny, argConstWhole).named("set").alias("make_set"),
	"make_set_if":          agg(2, 3, fixed(TypeDynamic), argAny, argBool, argConstWhole).named("set"),
	"make_bag":             agg(1, 2, fixed(TypeDynamic), argDynamic, argConstWhole).named("bag"),
	"covariance":           agg(2, 2, fixed(TypeReal), argNumber, argNumber),
	"covariancep":          agg(2, 2, fixed(TypeReal), argNumber, argNumber),
	"make_bag_if":          agg(2, 3, fixed(TypeDynamic), argDynamic, argBool, argConstWhole).named("bag"),
	"percentilew":          agg(3, 3, nil, argAny, argAny, argAny).with(checkPercentileW),
}

func isAggregate(fn string) bool {
	_, ok := aggregates[fn]
	return ok || fn == "arg_max" || fn == "arg_min" || fn == "percentiles" || fn == "percentilesw" || fn == "percentiles_array" || fn == "percentilesw_array"
}

func aggregatePrefix(fn string) string {
	d, ok := aggregates[fn]
	switch {
	case !ok || fn == "percentile" || fn == "percentilew":
		return ""
	case d.prefix != "":
		return d.prefix
	}
	return fn
}

func checkSum(ck *checker, c *Call, a []texpr) aggregate {
	if !a[0].typ().isNumeric() && a[0].typ() != TypeTimespan {
		ck.fail(c.Args[0].Position(), "%s needs a number, but this is %s; convert it with todouble() or tolong()", c.Name, a[0].typ())
	}
	return aggregate{fn: c.Name, args: a, t: sumType(a)}
}

func checkAny(ck *checker, c *Call, a []texpr) aggregate {
	return aggregate{fn: "any", args: a, t: a[0].typ()}
}

func checkPercentile(ck *checker, c *Call, a []texpr) aggregate {
	x := a[0]
	if !x.typ().isNumeric() && x.typ() != TypeDatetime && x.typ() != TypeTimespan {
		ck.fail(c.Args[0].Position(), "percentile needs a number, datetime or timespan, but this is %s", x.typ())
	}
	return aggregate{fn: "percentile", args: []texpr{x}, level: ck.percentileLevel(c.Args[1]), t: percentileType(x.typ())}
}

// aggregateCall checks one aggregate call of summarize.
func (ck *checker) aggregateCall(c *Call, cols []Column) aggregate {
	if c.Name == "percentiles" || c.Name == "percentilesw" || c.Name == "arg_max" || c.Name == "arg_min" {
		ck.fail(c.NamePos, "%s produces several columns and must be a whole aggregate of summarize, not part of an expression", c.Name)
	}
	def, ok := aggregates[c.Name]
	if !ok {
		ck.fail(c.NamePos, "unknown aggregate %s", c.Name)
	}
	if len(c.Args) < def.min || len(c.Args) > def.max {
		if def.min == def.max {
			ck.fail(c.NamePos, "%s takes %d argument(s), not %d", c.Name, def.min, len(c.Args))
		}
		ck.fail(c.NamePos, "%s takes %d to %d arguments, not %d", c.Name, def.min, def.max, len(c.Args))
	}
	args := make([]texpr, len(c.Args))
	for i, x := range c.Args {
		if _, ok := x.(*Star); ok {
			ck.fail(x.Position(), "%s(*) is not supported; use arg_max(Column, *)", c.Name)
		}
		if c.Name == "percentile" && i == 1 {
			args[i] = &tLiteral{t: TypeReal}
			continue
		}
		e := ck.expr(x, cols)
		if containsAggRef(e) {
			ck.fail(x.Position(), "aggregations cannot be nested")
		}
		k := argAny
		if len(def.args) > 0 {
			k = def.args[min(i, len(def.args)-1)]
		}
		args[i] = ck.argOfKind(c, i, e, k)
	}
	if def.check != nil {
		return def.check(ck, c, args)
	}
	name := c.Name
	if def.name != "" {
		name = def.name
	}
	return aggregate{fn: name, args: args, t: def.result(args)}
}

func aggregateNames() []string {
	names := []string{"arg_max", "arg_min", "percentiles", "percentilesw"}
	for n := range aggregates {
		names = append(names, n)
	}
	return names
}
