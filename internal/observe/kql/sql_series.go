package kql

import "strings"

// DuckDB SQL of the series_* functions (functions_series.go). A series is
// read once into a list of doubles (non-numeric elements become nulls) and
// bound to a lambda parameter, so that an argument used several times in
// the SQL is written, and computed, once: nested series calls would
// otherwise grow the SQL exponentially. Lambda parameters start with
// _tb_, which no column name may (safeIdent), so they never hide a column.
var duckdbSeries = map[string]sqlFunc{
	"series_abs":     seriesMap("abs(_tb_v)"),
	"series_acos":    seriesMap("(CASE WHEN _tb_v BETWEEN -1 AND 1 THEN acos(_tb_v) END)"),
	"series_asin":    seriesMap("(CASE WHEN _tb_v BETWEEN -1 AND 1 THEN asin(_tb_v) END)"),
	"series_atan":    seriesMap("atan(_tb_v)"),
	"series_ceiling": seriesMap("ceil(_tb_v)"),
	"series_cos":     seriesMap("cos(_tb_v)"),
	"series_exp":     seriesMap("exp(_tb_v)"),
	"series_floor":   seriesMap("floor(_tb_v)"),
	"series_log":     seriesMap("(CASE WHEN _tb_v > 0 THEN ln(_tb_v) END)"),
	"series_sign":    seriesMap("CAST(sign(_tb_v) AS DOUBLE)"),
	"series_sin":     seriesMap("sin(_tb_v)"),
	"series_tan":     seriesMap("tan(_tb_v)"),

	"series_add":            seriesZip("(_tb_a + _tb_b)"),
	"series_subtract":       seriesZip("(_tb_a - _tb_b)"),
	"series_multiply":       seriesZip("(_tb_a * _tb_b)"),
	"series_divide":         seriesZip("(_tb_a / _tb_b)"),
	"series_pow":            seriesZip("pow(_tb_a, _tb_b)"),
	"series_equals":         seriesZip("(_tb_a = _tb_b)"),
	"series_not_equals":     seriesZip("(_tb_a <> _tb_b)"),
	"series_greater":        seriesZip("(_tb_a > _tb_b)"),
	"series_greater_equals": seriesZip("(_tb_a >= _tb_b)"),
	"series_less":           seriesZip("(_tb_a < _tb_b)"),
	"series_less_equals":    seriesZip("(_tb_a <= _tb_b)"),

	"series_sum":       seriesReduce("list_sum(_tb_s.v0)"),
	"series_product":   seriesReduce("list_product(_tb_s.v0)"),
	"series_magnitude": seriesReduce("sqrt(list_sum(list_transform(_tb_s.v0, _tb_v -> _tb_v * _tb_v)))"),
	"series_dot_product": seriesReduce(
		"list_sum(list_transform(range(greatest(len(_tb_s.v0), len(_tb_s.v1))), _tb_i -> list_extract(_tb_s.v0, _tb_i + 1) * list_extract(_tb_s.v1, _tb_i + 1)))"),
	"series_cosine_similarity": seriesReduce(
		"(list_sum(list_transform(range(greatest(len(_tb_s.v0), len(_tb_s.v1))), _tb_i -> list_extract(_tb_s.v0, _tb_i + 1) * list_extract(_tb_s.v1, _tb_i + 1)))" +
			" / (sqrt(list_sum(list_transform(_tb_s.v0, _tb_v -> _tb_v * _tb_v))) * sqrt(list_sum(list_transform(_tb_s.v1, _tb_v -> _tb_v * _tb_v)))))"),
	// The pairs where both elements are numbers count.
	"series_pearson_correlation": seriesReduce(
		"list_extract(list_transform([list_filter(list_transform(range(least(len(_tb_s.v0), len(_tb_s.v1))), _tb_i -> {'a': list_extract(_tb_s.v0, _tb_i + 1), 'b': list_extract(_tb_s.v1, _tb_i + 1)}), _tb_p -> _tb_p.a IS NOT NULL AND _tb_p.b IS NOT NULL)], " +
			"_tb_q -> list_sum(list_transform(_tb_q, _tb_p -> (_tb_p.a - list_avg(list_transform(_tb_q, _tb_r -> _tb_r.a))) * (_tb_p.b - list_avg(list_transform(_tb_q, _tb_r -> _tb_r.b)))))" +
			" / sqrt(list_sum(list_transform(_tb_q, _tb_p -> pow(_tb_p.a - list_avg(list_transform(_tb_q, _tb_r -> _tb_r.a)), 2))) * list_sum(list_transform(_tb_q, _tb_p -> pow(_tb_p.b - list_avg(list_transform(_tb_q, _tb_r -> _tb_r.b)), 2))))), 1)"),
	"series_stats_dynamic": seriesStats,

	"series_fill_forward":  seriesFill(true),
	"series_fill_backward": seriesFill(false),
	"series_fill_const":    seriesFillConst,
	"series_fill_linear":   seriesFillLinear,
	"series_fir":           seriesFIR,
	// make-series's bin of a row: whole steps from the origin.
	"series_bin_index": func(c sqlCall) frag {
		if c.typ(0) == TypeDatetime || c.typ(0) == TypeTimespan {
			return tmpl("CAST(floor((epoch_us($0) - epoch_us($1)) / epoch_us($2)) AS BIGINT)")(c)
		}
		return tmpl("CAST(floor((CAST($0 AS DOUBLE) - $1) / $2) AS BIGINT)")(c)
	},
	"series_iir": seriesIIR,
}

// seriesDoubles reads a dynamic array as a list of doubles: numbers stay,
// anything else is null; a value that is not an array is null.
func seriesDoubles(x frag) frag {
	return cat("list_extract(list_transform([", x, "], _tb_x -> (CASE WHEN json_type(_tb_x) = 'ARRAY' THEN list_transform(CAST(_tb_x AS JSON[]), _tb_e -> (CASE WHEN json_type(_tb_e) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN CAST(_tb_e AS DOUBLE) END)) END)), 1)")
}

// seriesJSON reads a dynamic array as a list of its JSON elements, for the
// fills, which keep the elements they do not fill as they are.
func seriesJSON(x frag) frag {
	return cat("list_extract(list_transform([", x, "], _tb_x -> (CASE WHEN json_type(_tb_x) = 'ARRAY' THEN CAST(_tb_x AS JSON[]) END)), 1)")
}

// seriesBind computes each value once, binds it as _tb_s.v0, _tb_s.v1 ...
// and evaluates body over them.
func seriesBind(vals []frag, body string) frag {
	fields := make([]frag, len(vals))
	for i, v := range vals {
		fields[i] = cat("'v"+string(rune('0'+i))+"': ", v)
	}
	return cat("list_extract(list_transform([{", joinFrags(fields, ", "), "}], _tb_s -> "+body+"), 1)")
}

// seriesArg is argument i as a list of doubles, or, for a number, the
// number as a double.
func seriesArg(c sqlCall, i int) frag {
	if c.typ(i) == TypeDynamic {
		return seriesDoubles(c.arg(i))
	}
	return cat("CAST(", c.arg(i), " AS DOUBLE)")
}

func seriesMap(f string) sqlFunc {
	return func(c sqlCall) frag {
		return seriesBind([]frag{seriesArg(c, 0)}, "to_json(list_transform(_tb_s.v0, _tb_v -> "+finite(f)+"))")
	}
}

// seriesZip applies f to the elements of two series at the same index; a
// shorter series has nulls past its end, and a number applies to every
// element.
func seriesZip(f string) sqlFunc {
	return func(c sqlCall) frag {
		elem := func(i int) (string, string) {
			v := "_tb_s.v" + string(rune('0'+i))
			if c.typ(i) != TypeDynamic {
				return v, "0"
			}
			return "list_extract(" + v + ", _tb_i + 1)", "len(" + v + ")"
		}
		a, la := elem(0)
		b, lb := elem(1)
		body := strings.NewReplacer("_tb_a", a, "_tb_b", b).Replace(f)
		if !strings.ContainsAny(f, "<>=") {
			body = finite(body)
		}
		// A dynamic argument that is not an array makes the result null.
		var nulls []string
		for i := range 2 {
			if c.typ(i) == TypeDynamic {
				nulls = append(nulls, "_tb_s.v"+string(rune('0'+i))+" IS NULL")
			}
		}
		return seriesBind([]frag{seriesArg(c, 0), seriesArg(c, 1)},
			"(CASE WHEN NOT ("+strings.Join(nulls, " OR ")+") THEN to_json(list_transform(range(greatest("+la+", "+lb+")), _tb_i -> "+body+")) END)")
	}
}

// finite turns infinities and NaN (a division by zero, an overflow) into
// nulls: JSON, which dynamic values are, has no text for them.
func finite(x string) string {
	return "list_extract(list_transform([" + x + "], _tb_f -> (CASE WHEN isfinite(_tb_f) THEN _tb_f END)), 1)"
}

func seriesReduce(body string) sqlFunc {
	return func(c sqlCall) frag {
		vals := make([]frag, len(c.e.args))
		for i := range c.e.args {
			vals[i] = seriesArg(c, i)
		}
		return seriesBind(vals, body)
	}
}

// seriesStats is series_stats_dynamic: with ignore_nonfinite false (the
// default) a null, NaN or infinite element makes the statistics null, as
// Kusto's documentation states; with true they are left out.
func seriesStats(c sqlCall) frag {
	ignore := raw("false")
	if len(c.e.args) == 2 {
		ignore = c.arg(1)
	}
	stat := func(f string) string {
		return "(CASE WHEN _tb_s.v1 OR list_bool_and(list_transform(_tb_s.v0, _tb_v -> COALESCE(isfinite(_tb_v), false))) THEN " + f + " END)"
	}
	fin := "list_filter(_tb_s.v0, _tb_v -> isfinite(_tb_v))"
	body := "(CASE WHEN _tb_s.v0 IS NOT NULL THEN json_object(" +
		"'min', " + stat("list_min("+fin+")") + ", " +
		"'min_idx', " + stat("list_position(_tb_s.v0, list_min("+fin+")) - 1") + ", " +
		"'max', " + stat("list_max("+fin+")") + ", " +
		"'max_idx', " + stat("list_position(_tb_s.v0, list_max("+fin+")) - 1") + ", " +
		"'avg', " + stat("list_avg("+fin+")") + ", " +
		"'stdev', " + stat("list_aggregate("+fin+", 'stddev_samp')") + ", " +
		"'variance', " + stat("list_aggregate("+fin+", 'var_samp')") + ", " +
		"'sum', " + stat("list_sum("+fin+")") + ", " +
		"'len', len(_tb_s.v0)) END)"
	return seriesBind([]frag{seriesDoubles(c.arg(0)), cat("CAST(", ignore, " AS BOOLEAN)")}, body)
}

// seriesMissing is the test for a missing element: null, or equal to the
// placeholder argument i when there is one.
func seriesMissing(c sqlCall, i int, e string) (string, []frag) {
	if len(c.e.args) <= i || isNullLiteral(c.e.args[i]) {
		return "(" + e + " IS NULL OR json_type(" + e + ") = 'NULL')", nil
	}
	if c.typ(i).isNumeric() {
		return "(" + e + " IS NULL OR json_type(" + e + ") = 'NULL' OR COALESCE(TRY_CAST(" + e + " AS DOUBLE) = _tb_s.v9, false))", []frag{cat("CAST(", c.arg(i), " AS DOUBLE)")}
	}
	return "(" + e + " IS NULL OR json_type(" + e + ") = 'NULL' OR COALESCE((" + e + " ->> '$') = _tb_s.v9, false))", []frag{c.pl.toString(c.arg(i), c.typ(i))}
}

// bindWithPlaceholder binds the series as v0 and the placeholder, if any,
// as v9 (the fields are named by position, so the gap is filled).
func bindWithPlaceholder(vals []frag, ph []frag, body string) frag {
	if len(ph) == 0 {
		return seriesBind(vals, body)
	}
	for len(vals) < 9 {
		vals = append(vals, raw("NULL"))
	}
	return seriesBind(append(vals, ph...), body)
}

// seriesFill carries the last (forward) or next (backward) present
// element into missing ones; missing elements with none to take stay.
func seriesFill(forward bool) sqlFunc {
	return func(c sqlCall) frag {
		miss, ph := seriesMissing(c, 1, "_tb_e")
		cur := "list_extract(_tb_s.v0, _tb_i + 1)"
		missCur := strings.ReplaceAll(miss, "_tb_e", cur)
		take := "list_last(list_filter(list_slice(_tb_s.v0, 1, _tb_i + 1), _tb_e -> NOT (" + miss + ")))"
		if !forward {
			take = "list_first(list_filter(list_slice(_tb_s.v0, _tb_i + 1, len(_tb_s.v0)), _tb_e -> NOT (" + miss + ")))"
		}
		body := "to_json(list_transform(range(len(_tb_s.v0)), _tb_i -> (CASE WHEN " + missCur + " THEN COALESCE(" + take + ", " + cur + ") ELSE " + cur + " END)))"
		return bindWithPlaceholder([]frag{seriesJSON(c.arg(0))}, ph, body)
	}
}

func seriesFillConst(c sqlCall) frag {
	miss, ph := seriesMissing(c, 2, "_tb_e")
	body := "to_json(list_transform(_tb_s.v0, _tb_e -> (CASE WHEN " + miss + " THEN _tb_s.v1 ELSE _tb_e END)))"
	return bindWithPlaceholder([]frag{seriesJSON(c.arg(0)), c.pl.duckJSON(c.arg(1), c.typ(1))}, ph, body)
}

// seriesFillLinear interpolates missing elements between the present ones
// around them; at the edges (with fill_edges, the default) the nearest
// present element is taken, and a series with none is constant_value.
func seriesFillLinear(c sqlCall) frag {
	miss, ph := seriesMissing(c, 1, "_tb_e")
	edges := raw("true")
	if len(c.e.args) >= 3 {
		edges = c.arg(2)
	}
	konst := raw("0.0")
	if len(c.e.args) == 4 {
		konst = cat("CAST(", c.arg(3), " AS DOUBLE)")
	}
	// v0: the numbers, v1: the indexes (1-based) of present elements.
	present := strings.ReplaceAll(miss, "_tb_e", "list_extract(_tb_s.v0, _tb_k)")
	prev := "list_last(list_filter(_tb_s.v1, _tb_k -> _tb_k <= _tb_i + 1))"
	next := "list_first(list_filter(_tb_s.v1, _tb_k -> _tb_k >= _tb_i + 1))"
	at := func(k string) string { return "list_extract(_tb_s.v0, " + k + ")" }
	inner := "(CASE WHEN len(_tb_s.v1) = 0 THEN _tb_s.v2" +
		" WHEN " + prev + " IS NULL THEN (CASE WHEN _tb_s.v3 THEN " + at(next) + " ELSE " + at("_tb_i + 1") + " END)" +
		" WHEN " + next + " IS NULL THEN (CASE WHEN _tb_s.v3 THEN " + at(prev) + " ELSE " + at("_tb_i + 1") + " END)" +
		" WHEN " + prev + " = " + next + " THEN " + at(prev) +
		" ELSE " + at(prev) + " + (" + at(next) + " - " + at(prev) + ") * (_tb_i + 1 - " + prev + ") / (" + next + " - " + prev + ") END)"
	// Bind the present indexes in a second step, over the bound numbers.
	body := "to_json(list_extract(list_transform([{'v0': _tb_s.v0, 'v1': list_filter(range(1, len(_tb_s.v0) + 1), _tb_k -> NOT (" + present + ")), 'v2': _tb_s.v2, 'v3': _tb_s.v3}], _tb_s -> list_transform(range(len(_tb_s.v0)), _tb_i -> " + inner + ")), 1))"
	if len(ph) > 0 {
		body = strings.ReplaceAll(body, "'v3': _tb_s.v3}", "'v3': _tb_s.v3, 'v9': _tb_s.v9}")
	}
	return bindWithPlaceholder([]frag{seriesDoubles(c.arg(0)), raw("NULL"), konst, cat("CAST(", edges, " AS BOOLEAN)")}, ph, body)
}

// seriesFIR convolves the series with the filter; elements before the
// start (or past the end, centered) count as 0. Normalising divides by the
// sum of the coefficients; by default it is done unless a coefficient is
// negative, and asking for it with a negative coefficient gives null.
func seriesFIR(c sqlCall) frag {
	norm := raw("NULL")
	if len(c.e.args) >= 3 {
		norm = c.arg(2)
	}
	center := raw("false")
	if len(c.e.args) == 4 {
		center = c.arg(3)
	}
	x := "list_extract(_tb_s.v0, _tb_i - _tb_j + _tb_s.v3 + 1)"
	sum := "list_sum(list_transform(range(len(_tb_s.v1)), _tb_j -> list_extract(_tb_s.v1, _tb_j + 1) * (CASE WHEN _tb_i - _tb_j + _tb_s.v3 BETWEEN 0 AND len(_tb_s.v0) - 1 THEN COALESCE(" + x + ", 0) ELSE 0 END)))"
	divisor := "(CASE WHEN _tb_s.v2 IS NULL THEN (CASE WHEN list_min(_tb_s.v1) < 0 THEN 1 ELSE list_sum(_tb_s.v1) END) WHEN _tb_s.v2 THEN (CASE WHEN list_min(_tb_s.v1) < 0 THEN NULL ELSE list_sum(_tb_s.v1) END) ELSE 1 END)"
	body := "to_json(list_transform(range(len(_tb_s.v0)), _tb_i -> " + sum + " / " + divisor + "))"
	half := cat("(CASE WHEN ", center, " THEN (len(", seriesDoubles(c.arg(1)), ") - 1) // 2 ELSE 0 END)")
	return seriesBind([]frag{seriesDoubles(c.arg(0)), seriesDoubles(c.arg(1)), cat("CAST(", norm, " AS BOOLEAN)"), half}, body)
}

// seriesIIR is y[i] = (sum b[k]*x[i-k] - sum_{k>=1} a[k]*y[i-k]) / a[0],
// with zeros before the start; the output so far is the accumulator of a
// list_reduce.
func seriesIIR(c sqlCall) frag {
	xk := "(CASE WHEN _tb_i - _tb_k >= 0 THEN COALESCE(list_extract(_tb_s.v0, _tb_i - _tb_k + 1), 0) ELSE 0 END)"
	yk := "(CASE WHEN _tb_i - _tb_k >= 0 THEN list_extract(_tb_y, _tb_i - _tb_k + 1) ELSE 0 END)"
	num := "COALESCE(list_sum(list_transform(range(len(_tb_s.v1)), _tb_k -> list_extract(_tb_s.v1, _tb_k + 1) * " + xk + ")), 0)"
	den := "COALESCE(list_sum(list_transform(range(1, len(_tb_s.v2)), _tb_k -> list_extract(_tb_s.v2, _tb_k + 1) * " + yk + ")), 0)"
	step := "list_append(_tb_y, (" + num + " - " + den + ") / list_extract(_tb_s.v2, 1))"
	body := "to_json(list_reduce(list_transform(range(len(_tb_s.v0)), _tb_n -> [CAST(_tb_n AS DOUBLE)]), (_tb_y, _tb_n) -> list_extract(list_transform([CAST(list_extract(_tb_n, 1) AS BIGINT)], _tb_i -> " + step + "), 1), []::DOUBLE[]))"
	return seriesBind([]frag{seriesDoubles(c.arg(0)), seriesDoubles(c.arg(1)), seriesDoubles(c.arg(2))}, body)
}
