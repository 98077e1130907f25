package kql

import "fmt"

func (p *parser) parseJoin(t Token) *JoinOp {
	op := &JoinOp{OpPos: t.Pos}
	for _, prm := range p.parseParams() {
		if prm.Name == "kind" {
			id, ok := prm.Value.(*Ident)
			if !ok {
				p.fail(prm.NamePos, "join kind must be a name such as inner or leftouter")
			}
			op.Kind = id.Name
			continue
		}
		op.Params = append(op.Params, prm)
	}
	op.Right = p.parseOperand("after join")
	p.expectKeyword("on", "after the right side of join (write on Column or on $left.A == $right.B)")
	for {
		op.On = append(op.On, p.parseJoinCond())
		if isPunct(p.peek(), ",") || isKeyword(p.peek(), "and") {
			p.next()
			continue
		}
		return op
	}
}

func (p *parser) parseJoinCond() JoinCond {
	t := p.peek()
	side := func() (string, *Ident) {
		s := p.next()
		p.expectPunct(".", "after "+s.Text)
		c := p.expectIdent("after " + s.Text + ".")
		return s.Text, &Ident{NamePos: c.Pos, Name: c.Text}
	}
	if isKeyword(t, "$left") || isKeyword(t, "$right") {
		s1, c1 := side()
		p.expectPunct("==", "between the two sides of a join condition")
		t2 := p.peek()
		if !isKeyword(t2, "$left") && !isKeyword(t2, "$right") {
			p.fail(t2.Pos, "expected $left or $right, found %s", describe(t2))
		}
		s2, c2 := side()
		if s1 == s2 {
			p.fail(t2.Pos, "a join condition must compare $left with $right")
		}
		if s1 == "$right" {
			c1, c2 = c2, c1
		}
		return JoinCond{Left: c1, Right: c2}
	}
	c := p.expectIdent("in join ... on")
	return JoinCond{Column: &Ident{NamePos: c.Pos, Name: c.Text}}
}

func (p *parser) parseParse(t Token) *ParseOp {
	op := &ParseOp{OpPos: t.Pos, Params: p.parseParams()}
	op.Expr = p.parseExpr()
	p.expectKeyword("with", "after the parse source (write parse Column with * \"text\" Name:string *)")
	for !p.atOperatorEnd() {
		e := p.peek()
		switch {
		case isPunct(e, "*"):
			p.next()
			op.Pattern = append(op.Pattern, ParsePart{Pos: e.Pos, Star: true})
		case e.Kind == TokLiteral && e.Type == TypeString:
			p.next()
			op.Pattern = append(op.Pattern, ParsePart{Pos: e.Pos, Text: &Literal{LitPos: e.Pos, Type: TypeString, Value: e.Value}})
		case e.Kind == TokIdent && (e.Quoted || isPlainIdent(e.Text)):
			p.next()
			part := ParsePart{Pos: e.Pos, Column: e.Text}
			if isPunct(p.peek(), ":") {
				p.next()
				typ, tt := p.expectType("after : in the parse pattern", " in parse pattern")
				part.Type, part.TypePos = typ, tt.Pos
			}
			op.Pattern = append(op.Pattern, part)
		default:
			p.fail(e.Pos, "unexpected %s in parse pattern; use *, string literals and Column or Column:type", describe(e))
		}
	}
	if len(op.Pattern) == 0 {
		p.fail(p.peek().Pos, "the parse pattern is empty; write parse Column with * \"text\" Name:string *")
	}
	return op
}

func (p *parser) parseMvExpand(t Token) *MvExpandOp {
	op := &MvExpandOp{OpPos: t.Pos, Params: p.parseParams()}
	for {
		if p.atOperatorEnd() {
			p.fail(p.peek().Pos, "expected a column to expand, found %s", describe(p.peek()))
		}
		item := MvExpandItem{NamedExpr: p.parseNamed()}
		if isKeyword(p.peek(), "to") {
			p.next()
			p.expectKeyword("typeof", "after to")
			p.expectPunct("(", "after typeof")
			item.To, _ = p.expectType("in typeof(...)", " in typeof(...)")
			p.expectPunct(")", "to close typeof(")
		}
		op.Items = append(op.Items, item)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	if isKeyword(p.peek(), "limit") {
		p.next()
		op.Limit = p.parseExpr()
	}
	return op
}

func (p *parser) parseRender(t Token) *RenderOp {
	k := p.expectIdent("after render (for example render timechart)")
	op := &RenderOp{OpPos: t.Pos, Kind: k.Text}
	if !isKeyword(p.peek(), "with") {
		return op
	}
	p.next()
	open := p.expectPunct("(", "after render ... with")
	for {
		name := p.expectIdent("in render properties (write name=value)")
		p.expectPunct("=", "after the render property name")
		prop := RenderProp{NamePos: name.Pos, Name: name.Text}
		for {
			prop.Values = append(prop.Values, p.parseExpr())
			// A comma continues the value list unless a new name=value starts.
			if isPunct(p.peek(), ",") && (p.peekN(1).Kind != TokIdent || !isPunct(p.peekN(2), "=")) {
				p.next()
				continue
			}
			break
		}
		op.Props = append(op.Props, prop)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	return op
}

// Expressions, lowest precedence first.

// harmlessOptions are the set statements that do not change results and
// are accepted and ignored.
var harmlessOptions = map[string]bool{
	"notruncation": true, "truncationmaxrecords": true, "truncationmaxsize": true, "querytrace": true,
	"query_now": false, "maxmemoryconsumptionperiterator": true, "max_memory_consumption_per_query_per_node": true,
	"servertimeout": true, "norequesttimeout": true, "query_results_cache_max_age": true, "query_language": false,
}

// parseSet reads set name [= value]; and refuses options that would
// change the result.
func (p *parser) parseSet() {
	p.next()
	name := p.expectIdent("after set")
	if isPunct(p.peek(), "=") {
		p.next()
		p.parseExpr()
	}
	p.expectPunct(";", "to end the set statement")
	if !harmlessOptions[name.Text] {
		p.fail(name.Pos, "set %s is not supported", name.Text)
	}
}
