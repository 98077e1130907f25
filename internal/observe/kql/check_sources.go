package kql

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// relValues is a table of constants (datatable, and print's single row
// with no columns, over which print's expressions are projected).
type relValues struct {
	cols []Column
	rows [][]texpr // constants of the column types
}

// relRange is range: n values from + i*step.
type relRange struct {
	cols           []Column
	from, to, step texpr
}

// relLet is a tabular let. Every use refers to the same node, so that the
// planner computes it once (a SQL common table expression) however often
// it is used: planning each use again made 2^n subqueries for a chain of
// n lets that each use the previous one twice.
type relLet struct {
	name string
	in   relation
}

func (r *relLet) columns() []Column    { return r.in.columns() }
func (r *relValues) columns() []Column { return r.cols }
func (r *relRange) columns() []Column  { return r.cols }

// maxRangeRows bounds range, whose bounds are constants of the query: a
// typo of a few zeros must not exhaust memory.
const maxRangeRows = 10000000

func (ck *checker) datatable(s *DatatableSource) relation {
	seen := map[string]bool{}
	for i, c := range s.Cols {
		if seen[c.Name] {
			ck.fail(s.ColPos[i], "column %s is declared twice in datatable", identString(c.Name))
		}
		seen[c.Name] = true
	}
	r := &relValues{cols: s.Cols}
	n := len(s.Cols)
	for i := 0; i < len(s.Values); i += n {
		row := make([]texpr, n)
		for j := range n {
			v := s.Values[i+j]
			lit, ok := foldConstant(ck.expr(v, nil))
			if !ok {
				ck.fail(v.Position(), "datatable values must be constants")
			}
			cv, ok := coerceLiteral(lit, s.Cols[j].Type)
			if !ok {
				ck.fail(v.Position(), "this value is %s, but column %s is %s", lit.t, identString(s.Cols[j].Name), s.Cols[j].Type)
			}
			row[j] = cv
		}
		r.rows = append(r.rows, row)
	}
	return r
}

// print projects its expressions over one row with no columns; an
// expression with no name of its own is print_0, print_1... by position.
func (ck *checker) print(s *PrintSource) relation {
	cols := append([]NamedExpr(nil), s.Cols...)
	for i, c := range cols {
		if c.Name == "" && len(c.Names) == 0 && ck.resultName(c.Expr, nil) == "" && !ck.makesSeveral(c.Expr) {
			cols[i].Name = "print_" + strconv.Itoa(i)
			cols[i].NamePos = c.Expr.Position()
		}
	}
	return ck.operator(&relValues{rows: [][]texpr{{}}}, &ProjectOp{OpPos: s.PrintPos, Cols: cols})
}

func (ck *checker) rangeSource(s *RangeSource) relation {
	from, to, step := ck.expr(s.From, nil), ck.expr(s.To, nil), ck.expr(s.Step, nil)
	t := from.typ()
	switch {
	case t.isNumeric() && to.typ().isNumeric() && step.typ().isNumeric():
		if t == TypeInt {
			t = TypeLong
		}
		if to.typ() == TypeReal || step.typ() == TypeReal {
			t = TypeReal
		}
	case t == TypeDatetime && to.typ() == TypeDatetime && step.typ() == TypeTimespan:
	case t == TypeTimespan && to.typ() == TypeTimespan && step.typ() == TypeTimespan:
	default:
		ck.fail(s.From.Position(), "range needs numbers, datetimes with a timespan step, or timespans, but from, to and step are %s, %s and %s", from.typ(), to.typ(), step.typ())
	}
	return &relRange{cols: []Column{{Name: s.Name, Type: t}}, from: from, to: to, step: step}
}

// foldConstant evaluates constant scalar expressions of sources (a
// negative number, a typed null) to a literal.
func foldConstant(e texpr) (*tLiteral, bool) {
	switch e := e.(type) {
	case *tLiteral:
		return e, true
	case *tUnary:
		x, ok := foldConstant(e.x)
		if !ok {
			return nil, false
		}
		switch v := x.value.(type) {
		case nil:
			return x, true
		case int64:
			return &tLiteral{value: -v, t: x.t}, true
		case float64:
			return &tLiteral{value: -v, t: x.t}, true
		case time.Duration:
			return &tLiteral{value: -v, t: x.t}, true
		}
	case *tCall:
		if e.fn == "todynamic" && len(e.args) == 1 {
			if l, ok := e.args[0].(*tLiteral); ok && l.value == nil {
				return &tLiteral{t: TypeDynamic}, true
			}
		}
	}
	return nil, false
}

// coerceLiteral converts a constant to a column type the way Kusto's
// datatable accepts it: numbers widen or narrow between long, int and real,
// nulls take the column's type, anything becomes dynamic.
func coerceLiteral(l *tLiteral, t Type) (*tLiteral, bool) {
	if l.value == nil {
		return &tLiteral{t: t}, true
	}
	if l.t == t || (l.t.isInteger() && t.isInteger()) {
		return &tLiteral{value: l.value, t: t}, true
	}
	switch v := l.value.(type) {
	case int64:
		switch t {
		case TypeReal:
			return &tLiteral{value: float64(v), t: t}, true
		case TypeDynamic:
			return &tLiteral{value: jsonText(v), t: t}, true
		case TypeBool:
			return &tLiteral{value: v != 0, t: t}, true
		}
	case float64:
		switch {
		case t.isInteger() && v == math.Trunc(v):
			return &tLiteral{value: int64(v), t: t}, true
		case t == TypeDynamic:
			return &tLiteral{value: jsonText(v), t: t}, true
		}
	case string:
		switch t {
		case TypeDynamic:
			return &tLiteral{value: jsonText(v), t: t}, true
		case TypeGUID:
			return &tLiteral{value: v, t: t}, true
		}
	case bool:
		if t == TypeDynamic {
			return &tLiteral{value: jsonText(v), t: t}, true
		}
	}
	if l.t == TypeGUID && t == TypeString {
		return &tLiteral{value: l.value, t: t}, true
	}
	return nil, false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
