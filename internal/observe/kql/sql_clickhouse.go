package kql

import "strings"

// clickhouseFunctions is the ClickHouse 18.16 SQL of each scalar function
// of the registry. A function missing here is refused on ClickHouse with an
// error naming it: 18.16 has no JSON type, no array of JSON values, and
// whole-second DateTime, so some of Kusto's functions cannot be expressed.
var clickhouseFunctions = map[string]sqlFunc{
	"tostring":   func(c sqlCall) frag { return c.pl.toString(c.arg(0), c.typ(0)) },
	"toint":      convertSQL,
	"tolong":     convertSQL,
	"todouble":   convertSQL,
	"tobool":     convertSQL,
	"todatetime": convertSQL,
	"totimespan": convertSQL,
	"todynamic":  func(c sqlCall) frag { return c.arg(0) },
	"bin":        func(c sqlCall) frag { return c.pl.bin(c.e, c.cols) },
	"strcat":     concatSQL,
	"extract": func(c sqlCall) frag {
		re, _ := constString(c.e.args[0])
		g, _ := constInt(c.e.args[1])
		switch {
		case g == 0:
			re = "(" + re + ")"
		case g > 1:
			c.pl.fail("extract with group %d is not supported on ClickHouse 18.16; use group 0 or 1", g)
		}
		return c.pl.typedText(cat("extract(", c.arg(2), ", ", param(re), ")"), c.e.t)
	},
	"parse_extract": func(c sqlCall) frag {
		re, _ := constString(c.e.args[1])
		return c.pl.typedText(cat("extract(", c.arg(0), ", ", param(re), ")"), c.e.t)
	},
	"split": func(c sqlCall) frag {
		return c.pl.chJSONArray(cat("splitByString(", c.arg(1), ", ", c.arg(0), ")"), TypeString)
	},
	"split_at": func(c sqlCall) frag {
		return c.pl.chJSONArray(cat("arraySlice(splitByString(", c.arg(1), ", ", c.arg(0), "), ", c.arg(2), " + 1, 1)"), TypeString)
	},
	"strlen":    tmpl("toInt64(lengthUTF8($0))"),
	"substring": substringSQL("substringUTF8"),
	"tolower":   fn("lowerUTF8"),
	"toupper":   fn("upperUTF8"),
	"trim": func(c sqlCall) frag {
		return cat("replaceRegexpAll(", c.arg(1), ", ", trimPattern(c), ", '')")
	},
	"format_datetime": func(c sqlCall) frag {
		f, _ := constString(c.e.args[1])
		strf, _ := datetimeFormat(f)
		if strings.Contains(strf, "%-") {
			c.pl.fail("one-letter elements of format_datetime (M, d, H, h, m, s) are not supported on ClickHouse 18.16; use MM, dd, HH, hh, mm, ss")
		}
		if strings.Contains(strf, "%f") || strings.Contains(strf, "%g") {
			c.pl.fail("fractions of a second in format_datetime are not supported on ClickHouse 18.16, whose DateTime has whole seconds")
		}
		return cat("formatDateTime(", c.arg(0), ", ", param(strf), ", 'UTC')")
	},
	"startofday": func(c sqlCall) frag {
		if len(c.e.args) == 2 {
			return cat("(toStartOfDay(", c.arg(0), ") + ", c.arg(1), " * 86400)")
		}
		return cat("toStartOfDay(", c.arg(0), ")")
	},
	"not": tmpl("(NOT $0)"),
}
