package kql

import "fmt"

// parseTupleNamed parses (a, b, ...) = f(...), the names of the columns a
// function such as series_fit_line makes.
func (p *parser) parseTupleNamed() NamedExpr {
	open := p.next()
	n := NamedExpr{NamePos: open.Pos}
	for {
		t := p.expectIdent("in the tuple names (write (a, b) = f(...))")
		n.Names = append(n.Names, t.Text)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	p.expectPunct("=", "after the tuple names (write (a, b) = f(...))")
	n.Expr = p.parseExpr()
	return n
}
