package kql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The evaluate plugins that are plain relational operations over their
// input: rows_near (a window over the serialized rows), ipv4_lookup and
// ipv6_lookup (a join on "the address is in the range"). Each follows the
// plugin's page in Kusto's documentation.

// refuseOn fails at pos when the query is compiled for dialect d; a check
// without compilation (opts nil) lets it through, and the planner refuses
// it there instead.
func (ck *checker) refuseOn(d Dialect, pos Pos, format string, args ...any) {
	if ck.opts != nil && ck.opts.Dialect == d {
		ck.fail(pos, format, args...)
	}
}

// maxNearRows bounds rows_near's window: the frame is a SQL constant, and
// a larger one would only make every row's window scan the whole input.
const maxNearRows = 1 << 20

// rowsNear keeps every row within NumRows before or RowsAfter after a row
// where Condition is true (rows_near plugin). The input must be serialized:
// "near" is in its row order.
func (ck *checker) rowsNear(in relation, op *EvaluateOp) relation {
	cols := in.columns()
	c := op.Plugin
	args := ck.pluginArgs(c, "Condition", "NumRows", "RowsAfter")
	if args[0] == nil || args[1] == nil {
		ck.fail(c.NamePos, "rows_near needs a condition and a number of rows, such as rows_near(State == \"Error\", 2)")
	}
	cond := ck.expr(args[0], cols)
	if cond.typ() != TypeBool {
		ck.fail(args[0].Position(), "the condition of rows_near must be bool, but it is %s", cond.typ())
	}
	count := func(e Expr) int64 {
		n := ck.constCount(e, "rows_near")
		if n > maxNearRows {
			ck.fail(e.Position(), "rows_near takes at most %d rows before or after", maxNearRows)
		}
		return n
	}
	before := count(args[1])
	after := before
	if args[2] != nil {
		after = count(args[2])
	}
	ck.refuseOn(ClickHouse, c.NamePos, "rows_near is not supported on ClickHouse 18.16, which has no window functions")
	flag := &tCall{fn: "_tb_rows_near", t: TypeBool, args: []texpr{cond, &tLiteral{value: before, t: TypeLong}, &tLiteral{value: after, t: TypeLong}}}
	marked := &relProject{in: in, cols: append(append([]Column(nil), cols...), Column{Name: "_tb_near", Type: TypeBool}), exprs: append(identity(cols), flag)}
	return &relProject{in: &relFilter{in: marked, pred: &tColumn{idx: len(cols), t: TypeBool}}, cols: cols, exprs: identity(cols)}
}

// rowsNearSQL: a row is kept when the condition holds on some row from
// RowsAfter rows before it to NumRows rows after it.
func rowsNearSQL(c sqlCall) frag {
	if len(c.pl.window) == 0 {
		c.pl.fail("rows_near needs rows in a known order: sort them first (| sort by ...), or start from datatable or range")
	}
	before, _ := constInt(c.e.args[1])
	after, _ := constInt(c.e.args[2])
	frame := " ROWS BETWEEN " + strconv.FormatInt(after, 10) + " PRECEDING AND " + strconv.FormatInt(before, 10) + " FOLLOWING"
	return cat("coalesce(bool_or(coalesce(", c.arg(0), ", false)) OVER (ORDER BY "+orderBy(c.pl.window)+frame+"), false)")
}

// relCondJoin joins on a condition over both sides' columns (the left's,
// then the right's); kind is inner or leftouter.
type relCondJoin struct {
	left, right relation
	kind        string
	cond        texpr
	cols        []Column
	out         []joinOut
	what        string // the operation, for messages
}

func (r *relCondJoin) columns() []Column { return r.cols }

// ipLookup is ipv4_lookup / ipv6_lookup: each input row joined with the
// lookup rows whose range holds its address; with return_unmatched, the
// input rows without one too, with nulls. The lookup table's columns come
// first, as in the documentation's examples.
func (ck *checker) ipLookup(in relation, op *EvaluateOp, family string) relation {
	c := op.Plugin
	args := ck.pluginArgs(c, "LookupTable", "SourceIPKey", "LookupKey", "return_unmatched")
	if args[0] == nil || args[1] == nil || args[2] == nil {
		ck.fail(c.NamePos, "%s needs a lookup table, the input's address column and the table's range column, such as %s(Ranges, ip, network)", c.Name, c.Name)
	}
	id, ok := args[0].(*Ident)
	if !ok {
		ck.fail(args[0].Position(), "the lookup table of %s must be a table or a tabular let, by name", c.Name)
	}
	table := ck.source(&TableRef{NamePos: id.NamePos, Name: id.Name})
	left, right := in.columns(), table.columns()
	column := func(e Expr, cols []Column, of string) int {
		ref, ok := e.(*Ident)
		if !ok {
			ck.fail(e.Position(), "%s needs a column of %s here, by name", c.Name, of)
		}
		i := findColumn(cols, ref.Name)
		if i < 0 {
			ck.unknownColumn(ref.NamePos, ref.Name, cols)
		}
		if cols[i].Type != TypeString {
			ck.fail(e.Position(), "%s needs a string column of addresses, but %s is %s", c.Name, identString(ref.Name), cols[i].Type)
		}
		return i
	}
	src := column(args[1], left, "the input")
	key := column(args[2], right, "the lookup table")
	kind := "inner"
	if args[3] != nil {
		v := ck.expr(args[3], nil)
		l, ok := v.(*tLiteral)
		if !ok || l.t != TypeBool {
			ck.fail(args[3].Position(), "return_unmatched of %s must be true or false", c.Name)
		}
		if b, _ := l.value.(bool); b {
			kind = "leftouter"
		}
	}
	ck.refuseOn(ClickHouse, c.NamePos, "%s is not supported on ClickHouse 18.16, which cannot join on a range test", c.Name)
	r := &relCondJoin{left: in, right: table, kind: kind, what: c.Name,
		cond: &tCall{fn: "_tb_" + family + "_is_in_range", t: TypeBool, args: []texpr{
			&tColumn{idx: src, t: TypeString}, &tColumn{idx: len(left) + key, t: TypeString}}}}
	for i, col := range right {
		r.cols = append(r.cols, col)
		r.out = append(r.out, joinOut{right: true, idx: i})
	}
	for i, col := range left {
		r.cols = append(r.cols, Column{Name: freshName(col.Name, r.cols), Type: col.Type})
		r.out = append(r.out, joinOut{idx: i})
	}
	return r
}

func (pl *planner) condJoin(r *relCondJoin) stage {
	if pl.d == ClickHouse {
		pl.fail("%s is not supported on ClickHouse 18.16, which cannot join on a range test", r.what)
	}
	left, right := pl.relation(r.left), pl.relation(r.right)
	la, ra := pl.alias(), pl.alias()
	// Qualified names, as mv-apply's: quoteIdent makes "t1"."col".
	qual := make([]string, 0, len(left.cols)+len(right.cols))
	for _, c := range left.cols {
		qual = append(qual, la+`"."`+c)
	}
	for _, c := range right.cols {
		qual = append(qual, ra+`"."`+c)
	}
	names := pl.sqlNames(r.cols, nil)
	list := make([]frag, len(r.out))
	for i, o := range r.out {
		q := qual[o.idx]
		if o.right {
			q = qual[len(left.cols)+o.idx]
		}
		list[i] = raw(quoteIdent(q) + " AS " + quoteIdent(names[i]))
	}
	join := " JOIN "
	if r.kind == "leftouter" {
		join = " LEFT JOIN "
	}
	src := cat("(SELECT ", joinFrags(list, ", "), " FROM ", left.src, " AS "+la+join, right.src, " AS "+ra+" ON coalesce(", pl.expr(r.cond, qual), ", false))")
	return stage{src: src, cols: names}
}

// pluginNames lists the evaluate plugins, for messages.
func pluginNames() string {
	return strings.Join([]string{"bag_unpack", "pivot", "rows_near", "ipv4_lookup", "ipv6_lookup", "activity_counts_metrics", "narrow"}, ", ")
}

// maxActivityWindows bounds activity_counts_metrics' windows when Start,
// End and Step are constants: the aggregated count compares each window
// with every earlier one.
const maxActivityWindows = 10000

// activityCounts is activity_counts_metrics(IdColumn, TimelineColumn,
// Start, End, Step [, dim...]): per window of Step from Start (the last
// starting at End) and per dimensions, the rows (count), the distinct ids
// (dcount), the ids not seen in an earlier window (new_dcount) and the
// distinct ids from the first window to this one (aggregated_dcount).
// It is written as the summarize and join operators that compute it, so
// it runs on both engines; the arguments are checked first, so that an
// error points into the query as written.
func (ck *checker) activityCounts(in relation, op *EvaluateOp) relation {
	cols := in.columns()
	c := op.Plugin
	if c.ArgNames != nil {
		for i, n := range c.ArgNames {
			if n != "" {
				ck.fail(c.Args[i].Position(), "activity_counts_metrics takes its arguments by position")
			}
		}
	}
	if len(c.Args) < 5 {
		ck.fail(c.NamePos, "activity_counts_metrics needs IdColumn, TimelineColumn, Start, End and Step, such as activity_counts_metrics(UserId, Timestamp, start, end, 1d)")
	}
	colArg := func(e Expr, what string) Column {
		ref, ok := e.(*Ident)
		if !ok {
			ck.fail(e.Position(), "the %s of activity_counts_metrics must be a column, by name", what)
		}
		i := findColumn(cols, ref.Name)
		if i < 0 {
			ck.unknownColumn(ref.NamePos, ref.Name, cols)
		}
		return cols[i]
	}
	id := colArg(c.Args[0], "IdColumn")
	if id.Type == TypeDynamic {
		ck.fail(c.Args[0].Position(), "the IdColumn of activity_counts_metrics cannot be dynamic; convert it with tostring()")
	}
	tl := colArg(c.Args[1], "TimelineColumn")
	if tl.Type != TypeDatetime {
		ck.fail(c.Args[1].Position(), "the TimelineColumn of activity_counts_metrics must be a datetime, but %s is %s", identString(tl.Name), tl.Type)
	}
	start, end, step := ck.expr(c.Args[2], nil), ck.expr(c.Args[3], nil), ck.expr(c.Args[4], nil)
	if start.typ() != TypeDatetime || end.typ() != TypeDatetime {
		ck.fail(c.Args[2].Position(), "Start and End of activity_counts_metrics must be datetimes")
	}
	if step.typ() != TypeTimespan {
		ck.fail(c.Args[4].Position(), "the Step of activity_counts_metrics must be a timespan here (tugboat does not take week, month or year)")
	}
	if d, ok := constDuration(step); ok {
		if d <= 0 {
			ck.fail(c.Args[4].Position(), "the Step of activity_counts_metrics must be positive")
		}
		s, ok1 := start.(*tLiteral)
		e, ok2 := end.(*tLiteral)
		if ok1 && ok2 && s.value != nil && e.value != nil {
			st, _ := s.value.(time.Time)
			et, _ := e.value.(time.Time)
			if n := et.Sub(st) / d; n > maxActivityWindows {
				ck.fail(c.Args[4].Position(), "activity_counts_metrics would make %d windows, more than the limit of %d; use a larger Step", n, maxActivityWindows)
			}
		}
	}
	// The dimensions are joined on through keys that tell a null from a
	// value (a join matches no null), and carried along by the summarize.
	var dims, keys, keyDefs []string
	for i, a := range c.Args[5:] {
		d := colArg(a, "dimension")
		if d.Type == TypeDynamic {
			ck.fail(a.Position(), "a dimension of activity_counts_metrics cannot be dynamic; convert it with tostring()")
		}
		name := identString(d.Name)
		dims = append(dims, name)
		key := fmt.Sprintf("_tb_dk%d", i)
		keys = append(keys, key)
		keyDefs = append(keyDefs, key+" = iff(isnull("+name+"), \"n\", strcat(\"v\", tostring("+name+")))")
	}
	by := strings.Join(append([]string{"_tb_k"}, keys...), ", ")
	keyed := "_tb_w, " + by
	// Constants are written as literals, so that a column of the input
	// with a let's name cannot take its place.
	checked := map[int]texpr{2: start, 3: end, 4: step}
	arg := func(i int) string {
		if l, ok := checked[i].(*tLiteral); ok && l.value != nil {
			return "(" + (&Literal{Type: l.t, Value: l.value}).String() + ")"
		}
		return "(" + exprString(c.Args[i]) + ")"
	}
	base := "_tb_acm_in | extend " + strings.Join(append([]string{"_tb_w = " + arg(2) + " + bin(" + identString(tl.Name) + " - " + arg(2) + ", " + arg(4) + ")", "_tb_k = 1"}, keyDefs...), ", ") +
		" | where " + identString(tl.Name) + " >= " + arg(2) + " and _tb_w <= " + arg(3) +
		" | project " + strings.Join(append(append([]string{"_tb_w", by}, dims...), "_tb_id = "+identString(id.Name)), ", ")
	first := "_tb_acm | summarize _tb_first = min(_tb_w) by " + by + ", _tb_id | summarize _tb_new = count() by _tb_f = _tb_first, " + by
	body := "_tb_acm | summarize ['count'] = count(), dcount = count_distinct(_tb_id) by " + strings.Join(append([]string{keyed}, dims...), ", ") +
		" | join kind=leftouter (" + first + " | project _tb_w = _tb_f, " + by + ", _tb_new) on " + keyed +
		" | join kind=leftouter (" + first + " | join kind=inner (_tb_acm | distinct " + keyed + ") on " + by +
		" | where _tb_f <= _tb_w | summarize _tb_agg = sum(_tb_new) by " + keyed + ") on " + keyed +
		" | project " + identString(tl.Name) + " = _tb_w, " + strings.Join(append(dims, "['count'], dcount, new_dcount = coalesce(_tb_new, 0), aggregated_dcount = _tb_agg"), ", ")
	saved := map[string]*letBinding{}
	for _, n := range []string{"_tb_acm_in", "_tb_acm"} {
		saved[n] = ck.lets[n]
	}
	defer func() {
		for n, b := range saved {
			if b == nil {
				delete(ck.lets, n)
			} else {
				ck.lets[n] = b
			}
		}
	}()
	ck.lets["_tb_acm_in"] = &letBinding{table: in}
	ck.lets["_tb_acm"] = &letBinding{table: &relLet{name: "_tb_acm", in: ck.internalPipeline(base)}}
	return ck.internalPipeline(body)
}

// internalPipeline checks a pipeline tugboat wrote itself from checked
// arguments; an error in it is a bug, not the user's.
func (ck *checker) internalPipeline(text string) relation {
	q, err := Parse(text)
	if err != nil {
		panic("internal pipeline does not parse: " + err.Error() + ": " + text)
	}
	return ck.checkPipeline(q.Body, false)
}

// narrow turns each row into one row per column: Row (the row's 0-based
// number in the input's order, or in the order the engine reads rows
// without one), Column (its name) and Value (as a string), for reading
// wide rows.
func (ck *checker) narrow(in relation, op *EvaluateOp) relation {
	if len(op.Plugin.Args) > 0 {
		ck.fail(op.Plugin.Args[0].Position(), "narrow takes no arguments")
	}
	cols := in.columns()
	numbered := &relProject{in: in, cols: append(append([]Column(nil), cols...), Column{Name: "_tb_row", Type: TypeLong}),
		exprs: append(identity(cols), &tCall{fn: "_tb_row_index", t: TypeLong})}
	base := &relLet{name: "_tb_narrow", in: numbered}
	out := []Column{{Name: "Row", Type: TypeLong}, {Name: "Column", Type: TypeString}, {Name: "Value", Type: TypeString}, {Name: "_tb_ci", Type: TypeLong}}
	u := &relUnion{cols: out}
	for i, c := range cols {
		var v texpr = &tColumn{idx: i, t: c.Type}
		if c.Type != TypeString {
			v = mkCall("tostring", TypeString, v)
		}
		u.inputs = append(u.inputs, &relProject{in: base, cols: out, exprs: []texpr{
			&tColumn{idx: len(cols), t: TypeLong}, &tLiteral{value: c.Name, t: TypeString}, v, &tLiteral{value: int64(i), t: TypeLong}}})
		u.maps = append(u.maps, []int{0, 1, 2, 3})
	}
	if len(cols) == 0 {
		return &relValues{cols: out[:3]}
	}
	sorted := &relSort{in: u, keys: []sortSpec{{e: &tColumn{idx: 0, t: TypeLong}}, {e: &tColumn{idx: 3, t: TypeLong}}}}
	return &relProject{in: sorted, cols: out[:3], exprs: identity(out[:3])}
}

// rowIndexSQL is the 0-based number of a row in the input's order.
func rowIndexSQL(c sqlCall) frag {
	if c.pl.d == ClickHouse {
		if len(c.pl.window) > 0 {
			c.pl.fail("narrow on ClickHouse 18.16 numbers rows only in the order it reads them; leave out the sort, or use DuckDB")
		}
		return raw("toInt64(rowNumberInAllBlocks())")
	}
	order := ""
	if len(c.pl.window) > 0 {
		order = "ORDER BY " + orderBy(c.pl.window)
	}
	return raw("(row_number() OVER (" + order + ") - 1)")
}
