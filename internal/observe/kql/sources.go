package kql

import (
	"fmt"
	"strings"
)

// The sources that make their own rows, with which nearly every example of
// Kusto's documentation starts: datatable, print and range.

// DatatableSource is datatable (Name:type, ...) [value, ...]: the values
// fill the rows column by column.
type DatatableSource struct {
	DatatablePos Pos
	Cols         []Column
	ColPos       []Pos
	Values       []Expr
}

// PrintSource is print [Name =] expr, ...: one row.
type PrintSource struct {
	PrintPos Pos
	Cols     []NamedExpr
}

// RangeSource is range Name from a to b step s: one column of values from
// a to b inclusive.
type RangeSource struct {
	RangePos       Pos
	Name           string
	From, To, Step Expr
}

func (*DatatableSource) sourceNode() {}
func (*PrintSource) sourceNode()     {}
func (*RangeSource) sourceNode()     {}

// Position returns the position of the datatable keyword.
func (s *DatatableSource) Position() Pos { return s.DatatablePos }

// Position returns the position of the print keyword.
func (s *PrintSource) Position() Pos { return s.PrintPos }

// Position returns the position of the range keyword.
func (s *RangeSource) Position() Pos { return s.RangePos }

func (s *DatatableSource) String() string {
	cols := make([]string, len(s.Cols))
	for i, c := range s.Cols {
		cols[i] = identString(c.Name) + ":" + c.Type.String()
	}
	vals := make([]string, len(s.Values))
	for i, v := range s.Values {
		vals[i] = exprString(v)
	}
	return "datatable(" + strings.Join(cols, ", ") + ") [" + strings.Join(vals, ", ") + "]"
}

func (s *PrintSource) String() string { return "print " + namedString(s.Cols) }

func (s *RangeSource) String() string {
	return fmt.Sprintf("range %s from %s to %s step %s", identString(s.Name), exprString(s.From), exprString(s.To), exprString(s.Step))
}

// maxDatatableValues bounds a datatable literal; larger data belongs in a
// table.
const maxDatatableValues = 100000

func (p *parser) parseDatatable(t Token) *DatatableSource {
	d := &DatatableSource{DatatablePos: t.Pos}
	p.expectPunct("(", "after datatable (write datatable (Name:type, ...) [values])")
	for {
		name := p.expectIdent("in the datatable columns (write Name:type)")
		p.expectPunct(":", "after the column name (write Name:type)")
		typ, _ := p.expectType("as the column type", "")
		d.Cols = append(d.Cols, Column{Name: name.Text, Type: typ})
		d.ColPos = append(d.ColPos, name.Pos)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", "to close the datatable columns")
	if t := p.peek(); t.Kind == TokIdent && t.Quoted {
		// ["b"] lexes as a bracketed name; here it is one string value.
		p.next()
		d.Values = []Expr{&Literal{LitPos: Pos{Offset: t.Pos.Offset + 1, Line: t.Pos.Line, Col: t.Pos.Col + 1}, Type: TypeString, Value: t.Text}}
		if len(d.Cols) != 1 {
			p.fail(t.Pos, "the datatable has 1 value, which is not a whole number of rows of %d columns", len(d.Cols))
		}
		return d
	}
	open := p.expectPunct("[", "before the datatable values")
	for !isPunct(p.peek(), "]") {
		if len(d.Values) >= maxDatatableValues {
			p.fail(p.peek().Pos, "the datatable has more than %d values; load the data into a table instead", maxDatatableValues)
		}
		d.Values = append(d.Values, p.parseExpr())
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct("]", fmt.Sprintf("to close the [ at %s", open.Pos))
	if len(d.Values)%len(d.Cols) != 0 {
		p.fail(open.Pos, "the datatable has %d values, which is not a whole number of rows of %d columns", len(d.Values), len(d.Cols))
	}
	return d
}

func (p *parser) parsePrint(t Token) *PrintSource {
	s := &PrintSource{PrintPos: t.Pos}
	if p.atOperatorEnd() {
		p.fail(p.peek().Pos, "print needs at least one expression, such as print x = 1")
	}
	s.Cols = p.parseNamedList("in print")
	return s
}

func (p *parser) parseRange(t Token) *RangeSource {
	name := p.expectIdent("after range (write range x from 1 to 10 step 1)")
	s := &RangeSource{RangePos: t.Pos, Name: name.Text}
	p.expectKeyword("from", "after the range column name")
	s.From = p.parseExpr()
	p.expectKeyword("to", "in range ... from ... to ... step ...")
	s.To = p.parseExpr()
	p.expectKeyword("step", "in range ... from ... to ... step ...")
	s.Step = p.parseExpr()
	return s
}
