package kql

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Checked is a query whose names and types are resolved against a schema.
type Checked struct {
	rel     relation
	Columns []Column    // the result columns, in order
	Render  *RenderHint // nil when the query has no render operator
}

// RenderHint is the render operator, kept for the client that draws the
// result; it does not change the rows.
type RenderHint struct {
	Kind       string            // timechart, barchart, table, ...
	Properties map[string]string // with (name=value, ...), values as written (strings unquoted)
}

// Check resolves every table, column and function of q against schema and
// computes the type of every expression and the columns after each operator.
func Check(q *Query, schema Schema) (c *Checked, err error) {
	ck := &checker{schema: schema, lets: map[string]*letBinding{}}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(userFailure); ok {
				c, err = nil, f.err
				return
			}
			c = nil
			err = fmt.Errorf("failed to check query: %w: %v", ErrInternal, r)
		}
	}()
	return ck.checkQuery(q), nil
}

type letBinding struct {
	scalar texpr
	table  relation
}

type checker struct {
	schema   Schema
	lets     map[string]*letBinding
	argGroup int // next arg_max/arg_min group
}

func (ck *checker) fail(pos Pos, format string, args ...any) {
	panic(userFailure{errorf(pos, format, args...)})
}

func (ck *checker) checkQuery(q *Query) *Checked {
	for _, l := range q.Lets {
		switch {
		case l.Tabular != nil:
			ck.lets[l.Name] = &letBinding{table: ck.checkPipeline(l.Tabular, false)}
		default:
			// let T = SomeTable; binds a table, not a scalar.
			if id, ok := l.Expr.(*Ident); ok {
				if rel := ck.lookupTable(id.Name); rel != nil {
					ck.lets[l.Name] = &letBinding{table: rel}
					continue
				}
			}
			ck.lets[l.Name] = &letBinding{scalar: ck.expr(l.Expr, nil)}
		}
	}
	out := &Checked{}
	for i, op := range q.Body.Ops {
		if r, ok := op.(*RenderOp); ok {
			if i != len(q.Body.Ops)-1 {
				ck.fail(r.OpPos, "render must be the last operator of the query")
			}
			out.Render = ck.render(r)
		}
	}
	out.rel = ck.checkPipeline(q.Body, true)
	out.Columns = out.rel.columns()
	return out
}

func (ck *checker) lookupTable(name string) relation {
	if b, ok := ck.lets[name]; ok && b.table != nil {
		return b.table
	}
	if cols, ok := ck.schema[name]; ok {
		return &relScan{table: name, cols: cols}
	}
	return nil
}

func (ck *checker) tableNames() []string {
	var names []string
	for n := range ck.schema {
		names = append(names, n)
	}
	for n, b := range ck.lets {
		if b.table != nil {
			names = append(names, n)
		}
	}
	return names
}

func (ck *checker) checkPipeline(p *Pipeline, top bool) relation {
	rel := ck.source(p.Source)
	for _, op := range p.Ops {
		if _, ok := op.(*RenderOp); ok && !top {
			ck.fail(op.Position(), "render is only allowed at the end of the query, not inside a subquery or let")
		}
		rel = ck.operator(rel, op)
	}
	return rel
}

func (ck *checker) source(s Source) relation {
	switch s := s.(type) {
	case *TableRef:
		if rel := ck.lookupTable(s.Name); rel != nil {
			return rel
		}
		if b, ok := ck.lets[s.Name]; ok && b.scalar != nil {
			ck.fail(s.NamePos, "%s is a scalar let, not a table", identString(s.Name))
		}
		msg := fmt.Sprintf("unknown table %s", identString(s.Name))
		if sug := nearest(s.Name, ck.tableNames()); sug != "" {
			msg += fmt.Sprintf("; did you mean %s?", identString(sug))
		}
		ck.fail(s.NamePos, "%s", msg)
	case *Subquery:
		return ck.checkPipeline(s.Pipeline, false)
	case *UnionSource:
		return ck.union(nil, s.UnionPos, s.Params, s.Items)
	}
	panic(fmt.Sprintf("unexpected source %T", s))
}

func columnNames(cols []Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func findColumn(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func (ck *checker) unknownColumn(pos Pos, name string, cols []Column) {
	msg := fmt.Sprintf("unknown column %s", identString(name))
	if sug := nearest(name, columnNames(cols)); sug != "" {
		msg += fmt.Sprintf("; did you mean %s?", identString(sug))
	}
	ck.fail(pos, "%s", msg)
}

// identity returns expressions that pass every input column through.
func identity(cols []Column) []texpr {
	exprs := make([]texpr, len(cols))
	for i, c := range cols {
		exprs[i] = &tColumn{idx: i, t: c.Type}
	}
	return exprs
}

// freshName returns a name not in cols: Column1, Column2... for unnamed
// expressions, or base1, base2... to de-duplicate.
func freshName(base string, cols []Column) string {
	if base == "" {
		for i := 1; ; i++ {
			n := "Column" + strconv.Itoa(i)
			if findColumn(cols, n) < 0 {
				return n
			}
		}
	}
	if findColumn(cols, base) < 0 {
		return base
	}
	for i := 1; ; i++ {
		n := base + strconv.Itoa(i)
		if findColumn(cols, n) < 0 {
			return n
		}
	}
}

func (ck *checker) operator(in relation, op Operator) relation {
	cols := in.columns()
	switch op := op.(type) {
	case *WhereOp:
		pred := ck.expr(op.Pred, cols)
		if pred.typ() != TypeBool {
			ck.fail(op.Pred.Position(), "where needs a bool condition, but this expression is %s", pred.typ())
		}
		return &relFilter{in: in, pred: pred}
	case *ProjectOp:
		p := &relProject{in: in}
		for _, n := range op.Cols {
			e := ck.expr(n.Expr, cols)
			name := n.Name
			if name == "" {
				name = ck.resultName(n.Expr, cols)
			}
			if name == "" {
				name = freshName("", p.cols)
			}
			if findColumn(p.cols, name) >= 0 {
				ck.fail(namedPos(n), "column %s is declared twice in project; rename one with Name = ...", identString(name))
			}
			p.cols = append(p.cols, Column{Name: name, Type: e.typ()})
			p.exprs = append(p.exprs, e)
		}
		return p
	case *ExtendOp:
		p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
		for _, n := range op.Cols {
			// Later items may use columns defined earlier in the same extend.
			e := inline(ck.expr(n.Expr, p.cols), p.exprs)
			name := n.Name
			if name == "" {
				name = ck.resultName(n.Expr, cols)
			}
			if name == "" {
				name = freshName("", p.cols)
			}
			if i := findColumn(p.cols, name); i >= 0 {
				p.cols[i].Type = e.typ()
				p.exprs[i] = e
				continue
			}
			p.cols = append(p.cols, Column{Name: name, Type: e.typ()})
			p.exprs = append(p.exprs, e)
		}
		return p
	case *ProjectAwayOp:
		drop := map[int]bool{}
		for _, id := range op.Cols {
			i := findColumn(cols, id.Name)
			if i < 0 {
				ck.unknownColumn(id.NamePos, id.Name, cols)
			}
			drop[i] = true
		}
		p := &relProject{in: in}
		for i, c := range cols {
			if !drop[i] {
				p.cols = append(p.cols, c)
				p.exprs = append(p.exprs, &tColumn{idx: i, t: c.Type})
			}
		}
		return p
	case *ProjectRenameOp:
		p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
		for _, r := range op.Renames {
			i := findColumn(cols, r.Old.Name)
			if i < 0 {
				ck.unknownColumn(r.Old.NamePos, r.Old.Name, cols)
			}
			if j := findColumn(p.cols, r.New); j >= 0 && j != i {
				ck.fail(r.NewPos, "cannot rename %s to %s: a column with that name already exists", identString(r.Old.Name), identString(r.New))
			}
			p.cols[i].Name = r.New
		}
		return p
	case *SummarizeOp:
		return ck.summarize(in, op)
	case *SortOp:
		return &relSort{in: in, keys: ck.sortKeys(op.Keys, cols)}
	case *TopOp:
		n := ck.constCount(op.N, "top")
		return &relLimit{in: &relSort{in: in, keys: ck.sortKeys(op.Keys, cols)}, n: n}
	case *TakeOp:
		return &relLimit{in: in, n: ck.constCount(op.N, "take")}
	case *DistinctOp:
		if op.Star {
			return &relDistinct{in: in}
		}
		p := &relProject{in: in}
		for _, id := range op.Cols {
			i := findColumn(cols, id.Name)
			if i < 0 {
				ck.unknownColumn(id.NamePos, id.Name, cols)
			}
			if findColumn(p.cols, id.Name) >= 0 {
				ck.fail(id.NamePos, "column %s is listed twice in distinct", identString(id.Name))
			}
			p.cols = append(p.cols, cols[i])
			p.exprs = append(p.exprs, &tColumn{idx: i, t: cols[i].Type})
		}
		return &relDistinct{in: p}
	case *CountOp:
		agg := &relAggregate{in: in, cols: []Column{{Name: "_agg0", Type: TypeLong}}, aggs: []aggregate{{fn: "count", t: TypeLong}}}
		return &relProject{in: agg, cols: []Column{{Name: "Count", Type: TypeLong}}, exprs: []texpr{&tColumn{idx: 0, t: TypeLong}}}
	case *JoinOp:
		return ck.join(in, op)
	case *UnionOp:
		return ck.union(in, op.OpPos, op.Params, op.Items)
	case *ParseOp:
		return ck.parse(in, op)
	case *MvExpandOp:
		return ck.mvExpand(in, op)
	case *RenderOp:
		return in
	}
	panic(fmt.Sprintf("unexpected operator %T", op))
}

func namedPos(n NamedExpr) Pos {
	if n.Name != "" {
		return n.NamePos
	}
	return n.Expr.Position()
}

// inline replaces column references in e by the expressions that define
// them (used by extend, whose items may refer to earlier items).
func inline(e texpr, defs []texpr) texpr {
	switch e := e.(type) {
	case *tColumn:
		return defs[e.idx]
	case *tBinary:
		return &tBinary{op: e.op, l: inline(e.l, defs), r: inline(e.r, defs), t: e.t}
	case *tUnary:
		return &tUnary{op: e.op, x: inline(e.x, defs), t: e.t}
	case *tCall:
		args := make([]texpr, len(e.args))
		for i, a := range e.args {
			args[i] = inline(a, defs)
		}
		return &tCall{fn: e.fn, args: args, t: e.t}
	case *tIn:
		list := make([]texpr, len(e.list))
		for i, a := range e.list {
			list[i] = inline(a, defs)
		}
		return &tIn{op: e.op, x: inline(e.x, defs), list: list}
	case *tBetween:
		return &tBetween{x: inline(e.x, defs), lo: inline(e.lo, defs), hi: inline(e.hi, defs), not: e.not}
	case *tPath:
		return &tPath{x: inline(e.x, defs), path: e.path}
	}
	return e
}

func (ck *checker) constCount(e Expr, op string) int64 {
	t := ck.expr(e, nil)
	n, ok := constInt(t)
	if !ok || n < 0 {
		ck.fail(e.Position(), "%s needs a constant non-negative whole number, such as %s 100", op, op)
	}
	return n
}

func (ck *checker) sortKeys(keys []SortKey, cols []Column) []sortSpec {
	var specs []sortSpec
	for _, k := range keys {
		e := ck.expr(k.Expr, cols)
		if e.typ() == TypeDynamic {
			ck.fail(k.Expr.Position(), "cannot sort by a dynamic value; convert it with tostring(), tolong() or todouble()")
		}
		// Kusto sorts descending unless told otherwise; nulls go last when
		// descending and first when ascending.
		s := sortSpec{e: e, desc: k.Order != SortAsc}
		s.nullsFirst = !s.desc
		switch k.Nulls {
		case NullsFirst:
			s.nullsFirst = true
		case NullsLast:
			s.nullsFirst = false
		}
		specs = append(specs, s)
	}
	return specs
}

func (ck *checker) render(r *RenderOp) *RenderHint {
	kinds := []string{"table", "list", "barchart", "columnchart", "piechart", "timechart", "linechart",
		"areachart", "stackedareachart", "scatterchart", "anomalychart", "card", "pivotchart", "ladderchart", "treemap", "3Dchart", "timepivot"}
	ok := false
	for _, k := range kinds {
		ok = ok || k == r.Kind
	}
	if !ok {
		msg := fmt.Sprintf("unknown visualization %q", r.Kind)
		if s := nearest(r.Kind, kinds); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		ck.fail(r.OpPos, "%s", msg)
	}
	h := &RenderHint{Kind: r.Kind, Properties: map[string]string{}}
	for _, p := range r.Props {
		var vals []string
		for _, v := range p.Values {
			if l, ok := v.(*Literal); ok && l.Type == TypeString {
				vals = append(vals, l.Value.(string))
			} else {
				vals = append(vals, v.String())
			}
		}
		h.Properties[p.Name] = strings.Join(vals, ",")
	}
	return h
}

// resultName is the column name Kusto derives for an unnamed expression
// (Binder.GetExpressionResultName in microsoft/Kusto-Query-Language): a
// column keeps its name, a dynamic path joins its parts with _, conversion
// functions and bin() take their first argument's name, aggregates prefix it.
func (ck *checker) resultName(e Expr, cols []Column) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *Member:
		if left := ck.resultName(e.X, cols); left != "" {
			return left + "_" + e.Name
		}
		return e.Name
	case *Index:
		l, ok := e.Index.(*Literal)
		if !ok || (l.Type != TypeString && l.Type != TypeLong && l.Type != TypeInt) || l.Value == nil {
			return ""
		}
		right := fmt.Sprint(l.Value)
		if left := ck.resultName(e.X, cols); left != "" {
			return left + "_" + right
		}
		return right
	case *Call:
		switch e.Name {
		case "bin", "floor", "tostring", "toint", "tolong", "todouble", "toreal", "todatetime", "totimespan",
			"tobool", "todynamic", "parse_json", "format_datetime":
			if len(e.Args) > 0 {
				return ck.resultName(e.Args[0], cols)
			}
		}
		if prefix := aggregatePrefix(e.Name); prefix != "" {
			first := ""
			if len(e.Args) > 0 {
				first = ck.resultName(e.Args[0], cols)
			}
			return prefix + "_" + first
		}
	}
	return ""
}

func aggregatePrefix(fn string) string {
	switch fn {
	case "count", "countif", "sum", "sumif", "avg", "min", "max", "dcount", "any", "take_any":
		if fn == "take_any" {
			return "any"
		}
		return fn
	case "make_list", "makelist":
		return "list"
	case "make_set", "makeset":
		return "set"
	}
	return ""
}

func isAggregate(fn string) bool {
	switch fn {
	case "count", "countif", "sum", "sumif", "avg", "min", "max", "dcount", "percentile", "percentiles",
		"make_list", "makelist", "make_set", "makeset", "arg_max", "arg_min", "any", "take_any":
		return true
	}
	return false
}

func (ck *checker) summarize(in relation, op *SummarizeOp) relation {
	cols := in.columns()
	for _, p := range op.Params {
		if !strings.HasPrefix(p.Name, "hint.") {
			ck.fail(p.NamePos, "summarize parameter %s is not supported", p.Name)
		}
	}
	agg := &relAggregate{in: in}
	var out []Column
	var outExprs []texpr
	add := func(pos Pos, name string, explicit bool, e texpr) {
		if findColumn(out, name) >= 0 {
			if explicit {
				ck.fail(pos, "column %s is declared twice in summarize; rename one with Name = ...", identString(name))
			}
			name = freshName(name, out)
		}
		out = append(out, Column{Name: name, Type: e.typ()})
		outExprs = append(outExprs, e)
	}
	var keyCols []int // input columns used as plain keys, skipped by arg_max(*)
	for _, k := range op.By {
		e := ck.expr(k.Expr, cols)
		if e.typ() == TypeDynamic {
			ck.fail(k.Expr.Position(), "cannot group by a dynamic value; convert it with tostring()")
		}
		if c, ok := e.(*tColumn); ok {
			keyCols = append(keyCols, c.idx)
		}
		name := k.Name
		if name == "" {
			name = ck.resultName(k.Expr, cols)
		}
		if name == "" {
			name = freshName("", out)
		}
		agg.keys = append(agg.keys, e)
		agg.cols = append(agg.cols, Column{Name: name, Type: e.typ()})
		add(namedPos(k), name, k.Name != "", &tColumn{idx: len(agg.keys) - 1, t: e.typ()})
	}
	nkeys := len(agg.keys)
	for _, a := range op.Aggs {
		call, isCall := a.Expr.(*Call)
		if isCall && (call.Name == "arg_max" || call.Name == "arg_min") {
			for j, c := range ck.argMinMax(agg, call, cols, keyCols, a.Name) {
				add(namedPos(a), c.name, a.Name != "" && j == 0, &tColumn{idx: nkeys + c.agg, t: c.t})
			}
			continue
		}
		if isCall && call.Name == "percentiles" {
			if a.Name != "" {
				ck.fail(a.NamePos, "percentiles produces several columns and cannot be named; use percentile(x, p) for one named column")
			}
			value := ck.aggArg(call, 0, cols)
			for _, lvl := range call.Args[1:] {
				level := ck.percentileLevel(lvl)
				agg.aggs = append(agg.aggs, aggregate{fn: "percentile", args: []texpr{value}, level: level, t: percentileType(value.typ())})
				name := "percentile_" + ck.resultName(call.Args[0], cols) + "_" + validNameFragment(lvl.String())
				add(call.NamePos, name, false, &tColumn{idx: nkeys + len(agg.aggs) - 1, t: percentileType(value.typ())})
			}
			if len(call.Args) < 2 {
				ck.fail(call.NamePos, "percentiles needs a value and at least one percentile, such as percentiles(x, 50, 95)")
			}
			continue
		}
		e := ck.aggExpr(agg, a.Expr, cols)
		if !containsAggRef(e) {
			ck.fail(a.Expr.Position(), "summarize needs an aggregation such as count(), sum(x) or avg(x) here; put plain columns in the by clause")
		}
		name := a.Name
		if name == "" {
			if isCall && call.Name == "percentile" && len(call.Args) == 2 {
				name = "percentile_" + ck.resultName(call.Args[0], cols) + "_" + validNameFragment(call.Args[1].String())
			} else {
				name = ck.resultName(a.Expr, cols)
			}
		}
		if name == "" {
			name = freshName("", out)
		}
		add(namedPos(a), name, a.Name != "", shiftAggRefs(e, nkeys))
	}
	for i, a := range agg.aggs {
		agg.cols = append(agg.cols, Column{Name: "_agg" + strconv.Itoa(i), Type: a.t})
	}
	return &relProject{in: agg, cols: out, exprs: outExprs}
}

// shiftAggRefs turns references to aggregate i into references to column
// nkeys+i of the aggregate relation.
func shiftAggRefs(e texpr, nkeys int) texpr {
	switch e := e.(type) {
	case *tAggRef:
		return &tColumn{idx: nkeys + e.idx, t: e.t}
	case *tBinary:
		return &tBinary{op: e.op, l: shiftAggRefs(e.l, nkeys), r: shiftAggRefs(e.r, nkeys), t: e.t}
	case *tUnary:
		return &tUnary{op: e.op, x: shiftAggRefs(e.x, nkeys), t: e.t}
	case *tCall:
		args := make([]texpr, len(e.args))
		for i, a := range e.args {
			args[i] = shiftAggRefs(a, nkeys)
		}
		return &tCall{fn: e.fn, args: args, t: e.t}
	case *tIn:
		list := make([]texpr, len(e.list))
		for i, a := range e.list {
			list[i] = shiftAggRefs(a, nkeys)
		}
		return &tIn{op: e.op, x: shiftAggRefs(e.x, nkeys), list: list}
	case *tBetween:
		return &tBetween{x: shiftAggRefs(e.x, nkeys), lo: shiftAggRefs(e.lo, nkeys), hi: shiftAggRefs(e.hi, nkeys), not: e.not}
	case *tPath:
		return &tPath{x: shiftAggRefs(e.x, nkeys), path: e.path}
	}
	return e
}

func containsAggRef(e texpr) bool {
	switch e := e.(type) {
	case *tAggRef:
		return true
	case *tBinary:
		return containsAggRef(e.l) || containsAggRef(e.r)
	case *tUnary:
		return containsAggRef(e.x)
	case *tCall:
		for _, a := range e.args {
			if containsAggRef(a) {
				return true
			}
		}
	case *tIn:
		return containsAggRef(e.x)
	case *tBetween:
		return containsAggRef(e.x)
	case *tPath:
		return containsAggRef(e.x)
	}
	return false
}

func validNameFragment(s string) string {
	var b strings.Builder
	for _, r := range s {
		if isIdentPart(r) && r != '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func percentileType(t Type) Type {
	if t == TypeInt {
		return TypeLong
	}
	return t
}

func (ck *checker) percentileLevel(e Expr) float64 {
	l, ok := e.(*Literal)
	var v float64
	switch {
	case ok && l.Type.isInteger() && l.Value != nil:
		v = float64(l.Value.(int64))
	case ok && l.Type == TypeReal && l.Value != nil:
		v = l.Value.(float64)
	default:
		ck.fail(e.Position(), "the percentile must be a number literal between 0 and 100")
	}
	if v < 0 || v > 100 || math.IsNaN(v) {
		ck.fail(e.Position(), "the percentile must be between 0 and 100")
	}
	return v
}

func (ck *checker) aggArg(c *Call, i int, cols []Column) texpr {
	if i >= len(c.Args) {
		ck.fail(c.NamePos, "%s needs at least %d argument(s)", c.Name, i+1)
	}
	e := ck.expr(c.Args[i], cols)
	return e
}

type argCol struct {
	name string
	agg  int
	t    Type
}

// argMinMax expands arg_max(by, a, b) / arg_max(by, *) into one aggregate
// per returned column, all in one group so they come from the same row
// (Aggregates.GetArgMinMaxResult in microsoft/Kusto-Query-Language).
func (ck *checker) argMinMax(agg *relAggregate, c *Call, cols []Column, keyCols []int, rename string) []argCol {
	if len(c.Args) < 1 {
		ck.fail(c.NamePos, "%s needs an expression to maximise, such as %s(TimeGenerated, *)", c.Name, c.Name)
	}
	by := ck.expr(c.Args[0], cols)
	if by.typ() == TypeDynamic {
		ck.fail(c.Args[0].Position(), "%s cannot order by a dynamic value; convert it with tolong() or todatetime()", c.Name)
	}
	group := ck.argGroup
	ck.argGroup++
	prefix := strings.TrimPrefix(c.Name, "arg_")
	var out []argCol
	seen := map[int]bool{}
	addCol := func(name string, value texpr) {
		agg.aggs = append(agg.aggs, aggregate{fn: c.Name, args: []texpr{by}, value: value, group: group, t: value.typ()})
		out = append(out, argCol{name: name, agg: len(agg.aggs) - 1, t: value.typ()})
	}
	primary := ck.resultName(c.Args[0], cols)
	first := primary
	if first == "" {
		first = prefix + "_"
	}
	if rename != "" {
		first = rename
	}
	addCol(first, by)
	if col, ok := by.(*tColumn); ok {
		seen[col.idx] = true
	}
	anyStar := false
	for _, a := range c.Args[1:] {
		if _, ok := a.(*Star); ok {
			anyStar = true
		}
	}
	if anyStar {
		for _, k := range keyCols {
			seen[k] = true
		}
	}
	for i, a := range c.Args[1:] {
		if _, ok := a.(*Star); ok {
			for j, col := range cols {
				if !seen[j] {
					seen[j] = true
					addCol(col.Name, &tColumn{idx: j, t: col.Type})
				}
			}
			continue
		}
		e := ck.expr(a, cols)
		if col, ok := e.(*tColumn); ok {
			if anyStar && seen[col.idx] {
				continue
			}
			seen[col.idx] = true
		}
		name := ck.resultName(a, cols)
		if name == "" {
			name = prefix + "_" + primary + "_arg" + strconv.Itoa(i+1)
		}
		addCol(name, e)
	}
	return out
}

// aggExpr checks an expression of the aggregate list: aggregate calls are
// registered in agg and replaced by tAggRef; the rest is ordinary scalar code.
func (ck *checker) aggExpr(agg *relAggregate, e Expr, cols []Column) texpr {
	switch e := e.(type) {
	case *Call:
		if isAggregate(e.Name) {
			a := ck.aggregateCall(e, cols)
			agg.aggs = append(agg.aggs, a)
			return &tAggRef{idx: len(agg.aggs) - 1, t: a.t}
		}
		args := make([]texpr, len(e.Args))
		for i, x := range e.Args {
			args[i] = ck.aggExpr(agg, x, cols)
		}
		return ck.call(e, args)
	case *Binary:
		return ck.binary(e, ck.aggExpr(agg, e.Left, cols), ck.aggExpr(agg, e.Right, cols), cols)
	case *Unary:
		return ck.unary(e, ck.aggExpr(agg, e.X, cols))
	}
	t := ck.expr(e, cols)
	if hasColumnRef(t) {
		ck.fail(e.Position(), "summarize needs an aggregation such as count(), sum(x) or avg(x) here; put plain columns in the by clause")
	}
	return t
}

func hasColumnRef(e texpr) bool {
	switch e := e.(type) {
	case *tColumn:
		return true
	case *tBinary:
		return hasColumnRef(e.l) || hasColumnRef(e.r)
	case *tUnary:
		return hasColumnRef(e.x)
	case *tCall:
		for _, a := range e.args {
			if hasColumnRef(a) {
				return true
			}
		}
	case *tIn:
		if hasColumnRef(e.x) {
			return true
		}
		for _, a := range e.list {
			if hasColumnRef(a) {
				return true
			}
		}
	case *tBetween:
		return hasColumnRef(e.x) || hasColumnRef(e.lo) || hasColumnRef(e.hi)
	case *tPath:
		return hasColumnRef(e.x)
	}
	return false
}

func (ck *checker) aggregateCall(c *Call, cols []Column) aggregate {
	arity := func(min, max int) {
		if len(c.Args) < min || len(c.Args) > max {
			if min == max {
				ck.fail(c.NamePos, "%s takes %d argument(s), not %d", c.Name, min, len(c.Args))
			}
			ck.fail(c.NamePos, "%s takes %d to %d arguments, not %d", c.Name, min, max, len(c.Args))
		}
	}
	arg := func(i int) texpr {
		e := ck.expr(c.Args[i], cols)
		if containsAggRef(e) {
			ck.fail(c.Args[i].Position(), "aggregations cannot be nested")
		}
		return e
	}
	boolArg := func(i int) texpr {
		e := arg(i)
		if e.typ() != TypeBool {
			ck.fail(c.Args[i].Position(), "%s needs a bool condition as argument %d, but this is %s", c.Name, i+1, e.typ())
		}
		return e
	}
	numArg := func(i int) texpr {
		e := arg(i)
		if !e.typ().isNumeric() && e.typ() != TypeTimespan {
			ck.fail(c.Args[i].Position(), "%s needs a number, but this is %s; convert it with todouble() or tolong()", c.Name, e.typ())
		}
		return e
	}
	sumType := func(t Type) Type {
		if t.isInteger() {
			return TypeLong
		}
		return t
	}
	switch c.Name {
	case "count":
		arity(0, 0)
		return aggregate{fn: "count", t: TypeLong}
	case "countif":
		arity(1, 1)
		return aggregate{fn: "countif", args: []texpr{boolArg(0)}, t: TypeLong}
	case "sum":
		arity(1, 1)
		x := numArg(0)
		return aggregate{fn: "sum", args: []texpr{x}, t: sumType(x.typ())}
	case "sumif":
		arity(2, 2)
		x := numArg(0)
		return aggregate{fn: "sumif", args: []texpr{x, boolArg(1)}, t: sumType(x.typ())}
	case "avg":
		arity(1, 1)
		x := numArg(0)
		if x.typ() == TypeTimespan {
			ck.fail(c.Args[0].Position(), "avg of a timespan is not supported; average a number such as x / 1s")
		}
		return aggregate{fn: "avg", args: []texpr{x}, t: TypeReal}
	case "min", "max":
		arity(1, 1)
		x := arg(0)
		if x.typ() == TypeDynamic {
			ck.fail(c.Args[0].Position(), "%s of a dynamic value is not supported; convert it first", c.Name)
		}
		return aggregate{fn: c.Name, args: []texpr{x}, t: x.typ()}
	case "dcount":
		arity(1, 2)
		x := arg(0)
		if len(c.Args) == 2 {
			if _, ok := constInt(ck.expr(c.Args[1], nil)); !ok {
				ck.fail(c.Args[1].Position(), "the dcount accuracy must be a whole number literal 0 to 4")
			}
		}
		return aggregate{fn: "dcount", args: []texpr{x}, t: TypeLong}
	case "percentile":
		arity(2, 2)
		x := arg(0)
		if !x.typ().isNumeric() && x.typ() != TypeDatetime && x.typ() != TypeTimespan {
			ck.fail(c.Args[0].Position(), "percentile needs a number, datetime or timespan, but this is %s", x.typ())
		}
		return aggregate{fn: "percentile", args: []texpr{x}, level: ck.percentileLevel(c.Args[1]), t: percentileType(x.typ())}
	case "make_list", "makelist", "make_set", "makeset":
		arity(1, 2)
		x := arg(0)
		fn := "make_list"
		if strings.Contains(c.Name, "set") {
			fn = "make_set"
		}
		if len(c.Args) == 2 {
			ck.fail(c.Args[1].Position(), "the maxSize argument of %s is not supported", c.Name)
		}
		return aggregate{fn: fn, args: []texpr{x}, t: TypeDynamic}
	case "any", "take_any":
		arity(1, 1)
		if _, ok := c.Args[0].(*Star); ok {
			ck.fail(c.Args[0].Position(), "any(*) is not supported; use arg_max(Column, *)")
		}
		x := arg(0)
		return aggregate{fn: "any", args: []texpr{x}, t: x.typ()}
	case "percentiles", "arg_max", "arg_min":
		ck.fail(c.NamePos, "%s produces several columns and must be a whole aggregate of summarize, not part of an expression", c.Name)
	}
	ck.fail(c.NamePos, "unknown aggregate %s", c.Name)
	return aggregate{}
}

func (ck *checker) join(left relation, op *JoinOp) relation {
	right := ck.checkPipeline(op.Right, false)
	kind := op.Kind
	if kind == "" {
		kind = "innerunique"
	}
	kinds := []string{"innerunique", "inner", "leftouter", "rightouter", "fullouter", "leftanti", "rightanti", "leftsemi", "rightsemi"}
	valid := false
	for _, k := range kinds {
		valid = valid || k == kind
	}
	if !valid {
		msg := fmt.Sprintf("unknown join kind %q", kind)
		if kind == "anti" || kind == "leftantisemi" {
			msg += `; did you mean "leftanti"?`
		} else if s := nearest(kind, kinds); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += "; use one of " + strings.Join(kinds, ", ")
		}
		ck.fail(op.OpPos, "%s", msg)
	}
	for _, p := range op.Params {
		if !strings.HasPrefix(p.Name, "hint.") {
			ck.fail(p.NamePos, "join parameter %s is not supported", p.Name)
		}
	}
	lcols, rcols := left.columns(), right.columns()
	j := &relJoin{left: left, right: right, kind: kind}
	for _, c := range op.On {
		var l, r *Ident
		if c.Column != nil {
			l, r = c.Column, c.Column
		} else {
			l, r = c.Left, c.Right
		}
		li := findColumn(lcols, l.Name)
		if li < 0 {
			ck.fail(l.NamePos, "join column %s is not in the left side%s", identString(l.Name), suggestion(l.Name, lcols))
		}
		ri := findColumn(rcols, r.Name)
		if ri < 0 {
			ck.fail(r.NamePos, "join column %s is not in the right side%s", identString(r.Name), suggestion(r.Name, rcols))
		}
		lt, rt := lcols[li].Type, rcols[ri].Type
		if lt != rt && (!lt.isNumeric() || !rt.isNumeric()) {
			ck.fail(l.NamePos, "join columns must have the same type, but %s is %s and %s is %s", identString(l.Name), lt, identString(r.Name), rt)
		}
		if lt == TypeDynamic {
			ck.fail(l.NamePos, "cannot join on a dynamic column; convert it with tostring() first")
		}
		j.leftKeys = append(j.leftKeys, li)
		j.rightKeys = append(j.rightKeys, ri)
	}
	switch kind {
	case "leftanti", "leftsemi":
		for i, c := range lcols {
			j.cols = append(j.cols, c)
			j.out = append(j.out, joinOut{idx: i})
		}
	case "rightanti", "rightsemi":
		for i, c := range rcols {
			j.cols = append(j.cols, c)
			j.out = append(j.out, joinOut{right: true, idx: i})
		}
	default:
		// Right-side columns whose names clash get a numeric suffix (Key1).
		for i, c := range lcols {
			j.cols = append(j.cols, c)
			j.out = append(j.out, joinOut{idx: i})
		}
		for i, c := range rcols {
			j.cols = append(j.cols, Column{Name: freshName(c.Name, j.cols), Type: c.Type})
			j.out = append(j.out, joinOut{right: true, idx: i})
		}
	}
	return j
}

func suggestion(name string, cols []Column) string {
	if s := nearest(name, columnNames(cols)); s != "" {
		return fmt.Sprintf("; did you mean %s?", identString(s))
	}
	return ""
}

func (ck *checker) union(first relation, pos Pos, params []Param, items []*Pipeline) relation {
	inner := false
	for _, p := range params {
		switch {
		case p.Name == "kind" && fmt.Sprint(p.Value) == "outer":
		case p.Name == "kind" && fmt.Sprint(p.Value) == "inner":
			inner = true
		case strings.HasPrefix(p.Name, "hint."):
		default:
			ck.fail(p.NamePos, "union parameter %s=%s is not supported", p.Name, p.Value)
		}
	}
	var inputs []relation
	if first != nil {
		inputs = append(inputs, first)
	}
	for _, it := range items {
		inputs = append(inputs, ck.checkPipeline(it, false))
	}
	u := &relUnion{inputs: inputs}
	for idx, in := range inputs {
		for _, c := range in.columns() {
			if i := findColumn(u.cols, c.Name); i >= 0 {
				if u.cols[i].Type != c.Type {
					ck.fail(pos, "union: column %s is %s in one input and %s in input %d; convert one side so the types match", identString(c.Name), u.cols[i].Type, c.Type, idx+1)
				}
				continue
			}
			u.cols = append(u.cols, c)
		}
	}
	if inner {
		var kept []Column
		for _, c := range u.cols {
			everywhere := true
			for _, in := range inputs {
				everywhere = everywhere && findColumn(in.columns(), c.Name) >= 0
			}
			if everywhere {
				kept = append(kept, c)
			}
		}
		u.cols = kept
	}
	for _, in := range inputs {
		m := make([]int, len(u.cols))
		for j, c := range u.cols {
			m[j] = findColumn(in.columns(), c.Name)
		}
		u.maps = append(u.maps, m)
	}
	return u
}

// parse compiles the pattern into one regular expression per extracted
// column, in which only that column's group captures.
func (ck *checker) parse(in relation, op *ParseOp) relation {
	cols := in.columns()
	regexKind := false
	for _, p := range op.Params {
		switch {
		case p.Name == "kind" && (fmt.Sprint(p.Value) == "simple" || fmt.Sprint(p.Value) == "relaxed"):
		case p.Name == "kind" && fmt.Sprint(p.Value) == "regex":
			regexKind = true
		default:
			ck.fail(p.NamePos, "parse parameter %s=%s is not supported; use kind=simple or kind=regex", p.Name, p.Value)
		}
	}
	src := ck.expr(op.Expr, cols)
	switch src.typ() {
	case TypeString:
	case TypeDynamic:
		src = &tCall{fn: "tostring", args: []texpr{src}, t: TypeString}
	default:
		ck.fail(op.Expr.Position(), "parse needs a string to parse, but this is %s; convert it with tostring()", src.typ())
	}
	p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
	var columnParts []int
	for i, part := range op.Pattern {
		if part.Column != "" {
			columnParts = append(columnParts, i)
		}
	}
	if len(columnParts) == 0 {
		ck.fail(op.OpPos, "the parse pattern extracts no column; name at least one, such as Name:string")
	}
	for _, target := range columnParts {
		var re strings.Builder
		re.WriteString("^")
		for i, part := range op.Pattern {
			switch {
			case part.Star:
				re.WriteString(".*?")
			case part.Text != nil:
				if regexKind {
					re.WriteString("(?:" + part.Text.Value.(string) + ")")
				} else {
					re.WriteString(regexp.QuoteMeta(part.Text.Value.(string)))
				}
			default:
				last := i == len(op.Pattern)-1
				g := parseGroup(part.Type, last)
				if i == target {
					re.WriteString("(" + g + ")")
				} else {
					re.WriteString("(?:" + g + ")")
				}
			}
		}
		if _, err := regexp.Compile(re.String()); err != nil {
			ck.fail(op.OpPos, "the parse pattern is not a valid regular expression: %v", err)
		}
		part := op.Pattern[target]
		t := part.Type
		if t == TypeUnknown {
			t = TypeString
		}
		e := &tCall{fn: "parse_extract", args: []texpr{src, &tLiteral{value: re.String(), t: TypeString}}, t: t}
		if i := findColumn(p.cols, part.Column); i >= 0 {
			p.cols[i].Type = t
			p.exprs[i] = e
			continue
		}
		p.cols = append(p.cols, Column{Name: part.Column, Type: t})
		p.exprs = append(p.exprs, e)
	}
	return p
}

func parseGroup(t Type, last bool) string {
	switch t {
	case TypeLong, TypeInt:
		return `-?\d+`
	case TypeReal:
		return `-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?`
	case TypeBool:
		return `(?i:true|false)`
	}
	if last {
		return ".*"
	}
	return ".*?"
}

func (ck *checker) mvExpand(in relation, op *MvExpandOp) relation {
	if len(op.Params) > 0 {
		ck.fail(op.Params[0].NamePos, "mv-expand parameter %s is not supported", op.Params[0].Name)
	}
	if len(op.Items) != 1 {
		ck.fail(op.OpPos, "mv-expand of more than one column at a time is not supported; use one mv-expand per column")
	}
	cols := in.columns()
	item := op.Items[0]
	e := ck.expr(item.Expr, cols)
	if e.typ() != TypeDynamic {
		ck.fail(item.Expr.Position(), "mv-expand needs a dynamic array, but this is %s", e.typ())
	}
	name := item.Name
	if name == "" {
		name = ck.resultName(item.Expr, cols)
	}
	if name == "" {
		ck.fail(item.Expr.Position(), "name the expanded column: mv-expand Name = expression")
	}
	t := item.To
	if t == TypeUnknown {
		t = TypeDynamic
	}
	m := &relMvExpand{in: in, cols: append([]Column(nil), cols...), expr: e}
	if i := findColumn(cols, name); i >= 0 {
		m.cols[i].Type = t
		m.col = i
	} else {
		m.cols = append(m.cols, Column{Name: name, Type: t})
		m.col = len(m.cols) - 1
	}
	if op.Limit != nil {
		m.limit = ck.constCount(op.Limit, "mv-expand limit")
	}
	return m
}

// Scalar expressions.

func (ck *checker) expr(e Expr, cols []Column) texpr {
	switch e := e.(type) {
	case *Ident:
		if i := findColumn(cols, e.Name); i >= 0 {
			return &tColumn{idx: i, t: cols[i].Type}
		}
		if b, ok := ck.lets[e.Name]; ok {
			if b.scalar != nil {
				return b.scalar
			}
			ck.fail(e.NamePos, "%s is a table, not a scalar; use it after | join, union or as a query", identString(e.Name))
		}
		if cols == nil {
			ck.fail(e.NamePos, "unknown name %s: only constants and earlier lets can be used here", identString(e.Name))
		}
		msg := fmt.Sprintf("unknown column %s", identString(e.Name))
		candidates := columnNames(cols)
		for n, b := range ck.lets {
			if b.scalar != nil {
				candidates = append(candidates, n)
			}
		}
		if sug := nearest(e.Name, candidates); sug != "" {
			msg += fmt.Sprintf("; did you mean %s?", identString(sug))
		}
		ck.fail(e.NamePos, "%s", msg)
	case *Literal:
		return &tLiteral{value: e.Value, t: e.Type}
	case *Star:
		ck.fail(e.StarPos, "* is only allowed in * has \"term\", * contains \"text\" and arg_max(x, *)")
	case *Binary:
		if _, ok := e.Left.(*Star); ok {
			return ck.starSearch(e, cols)
		}
		return ck.binary(e, ck.expr(e.Left, cols), ck.expr(e.Right, cols), cols)
	case *Unary:
		return ck.unary(e, ck.expr(e.X, cols))
	case *Call:
		if isAggregate(e.Name) {
			ck.fail(e.NamePos, "%s() is an aggregation and is only allowed in summarize", e.Name)
		}
		args := make([]texpr, len(e.Args))
		for i, a := range e.Args {
			if _, ok := a.(*Star); ok {
				ck.fail(a.Position(), "* is not a valid argument of %s", e.Name)
			}
			if c, ok := a.(*Call); ok && c.Name == "typeof" {
				args[i] = ck.typeofArg(c)
				continue
			}
			args[i] = ck.expr(a, cols)
		}
		return ck.call(e, args)
	case *Member:
		return ck.path(ck.expr(e.X, cols), e.X.Position(), pathElem{key: e.Name})
	case *Index:
		x := ck.expr(e.X, cols)
		idx := ck.expr(e.Index, cols)
		switch v := idx.(type) {
		case *tLiteral:
			if s, ok := v.value.(string); ok && v.t == TypeString {
				return ck.path(x, e.X.Position(), pathElem{key: s})
			}
			if n, ok := v.value.(int64); ok {
				return ck.path(x, e.X.Position(), pathElem{index: n, isIndex: true})
			}
		}
		ck.fail(e.Index.Position(), "only constant keys and indexes are supported, such as x[0] or x[\"name\"]")
	case *In:
		return ck.in(e, cols)
	case *Between:
		x, lo, hi := ck.expr(e.X, cols), ck.expr(e.Lo, cols), ck.expr(e.Hi, cols)
		if !orderable(x.typ()) {
			ck.fail(e.OpPos, "between needs a number, datetime or timespan, but the value is %s", x.typ())
		}
		lo = ck.coerceComparable(e.OpPos, "between", x, lo)
		if x.typ() == TypeDatetime && hi.typ() == TypeTimespan {
			// Kusto's `between (start .. span)`: the range ends span after start.
			hi = &tBinary{op: "+", l: lo, r: hi, t: TypeDatetime}
		}
		hi = ck.coerceComparable(e.OpPos, "between", x, hi)
		return &tBetween{x: x, lo: lo, hi: hi, not: e.Not}
	}
	panic(fmt.Sprintf("unexpected expression %T", e))
}

func orderable(t Type) bool {
	return t.isNumeric() || t == TypeDatetime || t == TypeTimespan || t == TypeString
}

// typeofArg turns typeof(long) into a literal carrying the type name.
func (ck *checker) typeofArg(c *Call) texpr {
	if len(c.Args) == 1 {
		if id, ok := c.Args[0].(*Ident); ok {
			if t, ok := ParseType(id.Name); ok {
				return &tLiteral{value: t.String(), t: TypeUnknown}
			}
		}
	}
	ck.fail(c.NamePos, "typeof needs a type name such as typeof(long)")
	return nil
}

func (ck *checker) path(x texpr, pos Pos, el pathElem) texpr {
	if x.typ() != TypeDynamic {
		ck.fail(pos, "only dynamic values have properties or elements, but this is %s; convert it with todynamic()", x.typ())
	}
	if p, ok := x.(*tPath); ok {
		return &tPath{x: p.x, path: append(append([]pathElem(nil), p.path...), el)}
	}
	return &tPath{x: x, path: []pathElem{el}}
}

// starSearch expands * has "x" into a disjunction over the string and
// dynamic columns, as Kusto's any-column search does.
func (ck *checker) starSearch(b *Binary, cols []Column) texpr {
	op := normalizeStringOp(b.Op)
	if !isStringOperator(b.Op) || op == "" {
		ck.fail(b.OpPos, "* can only be used with string operators such as has or contains")
	}
	var out texpr
	for i, c := range cols {
		if c.Type != TypeString && c.Type != TypeDynamic {
			continue
		}
		one := ck.binary(b, &tColumn{idx: i, t: c.Type}, ck.expr(b.Right, cols), cols)
		if out == nil {
			out = one
		} else if strings.HasPrefix(b.Op, "!") {
			out = &tBinary{op: "and", l: out, r: one, t: TypeBool}
		} else {
			out = &tBinary{op: "or", l: out, r: one, t: TypeBool}
		}
	}
	if out == nil {
		ck.fail(b.Left.Position(), "* %s needs at least one string column, and there is none", b.Op)
	}
	return out
}

// normalizeStringOp maps aliases to one spelling and reports "" for the
// operators that are not supported.
func normalizeStringOp(op string) string {
	switch op {
	case ":":
		return "has"
	case "notcontains":
		return "!contains"
	case "notcontainscs":
		return "!contains_cs"
	case "like", "notlike", "likecs", "notlikecs":
		return ""
	}
	return op
}

func (ck *checker) asString(pos Pos, what string, e texpr) texpr {
	switch e.typ() {
	case TypeString:
		return e
	case TypeDynamic, TypeGUID:
		return &tCall{fn: "tostring", args: []texpr{e}, t: TypeString}
	}
	ck.fail(pos, "%s needs a string, but this is %s; convert it with tostring()", what, e.typ())
	return nil
}

func (ck *checker) binary(b *Binary, l, r texpr, cols []Column) texpr {
	switch b.Op {
	case "and", "or":
		if l.typ() != TypeBool || r.typ() != TypeBool {
			ck.fail(b.OpPos, "%s needs bool operands, but they are %s and %s", b.Op, l.typ(), r.typ())
		}
		return &tBinary{op: b.Op, l: l, r: r, t: TypeBool}
	case "==", "!=", "<>":
		op := b.Op
		if op == "<>" {
			op = "!="
		}
		l, r = ck.comparable(b.OpPos, op, l, r, false)
		return &tBinary{op: op, l: l, r: r, t: TypeBool}
	case "<", "<=", ">", ">=":
		l, r = ck.comparable(b.OpPos, b.Op, l, r, true)
		return &tBinary{op: b.Op, l: l, r: r, t: TypeBool}
	case "+", "-", "*", "/", "%":
		return ck.arithmetic(b, l, r)
	}
	op := normalizeStringOp(b.Op)
	if op == "" {
		ck.fail(b.OpPos, "the %s operator is not supported; use contains, startswith, endswith or matches regex", b.Op)
	}
	l = ck.asString(b.Left.Position(), op, l)
	r = ck.asString(b.Right.Position(), op, r)
	switch strings.TrimPrefix(op, "!") {
	case "has", "has_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs":
		if _, ok := constString(r); !ok {
			ck.fail(b.Right.Position(), "%s needs a constant string on the right, such as x %s \"error\"", op, op)
		}
	case "matches regex":
		s, ok := constString(r)
		if !ok {
			ck.fail(b.Right.Position(), "matches regex needs a constant regular expression on the right")
		}
		if _, err := regexp.Compile(s); err != nil {
			ck.fail(b.Right.Position(), "invalid regular expression: %v", err)
		}
	}
	return &tBinary{op: op, l: l, r: r, t: TypeBool}
}

// comparable checks that two operands can be compared; a dynamic operand is
// converted to the other side's type, as Kusto does implicitly.
func (ck *checker) comparable(pos Pos, op string, l, r texpr, ordered bool) (texpr, texpr) {
	lt, rt := l.typ(), r.typ()
	switch {
	case lt == rt:
		if ordered && (lt == TypeDynamic || lt == TypeBool) {
			ck.fail(pos, "cannot order %s values with %s; convert them first", lt, op)
		}
		if lt == TypeDynamic && !ordered {
			return &tCall{fn: "tostring", args: []texpr{l}, t: TypeString}, &tCall{fn: "tostring", args: []texpr{r}, t: TypeString}
		}
		return l, r
	case lt.isNumeric() && rt.isNumeric():
		return l, r
	case lt == TypeDynamic && rt != TypeDynamic:
		return ck.convert(l, rt), r
	case rt == TypeDynamic && lt != TypeDynamic:
		return l, ck.convert(r, lt)
	case (lt == TypeGUID && rt == TypeString) || (lt == TypeString && rt == TypeGUID):
		return l, r
	}
	hint := ""
	if lt == TypeDatetime && rt == TypeString || rt == TypeDatetime && lt == TypeString {
		hint = "; write the time as datetime(2024-01-31 10:00) or convert with todatetime()"
	}
	ck.fail(pos, "cannot compare %s with %s using %s%s", lt, rt, op, hint)
	return nil, nil
}

func (ck *checker) coerceComparable(pos Pos, op string, x, y texpr) texpr {
	_, y = ck.comparable(pos, op, x, y, true)
	return y
}

// convert is the implicit conversion of a dynamic value to t.
func (ck *checker) convert(e texpr, t Type) texpr {
	fn := map[Type]string{TypeString: "tostring", TypeLong: "tolong", TypeInt: "toint", TypeReal: "todouble",
		TypeBool: "tobool", TypeDatetime: "todatetime", TypeTimespan: "totimespan", TypeGUID: "tostring"}[t]
	if fn == "" {
		return e
	}
	if t == TypeGUID {
		t = TypeString
	}
	return &tCall{fn: fn, args: []texpr{e}, t: t}
}

func (ck *checker) arithmetic(b *Binary, l, r texpr) texpr {
	lt, rt := l.typ(), r.typ()
	res := TypeUnknown
	switch {
	case lt.isNumeric() && rt.isNumeric():
		switch {
		case lt == TypeReal || rt == TypeReal:
			res = TypeReal
		case lt == TypeInt && rt == TypeInt:
			res = TypeInt
		default:
			res = TypeLong
		}
	case lt == TypeDatetime && rt == TypeDatetime && b.Op == "-":
		res = TypeTimespan
	case lt == TypeDatetime && rt == TypeTimespan && (b.Op == "+" || b.Op == "-"):
		res = TypeDatetime
	case lt == TypeTimespan && rt == TypeDatetime && b.Op == "+":
		res = TypeDatetime
	case lt == TypeTimespan && rt == TypeTimespan && (b.Op == "+" || b.Op == "-"):
		res = TypeTimespan
	case lt == TypeTimespan && rt == TypeTimespan && b.Op == "/":
		res = TypeReal
	case lt == TypeTimespan && rt.isNumeric() && (b.Op == "*" || b.Op == "/"):
		res = TypeTimespan
	case lt.isNumeric() && rt == TypeTimespan && b.Op == "*":
		res = TypeTimespan
	}
	if res == TypeUnknown {
		hint := ""
		switch {
		case lt == TypeString && rt == TypeString && b.Op == "+":
			hint = "; use strcat() to join strings"
		case lt == TypeDynamic || rt == TypeDynamic:
			hint = "; convert the dynamic value with todouble() or tolong() first"
		}
		ck.fail(b.OpPos, "cannot apply %s to %s and %s%s", b.Op, lt, rt, hint)
	}
	if b.Op == "%" && res != TypeLong && res != TypeInt {
		ck.fail(b.OpPos, "%% needs whole numbers, but the operands are %s and %s", lt, rt)
	}
	return &tBinary{op: b.Op, l: l, r: r, t: res}
}

func (ck *checker) unary(u *Unary, x texpr) texpr {
	if !x.typ().isNumeric() && x.typ() != TypeTimespan {
		ck.fail(u.OpPos, "cannot apply unary %s to %s", u.Op, x.typ())
	}
	if u.Op == "+" {
		return x
	}
	return &tUnary{op: "-", x: x, t: x.typ()}
}

func (ck *checker) in(e *In, cols []Column) texpr {
	x := ck.expr(e.X, cols)
	var list []texpr
	for _, item := range e.List {
		v := ck.expr(item, cols)
		// A dynamic array literal in the list contributes its elements.
		if l, ok := v.(*tLiteral); ok && l.t == TypeDynamic && l.value != nil {
			elems, ok := dynamicElements(l.value.(string))
			if !ok {
				ck.fail(item.Position(), "only arrays of strings, numbers and bools can be used in %s", e.Op)
			}
			list = append(list, elems...)
			continue
		}
		list = append(list, v)
	}
	switch e.Op {
	case "in~", "!in~", "has_any", "has_all":
		x = ck.asString(e.X.Position(), e.Op, x)
		for i, v := range list {
			list[i] = ck.asString(e.List[min(i, len(e.List)-1)].Position(), e.Op, v)
			if _, ok := constString(list[i]); !ok && (e.Op == "has_any" || e.Op == "has_all") {
				ck.fail(e.List[min(i, len(e.List)-1)].Position(), "%s needs constant strings", e.Op)
			}
		}
	default:
		for i, v := range list {
			_, list[i] = ck.comparable(e.OpPos, e.Op, x, v, false)
		}
		if x.typ() == TypeDynamic {
			x = &tCall{fn: "tostring", args: []texpr{x}, t: TypeString}
		}
	}
	return &tIn{op: e.Op, x: x, list: list}
}

func dynamicElements(js string) ([]texpr, bool) {
	var arr []any
	if err := json.Unmarshal([]byte(js), &arr); err != nil {
		return nil, false
	}
	var out []texpr
	for _, v := range arr {
		switch v := v.(type) {
		case string:
			out = append(out, &tLiteral{value: v, t: TypeString})
		case bool:
			out = append(out, &tLiteral{value: v, t: TypeBool})
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1e15 {
				out = append(out, &tLiteral{value: int64(v), t: TypeLong})
			} else {
				out = append(out, &tLiteral{value: v, t: TypeReal})
			}
		default:
			return nil, false
		}
	}
	return out, true
}

// knownFunctions lists the scalar functions the checker accepts, for
// suggestions.
func knownFunctions() []string {
	return []string{
		"ago", "now", "bin", "floor", "strcat", "tostring", "toint", "tolong", "todouble", "toreal", "todatetime",
		"totimespan", "tobool", "todynamic", "parse_json", "extract", "split", "strlen", "substring", "tolower",
		"toupper", "trim", "iff", "iif", "case", "isempty", "isnotempty", "isnull", "isnotnull", "coalesce",
		"format_datetime", "startofday", "not",
	}
}

func (ck *checker) call(c *Call, args []texpr) texpr {
	arity := func(min, max int) {
		if len(args) < min || len(args) > max {
			switch {
			case min == max:
				ck.fail(c.NamePos, "%s takes %d argument(s), not %d", c.Name, min, len(args))
			case max > 100:
				ck.fail(c.NamePos, "%s takes at least %d arguments, not %d", c.Name, min, len(args))
			}
			ck.fail(c.NamePos, "%s takes %d to %d arguments, not %d", c.Name, min, max, len(args))
		}
	}
	need := func(i int, ok bool, what string) {
		if !ok {
			ck.fail(c.Args[i].Position(), "argument %d of %s must be %s, but it is %s", i+1, c.Name, what, args[i].typ())
		}
	}
	str := func(i int) texpr { return ck.asString(c.Args[i].Position(), c.Name, args[i]) }
	mk := func(fn string, t Type, a ...texpr) texpr { return &tCall{fn: fn, args: a, t: t} }
	switch c.Name {
	case "ago":
		arity(1, 1)
		need(0, args[0].typ() == TypeTimespan, "a timespan such as 1h")
		return &tBinary{op: "-", l: &tNow{}, r: args[0], t: TypeDatetime}
	case "now":
		arity(0, 1)
		if len(args) == 1 {
			need(0, args[0].typ() == TypeTimespan, "a timespan")
			return &tBinary{op: "+", l: &tNow{}, r: args[0], t: TypeDatetime}
		}
		return &tNow{}
	case "bin", "floor":
		arity(2, 2)
		x, size := args[0], args[1]
		switch {
		case x.typ() == TypeDatetime:
			need(1, size.typ() == TypeTimespan, "a timespan such as 5m")
		case x.typ().isNumeric():
			need(1, size.typ().isNumeric(), "a number")
		default:
			need(0, false, "a number or a datetime")
		}
		if v, ok := constDuration(size); ok && v <= 0 {
			ck.fail(c.Args[1].Position(), "the bin size must be positive")
		}
		if n, ok := constInt(size); ok && n <= 0 {
			ck.fail(c.Args[1].Position(), "the bin size must be positive")
		}
		return mk("bin", x.typ(), x, size)
	case "strcat":
		arity(1, 64)
		var a []texpr
		for _, x := range args {
			if x.typ() != TypeString {
				x = mk("tostring", TypeString, x)
			}
			a = append(a, x)
		}
		return mk("strcat", TypeString, a...)
	case "tostring":
		arity(1, 1)
		if args[0].typ() == TypeString {
			return args[0]
		}
		return mk("tostring", TypeString, args[0])
	case "toint", "tolong", "todouble", "toreal", "todatetime", "totimespan", "tobool":
		arity(1, 1)
		t := map[string]Type{"toint": TypeInt, "tolong": TypeLong, "todouble": TypeReal, "toreal": TypeReal,
			"todatetime": TypeDatetime, "totimespan": TypeTimespan, "tobool": TypeBool}[c.Name]
		fn := c.Name
		if fn == "toreal" {
			fn = "todouble"
		}
		if args[0].typ() == t {
			return args[0]
		}
		if (t == TypeDatetime || t == TypeTimespan) && args[0].typ() != TypeString && args[0].typ() != TypeDynamic {
			need(0, false, "a string or dynamic value")
		}
		return mk(fn, t, args[0])
	case "todynamic", "parse_json":
		arity(1, 1)
		if args[0].typ() == TypeDynamic {
			return args[0]
		}
		need(0, args[0].typ() == TypeString, "a string")
		return mk("todynamic", TypeDynamic, args[0])
	case "extract":
		arity(3, 4)
		re, ok := constString(args[0])
		need(0, ok, "a constant regular expression")
		if _, err := regexp.Compile(re); err != nil {
			ck.fail(c.Args[0].Position(), "invalid regular expression: %v", err)
		}
		g, ok := constInt(args[1])
		need(1, ok && g >= 0, "a constant group number")
		t := TypeString
		if len(args) == 4 {
			name, _ := args[3].(*tLiteral).value.(string)
			t, _ = ParseType(name)
		}
		if g > int64(regexp.MustCompile(re).NumSubexp()) {
			ck.fail(c.Args[1].Position(), "the regular expression has only %d capture group(s)", regexp.MustCompile(re).NumSubexp())
		}
		return mk("extract", t, args[0], args[1], str(2))
	case "split":
		arity(2, 3)
		if len(args) == 3 {
			_, ok := constInt(args[2])
			need(2, ok, "a constant index")
			return &tPath{x: mk("split", TypeDynamic, str(0), str(1)), path: []pathElem{{index: args[2].(*tLiteral).value.(int64), isIndex: true}}}
		}
		return mk("split", TypeDynamic, str(0), str(1))
	case "strlen":
		arity(1, 1)
		return mk("strlen", TypeLong, str(0))
	case "substring":
		arity(2, 3)
		need(1, args[1].typ().isInteger(), "a whole number")
		a := []texpr{str(0), args[1]}
		if len(args) == 3 {
			need(2, args[2].typ().isInteger(), "a whole number")
			a = append(a, args[2])
		}
		return mk("substring", TypeString, a...)
	case "tolower", "toupper":
		arity(1, 1)
		return mk(c.Name, TypeString, str(0))
	case "trim":
		arity(2, 2)
		re, ok := constString(args[0])
		need(0, ok, "a constant regular expression")
		if _, err := regexp.Compile(re); err != nil {
			ck.fail(c.Args[0].Position(), "invalid regular expression: %v", err)
		}
		return mk("trim", TypeString, args[0], str(1))
	case "iff", "iif":
		arity(3, 3)
		need(0, args[0].typ() == TypeBool, "a bool condition")
		t := ck.commonType(c, args[1:])
		return mk("case", t, args[0], args[1], args[2])
	case "case":
		arity(3, 1000)
		if len(args)%2 == 0 {
			ck.fail(c.NamePos, "case takes pairs of condition and value followed by an else value")
		}
		var values []texpr
		for i := 0; i < len(args)-1; i += 2 {
			need(i, args[i].typ() == TypeBool, "a bool condition")
			values = append(values, args[i+1])
		}
		values = append(values, args[len(args)-1])
		return mk("case", ck.commonType(c, values), args...)
	case "isempty", "isnotempty", "isnull", "isnotnull":
		arity(1, 1)
		return mk(c.Name, TypeBool, args[0])
	case "coalesce":
		arity(2, 64)
		return mk("coalesce", ck.commonType(c, args), args...)
	case "format_datetime":
		arity(2, 2)
		need(0, args[0].typ() == TypeDatetime, "a datetime")
		f, ok := constString(args[1])
		need(1, ok, "a constant format such as \"yyyy-MM-dd HH:mm\"")
		if _, err := datetimeFormat(f); err != nil {
			ck.fail(c.Args[1].Position(), "%v", err)
		}
		return mk("format_datetime", TypeString, args...)
	case "startofday":
		arity(1, 1)
		need(0, args[0].typ() == TypeDatetime, "a datetime")
		return mk("startofday", TypeDatetime, args[0])
	case "not":
		arity(1, 1)
		need(0, args[0].typ() == TypeBool, "a bool")
		return mk("not", TypeBool, args[0])
	case "typeof":
		ck.fail(c.NamePos, "typeof(...) is only allowed as the last argument of extract or after mv-expand ... to")
	case "prev", "next", "row_number", "reverse", "indexof", "datetime_add", "datetime_diff", "make_datetime",
		"format_timespan", "replace", "replace_string", "columnifexists", "pack", "bag_pack", "ingestion_time",
		"toscalar", "materialize", "array_length", "pack_array":
		ck.fail(c.NamePos, "function %s is not supported yet", c.Name)
	}
	msg := fmt.Sprintf("unknown function %s", c.Name)
	if s := nearest(c.Name, knownFunctions()); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	ck.fail(c.NamePos, "%s", msg)
	return nil
}

// commonType is the type of iff/case/coalesce branches: equal types, or the
// widest number.
func (ck *checker) commonType(c *Call, values []texpr) Type {
	t := values[0].typ()
	for _, v := range values[1:] {
		vt := v.typ()
		switch {
		case vt == t:
		case vt.isNumeric() && t.isNumeric():
			if vt == TypeReal || t == TypeReal {
				t = TypeReal
			} else {
				t = TypeLong
			}
		case isNullLiteral(v):
		case isNullLiteral(values[0]) && t != vt:
			t = vt
		default:
			ck.fail(c.NamePos, "the values of %s have different types, %s and %s; convert one so they match", c.Name, t, vt)
		}
	}
	return t
}

func isNullLiteral(e texpr) bool {
	l, ok := e.(*tLiteral)
	return ok && l.value == nil
}

// datetimeFormat translates a Kusto format_datetime pattern into strftime.
func datetimeFormat(f string) (string, error) {
	tokens := []struct{ kusto, strf string }{
		{"yyyy", "%Y"}, {"yy", "%y"}, {"MM", "%m"}, {"dd", "%d"}, {"HH", "%H"}, {"hh", "%I"},
		{"mm", "%M"}, {"ss", "%S"}, {"fffffff", "%f0"}, {"ffffff", "%f"}, {"fff", "%g"}, {"tt", "%p"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(f[i:], t.kusto) {
				b.WriteString(t.strf)
				i += len(t.kusto)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		switch f[i] {
		case ' ', '/', '-', ':', ',', '.', '_', '[', ']', 'T', 'Z':
			b.WriteByte(f[i])
			i++
		default:
			return "", fmt.Errorf("unsupported format_datetime pattern %q at %q; use yyyy, MM, dd, HH, hh, mm, ss, fff, tt and the separators / - : , . _ [ ]", f, f[i:])
		}
	}
	return b.String(), nil
}
