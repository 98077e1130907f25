package kql

import "strings"

// windowFunctions read neighbouring rows of a serialized input: one with
// an order (sort, top, datatable, range). They are planned as SQL window
// functions over that order; ClickHouse 18.16 has none.
var windowFunctions = map[string]funcDef{
	"prev":       sig(1, 3, TypeUnknown, argAny, argConstWhole, argAny).with(checkPrevNext("prev")),
	"next":       sig(1, 3, TypeUnknown, argAny, argConstWhole, argAny).with(checkPrevNext("next")),
	"row_number": sig(0, 2, TypeLong, argWhole, argBool),
	"row_cumsum": sig(1, 1, TypeUnknown, argNumber).with(func(ck *checker, c *Call, a []texpr) texpr {
		t := a[0].typ()
		if t == TypeInt {
			t = TypeLong
		}
		return mkCall("row_cumsum", t, a...)
	}),
}

func checkPrevNext(fn string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		if len(a) > 1 {
			if n, _ := constInt(a[1]); n < 0 {
				ck.fail(c.Args[1].Position(), "the offset of %s must not be negative", fn)
			}
		}
		if len(a) == 3 && a[2].typ() != a[0].typ() && !isNullLiteral(a[2]) && (!a[0].typ().isNumeric() || !a[2].typ().isNumeric()) {
			ck.need(c, a, 2, false, "of the same type as the value")
		}
		return mkCall(fn, a[0].typ(), a...)
	}
}

// windowOver is the OVER clause of the current project's row order.
func (pl *planner) windowOver(fn string) string {
	if len(pl.window) == 0 {
		pl.fail("%s needs rows in a known order: sort them first (| sort by ...), or start from datatable or range", fn)
	}
	return " OVER (ORDER BY " + orderBy(pl.window) + ")"
}

var duckdbWindow = map[string]sqlFunc{
	"prev": prevNextSQL("lag"),
	"next": prevNextSQL("lead"),
	"row_number": func(c sqlCall) frag {
		over := c.pl.windowOver("row_number")
		if len(c.e.args) == 2 {
			// row_number(start, restart): numbered again from start in each
			// segment that a true restart begins (functions_rank.go).
			s, ok := c.pl.segments[c.e]
			if !ok {
				c.pl.fail("row_number with a restart argument is only allowed in extend and project")
			}
			over = " OVER (PARTITION BY " + quoteIdent(s.group) + " " + strings.TrimPrefix(over, " OVER (")
			return cat("(row_number()"+over+" - 1 + ", c.arg(0), ")")
		}
		if len(c.e.args) == 1 {
			return cat("(row_number()"+over+" - 1 + ", c.arg(0), ")")
		}
		return raw("row_number()" + over)
	},
	"row_cumsum": func(c sqlCall) frag {
		// Rows, not the default range frame: rows whose order keys tie
		// still each add their own value.
		over := strings.TrimSuffix(c.pl.windowOver("row_cumsum"), ")") + rowsFrame + ")"
		return cat("CAST(sum(", c.arg(0), ")"+over+" AS "+c.pl.d.sqlType(c.e.t)+")")
	},
}

func prevNextSQL(name string) sqlFunc {
	return func(c sqlCall) frag {
		over := c.pl.windowOver(c.e.fn)
		args := []frag{c.arg(0)}
		if len(c.e.args) > 1 {
			args = append(args, c.arg(1))
		}
		if len(c.e.args) > 2 {
			args = append(args, c.pl.castTo(c.arg(2), c.e.args[2], c.e.t))
		}
		return cat(name+"(", joinFrags(args, ", "), ")"+over)
	}
}
