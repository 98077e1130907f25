package kql

import "strings"

// rankFunctions are Kusto's row_rank_min and row_rank_dense over a
// serialized input. row_rank_dense starts at 1 and grows by one whenever
// the value differs from the previous row's; row_rank_min is the first row
// number of the current run of equal values. The optional restart argument
// starts the numbering again at a row where it is true, as row_number's
// does. Kusto also calls row_rank_min "the minimal row number the value
// appears in": the two readings agree when equal values are next to each
// other in each restart segment, so a value met again after a different
// one fails the query instead of picking one reading.
var rankFunctions = map[string]funcDef{
	"row_rank_min":   sig(1, 2, TypeLong, argScalar, argBool),
	"row_rank_dense": sig(1, 2, TypeLong, argScalar, argBool),
}

// A restartable window function (row_number with its restart argument,
// the rank functions) reads hidden columns computed in stages before the
// project that calls it, because SQL cannot nest window functions and the
// restart condition usually holds one (prev(x) != x).
type segment struct {
	group string // the number of restarts so far: the PARTITION of the call
	num   string // the row number over the whole input
	start string // whether the row starts a run of equal values (rank functions)
	run   string // the number of runs so far (rank functions)
	value string // the ranked value (rank functions)
}

func isSegmentCall(c *tCall) bool {
	switch c.fn {
	case "row_rank_min", "row_rank_dense", "row_window_session":
		return true
	case "row_number":
		return len(c.args) == 2
	}
	return false
}

func collectSegmentCalls(e texpr, out *[]*tCall) {
	switch e := e.(type) {
	case *tCall:
		if isSegmentCall(e) {
			*out = append(*out, e)
			return
		}
		for _, a := range e.args {
			collectSegmentCalls(a, out)
		}
	case *tBinary:
		collectSegmentCalls(e.l, out)
		collectSegmentCalls(e.r, out)
	case *tUnary:
		collectSegmentCalls(e.x, out)
	case *tIn:
		collectSegmentCalls(e.x, out)
		for _, a := range e.list {
			collectSegmentCalls(a, out)
		}
	case *tBetween:
		collectSegmentCalls(e.x, out)
		collectSegmentCalls(e.lo, out)
		collectSegmentCalls(e.hi, out)
	case *tPath:
		collectSegmentCalls(e.x, out)
	}
}

// rowsFrame makes a running window count each row once, also among rows
// whose order keys tie (the default RANGE frame would count them together).
const rowsFrame = " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"

// segmentStages wraps the input of a project in the stages that compute
// the hidden columns of its restartable window functions, and records them
// in pl.segments for the calls' SQL. The first stage numbers the rows in
// their order; every later window orders by that number, so rows whose
// sort keys tie are in one order in all stages, and the returned stage's
// order is that number.
func (pl *planner) segmentStages(exprs []texpr, in stage) stage {
	var calls []*tCall
	for _, e := range exprs {
		var found []*tCall
		collectSegmentCalls(e, &found)
		for _, c := range found {
			if _, ok := pl.funcs[c.fn]; ok {
				calls = append(calls, c)
			}
		}
	}
	if len(calls) == 0 {
		return in
	}
	num := pl.internal("n")
	in = stage{src: pl.selectFrom(raw("*, row_number()"+pl.windowOverOrder(in.order, calls[0].fn)+" AS "+quoteIdent(num)), in, frag{}), cols: in.cols, order: []orderKey{{col: num}}}
	byNum := " ORDER BY " + quoteIdent(num)
	over := " OVER (" + byNum + ")"
	var first, second, third []frag
	var sessions []*tCall
	for _, c := range calls {
		for _, a := range c.args {
			var nested []*tCall
			collectSegmentCalls(a, &nested)
			if len(nested) > 0 {
				pl.fail("%s cannot be used inside the arguments of %s; compute it with an extend before", nested[0].fn, c.fn)
			}
		}
		if c.fn == "row_window_session" {
			sessions = append(sessions, c)
			continue
		}
		s := segment{group: pl.internal("g"), num: num}
		restart := pl.internal("r")
		cond := raw("FALSE")
		pl.window = in.order
		if len(c.args) == 2 {
			cond = pl.expr(c.args[1], in.cols)
		}
		first = append(first, cat("((", cond, ") IS TRUE) AS ", quoteIdent(restart)))
		second = append(second, raw("sum(CASE WHEN "+quoteIdent(restart)+" THEN 1 ELSE 0 END) OVER ("+byNum+rowsFrame+") AS "+quoteIdent(s.group)))
		if c.fn != "row_number" {
			v := pl.internal("v")
			s.start, s.run, s.value = pl.internal("s"), pl.internal("u"), v
			first = append(first, cat(pl.expr(c.args[0], in.cols), " AS ", quoteIdent(v)))
			second = append(second, raw("("+quoteIdent(restart)+" OR "+quoteIdent(num)+" = 1 OR "+quoteIdent(v)+" IS DISTINCT FROM lag("+quoteIdent(v)+")"+over+") AS "+quoteIdent(s.start)))
			third = append(third, raw("sum(CASE WHEN "+quoteIdent(s.start)+" THEN 1 ELSE 0 END) OVER ("+byNum+rowsFrame+") AS "+quoteIdent(s.run)))
		}
		pl.window = nil
		if pl.segments == nil {
			pl.segments = map[*tCall]segment{}
		}
		pl.segments[c] = s
	}
	for _, list := range [][]frag{first, second, third} {
		if len(list) > 0 {
			in = stage{src: pl.selectFrom(cat("*, ", joinFrags(list, ", ")), in, frag{}), cols: in.cols, order: in.order}
		}
	}
	for _, c := range sessions {
		var out string
		in, out = pl.sessionStage(c, in, num)
		if pl.segments == nil {
			pl.segments = map[*tCall]segment{}
		}
		pl.segments[c] = segment{group: out}
	}
	return in
}

// windowOverOrder is the OVER clause of order, or the error that the rows
// have none.
func (pl *planner) windowOverOrder(order []orderKey, fn string) string {
	saved := pl.window
	pl.window = order
	defer func() { pl.window = saved }()
	return pl.windowOver(fn)
}

func rankSQL(c sqlCall) frag {
	s, ok := c.pl.segments[c.e]
	if !ok {
		c.pl.fail("%s is only allowed in extend and project", c.e.fn)
	}
	order := c.pl.windowOver(c.e.fn)
	order = strings.TrimSuffix(strings.TrimPrefix(order, " OVER (ORDER BY "), ")")
	g := quoteIdent(s.group)
	if c.e.fn == "row_rank_dense" {
		return raw("CAST(sum(CASE WHEN " + quoteIdent(s.start) + " THEN 1 ELSE 0 END) OVER (PARTITION BY " + g + " ORDER BY " + order + rowsFrame + ") AS BIGINT)")
	}
	n, u := quoteIdent(s.num), quoteIdent(s.run)
	v := quoteIdent(s.value)
	rank := "CAST(min(" + n + ") OVER (PARTITION BY " + u + ") - min(" + n + ") OVER (PARTITION BY " + g + ") + 1 AS BIGINT)"
	split := "min(" + u + ") OVER (PARTITION BY " + g + ", " + v + ") <> max(" + u + ") OVER (PARTITION BY " + g + ", " + v + ")"
	return cat("CASE WHEN "+split+" THEN error(", param("row_rank_min needs equal values next to each other: sort by the value (within each restart segment) first"), ") ELSE "+rank+" END")
}

var duckdbRank = map[string]sqlFunc{
	"row_rank_min":   rankSQL,
	"row_rank_dense": rankSQL,
}

// keepOrderSources is the order after a project: a key still copies its
// column only when the project passes that column on unchanged.
func keepOrderSources(order []orderKey, in, names []string, exprs []texpr) []orderKey {
	out := make([]orderKey, len(order))
	for i, k := range order {
		out[i] = k
		if k.of == "" {
			continue
		}
		out[i].of = ""
		for j, e := range exprs {
			if c, ok := e.(*tColumn); ok && names[j] == k.of && in[c.idx] == k.of {
				out[i].of = k.of
			}
		}
	}
	return out
}
