package kql

import (
	"regexp"
	"strconv"
	"strings"
)

// DuckDB SQL of the string, math, time and dynamic families. It is part
// of duckdbFunctions (sql_duckdb.go), kept apart only for file size.
var duckdbFamilies = map[string]sqlFunc{
	// Strings.
	"indexof": func(c sqlCall) frag {
		if len(c.e.args) == 3 {
			return cat("(CASE WHEN strpos(substring(", c.arg(0), ", ", c.arg(2), " + 1), ", c.arg(1), ") = 0 THEN -1 ELSE strpos(substring(", c.arg(0), ", ", c.arg(2), " + 1), ", c.arg(1), ") + ", c.arg(2), " - 1 END)")
		}
		return tmpl("(strpos($0, $1) - 1)")(c)
	},
	"reverse":        fn("reverse"),
	"replace_string": fn("replace"),
	"replace_regex": func(c sqlCall) frag {
		return cat("regexp_replace(", c.arg(0), ", ", c.arg(1), ", ", c.arg(2), ", ", param("g"), ")")
	},
	"strrep": func(c sqlCall) frag {
		if len(c.e.args) == 3 {
			return tmpl("(CASE WHEN $1 <= 0 THEN '' ELSE concat(repeat(concat($0, $2), $1 - 1), $0) END)")(c)
		}
		return tmpl("repeat($0, greatest($1, 0))")(c)
	},
	"trim_start": func(c sqlCall) frag {
		re, _ := constString(c.e.args[0])
		return cat("regexp_replace(", c.arg(1), ", ", param("^(?:"+re+")+"), ", '')")
	},
	"trim_end": func(c sqlCall) frag {
		re, _ := constString(c.e.args[0])
		return cat("regexp_replace(", c.arg(1), ", ", param("(?:"+re+")+$"), ", '')")
	},
	// A replace list shorter than the search list repeats its last character.
	"translate": tmpl("translate($2, $0, (CASE WHEN length($1) = 0 THEN $1 ELSE rpad($1, CAST(greatest(length($0), length($1)) AS INTEGER), right($1, 1)) END))"),
	// Kusto counts overlapping occurrences of plain text.
	"countof":       tmpl("(CASE WHEN length($1) = 0 THEN 0 ELSE len(list_filter(range(length($0)), i -> substring($0, i + 1, length($1)) = $1)) END)"),
	"countof_regex": tmpl("len(regexp_extract_all($0, $1))"),
	"extract_all": func(c sqlCall) frag {
		re, _ := constString(c.e.args[0])
		if n := regexp.MustCompile(re).NumSubexp(); n > 1 {
			return extractAllGroups(c, n)
		}
		g := "0"
		if strings.Contains(re, "(") && !strings.Contains(re, "(?") {
			g = "1"
		}
		return cat("(CASE WHEN len(regexp_extract_all(", c.arg(1), ", ", c.arg(0), ", "+g+")) = 0 THEN NULL ELSE to_json(regexp_extract_all(", c.arg(1), ", ", c.arg(0), ", "+g+")) END)")
	},
	"strcmp":                         tmpl("(CASE WHEN $0 < $1 THEN -1 WHEN $0 > $1 THEN 1 ELSE 0 END)"),
	"strcat_delim":                   func(c sqlCall) frag { return cat("concat_ws(", joinFrags(c.all(), ", "), ")") },
	"base64_encode_tostring":         tmpl("to_base64(encode($0))"),
	"base64_decode_tostring":         tmpl("TRY(decode(from_base64($0)))"),
	"url_decode":                     fn("url_decode"),
	"unicode_codepoints_from_string": tmpl("to_json(list_transform(string_split($0, ''), ch -> unicode(ch)))"),
	"unicode_codepoints_to_string": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			if c.typ(i) == TypeDynamic {
				parts[i] = cat("array_to_string(list_transform(CAST(", c.arg(i), " AS BIGINT[]), cp -> chr(CAST(cp AS INTEGER))), '')")
			} else {
				parts[i] = cat("chr(CAST(", c.arg(i), " AS INTEGER))")
			}
		}
		return cat("concat(", joinFrags(parts, ", "), ")")
	},
	"make_string": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			parts[i] = cat("chr(CAST(", c.arg(i), " AS INTEGER))")
		}
		return cat("concat(", joinFrags(parts, ", "), ")")
	},
	"isascii":     tmpl("regexp_matches($0, '^[\\x00-\\x7F]*$')"),
	"string_size": tmpl("octet_length(encode($0))"),

	// Math.
	"abs":     fn("abs"),
	"ceiling": fn("ceil"),
	"round": func(c sqlCall) frag {
		if len(c.e.args) == 2 {
			return cat("round(CAST(", c.arg(0), " AS DOUBLE), CAST(", c.arg(1), " AS INTEGER))")
		}
		return cat("round(CAST(", c.arg(0), " AS DOUBLE))")
	},
	"pow":      tmpl("pow(CAST($0 AS DOUBLE), $1)"),
	"sqrt":     tmpl("(CASE WHEN $0 < 0 THEN CAST('NaN' AS DOUBLE) ELSE sqrt($0) END)"),
	"exp":      fn("exp"),
	"exp2":     tmpl("pow(2.0, $0)"),
	"exp10":    tmpl("pow(10.0, $0)"),
	"log":      tmpl("(CASE WHEN $0 <= 0 THEN NULL ELSE ln($0) END)"),
	"log2":     tmpl("(CASE WHEN $0 <= 0 THEN NULL ELSE log2($0) END)"),
	"log10":    tmpl("(CASE WHEN $0 <= 0 THEN NULL ELSE log10($0) END)"),
	"sign":     func(c sqlCall) frag { return cat("CAST(sign(", c.arg(0), ") AS "+c.pl.d.sqlType(c.e.t)+")") },
	"sin":      fn("sin"),
	"cos":      fn("cos"),
	"tan":      fn("tan"),
	"asin":     fn("asin"),
	"acos":     fn("acos"),
	"atan":     fn("atan"),
	"atan2":    fn("atan2"),
	"cot":      fn("cot"),
	"degrees":  fn("degrees"),
	"radians":  fn("radians"),
	"pi":       tmpl("pi()"),
	"gamma":    fn("gamma"),
	"loggamma": fn("lgamma"),
	"isnan":    fn("isnan"),
	"isinf":    fn("isinf"),
	"isfinite": fn("isfinite"),
	"rand": func(c sqlCall) frag {
		if len(c.e.args) == 1 {
			return cat("CAST(floor(random() * ", c.arg(0), ") AS BIGINT)")
		}
		return raw("random()")
	},
	"binary_and":         tmpl("($0 & $1)"),
	"binary_or":          tmpl("($0 | $1)"),
	"binary_xor":         fn("xor"),
	"binary_not":         tmpl("(~$0)"),
	"binary_shift_left":  tmpl("($0 << $1)"),
	"binary_shift_right": tmpl("($0 >> $1)"),
	"max_of":             minMaxOf("greatest"),
	"min_of":             minMaxOf("least"),

	// Time.
	"dayofweek":  tmpl("to_days(CAST(dayofweek($0) AS INTEGER))"),
	"dayofmonth": tmpl("CAST(dayofmonth($0) AS INTEGER)"),
	"dayofyear":  tmpl("CAST(dayofyear($0) AS INTEGER)"),
	"getmonth":   tmpl("CAST(month($0) AS INTEGER)"),
	"getyear":    tmpl("CAST(year($0) AS INTEGER)"),
	"hourofday":  tmpl("CAST(hour($0) AS INTEGER)"),
	"weekofyear": tmpl("CAST(weekofyear($0) AS INTEGER)"),
	// Kusto's weeks start on Sunday; offsets move by whole units.
	"startofweek":  startOf("CAST(date_trunc('day', $0) AS TIMESTAMP) - to_days(CAST(dayofweek($0) AS INTEGER))", "to_days(CAST($1 * 7 AS INTEGER))", ""),
	"startofmonth": startOf("CAST(date_trunc('month', $0) AS TIMESTAMP)", "to_months(CAST($1 AS INTEGER))", ""),
	"startofyear":  startOf("CAST(date_trunc('year', $0) AS TIMESTAMP)", "to_years(CAST($1 AS INTEGER))", ""),
	"endofday":     startOf("CAST(date_trunc('day', $0) AS TIMESTAMP)", "to_days(CAST($1 AS INTEGER))", "to_days(1)"),
	"endofweek":    startOf("CAST(date_trunc('day', $0) AS TIMESTAMP) - to_days(CAST(dayofweek($0) AS INTEGER))", "to_days(CAST($1 * 7 AS INTEGER))", "to_days(7)"),
	"endofmonth":   startOf("CAST(date_trunc('month', $0) AS TIMESTAMP)", "to_months(CAST($1 AS INTEGER))", "to_months(1)"),
	"endofyear":    startOf("CAST(date_trunc('year', $0) AS TIMESTAMP)", "to_years(CAST($1 AS INTEGER))", "to_years(1)"),
	"datetime_add": func(c sqlCall) frag {
		p, _ := constString(c.e.args[0])
		return cat("(", c.arg(2), " + ", duckInterval(p, c.arg(1)), ")")
	},
	"datetime_diff": func(c sqlCall) frag {
		p, _ := constString(c.e.args[0])
		return cat("date_diff(", param(datetimeParts[p]), ", ", c.arg(2), ", ", c.arg(1), ")")
	},
	"datetime_part": func(c sqlCall) frag {
		p, _ := constString(c.e.args[0])
		part := datetimeParts[p]
		switch part {
		case "millisecond":
			return cat("CAST(millisecond(", c.arg(1), ") % 1000 AS INTEGER)")
		case "microsecond":
			return cat("CAST(microsecond(", c.arg(1), ") % 1000000 AS INTEGER)")
		case "nanosecond":
			return cat("CAST((microsecond(", c.arg(1), ") % 1000000) * 1000 AS INTEGER)")
		}
		return cat("CAST(date_part(", param(part), ", ", c.arg(1), ") AS INTEGER)")
	},
	"make_datetime": func(c sqlCall) frag {
		a := c.all()
		for len(a) < 6 {
			a = append(a, raw("0"))
		}
		sec := a[5]
		if len(a) == 7 {
			sec = cat("(", a[5], " + ", a[6], " / 10000000.0)")
		}
		return cat("TRY(make_timestamp(CAST(", a[0], " AS BIGINT), CAST(", a[1], " AS BIGINT), CAST(", a[2], " AS BIGINT), CAST(", a[3], " AS BIGINT), CAST(", a[4], " AS BIGINT), CAST(", sec, " AS DOUBLE)))")
	},
	"make_timespan": func(c sqlCall) frag {
		a := c.all()
		var secs frag
		switch len(a) {
		case 2:
			secs = cat("(", a[0], " * 3600 + ", a[1], " * 60)")
		case 3:
			secs = cat("(", a[0], " * 3600 + ", a[1], " * 60 + ", a[2], ")")
		default:
			secs = cat("(", a[0], " * 86400 + ", a[1], " * 3600 + ", a[2], " * 60 + ", a[3], ")")
		}
		return cat("to_microseconds(CAST(round(", secs, " * 1000000) AS BIGINT))")
	},
	"unixtime_seconds_todatetime":      tmpl("make_timestamp(CAST(round($0 * 1000000) AS BIGINT))"),
	"unixtime_milliseconds_todatetime": tmpl("make_timestamp(CAST(round($0 * 1000) AS BIGINT))"),
	"unixtime_microseconds_todatetime": tmpl("make_timestamp(CAST($0 AS BIGINT))"),
	"unixtime_nanoseconds_todatetime":  tmpl("make_timestamp(CAST($0 // 1000 AS BIGINT))"),
	"bin_at": func(c sqlCall) frag {
		switch c.e.t {
		case TypeDatetime:
			return tmpl("time_bucket($1, $0, $2)")(c)
		case TypeTimespan:
			return tmpl("to_microseconds(CAST(floor((epoch_us($0) - epoch_us($2)) / epoch_us($1)) * epoch_us($1) + epoch_us($2) AS BIGINT))")(c)
		case TypeReal:
			return tmpl("(floor(($0 - $2) / $1) * $1 + $2)")(c)
		}
		return tmpl("CAST(floor(($0 - $2) / $1) * $1 + $2 AS BIGINT)")(c)
	},

	// Dynamic values.
	"pack_array": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			parts[i] = c.pl.duckJSON(c.arg(i), c.typ(i))
		}
		return cat("to_json([", joinFrags(parts, ", "), "])")
	},
	"pack": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			if i%2 == 0 {
				parts[i] = c.arg(i)
			} else {
				parts[i] = c.pl.duckJSON(c.arg(i), c.typ(i))
			}
		}
		return cat("json_object(", joinFrags(parts, ", "), ")")
	},
	"bag_keys": tmpl("(CASE WHEN json_type($0) = 'OBJECT' THEN to_json(json_keys($0)) END)"),
	"bag_merge": func(c sqlCall) frag {
		// The first bag's value wins for a key in several bags.
		x := c.arg(len(c.e.args) - 1)
		for i := len(c.e.args) - 2; i >= 0; i-- {
			x = cat("json_merge_patch(", x, ", ", c.arg(i), ")")
		}
		return x
	},
	"toguid": tmpl("CAST(TRY_CAST($0 AS UUID) AS VARCHAR)"),
	// Rotation by n: negative n rotates the other way.
	"array_rotate_left":  tmpl("to_json(CASE WHEN json_array_length($0) = 0 THEN CAST($0 AS JSON[]) ELSE list_concat(list_slice(CAST($0 AS JSON[]), (($1 % json_array_length($0)) + json_array_length($0)) % json_array_length($0) + 1, json_array_length($0)), list_slice(CAST($0 AS JSON[]), 1, (($1 % json_array_length($0)) + json_array_length($0)) % json_array_length($0))) END)"),
	"array_rotate_right": tmpl("to_json(CASE WHEN json_array_length($0) = 0 THEN CAST($0 AS JSON[]) ELSE list_concat(list_slice(CAST($0 AS JSON[]), ((-$1 % json_array_length($0)) + json_array_length($0)) % json_array_length($0) + 1, json_array_length($0)), list_slice(CAST($0 AS JSON[]), 1, ((-$1 % json_array_length($0)) + json_array_length($0)) % json_array_length($0))) END)"),
	"array_shift_left":   arrayShift(1),
	"array_shift_right":  arrayShift(-1),
	"array_iff": func(c sqlCall) frag {
		pick := func(i int) frag {
			if c.typ(i) == TypeDynamic {
				return cat("(CASE WHEN json_type(", c.arg(i), ") = 'ARRAY' THEN (", c.arg(i), " -> (CAST(k AS BIGINT) - 1)) ELSE ", c.arg(i), " END)")
			}
			return c.pl.duckJSON(c.arg(i), c.typ(i))
		}
		return cat("to_json(list_transform(CAST(", c.arg(0), " AS JSON[]), (b, k) -> (CASE WHEN TRY_CAST(b AS BOOLEAN) THEN ", pick(1), " WHEN NOT TRY_CAST(b AS BOOLEAN) THEN ", pick(2), " END)))")
	},
	// range(start, stop[, step]): stop is included; Kusto caps the array at
	// 1,048,576 elements.
	"range": func(c sqlCall) frag {
		step := raw("1")
		if len(c.e.args) == 3 {
			step = c.arg(2)
		}
		n := cat("least(greatest(CAST(floor((", c.arg(1), " - ", c.arg(0), ") / ", step, ") AS BIGINT) + 1, 0), 1048576)")
		return cat("(CASE WHEN ", step, " = 0 THEN NULL ELSE to_json(list_transform(range(", n, "), i -> ", c.arg(0), " + i * ", step, ")) END)")
	},
	// A key starting with $ is a JSON path.
	"bag_has_key":  tmpl("(CASE WHEN starts_with($1, '$') THEN json_exists($0, $1) ELSE (json_type($0) = 'OBJECT' AND list_contains(json_keys($0), $1)) END)"),
	"array_length": tmpl("(CASE WHEN json_type($0) = 'ARRAY' THEN CAST(json_array_length($0) AS BIGINT) END)"),
	"array_concat": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			parts[i] = cat("CAST(", c.arg(i), " AS JSON[])")
		}
		return cat("to_json(flatten([", joinFrags(parts, ", "), "]))")
	},
	"array_slice": tmpl("to_json(list_slice(CAST($0 AS JSON[]), (CASE WHEN $1 < 0 THEN greatest(json_array_length($0) + $1, 0) ELSE $1 END) + 1, (CASE WHEN $2 < 0 THEN json_array_length($0) + $2 ELSE $2 END) + 1))"),
	"array_index_of": func(c sqlCall) frag {
		return cat("(COALESCE(list_position(CAST(", c.arg(0), " AS JSON[]), ", c.pl.duckJSON(c.arg(1), c.typ(1)), "), 0) - 1)")
	},
	"array_sum":     tmpl("list_sum(list_transform(CAST($0 AS JSON[]), e -> (TRY_CAST((e ->> '$') AS DOUBLE))))"),
	"array_reverse": tmpl("to_json(list_reverse(CAST($0 AS JSON[])))"),
	"strcat_array":  tmpl("array_to_string(list_transform(CAST($0 AS JSON[]), e -> (e ->> '$')), $1)"),
	"set_union": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			parts[i] = cat("CAST(", c.arg(i), " AS JSON[])")
		}
		return cat("to_json(", duckDistinct(cat("flatten([", joinFrags(parts, ", "), "])")), ")")
	},
	"set_intersect": func(c sqlCall) frag {
		x := cat("CAST(", c.arg(0), " AS JSON[])")
		for i := 1; i < len(c.e.args); i++ {
			x = cat("list_filter(", x, ", e -> list_contains(CAST(", c.arg(i), " AS JSON[]), e))")
		}
		return cat("to_json(", duckDistinct(x), ")")
	},
	"set_difference": func(c sqlCall) frag {
		others := make([]frag, 0, len(c.e.args)-1)
		for i := 1; i < len(c.e.args); i++ {
			others = append(others, cat("CAST(", c.arg(i), " AS JSON[])"))
		}
		return cat("to_json(", duckDistinct(cat("list_filter(CAST(", c.arg(0), " AS JSON[]), e -> NOT list_contains(flatten([", joinFrags(others, ", "), "]), e))")), ")")
	},
	"set_has_element": func(c sqlCall) frag {
		return cat("list_contains(CAST(", c.arg(0), " AS JSON[]), ", c.pl.duckJSON(c.arg(1), c.typ(1)), ")")
	},
	"gettype": func(c sqlCall) frag {
		if c.typ(0) != TypeDynamic {
			return param(c.typ(0).String())
		}
		return cat("(CASE json_type(", c.arg(0), ") WHEN 'ARRAY' THEN 'array' WHEN 'OBJECT' THEN 'dictionary' WHEN 'VARCHAR' THEN 'string' WHEN 'BIGINT' THEN 'long' WHEN 'UBIGINT' THEN 'long' WHEN 'DOUBLE' THEN 'real' WHEN 'BOOLEAN' THEN 'bool' WHEN 'NULL' THEN 'null' END)")
	},
}

func minMaxOf(name string) sqlFunc {
	return func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			parts[i] = c.pl.castTo(c.arg(i), c.e.args[i], c.e.t)
		}
		return cat(name+"(", joinFrags(parts, ", "), ")")
	}
}

// startOf is base [+ offset units] [+ one unit - one tick for end*]. The
// end of a period is one tick (100 ns) before the next, as Kusto's: a
// nanosecond timestamp holds it, where DuckDB's TIMESTAMP has microseconds.
func startOf(base, offset, end string) sqlFunc {
	return func(c sqlCall) frag {
		t := "(" + base
		if len(c.e.args) == 2 {
			t += " + " + offset
		}
		if end != "" {
			return tmpl("make_timestamp_ns(epoch_ns(CAST(" + t + " + " + end + ") AS TIMESTAMP_NS)) - 100)")(c)
		}
		return tmpl(t + ")")(c)
	}
}

func duckInterval(part string, n frag) frag {
	switch datetimeParts[part] {
	case "year":
		return cat("to_years(CAST(", n, " AS INTEGER))")
	case "quarter":
		return cat("to_months(CAST(", n, " * 3 AS INTEGER))")
	case "month":
		return cat("to_months(CAST(", n, " AS INTEGER))")
	case "week":
		return cat("to_days(CAST(", n, " * 7 AS INTEGER))")
	case "day", "doy":
		return cat("to_days(CAST(", n, " AS INTEGER))")
	case "hour":
		return cat("to_hours(CAST(", n, " AS BIGINT))")
	case "minute":
		return cat("to_minutes(CAST(", n, " AS BIGINT))")
	case "second":
		return cat("to_seconds(CAST(", n, " AS BIGINT))")
	case "millisecond":
		return cat("to_milliseconds(CAST(", n, " AS BIGINT))")
	case "microsecond":
		return cat("to_microseconds(CAST(", n, " AS BIGINT))")
	}
	return cat("to_microseconds(CAST(", n, " // 1000 AS BIGINT))")
}

// duckJSON is a scalar as a JSON value, in Kusto's text for datetimes and
// timespans.
func (pl *planner) duckJSON(x frag, t Type) frag {
	switch t {
	case TypeDynamic:
		return x
	case TypeDatetime, TypeTimespan:
		return cat("to_json(", pl.toString(x, t), ")")
	}
	return cat("to_json(", x, ")")
}

// duckDistinct keeps the first occurrence of each element, in order, as
// Kusto's set functions do (list_distinct does not keep the order).
func duckDistinct(l frag) frag {
	return cat("list_filter(", l, ", (e, i) -> list_position(", l, ", e) = i)")
}

// arrayShift moves the elements by n (left for dir 1), filling with the
// third argument or null.
func arrayShift(dir int) sqlFunc {
	return func(c sqlCall) frag {
		fill := raw("NULL::JSON")
		if len(c.e.args) == 3 {
			fill = c.pl.duckJSON(c.arg(2), c.typ(2))
		}
		n := c.arg(1)
		if dir < 0 {
			n = cat("(-", c.arg(1), ")")
		}
		arr := cat("CAST(", c.arg(0), " AS JSON[])")
		return cat("to_json(list_transform(range(len(", arr, ")), i -> (CASE WHEN i + ", n, " >= 0 AND i + ", n, " < len(", arr, ") THEN ", arr, "[i + ", n, " + 1] ELSE ", fill, " END)))")
	}
}

// extractAllGroups is Kusto's extract_all of a regular expression with n
// groups: one array of the n groups per match. DuckDB extracts each group
// of all the matches apart; the lists are zipped by position.
func extractAllGroups(c sqlCall, n int) frag {
	lists := make([]frag, n)
	for g := range n {
		lists[g] = cat("regexp_extract_all(", c.arg(1), ", ", c.arg(0), ", "+strconv.Itoa(g+1)+")")
	}
	row := make([]frag, n)
	for g := range n {
		row[g] = cat("COALESCE(", lists[g], "[i], '')")
	}
	return cat("(CASE WHEN len(", lists[0], ") = 0 THEN NULL ELSE to_json(list_transform(range(1, len(", lists[0], ") + 1), i -> [", joinFrags(row, ", "), "])) END)")
}
