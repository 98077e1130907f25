package kql

import "strings"

// functions is the scalar function registry (see functions.go), merged
// from one table per family, as Kusto's documentation groups them.
var functions = mergeFunctions(coreFunctions, stringFunctions, mathFunctions, timeFunctions, dynamicFunctions, windowFunctions, hashFunctions, netFunctions, textFunctions, statsFunctions, tzFunctions, rankFunctions, timespanFunctions, searchFunctions, convertFunctions, sketchFunctions, aroundFunctions, compressFunctions, jsonFunctions, assertFunctions, cmdlineFunctions, sessionFunctions, moreFunctions, arrayFunctions, principalFunctions)

func mergeFunctions(tables ...map[string]funcDef) map[string]funcDef {
	out := map[string]funcDef{}
	for _, t := range tables {
		for name, def := range t {
			if _, dup := out[name]; dup {
				panic("kql: function " + name + " is registered twice")
			}
			out[name] = def
		}
	}
	return out
}

// coreFunctions: conversions, conditionals and the first functions tugboat had.
var coreFunctions = map[string]funcDef{
	// Time.
	"ago": sig(1, 1, TypeDatetime, argTimespan).with(func(ck *checker, c *Call, a []texpr) texpr {
		return &tBinary{op: "-", l: &tNow{}, r: a[0], t: TypeDatetime}
	}),
	"now": sig(0, 1, TypeDatetime, argTimespan).with(func(ck *checker, c *Call, a []texpr) texpr {
		if len(a) == 1 {
			return &tBinary{op: "+", l: &tNow{}, r: a[0], t: TypeDatetime}
		}
		return &tNow{}
	}),
	"bin":             sig(2, 2, TypeUnknown).with(checkBin),
	"floor":           sig(2, 2, TypeUnknown).with(checkBin),
	"format_datetime": sig(2, 2, TypeString, argDatetime, argConstString).with(checkFormatDatetime),
	"startofday":      sig(1, 2, TypeDatetime, argDatetime, argWhole),

	// Conversions.
	"tostring": sig(1, 1, TypeString).with(func(ck *checker, c *Call, a []texpr) texpr {
		if a[0].typ() == TypeString {
			return a[0]
		}
		return mkCall("tostring", TypeString, a[0])
	}),
	"toint":      sig(1, 1, TypeInt).with(convertTo("toint", TypeInt)),
	"tolong":     sig(1, 1, TypeLong).with(convertTo("tolong", TypeLong)),
	"todouble":   sig(1, 1, TypeReal).with(convertTo("todouble", TypeReal)),
	"toreal":     sig(1, 1, TypeReal).with(convertTo("todouble", TypeReal)),
	"todatetime": sig(1, 1, TypeDatetime).with(convertTo("todatetime", TypeDatetime)),
	"totimespan": sig(1, 1, TypeTimespan).with(convertTo("totimespan", TypeTimespan)),
	"tobool":     sig(1, 1, TypeBool).with(convertTo("tobool", TypeBool)),
	"todynamic":  sig(1, 1, TypeDynamic).with(checkToDynamic),
	"parse_json": sig(1, 1, TypeDynamic).with(checkToDynamic),

	// Strings.
	"strcat": sig(1, variadic, TypeString).with(func(ck *checker, c *Call, a []texpr) texpr {
		for i, x := range a {
			if x.typ() != TypeString {
				a[i] = mkCall("tostring", TypeString, x)
			}
		}
		return mkCall("strcat", TypeString, a...)
	}),
	"extract":   sig(3, 4, TypeString, argConstString, argConstWhole, argString, argAny).with(checkExtract),
	"split":     sig(2, 3, TypeDynamic, argString, argString, argConstWhole).with(checkSplit),
	"strlen":    sig(1, 1, TypeLong, argString),
	"substring": sig(2, 3, TypeString, argString, argWhole, argWhole),
	"tolower":   sig(1, 1, TypeString, argString),
	"toupper":   sig(1, 1, TypeString, argString),
	"trim": sig(2, 2, TypeString, argConstString, argString).with(func(ck *checker, c *Call, a []texpr) texpr {
		ck.checkRegex(c, 0, a)
		return mkCall("trim", TypeString, a...)
	}),

	// Conditionals and nulls.
	"iff": sig(3, 3, TypeUnknown, argBool, argAny).with(checkIff),
	"iif": sig(3, 3, TypeUnknown, argBool, argAny).with(checkIff),
	"case": sig(3, variadic, TypeUnknown).with(func(ck *checker, c *Call, a []texpr) texpr {
		if len(a)%2 == 0 {
			ck.fail(c.NamePos, "case takes pairs of condition and value followed by an else value")
		}
		var values []texpr
		for i := 0; i < len(a)-1; i += 2 {
			ck.need(c, a, i, a[i].typ() == TypeBool, "a bool condition")
			values = append(values, a[i+1])
		}
		values = append(values, a[len(a)-1])
		return mkCall("case", ck.commonType(c, values), a...)
	}),
	"isempty":    sig(1, 1, TypeBool),
	"isnotempty": sig(1, 1, TypeBool),
	"isnull":     sig(1, 1, TypeBool),
	"isnotnull":  sig(1, 1, TypeBool),
	"coalesce": sig(2, variadic, TypeUnknown).with(func(ck *checker, c *Call, a []texpr) texpr {
		return mkCall("coalesce", ck.commonType(c, a), a...)
	}),
	"not": sig(1, 1, TypeBool, argBool),
	"typeof": sig(0, variadic, TypeString).with(func(ck *checker, c *Call, a []texpr) texpr {
		ck.fail(c.NamePos, "typeof(...) is only allowed as the last argument of extract or after mv-expand ... to")
		return nil
	}),
}

func checkBin(ck *checker, c *Call, a []texpr) texpr {
	x, size := a[0], a[1]
	switch {
	case x.typ() == TypeDatetime, x.typ() == TypeTimespan:
		ck.need(c, a, 1, size.typ() == TypeTimespan, "a timespan such as 5m")
	case x.typ().isNumeric():
		ck.need(c, a, 1, size.typ().isNumeric(), "a number")
	default:
		ck.need(c, a, 0, false, "a number, datetime or timespan")
	}
	if v, ok := constDuration(size); ok && v <= 0 {
		ck.fail(c.Args[1].Position(), "the bin size must be positive")
	}
	if n, ok := constInt(size); ok && n <= 0 {
		ck.fail(c.Args[1].Position(), "the bin size must be positive")
	}
	return mkCall("bin", x.typ(), x, size)
}

func checkFormatDatetime(ck *checker, c *Call, a []texpr) texpr {
	f, _ := constString(a[1])
	if _, err := datetimeFormat(f); err != nil {
		ck.fail(c.Args[1].Position(), "%v", err)
	}
	return mkCall("format_datetime", TypeString, a...)
}

// convertTo checks a conversion function to t, planned as fn.
func convertTo(fn string, t Type) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		if a[0].typ() == t {
			return a[0]
		}
		if (t == TypeDatetime || t == TypeTimespan) && a[0].typ() != TypeString && a[0].typ() != TypeDynamic {
			ck.need(c, a, 0, false, "a string or dynamic value")
		}
		if s, ok := constString(a[0]); ok && t == TypeDatetime {
			// A constant is read here, the same way datetime() reads it,
			// so both engines agree on every documented format.
			if v, ok := parseDatetime(strings.TrimSpace(s)); ok {
				return &tLiteral{value: v, t: TypeDatetime}
			}
			return &tLiteral{t: TypeDatetime}
		}
		return mkCall(fn, t, a[0])
	}
}

func checkToDynamic(ck *checker, c *Call, a []texpr) texpr {
	if a[0].typ() == TypeDynamic {
		return a[0]
	}
	ck.need(c, a, 0, a[0].typ() == TypeString, "a string")
	return mkCall("todynamic", TypeDynamic, a[0])
}

func checkExtract(ck *checker, c *Call, a []texpr) texpr {
	re := ck.checkRegex(c, 0, a)
	g, _ := constInt(a[1])
	ck.need(c, a, 1, g >= 0, "a constant group number")
	t := TypeString
	if len(a) == 4 {
		ok := false
		if l, isLit := a[3].(*tLiteral); isLit && l.t == TypeUnknown {
			name, _ := l.value.(string)
			t, ok = ParseType(name)
		}
		ck.need(c, a, 3, ok, "a type, such as typeof(long)")
	}
	if g > int64(re.NumSubexp()) {
		ck.fail(c.Args[1].Position(), "the regular expression has only %d capture group(s)", re.NumSubexp())
	}
	return mkCall("extract", t, a[0], a[1], a[2])
}

func checkSplit(ck *checker, c *Call, a []texpr) texpr {
	if len(a) == 3 {
		// split(s, d, i) is an array holding the i-th part, or empty.
		if i, _ := constInt(a[2]); i < 0 {
			ck.fail(c.Args[2].Position(), "the index of split must not be negative")
		}
		return mkCall("split_at", TypeDynamic, a...)
	}
	return mkCall("split", TypeDynamic, a[0], a[1])
}

func checkIff(ck *checker, c *Call, a []texpr) texpr {
	return mkCall("case", ck.commonType(c, a[1:]), a...)
}
