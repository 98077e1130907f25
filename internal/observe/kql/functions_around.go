package kql

// around(value, center, delta) is true when value lies within delta of
// center, ends included, as Kusto documents; for datetimes delta is a
// timespan. It is a between, so it runs on both engines.
var aroundFunctions = map[string]funcDef{
	"around": sig(3, 3, TypeBool, argAny, argAny, argAny).with(checkAround),
}

func checkAround(ck *checker, c *Call, a []texpr) texpr {
	x, center, delta := a[0], a[1], a[2]
	switch {
	case x.typ().isNumeric():
		ck.need(c, a, 1, center.typ().isNumeric(), "a number")
		ck.need(c, a, 2, delta.typ().isNumeric(), "a number")
	case x.typ() == TypeDatetime:
		ck.need(c, a, 1, center.typ() == TypeDatetime, "a datetime")
		ck.need(c, a, 2, delta.typ() == TypeTimespan, "a timespan")
	case x.typ() == TypeTimespan:
		ck.need(c, a, 1, center.typ() == TypeTimespan, "a timespan")
		ck.need(c, a, 2, delta.typ() == TypeTimespan, "a timespan")
	default:
		ck.need(c, a, 0, false, "a number, datetime or timespan")
	}
	t := center.typ()
	if t.isNumeric() && (delta.typ() == TypeReal || t == TypeReal) {
		t = TypeReal
	} else if t.isInteger() {
		t = TypeLong
	}
	lo := &tBinary{op: "-", l: center, r: delta, t: t}
	hi := &tBinary{op: "+", l: center, r: delta, t: t}
	return &tBetween{x: x, lo: lo, hi: hi}
}
