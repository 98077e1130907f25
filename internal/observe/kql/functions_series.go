package kql

// seriesFunctions are Kusto's series_* functions: element-wise math,
// comparisons, fills, filters and statistics over dynamic numeric arrays,
// such as the ones make-series builds. Non-numeric or missing elements
// yield null elements, as Kusto's documentation states. They are planned
// on DuckDB's lists (sql_series.go); ClickHouse 18.16, which keeps dynamic
// values as JSON text, has none of them.
var seriesFunctions = map[string]funcDef{
	// One series in, one series out, element by element.
	"series_abs":     seriesUnary(),
	"series_acos":    seriesUnary(),
	"series_asin":    seriesUnary(),
	"series_atan":    seriesUnary(),
	"series_ceiling": seriesUnary(),
	"series_cos":     seriesUnary(),
	"series_exp":     seriesUnary(),
	"series_floor":   seriesUnary(),
	"series_log":     seriesUnary(),
	"series_sign":    seriesUnary(),
	"series_sin":     seriesUnary(),
	"series_tan":     seriesUnary(),

	// Two series (or a series and a number) in, one out.
	"series_add":            seriesBinary(),
	"series_subtract":       seriesBinary(),
	"series_multiply":       seriesBinary(),
	"series_divide":         seriesBinary(),
	"series_pow":            seriesBinary(),
	"series_equals":         seriesBinary(),
	"series_not_equals":     seriesBinary(),
	"series_greater":        seriesBinary(),
	"series_greater_equals": seriesBinary(),
	"series_less":           seriesBinary(),
	"series_less_equals":    seriesBinary(),

	// A series in, a number out.
	"series_sum":                 sig(1, 1, TypeReal, argDynamic),
	"series_product":             sig(1, 1, TypeReal, argDynamic),
	"series_magnitude":           sig(1, 1, TypeReal, argDynamic),
	"series_stats_dynamic":       sig(1, 2, TypeDynamic, argDynamic, argBool),
	"series_pearson_correlation": sig(2, 2, TypeReal, argDynamic, argDynamic),
	"series_dot_product":         sig(2, 2, TypeReal, argDynamic, argDynamic),
	"series_cosine_similarity":   sig(2, 2, TypeReal, argDynamic, argDynamic),

	// Missing values filled.
	"series_fill_forward":  sig(1, 2, TypeDynamic, argDynamic, argScalar),
	"series_fill_backward": sig(1, 2, TypeDynamic, argDynamic, argScalar),
	"series_fill_const":    sig(2, 3, TypeDynamic, argDynamic, argScalar, argScalar),
	"series_fill_linear":   sig(1, 4, TypeDynamic, argDynamic, argScalar, argBool, argScalar),

	// Filters: the coefficients are constant arrays.
	"series_fir": sig(2, 4, TypeDynamic, argDynamic, argDynamic, argBool, argBool),
	"series_iir": sig(3, 3, TypeDynamic, argDynamic, argDynamic, argDynamic),
}

func seriesUnary() funcDef { return sig(1, 1, TypeDynamic, argDynamic) }

// seriesBinary takes two series, or a series and a number that applies to
// every element.
func seriesBinary() funcDef {
	return sig(2, 2, TypeDynamic, argAny).with(func(ck *checker, c *Call, a []texpr) texpr {
		for i, x := range a {
			ck.need(c, a, i, x.typ() == TypeDynamic || x.typ().isNumeric(), "a dynamic array or a number")
		}
		if a[0].typ() != TypeDynamic && a[1].typ() != TypeDynamic {
			ck.fail(c.NamePos, "%s needs at least one dynamic array; for two numbers use the arithmetic operators", c.Name)
		}
		return mkCall(c.Name, TypeDynamic, a...)
	})
}

// The series functions join the registry and DuckDB's SQL table here
// rather than in the merge lists, which other families edit too.
func init() {
	for name, def := range seriesFunctions {
		if _, dup := functions[name]; dup {
			panic("kql: function " + name + " is registered twice")
		}
		functions[name] = def
	}
	for name, f := range duckdbSeries {
		duckdbAll[name] = f
	}
}
