package kql

import (
	"fmt"
	"strings"
)

// scan, as Kusto's documentation describes it: the serialized rows go
// through a state machine of steps, each with a condition and assignments
// to declared columns, and each step keeps the latest record of itself
// and of the steps before it. plan_scan.go compiles it to a recursive
// query that takes one row per round (DuckDB); ClickHouse 18.16 has no
// recursive queries, so it refuses scan.

// ScanOp is scan [with_match_id = Name] [declare (Name:type [= default], ...)] with (step ...; ...).
type ScanOp struct {
	OpPos   Pos
	MatchID string // "" when not written
	IDPos   Pos
	Declare []ScanDecl
	Steps   []ScanStep
}

// ScanDecl is one declared column.
type ScanDecl struct {
	NamePos Pos
	Name    string
	Type    Type
	Default Expr // nil: null
}

// ScanStep is step Name [output = all|last|none] : Condition [=> Col = Expr, ...];
type ScanStep struct {
	NamePos Pos
	Name    string
	Output  string // all, last or none
	Cond    Expr
	Assigns []NamedExpr
}

func (*ScanOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *ScanOp) Position() Pos { return o.OpPos }

func (o *ScanOp) String() string {
	var b strings.Builder
	b.WriteString("scan ")
	if o.MatchID != "" {
		b.WriteString("with_match_id = " + identString(o.MatchID) + " ")
	}
	if len(o.Declare) > 0 {
		parts := make([]string, len(o.Declare))
		for i, d := range o.Declare {
			parts[i] = identString(d.Name) + ":" + d.Type.String()
			if d.Default != nil {
				parts[i] += " = " + exprString(d.Default)
			}
		}
		b.WriteString("declare (" + strings.Join(parts, ", ") + ") ")
	}
	b.WriteString("with (")
	for _, s := range o.Steps {
		b.WriteString(" step " + identString(s.Name))
		if s.Output != "all" {
			b.WriteString(" output = " + s.Output)
		}
		b.WriteString(": " + exprString(s.Cond))
		if len(s.Assigns) > 0 {
			b.WriteString(" => " + namedString(s.Assigns))
		}
		b.WriteString(";")
	}
	b.WriteString(" )")
	return b.String()
}

// maxScanSteps bounds the steps: the state holds a record per step for
// every step after it, so it grows with the square of their number.
const maxScanSteps = 16

func (p *parser) parseScan(t Token) *ScanOp {
	op := &ScanOp{OpPos: t.Pos}
	if isKeyword(p.peek(), "with_match_id") {
		p.next()
		p.expectPunct("=", "after with_match_id (write with_match_id = Name)")
		id := p.expectIdent("after with_match_id =")
		op.MatchID, op.IDPos = id.Text, id.Pos
	}
	if isKeyword(p.peek(), "declare") {
		p.next()
		open := p.expectPunct("(", "after declare (write declare (Name:type = default, ...))")
		for {
			n := p.expectIdent("in declare (write Name:type)")
			p.expectPunct(":", "after the declared column's name (write Name:type)")
			typ, _ := p.expectType("as the declared column's type", "")
			d := ScanDecl{NamePos: n.Pos, Name: n.Text, Type: typ}
			if isPunct(p.peek(), "=") {
				p.next()
				d.Default = p.parseExpr()
			}
			op.Declare = append(op.Declare, d)
			if !isPunct(p.peek(), ",") {
				break
			}
			p.next()
		}
		p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	}
	p.expectKeyword("with", "in scan (write scan with (step s1: Condition;))")
	open := p.expectPunct("(", "after scan ... with")
	for isKeyword(p.peek(), "step") {
		p.next()
		n := p.expectIdent("after step")
		s := ScanStep{NamePos: n.Pos, Name: n.Text, Output: "all"}
		if isKeyword(p.peek(), "output") {
			p.next()
			p.expectPunct("=", "after output (write output = all, last or none)")
			v := p.expectIdent("after output =")
			switch v.Text {
			case "all", "last", "none":
				s.Output = v.Text
			default:
				p.fail(v.Pos, "output must be all, last or none, not %s", describe(v))
			}
		}
		p.expectPunct(":", "after the step's name (write step s1: Condition;)")
		s.Cond = p.parseExpr()
		if isPunct(p.peek(), "=>") {
			p.next()
			for {
				c := p.expectIdent("after => (write => Column = Expression)")
				p.expectPunct("=", "after the assigned column (write => Column = Expression)")
				s.Assigns = append(s.Assigns, NamedExpr{Name: c.Text, NamePos: c.Pos, Expr: p.parseExpr()})
				if !isPunct(p.peek(), ",") {
					break
				}
				p.next()
			}
		}
		p.expectPunct(";", "to end the step")
		if len(op.Steps) == maxScanSteps {
			p.fail(n.Pos, "scan takes at most %d steps", maxScanSteps)
		}
		op.Steps = append(op.Steps, s)
	}
	if len(op.Steps) == 0 {
		p.fail(p.peek().Pos, "expected a step in scan ... with (write step s1: Condition;), found %s", describe(p.peek()))
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	return op
}

// relScanSteps is a checked scan. The expressions of step k are checked
// against an environment of columns: the current record (the input's
// columns, then the declared ones, at their defaults), then one block of
// the same columns per step, the record that step holds in the state.
type relScanSteps struct {
	in       relation
	cols     []Column // the input's, the declared, then the match id if any
	nIn      int      // the input's columns
	declared []Column
	defaults []texpr // one per declared column; a typed null when none
	steps    []scanStep
	matchID  bool
	refs     [][]bool // refs[j][c]: some expression reads column c of step j's record
}

type scanStep struct {
	name    string
	output  string
	cond    texpr
	assigns []texpr // one per declared column; nil when the step does not assign it
}

func (r *relScanSteps) columns() []Column { return r.cols }

// width is the number of columns of one record.
func (r *relScanSteps) width() int { return r.nIn + len(r.declared) }

func (ck *checker) scan(in relation, op *ScanOp) relation {
	cols := in.columns()
	r := &relScanSteps{in: in, nIn: len(cols), matchID: op.MatchID != ""}
	r.cols = append(r.cols, cols...)
	for _, d := range op.Declare {
		if findColumn(r.cols, d.Name) >= 0 {
			ck.fail(d.NamePos, "scan declares %s, which is already a column", identString(d.Name))
		}
		col := Column{Name: d.Name, Type: d.Type}
		def := texpr(&tLiteral{t: d.Type})
		if d.Default != nil {
			// Checked without columns: a default cannot read a row.
			def = ck.scanValue(ck.expr(d.Default, nil), col, d.Default.Position(), "the default of")
		}
		r.cols = append(r.cols, col)
		r.declared = append(r.declared, col)
		r.defaults = append(r.defaults, def)
	}
	if r.matchID {
		if findColumn(r.cols, op.MatchID) >= 0 {
			ck.fail(op.IDPos, "the match id column %s is already a column", identString(op.MatchID))
		}
		r.cols = append(r.cols, Column{Name: op.MatchID, Type: TypeLong})
	}
	width := r.width()
	record := r.cols[:width]
	// The environment: the current record, then the steps' records under
	// names no written identifier can have.
	env := append([]Column(nil), record...)
	index := map[string]int{}
	for j, s := range op.Steps {
		if _, dup := index[s.Name]; dup {
			ck.fail(s.NamePos, "scan has two steps named %s", identString(s.Name))
		}
		index[s.Name] = j
		for _, c := range record {
			env = append(env, Column{Name: scanRef(j, c.Name), Type: c.Type})
		}
	}
	r.refs = make([][]bool, len(op.Steps))
	for j := range r.refs {
		r.refs[j] = make([]bool, width)
	}
	for k, s := range op.Steps {
		step := scanStep{name: s.Name, output: s.Output, assigns: make([]texpr, len(r.declared))}
		rewrite := func(e Expr) Expr {
			return rewriteStepRefs(e, func(m *Member) Expr {
				id, ok := m.X.(*Ident)
				if !ok {
					return nil
				}
				j, ok := index[id.Name]
				if !ok || findColumn(record, id.Name) >= 0 {
					return nil
				}
				if j > k {
					ck.fail(m.Position(), "step %s cannot read %s.%s: %s comes after it", identString(s.Name), id.Name, m.Name, id.Name)
				}
				c := findColumn(record, m.Name)
				if c < 0 {
					ck.unknownColumn(m.DotPos, m.Name, record)
				}
				r.refs[j][c] = true
				return &Ident{NamePos: m.Position(), Name: scanRef(j, m.Name)}
			})
		}
		step.cond = ck.expr(rewrite(s.Cond), env)
		if step.cond.typ() != TypeBool {
			ck.fail(s.Cond.Position(), "the condition of step %s must be bool, but it is %s", identString(s.Name), step.cond.typ())
		}
		for _, a := range s.Assigns {
			d := findColumn(r.declared, a.Name)
			if d < 0 {
				ck.fail(a.NamePos, "step %s assigns %s, which scan does not declare; declare it with declare (%s:type)", identString(s.Name), identString(a.Name), identString(a.Name))
			}
			if step.assigns[d] != nil {
				ck.fail(a.NamePos, "step %s assigns %s twice", identString(s.Name), identString(a.Name))
			}
			step.assigns[d] = ck.scanValue(ck.expr(rewrite(a.Expr), env), r.declared[d], a.Expr.Position(), "the value of")
		}
		r.steps = append(r.steps, step)
	}
	ck.refuseOn(ClickHouse, op.OpPos, "scan is not supported on ClickHouse 18.16, which has no recursive queries")
	return r
}

// scanRef names column c of step j's record in the environment; it has a
// dot, which no identifier written in a query has.
func scanRef(j int, c string) string { return fmt.Sprintf("%d.%s", j, c) }

// scanValue checks that e can go into the declared column col, converting
// between numbers as an assignment does.
func (ck *checker) scanValue(e texpr, col Column, pos Pos, what string) texpr {
	t := e.typ()
	switch {
	case t == col.Type || isNullLiteral(e):
		if l, ok := e.(*tLiteral); ok && l.value == nil {
			return &tLiteral{t: col.Type}
		}
		return e
	case t.isNumeric() && col.Type.isNumeric(), col.Type == TypeString && t == TypeGUID:
		return ck.convert(e, col.Type)
	}
	ck.fail(pos, "%s %s must be %s, but it is %s", what, identString(col.Name), col.Type, t)
	return nil
}

// rewriteStepRefs copies e, replacing each StepName.Column member that
// ref resolves (ref returns nil for the others).
func rewriteStepRefs(e Expr, ref func(*Member) Expr) Expr {
	rec := func(x Expr) Expr { return rewriteStepRefs(x, ref) }
	recAll := func(xs []Expr) []Expr {
		out := make([]Expr, len(xs))
		for i, x := range xs {
			out[i] = rec(x)
		}
		return out
	}
	switch e := e.(type) {
	case *Member:
		if r := ref(e); r != nil {
			return r
		}
		return &Member{X: rec(e.X), DotPos: e.DotPos, Name: e.Name}
	case *Binary:
		return &Binary{Op: e.Op, OpPos: e.OpPos, Left: rec(e.Left), Right: rec(e.Right)}
	case *Unary:
		return &Unary{Op: e.Op, OpPos: e.OpPos, X: rec(e.X)}
	case *Call:
		return &Call{NamePos: e.NamePos, Name: e.Name, Args: recAll(e.Args), ArgNames: e.ArgNames}
	case *Index:
		return &Index{X: rec(e.X), LbPos: e.LbPos, Index: rec(e.Index)}
	case *In:
		return &In{X: rec(e.X), Op: e.Op, OpPos: e.OpPos, List: recAll(e.List)}
	case *Between:
		return &Between{X: rec(e.X), Not: e.Not, OpPos: e.OpPos, Lo: rec(e.Lo), Hi: rec(e.Hi)}
	}
	// Identifiers, literals, * and toscalar subqueries (whose pipeline
	// cannot see the scan's state) stay as they are.
	return e
}
