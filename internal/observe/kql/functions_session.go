package kql

import (
	"encoding/json"
	"fmt"
	"time"
)

// row_window_session(Expr, MaxDistanceFromFirst, MaxDistanceBetweenNeighbors
// [, Restart]) is the start of each row's session in a serialized input,
// by the model of Kusto's page: in row order, a row starts a new session
// when there was no session value before or it was null, when its value is
// at least the session's start plus MaxDistanceFromFirst, or the previous
// value plus MaxDistanceBetweenNeighbors, or when Restart is true; a null
// value is a null session value, so the next row starts a session. Each
// session depends on the one before, which no SQL window expresses, so the
// values (in row order) go to Go once as one list and come back as one list
// of starts, joined to the rows by their number: linear in the rows.

var sessionFunctions = map[string]funcDef{
	"row_window_session": sig(3, 4, TypeDatetime, argDatetime, argTimespan, argTimespan, argBool).with(checkWindowSession),
}

func checkWindowSession(ck *checker, c *Call, a []texpr) texpr {
	for i := 1; i <= 2; i++ {
		d, ok := constDuration(a[i])
		ck.need(c, a, i, ok && d >= 0, "a constant timespan that is not negative")
	}
	return mkCall("row_window_session", TypeDatetime, a...)
}

// maxSessionRows bounds the rows one row_window_session call reads.
const maxSessionRows = 1 << 22

// sessionStage adds the session start column of call c to in (numbered by
// num): in becomes a common table expression read twice, once for the rows
// and once for the list that Go turns into starts.
func (pl *planner) sessionStage(c *tCall, in stage, num string) (stage, string) {
	v, r := pl.internal("v"), pl.internal("r")
	restart := raw("FALSE")
	pl.window = in.order
	val := pl.expr(c.args[0], in.cols)
	if len(c.args) == 4 {
		restart = pl.expr(c.args[3], in.cols)
	}
	pl.window = nil
	in = stage{src: pl.selectFrom(cat("*, epoch_us(", val, ") AS ", quoteIdent(v), ", ((", restart, ") IS TRUE) AS ", quoteIdent(r)), in, frag{}), cols: in.cols, order: in.order}
	first, _ := constDuration(c.args[1])
	neighbors, _ := constDuration(c.args[2])
	name, starts, idx, out := pl.internal("w"), pl.internal("l"), pl.internal("i"), pl.internal("ws")
	pl.ctes = append(pl.ctes, cat(quoteIdent(name), " AS MATERIALIZED (SELECT * FROM ", in.src, " AS ", raw(pl.alias()), ")"))
	n := quoteIdent(num)
	list := cat("(SELECT CAST(_tb_row_window_session(CAST(to_json(list(", raw(quoteIdent(v)), " ORDER BY ", raw(n), ")) AS VARCHAR), CAST(to_json(list(", raw(quoteIdent(r)), " ORDER BY ", raw(n), ")) AS VARCHAR), ",
		param(int64(first/time.Microsecond)), ", ", param(int64(neighbors/time.Microsecond)), ") AS BIGINT[]) AS ", raw(quoteIdent(starts)), " FROM ", raw(quoteIdent(name)), ")")
	perRow := cat("(SELECT unnest(", raw(quoteIdent(starts)), ") AS ", raw(quoteIdent(out)), ", unnest(range(1, len(", raw(quoteIdent(starts)), ") + 1)) AS ", raw(quoteIdent(idx)), " FROM ", list, ")")
	rowsAlias, startsAlias := pl.alias(), pl.alias()
	src := cat("(SELECT ", raw(rowsAlias), ".*, ", raw(startsAlias+"."+quoteIdent(out)), " FROM ", raw(quoteIdent(name)), " AS ", raw(rowsAlias),
		" JOIN ", perRow, " AS ", raw(startsAlias), " ON ", raw(rowsAlias+"."+n), " = ", raw(startsAlias+"."+quoteIdent(idx)), ")")
	return stage{src: src, cols: in.cols, order: in.order}, out
}

// windowSessions is the model of Kusto's page over values in microseconds.
func windowSessions(vals []*int64, restarts []bool, first, neighbors int64) []*int64 {
	out := make([]*int64, len(vals))
	var start, prev *int64
	for i, v := range vals {
		if v == nil {
			start, prev = nil, nil
			continue
		}
		restart := i < len(restarts) && restarts[i]
		if start == nil || restart || *v >= *start+first || (prev != nil && *v >= *prev+neighbors) {
			start = v
		}
		out[i] = start
		prev = v
	}
	return out
}

var _ = registerGo(GoFunc{Name: "_tb_row_window_session", Args: []Type{TypeString, TypeString, TypeLong, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
	var vals []*int64
	var restarts []bool
	if err := json.Unmarshal([]byte(a[0].(string)), &vals); err != nil {
		return nil, fmt.Errorf("failed to read the values of row_window_session: %w", err)
	}
	if len(vals) > maxSessionRows {
		return nil, fmt.Errorf("row_window_session reads at most %d rows, but it got %d; filter or summarize first", maxSessionRows, len(vals))
	}
	if err := json.Unmarshal([]byte(a[1].(string)), &restarts); err != nil {
		return nil, fmt.Errorf("failed to read the restarts of row_window_session: %w", err)
	}
	return dynamicResult(windowSessions(vals, restarts, a[2].(int64), a[3].(int64)))
}})

var duckdbSession = map[string]sqlFunc{
	"row_window_session": func(c sqlCall) frag {
		s, ok := c.pl.segments[c.e]
		if !ok {
			c.pl.fail("row_window_session is only allowed in extend and project")
		}
		return raw("make_timestamp(" + quoteIdent(s.group) + ")")
	},
}
