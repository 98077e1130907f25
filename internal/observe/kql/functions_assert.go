package kql

import (
	"math"
	"strings"
	"time"
)

// assert(condition, message) is checked while the query is analysed, as
// Kusto's documentation says: both arguments must be constants then (built
// from literals and the arguments of a let function, never a row's
// columns); a false condition fails the query with the message, a true one
// is the value true.
var assertFunctions = map[string]funcDef{
	"assert": sig(2, 2, TypeBool, argBool, argString).with(checkAssert),
}

func checkAssert(ck *checker, c *Call, a []texpr) texpr {
	v, ok := evalConst(a[0])
	cond, isBool := v.(bool)
	if !ok || (!isBool && v != nil) {
		ck.fail(c.Args[0].Position(), "the condition of assert must be a constant when the query is analysed (literals and let function arguments, not columns)")
	}
	msg, ok := constString(a[1])
	if !ok {
		ck.fail(c.Args[1].Position(), "the message of assert must be a constant string")
	}
	if !cond {
		ck.fail(c.NamePos, "assert() has failed with message: '%s'", msg)
	}
	return &tLiteral{value: true, t: TypeBool}
}

// evalConst evaluates an expression made of literals: numbers, strings,
// bools, datetimes and timespans with arithmetic, comparisons, and/or/not.
// ok is false when the expression reads anything else; a nil value is null.
func evalConst(e texpr) (v any, ok bool) {
	switch e := e.(type) {
	case *tLiteral:
		return e.value, true
	case *tUnary:
		x, ok := evalConst(e.x)
		switch x := x.(type) {
		case int64:
			return -x, ok
		case float64:
			return -x, ok
		case time.Duration:
			return -x, ok
		case nil:
			return nil, ok
		}
	case *tCall:
		if e.fn == "not" && len(e.args) == 1 {
			x, ok := evalConst(e.args[0])
			if b, isBool := x.(bool); isBool {
				return !b, ok
			}
			return nil, ok && x == nil
		}
	case *tBinary:
		l, ok1 := evalConst(e.l)
		r, ok2 := evalConst(e.r)
		if !ok1 || !ok2 {
			return nil, false
		}
		return evalConstBinary(e.op, l, r)
	}
	return nil, false
}

func evalConstBinary(op string, l, r any) (any, bool) {
	switch op {
	case "and", "or":
		lb, lok := l.(bool)
		rb, rok := r.(bool)
		if op == "and" {
			if (lok && !lb) || (rok && !rb) {
				return false, true
			}
			if lok && rok {
				return true, true
			}
			return nil, true
		}
		if (lok && lb) || (rok && rb) {
			return true, true
		}
		if lok && rok {
			return false, true
		}
		return nil, true
	}
	if l == nil || r == nil {
		return nil, true
	}
	if ls, ok := l.(string); ok {
		rs, ok := r.(string)
		if !ok {
			return nil, false
		}
		return compareResult(op, strings.Compare(ls, rs))
	}
	if lb, ok := l.(bool); ok {
		rb, ok := r.(bool)
		if !ok || (op != "==" && op != "!=") {
			return nil, false
		}
		return (lb == rb) == (op == "=="), true
	}
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, true
		case "-":
			return li - ri, true
		case "*":
			return li * ri, true
		case "/", "%":
			if ri == 0 {
				return nil, false
			}
			if op == "/" {
				return li / ri, true
			}
			return li % ri, true
		}
		return compareResult(op, cmpOrdered(li, ri))
	}
	lf, lNum := numberOf(l)
	rf, rNum := numberOf(r)
	if lNum && rNum {
		switch op {
		case "+":
			return lf + rf, true
		case "-":
			return lf - rf, true
		case "*":
			return lf * rf, true
		case "/":
			return lf / rf, true
		case "%":
			return math.Mod(lf, rf), true
		}
		return compareResult(op, cmpOrdered(lf, rf))
	}
	lt, lTime := l.(time.Time)
	rt, rTime := r.(time.Time)
	if lTime && rTime {
		return compareResult(op, lt.Compare(rt))
	}
	ld, lDur := l.(time.Duration)
	rd, rDur := r.(time.Duration)
	if lDur && rDur {
		return compareResult(op, cmpOrdered(ld, rd))
	}
	return nil, false
}

func numberOf(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func cmpOrdered[T int64 | float64 | time.Duration](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareResult(op string, c int) (any, bool) {
	switch op {
	case "==":
		return c == 0, true
	case "!=":
		return c != 0, true
	case "<":
		return c < 0, true
	case "<=":
		return c <= 0, true
	case ">":
		return c > 0, true
	case ">=":
		return c >= 0, true
	}
	return nil, false
}
