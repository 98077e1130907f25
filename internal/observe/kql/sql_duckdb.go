package kql

// duckdbFunctions is the DuckDB SQL of each scalar function of the registry
// (functions_scalar.go) and of the internal functions the checker inserts.
// DuckDB is the reference engine: every registered function is here.
var duckdbFunctions = map[string]sqlFunc{
	"tostring":   func(c sqlCall) frag { return c.pl.toString(c.arg(0), c.typ(0)) },
	"toint":      convertSQL,
	"tolong":     convertSQL,
	"todouble":   convertSQL,
	"tobool":     convertSQL,
	"todatetime": convertSQL,
	"totimespan": convertSQL,
	"todynamic":  tmpl("TRY_CAST($0 AS JSON)"),
	"bin":        func(c sqlCall) frag { return c.pl.bin(c.e, c.cols) },
	"strcat":     concatSQL,
	"extract": func(c sqlCall) frag {
		re, _ := constString(c.e.args[0])
		g, _ := constInt(c.e.args[1])
		gs, _ := inlineNumber(float64(g))
		return c.pl.typedText(cat("regexp_extract(", c.arg(2), ", ", param(re), ", "+gs+")"), c.e.t)
	},
	"parse_extract": func(c sqlCall) frag {
		re, _ := constString(c.e.args[1])
		return c.pl.typedText(cat("regexp_extract(", c.arg(0), ", ", param(re), ", 1)"), c.e.t)
	},
	"split":     tmpl("to_json(string_split($0, $1))"),
	"split_at":  tmpl("to_json(list_slice(string_split($0, $1), $2 + 1, $2 + 1))"),
	"strlen":    fn("length"),
	"substring": substringSQL("substring"),
	"tolower":   fn("lower"),
	"toupper":   fn("upper"),
	"trim": func(c sqlCall) frag {
		return cat("regexp_replace(", c.arg(1), ", ", trimPattern(c), ", '', 'g')")
	},
	"format_datetime": func(c sqlCall) frag {
		f, _ := constString(c.e.args[1])
		strf, _ := datetimeFormat(f)
		return cat("strftime(", c.arg(0), ", ", param(strf), ")")
	},
	"startofday": startOf("CAST(date_trunc('day', $0) AS TIMESTAMP)", "to_days(CAST($1 AS INTEGER))", ""),
	"not":        tmpl("(NOT $0)"),
}

func trimPattern(c sqlCall) frag {
	re, _ := constString(c.e.args[0])
	return param("^(?:" + re + ")+|(?:" + re + ")+$")
}
