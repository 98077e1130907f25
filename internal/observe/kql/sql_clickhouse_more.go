package kql

// ClickHouse 18.16 SQL of the string, math and time functions it can
// express; part of clickhouseFunctions, kept apart only for file size.
// Results are cast to the KQL type, because 18.16 widens (abs of Int64 is
// UInt64, bit operations are unsigned).
var clickhouseFamilies = map[string]sqlFunc{
	"abs":                chTyped("abs($0)"),
	"ceiling":            chTyped("ceil($0)"),
	"round":              chRound,
	"pow":                chTyped("pow($0, $1)"),
	"sqrt":               chTyped("if($0 < 0, nan, sqrt($0))"),
	"exp":                chTyped("exp($0)"),
	"exp2":               chTyped("exp2($0)"),
	"exp10":              chTyped("exp10($0)"),
	"log":                chTyped("if($0 <= 0, NULL, log($0))"),
	"log2":               chTyped("if($0 <= 0, NULL, log2($0))"),
	"log10":              chTyped("if($0 <= 0, NULL, log10($0))"),
	"sin":                chTyped("sin($0)"),
	"cos":                chTyped("cos($0)"),
	"tan":                chTyped("tan($0)"),
	"asin":               chTyped("asin($0)"),
	"acos":               chTyped("acos($0)"),
	"atan":               chTyped("atan($0)"),
	"pi":                 chTyped("pi()"),
	"binary_and":         chTyped("bitAnd($0, $1)"),
	"binary_or":          chTyped("bitOr($0, $1)"),
	"binary_xor":         chTyped("bitXor($0, $1)"),
	"binary_not":         chTyped("bitNot($0)"),
	"binary_shift_left":  chTyped("bitShiftLeft($0, $1)"),
	"binary_shift_right": chTyped("bitShiftRight($0, $1)"),
	"reverse":            tmpl("reverseUTF8($0)"),
	"replace_string":     tmpl("replaceAll($0, $1, $2)"),
	"replace_regex":      tmpl("replaceRegexpAll($0, $1, $2)"),
	"indexof": func(c sqlCall) frag {
		if len(c.e.args) == 3 {
			c.pl.fail("indexof with a start is not supported on ClickHouse 18.16")
		}
		return tmpl("(toInt64(positionUTF8($0, $1)) - 1)")(c)
	},
	"strcmp":     tmpl("toInt64(multiIf($0 < $1, -1, $0 > $1, 1, 0))"),
	"getmonth":   tmpl("toInt32(toMonth($0))"),
	"getyear":    tmpl("toInt32(toYear($0))"),
	"hourofday":  tmpl("toInt32(toHour($0))"),
	"dayofmonth": tmpl("toInt32(toDayOfMonth($0))"),
}

// chTyped fills a template and casts it to the call's type.
func chTyped(t string) sqlFunc {
	inner := tmpl(t)
	return func(c sqlCall) frag {
		f := inner(c)
		switch c.e.t {
		case TypeLong:
			return cat("toInt64(", f, ")")
		case TypeInt:
			return cat("toInt32(", f, ")")
		case TypeReal:
			return cat("toFloat64(", f, ")")
		}
		return f
	}
}

func chRound(c sqlCall) frag {
	if len(c.e.args) == 2 {
		return cat("toFloat64(round(toFloat64(", c.arg(0), "), ", c.arg(1), "))")
	}
	return cat("toFloat64(round(toFloat64(", c.arg(0), ")))")
}
