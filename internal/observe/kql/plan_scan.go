package kql

import (
	"fmt"
	"strings"
)

// scan on DuckDB is a recursive query that consumes one input row per
// round, the way Kusto's documentation walks through it. The row of a
// round holds the whole state (per step: active, match id, and the
// records it keeps, only the columns some expression reads), the rows the
// round outputs, and the next match id. One round, for the steps from the
// last to the first, as the documentation orders them:
//
//   - x_k, "check 1": step k-1 holds a sequence and the record meets k's
//     condition against it; the sequence moves to step k and the record
//     joins it. Check 1 of step k+1 empties step k, so step k's own
//     state in check 2 is its state unless x_{k+1}.
//   - m2_k, "check 2": not x_k, step k holds a sequence (or is the first
//     step) and the record meets k's condition against it; the record
//     replaces step k's own record. The first step starting from empty
//     starts a new match id.
//
// Every check reads the state before the round except for that one
// emptying, so the round is a fixed number of SELECT layers, not a loop.
// A step with output=last outputs the record it holds when its sequence
// leaves it (moved on, replaced, or at the end of the input).

// maxScanCells bounds the rows a scan reads times the columns of its
// state: a round costs in proportion to them (measured on DuckDB 1.5 with
// 2 shared cores: 8 columns, 0.3 to 0.5 ms a row; 381 columns, 16 steps
// with output=last, 25 ms a row), so this is 15 to 20 seconds at most.
const maxScanCells = 300000

// scanNames are the SQL names of a scan's internal columns.
type scanNames struct{ prefix string }

func (n scanNames) col(kind string, ix ...int) string {
	parts := make([]string, len(ix))
	for i, x := range ix {
		parts[i] = fmt.Sprint(x)
	}
	return quoteIdent(n.prefix + kind + strings.Join(parts, "_"))
}

func (pl *planner) scanSteps(r *relScanSteps) stage {
	if pl.d == ClickHouse {
		pl.fail("scan is not supported on ClickHouse 18.16, which has no recursive queries")
	}
	in := pl.relation(r.in)
	n := scanNames{prefix: pl.internal("s") + "_"}
	ns, width := len(r.steps), r.width()
	inCTE, stCTE := quoteIdent(pl.internal("scanin")), quoteIdent(pl.internal("scan"))
	types := make([]Type, width)
	for i, c := range r.cols[:width] {
		types[i] = c.Type
	}
	typed := func(f frag, t Type) frag { return cat("CAST(", f, " AS "+pl.d.sqlType(t)+")") }
	// stored[k][j]: the columns of step j's record that step k's state keeps.
	stored := make([][][]int, ns)
	keeps := func(k, j, c int) bool {
		return r.refs[j][c] || (j == k && r.steps[k].output == "last")
	}
	for k := range stored {
		stored[k] = make([][]int, k+1)
		for j := 0; j <= k; j++ {
			for c := 0; c < width; c++ {
				if keeps(k, j, c) {
					stored[k][j] = append(stored[k][j], c)
				}
			}
		}
	}
	rn, nrn, cnt := n.col("rn"), n.col("nrn"), n.col("cnt")
	empty := func(c int) string { return n.col("z", c) }
	rec := func(c int) string { // the current record's column c
		if c < r.nIn {
			return n.col("r", c)
		}
		return empty(c)
	}
	// env names the environment's columns for step k's expressions; state
	// gives the SQL column of step j's record, column c.
	env := func(k int, state func(j, c int) string) []string {
		names := make([]string, width*(1+ns))
		for c := 0; c < width; c++ {
			names[c] = unquoteIdent(rec(c))
		}
		for j := 0; j < ns; j++ {
			for c := 0; c < width; c++ {
				name := empty(c)
				if j <= k && keeps(k, j, c) {
					name = state(j, c)
				}
				names[width*(1+j)+c] = unquoteIdent(name)
			}
		}
		return names
	}
	// check1Env is step k's check 1: the state of step k-1, with an empty
	// record for k itself.
	check1Env := func(k int) []string {
		return env(k, func(j, c int) string {
			if j == k {
				return empty(c)
			}
			return n.col("v", k-1, j, c)
		})
	}
	check2Env := func(k int) []string {
		return env(k, func(j, c int) string { return n.col("p", k, j, c) })
	}
	expr := func(e texpr, names []string) frag { return pl.expr(e, names) }

	// The empty record: nulls, and the declared columns' defaults.
	emptyValue := func(c int) frag {
		if c >= r.nIn {
			return typed(pl.expr(r.defaults[c-r.nIn], nil), types[c])
		}
		return raw(pl.d.nullOf(types[c]))
	}
	// The anchor: the empty state before the first row.
	var anchor []frag
	add := func(name string, init frag) {
		anchor = append(anchor, cat(init, " AS "+name))
	}
	add(rn, raw("0")) // set below, once the state's width is known
	add(cnt, raw("CAST(0 AS BIGINT)"))
	for k := 0; k < ns; k++ {
		add(n.col("a", k), raw("false"))
		add(n.col("m", k), raw("CAST(NULL AS BIGINT)"))
		for j := 0; j <= k; j++ {
			for _, c := range stored[k][j] {
				add(n.col("v", k, j, c), emptyValue(c))
			}
		}
	}
	for c := 0; c < r.nIn; c++ {
		add(n.col("or", c), raw(pl.d.nullOf(types[c])))
	}
	for k := 0; k < ns; k++ {
		add(n.col("oe", k), raw("false"))
		add(n.col("om", k), raw("CAST(NULL AS BIGINT)"))
		for d := range r.declared {
			add(n.col("od", k, d), raw(pl.d.nullOf(types[r.nIn+d])))
		}
		if r.steps[k].output == "last" {
			add(n.col("le", k), raw("false"))
			add(n.col("ls", k), raw("CAST(0 AS BIGINT)"))
			add(n.col("lm", k), raw("CAST(NULL AS BIGINT)"))
			for c := 0; c < width; c++ {
				add(n.col("lv", k, c), raw(pl.d.nullOf(types[c])))
			}
		}
	}

	// The row limit is checked before the first round. A round's cost
	// grows with the state's width, so the limit is on rows × columns.
	limit := maxScanCells / len(anchor)
	anchor[0] = cat("CAST(CASE WHEN (SELECT count(*) FROM "+inCTE+") > "+fmt.Sprint(limit)+" THEN error(",
		param(fmt.Sprintf("scan takes at most %d rows here: on DuckDB it reads one row per round, which costs in proportion to the %d columns of its state (fewer steps and step columns read make it cheaper); filter or summarize the rows first", limit, len(anchor))), ") ELSE 0 END AS BIGINT) AS "+rn)

	// Layer 0: the state joined with the next row, its columns and the
	// empty record (nulls, and the declared defaults).
	l0 := []frag{raw("w.*"), raw("i." + rn + " AS " + nrn)}
	for c := 0; c < r.nIn; c++ {
		l0 = append(l0, raw("i."+quoteIdent(in.cols[c])+" AS "+n.col("r", c)))
	}
	for c := 0; c < width; c++ {
		l0 = append(l0, cat(emptyValue(c), " AS "+empty(c)))
	}
	layer := cat("SELECT ", joinFrags(l0, ", "), " FROM "+stCTE+" AS w JOIN "+inCTE+" AS i ON i."+rn+" = w."+rn+" + 1")
	wrap := func(list []frag, below frag) frag {
		return cat("SELECT *, ", joinFrags(list, ", "), " FROM (", below, ") AS "+pl.alias())
	}
	// Layer 1: check 1 of every step.
	var l1 []frag
	x := func(k int) string {
		if k == 0 || k >= ns {
			return "false"
		}
		return n.col("x", k)
	}
	for k := 1; k < ns; k++ {
		l1 = append(l1, cat("(", n.col("a", k-1), " AND coalesce(", expr(r.steps[k].cond, check1Env(k)), ", false)) AS "+x(k)))
	}
	if len(l1) > 0 {
		layer = wrap(l1, layer)
	}
	// Layer 2: each step's own state once check 1 of the next step has
	// emptied it or not.
	var l2 []frag
	for k := 0; k < ns; k++ {
		cleared := x(k + 1)
		l2 = append(l2, raw("("+n.col("a", k)+" AND NOT "+cleared+") AS "+n.col("pa", k)))
		for j := 0; j <= k; j++ {
			for _, c := range stored[k][j] {
				l2 = append(l2, raw("CASE WHEN "+cleared+" THEN "+empty(c)+" ELSE "+n.col("v", k, j, c)+" END AS "+n.col("p", k, j, c)))
			}
		}
	}
	layer = wrap(l2, layer)
	// Layer 3: check 2 and the assignments of both checks.
	var l3 []frag
	for k, s := range r.steps {
		active := "true"
		if k > 0 {
			active = n.col("pa", k)
		}
		l3 = append(l3, cat("(NOT "+x(k)+" AND "+active+" AND coalesce(", expr(s.cond, check2Env(k)), ", false)) AS "+n.col("m2", k)))
		for d, a := range s.assigns {
			if a == nil {
				continue
			}
			if k > 0 {
				l3 = append(l3, cat(typed(expr(a, check1Env(k)), types[r.nIn+d]), " AS "+n.col("e1", k, d)))
			}
			l3 = append(l3, cat(typed(expr(a, check2Env(k)), types[r.nIn+d]), " AS "+n.col("e2", k, d)))
		}
	}
	layer = wrap(l3, layer)
	// Layer 4: the new state and this round's output.
	ext := func(k, c int, check string) string {
		if c < r.nIn {
			return n.col("r", c)
		}
		if r.steps[k].assigns[c-r.nIn] == nil {
			return empty(c)
		}
		return n.col(check, k, c-r.nIn)
	}
	newStart := n.col("m2", 0) + " AND NOT " + n.col("pa", 0)
	var l4 []frag
	set := func(name, value string) { l4 = append(l4, raw(value+" AS "+name)) }
	set(rn, nrn)
	set(cnt, cnt+" + CASE WHEN "+newStart+" THEN 1 ELSE 0 END")
	mid := func(k int) string {
		if k == 0 {
			return "CASE WHEN " + newStart + " THEN " + cnt + " ELSE " + n.col("m", 0) + " END"
		}
		return "CASE WHEN " + x(k) + " THEN " + n.col("m", k-1) + " ELSE " + n.col("m", k) + " END"
	}
	for k := 0; k < ns; k++ {
		set(n.col("a", k), "("+x(k)+" OR "+n.col("m2", k)+" OR "+n.col("pa", k)+")")
		set(n.col("m", k), mid(k))
		for j := 0; j <= k; j++ {
			for _, c := range stored[k][j] {
				if j < k {
					set(n.col("v", k, j, c), "CASE WHEN "+x(k)+" THEN "+n.col("v", k-1, j, c)+" ELSE "+n.col("p", k, j, c)+" END")
					continue
				}
				e1 := empty(c)
				if k > 0 {
					e1 = ext(k, c, "e1")
				}
				set(n.col("v", k, j, c), "CASE WHEN "+x(k)+" THEN "+e1+" WHEN "+n.col("m2", k)+" THEN "+ext(k, c, "e2")+" ELSE "+n.col("p", k, j, c)+" END")
			}
		}
	}
	for c := 0; c < r.nIn; c++ {
		set(n.col("or", c), n.col("r", c))
	}
	for k, s := range r.steps {
		matched := "(" + x(k) + " OR " + n.col("m2", k) + ")"
		if s.output != "all" {
			matched = "false"
		}
		set(n.col("oe", k), matched)
		set(n.col("om", k), mid(k))
		for d := range r.declared {
			c := r.nIn + d
			e1 := empty(c)
			if k > 0 {
				e1 = ext(k, c, "e1")
			}
			set(n.col("od", k, d), "CASE WHEN "+x(k)+" THEN "+e1+" ELSE "+ext(k, c, "e2")+" END")
		}
		if s.output == "last" {
			// The sequence leaves step k: moved on by check 1 of k+1, or
			// replaced by check 1 of k. The first is output while step k+1
			// is checked, before its own output.
			set(n.col("le", k), "("+n.col("a", k)+" AND ("+x(k+1)+" OR "+x(k)+"))")
			set(n.col("ls", k), fmt.Sprintf("CASE WHEN %s THEN %d ELSE %d END", x(k+1), 2*(ns-k-2), 2*(ns-k-1)))
			set(n.col("lm", k), n.col("m", k))
			for c := 0; c < width; c++ {
				set(n.col("lv", k, c), n.col("v", k, k, c))
			}
		}
	}
	layer = cat("SELECT ", joinFrags(l4, ", "), " FROM (", layer, ") AS "+pl.alias())

	// The output: every round's rows in step order, then the records the
	// output=last steps still hold at the end.
	outNames := pl.sqlNames(r.cols, nil)
	o1, o2 := pl.internal("o"), pl.internal("o")
	var outs []string
	emit := func(values []string, midCol, order1, order2, where string) {
		list := make([]string, 0, len(values)+3)
		for i, v := range values {
			list = append(list, v+" AS "+quoteIdent(outNames[i]))
		}
		if r.matchID {
			list = append(list, midCol+" AS "+quoteIdent(outNames[width]))
		}
		list = append(list, order1+" AS "+quoteIdent(o1), order2+" AS "+quoteIdent(o2))
		outs = append(outs, "SELECT "+strings.Join(list, ", ")+" FROM "+stCTE+" WHERE "+where)
	}
	for k := ns - 1; k >= 0; k-- {
		if r.steps[k].output == "last" {
			values := make([]string, width)
			for c := range values {
				values[c] = n.col("lv", k, c)
			}
			emit(values, n.col("lm", k), rn, n.col("ls", k), n.col("le", k))
		}
		if r.steps[k].output == "all" {
			values := make([]string, width)
			for c := range values {
				if c < r.nIn {
					values[c] = n.col("or", c)
				} else {
					values[c] = n.col("od", k, c-r.nIn)
				}
			}
			emit(values, n.col("om", k), rn, fmt.Sprint(2*(ns-k-1)+1), n.col("oe", k))
		}
	}
	for k := ns - 1; k >= 0; k-- {
		if r.steps[k].output != "last" {
			continue
		}
		values := make([]string, width)
		for c := range values {
			values[c] = n.col("v", k, k, c)
		}
		emit(values, n.col("m", k), rn+" + 1", fmt.Sprint(ns-k), n.col("a", k)+" AND "+rn+" = (SELECT max("+rn+") FROM "+stCTE+")")
	}
	if len(outs) == 0 {
		// Every step has output=none: no rows, with the columns.
		values := make([]string, width)
		for c := range values {
			values[c] = pl.d.nullOf(types[c])
		}
		emit(values, "CAST(NULL AS BIGINT)", "0", "0", "false")
	}
	// Rows without an order are taken in the order the engine reads them,
	// as Kusto serializes them.
	order := ""
	if len(in.order) > 0 {
		order = "ORDER BY " + orderBy(in.order)
	}
	src := cat("(WITH RECURSIVE "+inCTE+" AS MATERIALIZED (SELECT *, row_number() OVER ("+order+") AS "+rn+" FROM ", in.src, " AS "+pl.alias()+"), ",
		stCTE+" AS (SELECT ", joinFrags(anchor, ", "), " UNION ALL ", layer, ") ", strings.Join(outs, " UNION ALL "), ")")
	return stage{src: src, cols: outNames, order: []orderKey{{col: o1}, {col: o2}}}
}

// unquoteIdent reverses quoteIdent for the internal names above, which env
// hands to pl.expr (which quotes them again).
func unquoteIdent(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
}
