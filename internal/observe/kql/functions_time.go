package kql

import "strings"

// timeFunctions are Kusto's datetime and timespan functions.
var timeFunctions = map[string]funcDef{
	"dayofweek":                        sig(1, 1, TypeTimespan, argDatetime),
	"dayofmonth":                       sig(1, 1, TypeInt, argDatetime),
	"dayofyear":                        sig(1, 1, TypeInt, argDatetime),
	"getmonth":                         sig(1, 1, TypeInt, argDatetime),
	"monthofyear":                      sig(1, 1, TypeInt, argDatetime).alias("getmonth"),
	"getyear":                          sig(1, 1, TypeInt, argDatetime),
	"hourofday":                        sig(1, 1, TypeInt, argDatetime),
	"weekofyear":                       sig(1, 1, TypeInt, argDatetime),
	"week_of_year":                     sig(1, 1, TypeInt, argDatetime).alias("weekofyear"),
	"startofweek":                      sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"startofmonth":                     sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"startofyear":                      sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"endofday":                         sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"endofweek":                        sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"endofmonth":                       sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"endofyear":                        sig(1, 2, TypeDatetime, argDatetime, argWhole),
	"datetime_add":                     sig(3, 3, TypeDatetime, argConstString, argWhole, argDatetime).with(checkDatetimePart(0, TypeDatetime)),
	"datetime_diff":                    sig(3, 3, TypeLong, argConstString, argDatetime, argDatetime).with(checkDatetimePart(0, TypeLong)),
	"datetime_part":                    sig(2, 2, TypeInt, argConstString, argDatetime).with(checkDatetimePart(0, TypeInt)),
	"make_datetime":                    sig(3, 7, TypeDatetime, argNumber),
	"make_timespan":                    sig(2, 4, TypeTimespan, argNumber),
	"unixtime_seconds_todatetime":      sig(1, 1, TypeDatetime, argNumber),
	"unixtime_milliseconds_todatetime": sig(1, 1, TypeDatetime, argNumber),
	"unixtime_microseconds_todatetime": sig(1, 1, TypeDatetime, argNumber),
	"unixtime_nanoseconds_todatetime":  sig(1, 1, TypeDatetime, argNumber),
	"bin_at":                           sig(3, 3, TypeUnknown).with(checkBinAt),
}

// datetimeParts maps Kusto's datetime part names (case-insensitive) to
// DuckDB's.
var datetimeParts = map[string]string{
	"year": "year", "quarter": "quarter", "month": "month", "week": "week", "week_of_year": "week",
	"day": "day", "dayofyear": "doy", "hour": "hour", "minute": "minute", "second": "second",
	"millisecond": "millisecond", "microsecond": "microsecond", "nanosecond": "nanosecond",
}

func checkDatetimePart(i int, t Type) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		p, _ := constString(a[i])
		if _, ok := datetimeParts[strings.ToLower(p)]; !ok {
			ck.fail(c.Args[i].Position(), "unknown datetime part %q; use year, quarter, month, week, day, dayofyear, hour, minute, second, millisecond, microsecond or nanosecond", p)
		}
		a[i] = &tLiteral{value: strings.ToLower(p), t: TypeString}
		return mkCall(c.Name, t, a...)
	}
}

func checkBinAt(ck *checker, c *Call, a []texpr) texpr {
	x, size, at := a[0], a[1], a[2]
	switch {
	case x.typ() == TypeDatetime:
		ck.need(c, a, 1, size.typ() == TypeTimespan, "a timespan")
		ck.need(c, a, 2, at.typ() == TypeDatetime, "a datetime")
	case x.typ() == TypeTimespan:
		ck.need(c, a, 1, size.typ() == TypeTimespan, "a timespan")
		ck.need(c, a, 2, at.typ() == TypeTimespan, "a timespan")
	case x.typ().isNumeric():
		ck.need(c, a, 1, size.typ().isNumeric(), "a number")
		ck.need(c, a, 2, at.typ().isNumeric(), "a number")
	default:
		ck.need(c, a, 0, false, "a number, datetime or timespan")
	}
	t := x.typ()
	if t.isNumeric() && (size.typ() == TypeReal || at.typ() == TypeReal) {
		t = TypeReal
	}
	return mkCall("bin_at", t, a...)
}
