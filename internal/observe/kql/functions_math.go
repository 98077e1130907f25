package kql

// mathFunctions are Kusto's numeric functions.
var mathFunctions = map[string]funcDef{
	"abs":                sig(1, 1, TypeUnknown, argNumber),
	"ceiling":            sig(1, 1, TypeUnknown, argNumber),
	"round":              sig(1, 2, TypeReal, argNumber, argWhole).with(checkRound),
	"pow":                sig(2, 2, TypeReal, argNumber, argNumber),
	"sqrt":               sig(1, 1, TypeReal, argNumber),
	"exp":                sig(1, 1, TypeReal, argNumber),
	"exp2":               sig(1, 1, TypeReal, argNumber),
	"exp10":              sig(1, 1, TypeReal, argNumber),
	"log":                sig(1, 1, TypeReal, argNumber),
	"log2":               sig(1, 1, TypeReal, argNumber),
	"log10":              sig(1, 1, TypeReal, argNumber),
	"sign":               sig(1, 1, TypeUnknown, argNumber),
	"sin":                sig(1, 1, TypeReal, argNumber),
	"cos":                sig(1, 1, TypeReal, argNumber),
	"tan":                sig(1, 1, TypeReal, argNumber),
	"asin":               sig(1, 1, TypeReal, argNumber),
	"acos":               sig(1, 1, TypeReal, argNumber),
	"atan":               sig(1, 1, TypeReal, argNumber),
	"atan2":              sig(2, 2, TypeReal, argNumber, argNumber),
	"cot":                sig(1, 1, TypeReal, argNumber),
	"degrees":            sig(1, 1, TypeReal, argNumber),
	"radians":            sig(1, 1, TypeReal, argNumber),
	"pi":                 sig(0, 0, TypeReal),
	"gamma":              sig(1, 1, TypeReal, argNumber),
	"loggamma":           sig(1, 1, TypeReal, argNumber),
	"isnan":              sig(1, 1, TypeBool, argNumber),
	"isinf":              sig(1, 1, TypeBool, argNumber),
	"isfinite":           sig(1, 1, TypeBool, argNumber),
	"rand":               sig(0, 1, TypeReal, argWhole).with(checkRand),
	"binary_and":         sig(2, 2, TypeLong, argWhole, argWhole),
	"binary_or":          sig(2, 2, TypeLong, argWhole, argWhole),
	"binary_xor":         sig(2, 2, TypeLong, argWhole, argWhole),
	"binary_not":         sig(1, 1, TypeLong, argWhole),
	"binary_shift_left":  sig(2, 2, TypeLong, argWhole, argWhole),
	"binary_shift_right": sig(2, 2, TypeLong, argWhole, argWhole),
	"max_of":             sig(2, variadic, TypeUnknown, argScalar).with(checkMinMaxOf("max_of")),
	"min_of":             sig(2, variadic, TypeUnknown, argScalar).with(checkMinMaxOf("min_of")),
}

func checkRound(ck *checker, c *Call, a []texpr) texpr {
	return mkCall("round", TypeReal, a...)
}

func checkRand(ck *checker, c *Call, a []texpr) texpr {
	if len(a) == 1 {
		return mkCall("rand", TypeLong, a...)
	}
	return mkCall("rand", TypeReal)
}

func checkMinMaxOf(fn string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		return mkCall(fn, ck.commonType(c, a), a...)
	}
}
