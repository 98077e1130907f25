package kql

import (
	"fmt"
	"strings"
)

// maxDepth bounds recursion so that a deeply nested query is an error, not a
// stack overflow (which Go cannot recover from).
const maxDepth = 200

// Parse parses a query into its syntax tree. Errors are *Error values with the
// position of the problem; a bug in the parser surfaces as ErrInternal, never
// as a panic.
func Parse(query string) (q *Query, err error) {
	toks, err := Lex(query)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(userFailure); ok {
				q, err = nil, f.err
				return
			}
			q = nil
			err = fmt.Errorf("failed to parse query: %w: %v", ErrInternal, r)
		}
	}()
	return p.parseQuery(), nil
}

// userFailure carries a user-facing error out of the recursive descent; it
// is recovered in Parse and never escapes the package.
type userFailure struct{ err *Error }

type parser struct {
	toks  []Token
	pos   int
	depth int
}

func (p *parser) fail(pos Pos, format string, args ...any) {
	panic(userFailure{errorf(pos, format, args...)})
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail(p.peek().Pos, "the query is nested too deeply (more than %d levels); simplify it", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

func (p *parser) peek() Token { return p.peekN(0) }

func (p *parser) peekN(n int) Token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() Token {
	t := p.peek()
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func isPunct(t Token, s string) bool { return t.Kind == TokPunct && t.Text == s }

func isKeyword(t Token, s string) bool { return t.Kind == TokIdent && !t.Quoted && t.Text == s }

func describe(t Token) string {
	switch t.Kind {
	case TokEOF:
		return "the end of the query"
	case TokIdent:
		if t.Quoted {
			return "name " + identString(t.Text)
		}
		return fmt.Sprintf("%q", t.Text)
	case TokLiteral:
		return "literal " + t.Text
	}
	return fmt.Sprintf("%q", t.Text)
}

// expectType reads a type name (string, long, …) and fails on anything else,
// a quoted name included; context says where for a missing name, and where
// is added to the error about an unknown one (" in parse pattern").
func (p *parser) expectType(context, where string) (Type, Token) {
	tt := p.expectIdent(context)
	typ, ok := ParseType(tt.Text)
	if !ok || tt.Quoted {
		p.fail(tt.Pos, "unknown type %s%s; use string, long, int, real, bool, datetime, timespan, dynamic or guid", describe(tt), where)
	}
	return typ, tt
}

func (p *parser) expectPunct(s, context string) Token {
	t := p.peek()
	if !isPunct(t, s) {
		p.fail(t.Pos, "expected %q %s, found %s", s, context, describe(t))
	}
	return p.next()
}

func (p *parser) expectKeyword(s, context string) Token {
	t := p.peek()
	if !isKeyword(t, s) {
		p.fail(t.Pos, "expected %q %s, found %s", s, context, describe(t))
	}
	return p.next()
}

func (p *parser) expectIdent(context string) Token {
	t := p.peek()
	if t.Kind != TokIdent || (!t.Quoted && !isPlainIdent(t.Text)) {
		p.fail(t.Pos, "expected a name %s, found %s", context, describe(t))
	}
	return p.next()
}

// atOperatorEnd reports whether the current operator's arguments are over.
func (p *parser) atOperatorEnd() bool {
	t := p.peek()
	return t.Kind == TokEOF || isPunct(t, "|") || isPunct(t, ")") || isPunct(t, ";")
}

func (p *parser) parseQuery() *Query {
	q := &Query{}
	for isKeyword(p.peek(), "let") || isKeyword(p.peek(), "set") {
		if isKeyword(p.peek(), "set") {
			p.parseSet()
			continue
		}
		q.Lets = append(q.Lets, p.parseLet())
	}
	if p.peek().Kind == TokEOF {
		if len(q.Lets) == 0 {
			p.fail(p.peek().Pos, "the query is empty: start it with a table name, for example KubeEvents | take 10")
		}
		p.fail(p.peek().Pos, "expected a tabular expression after the let statements, for example KubeEvents | take 10")
	}
	q.Body = p.parsePipeline()
	if isPunct(p.peek(), ";") {
		p.next()
	}
	if t := p.peek(); t.Kind != TokEOF {
		if isPunct(t, ")") {
			p.fail(t.Pos, "unexpected \")\": it has no matching \"(\"")
		}
		p.fail(t.Pos, "unexpected %s after the end of the query; only one tabular expression is allowed, separate operators with |", describe(t))
	}
	return q
}

func (p *parser) parseLet() *Let {
	letTok := p.next()
	name := p.expectIdent("after let")
	p.expectPunct("=", "after the let name")
	l := &Let{LetPos: letTok.Pos, Name: name.Text, NamePos: name.Pos}
	switch {
	case p.looksLikeFunction():
		l.Func = p.parseFuncDef()
	case p.looksTabular():
		l.Tabular = p.parsePipeline()
	default:
		l.Expr = p.parseExpr()
	}
	p.expectPunct(";", "to end the let statement")
	return l
}

// looksTabular decides whether a let value is a pipeline: it starts with union,
// or it has a | outside parentheses, or it is a parenthesised pipeline.
func (p *parser) looksTabular() bool {
	first := p.peek()
	switch {
	case isKeyword(first, "union"), isKeyword(first, "print"),
		isKeyword(first, "materialize") && isPunct(p.peekN(1), "("),
		isKeyword(first, "datatable") && isPunct(p.peekN(1), "("),
		isKeyword(first, "range") && p.peekN(1).Kind == TokIdent && isKeyword(p.peekN(2), "from"):
		return true
	case first.Kind == TokLiteral, isPunct(first, "-"), isPunct(first, "+"),
		first.Kind == TokIdent && isPunct(p.peekN(1), "("):
		return false
	}
	parenStart := isPunct(p.peek(), "(")
	depth := 0
	for i := p.pos; i < len(p.toks); i++ {
		t := p.toks[i]
		switch {
		case t.Kind == TokEOF:
			return false
		case isPunct(t, "(") || isPunct(t, "[") || isPunct(t, "{"):
			depth++
		case isPunct(t, ")") || isPunct(t, "]") || isPunct(t, "}"):
			depth--
			if depth < 0 || (parenStart && depth == 0 && i+1 < len(p.toks) && isPunct(p.toks[i+1], ";")) {
				return false
			}
		case isPunct(t, ";") && depth == 0:
			return false
		case isPunct(t, "|") && (depth == 0 || (parenStart && depth == 1)):
			return true
		}
	}
	return false
}

func (p *parser) parsePipeline() *Pipeline {
	p.enter()
	defer p.leave()
	pl := &Pipeline{Source: p.parseSource()}
	for isPunct(p.peek(), "|") {
		p.next()
		pl.Ops = append(pl.Ops, p.parseOperator())
	}
	return pl
}

func (p *parser) parseSource() Source {
	t := p.peek()
	switch {
	case isPunct(t, "("):
		p.next()
		sub := &Subquery{LparenPos: t.Pos, Pipeline: p.parsePipeline()}
		p.expectPunct(")", fmt.Sprintf("to close the ( at %s", t.Pos))
		return sub
	case isKeyword(t, "union"):
		p.next()
		u := &UnionSource{UnionPos: t.Pos}
		u.Params = p.parseParams()
		u.Items = p.parseUnionItems()
		return u
	case t.Kind == TokIdent:
		if !t.Quoted {
			switch {
			case t.Text == "datatable" && isPunct(p.peekN(1), "("):
				p.next()
				return p.parseDatatable(t)
			case t.Text == "print":
				p.next()
				return p.parsePrint(t)
			case t.Text == "range" && p.peekN(1).Kind == TokIdent && isKeyword(p.peekN(2), "from"):
				p.next()
				return p.parseRange(t)
			}
			if t.Text == "materialize" && isPunct(p.peekN(1), "(") {
				// materialize(query) is the query: lets are computed once already.
				p.next()
				sub := &Subquery{LparenPos: p.peek().Pos}
				p.next()
				sub.Pipeline = p.parsePipeline()
				p.expectPunct(")", fmt.Sprintf("to close the ( at %s", sub.LparenPos))
				return sub
			}
			switch t.Text {
			case "search":
				p.next()
				return p.parseSearchSource(t)
			case "find", "evaluate", "externaldata", "toscalar":
				p.fail(t.Pos, "%s is not supported as the start of a query; start it with a table name", t.Text)
			}
			if !isPlainIdent(t.Text) {
				p.fail(t.Pos, "expected a table name, found %s", describe(t))
			}
		}
		p.next()
		if isPunct(p.peek(), "(") {
			c := p.parseCall(t).(*Call)
			return &FuncSource{NamePos: t.Pos, Name: t.Text, Args: c.Args, ArgNames: c.ArgNames}
		}
		return &TableRef{NamePos: t.Pos, Name: t.Text}
	}
	p.fail(t.Pos, "expected a table name, found %s", describe(t))
	return nil
}

// parseOperand parses a join side or union item: a table name or a
// parenthesised pipeline.
func (p *parser) parseOperand(context string) *Pipeline {
	t := p.peek()
	if isPunct(t, "(") {
		p.next()
		pl := p.parsePipeline()
		p.expectPunct(")", fmt.Sprintf("to close the ( at %s", t.Pos))
		return pl
	}
	if t.Kind == TokIdent && (t.Quoted || isPlainIdent(t.Text)) {
		p.next()
		return &Pipeline{Source: &TableRef{NamePos: t.Pos, Name: t.Text}}
	}
	p.fail(t.Pos, "expected a table name or a parenthesised query %s, found %s", context, describe(t))
	return nil
}

func (p *parser) parseUnionItems() []*Pipeline {
	var items []*Pipeline
	for {
		items = append(items, p.parseOperand("in union"))
		if !isPunct(p.peek(), ",") {
			return items
		}
		p.next()
	}
}

func isParamName(s string) bool {
	switch s {
	case "kind", "withsource", "isfuzzy", "flags", "with_itemindex", "bagexpansion":
		return true
	}
	return false
}

// parseParams parses name=value parameters such as kind=inner or
// hint.strategy=broadcast.
func (p *parser) parseParams() []Param {
	var params []Param
	for {
		t := p.peek()
		if t.Kind != TokIdent || t.Quoted {
			return params
		}
		name := t.Text
		switch {
		case isParamName(t.Text) && isPunct(p.peekN(1), "="):
			p.next()
		case t.Text == "hint" && isPunct(p.peekN(1), "."):
			p.next()
			p.next()
			sub := p.expectIdent("after hint.")
			name = "hint." + sub.Text
			if !isPunct(p.peek(), "=") {
				p.fail(p.peek().Pos, "expected = after %s", name)
			}
		default:
			return params
		}
		p.next() // '='
		v := p.peek()
		var value Expr
		switch {
		case v.Kind == TokIdent && !v.Quoted && isPlainIdent(v.Text):
			value = &Ident{NamePos: v.Pos, Name: v.Text}
		case v.Kind == TokLiteral:
			value = &Literal{LitPos: v.Pos, Type: v.Type, Value: v.Value}
		default:
			p.fail(v.Pos, "expected a value for %s, found %s", name, describe(v))
		}
		p.next()
		params = append(params, Param{NamePos: t.Pos, Name: name, Value: value})
	}
}

// unsupportedOperators are Kusto operators tugboat refuses on purpose, with
// the reason.
var unsupportedOperators = map[string]string{
	"reduce": "because Kusto documents its clustering only as \"largely based on\" Vaarandi's SLCT, so its patterns and counts would differ from Kusto's without telling",
	"fork":   "because a query gives one table here, and fork gives several",
	"facet":  "because a query gives one table here, and facet gives several",
}

// supportedOperators lists the tabular operators, for messages.
func supportedOperators() []string {
	return []string{
		"where", "filter", "project", "project-away", "project-rename", "extend", "summarize",
		"sort", "order", "top", "take", "limit", "distinct", "count", "join", "union",
		"parse", "mv-expand", "render", "serialize", "project-keep", "project-reorder", "getschema",
		"as", "sample", "make-series", "evaluate", "lookup", "mv-apply", "parse-kv", "parse-where", "scan", "top-hitters", "top-nested", "search",
	}
}

func (p *parser) parseOperator() Operator {
	t := p.peek()
	if t.Kind != TokIdent || t.Quoted {
		p.fail(t.Pos, "expected an operator after |, found %s", describe(t))
	}
	p.next()
	if op := p.parseMoreOperator(t); op != nil {
		return op
	}
	switch t.Text {
	case "where", "filter":
		return &WhereOp{OpPos: t.Pos, Pred: p.parseExpr()}
	case "project":
		return &ProjectOp{OpPos: t.Pos, Cols: p.parseNamedList("in project")}
	case "extend":
		return &ExtendOp{OpPos: t.Pos, Cols: p.parseNamedList("in extend")}
	case "project-away":
		return &ProjectAwayOp{OpPos: t.Pos, Cols: p.parseIdentList("in project-away")}
	case "project-rename":
		op := &ProjectRenameOp{OpPos: t.Pos}
		for {
			n := p.expectIdent("in project-rename (write NewName = OldName)")
			p.expectPunct("=", "in project-rename (write NewName = OldName)")
			old := p.expectIdent("in project-rename (write NewName = OldName)")
			op.Renames = append(op.Renames, Rename{New: n.Text, NewPos: n.Pos, Old: &Ident{NamePos: old.Pos, Name: old.Text}})
			if !isPunct(p.peek(), ",") {
				return op
			}
			p.next()
		}
	case "summarize":
		op := &SummarizeOp{OpPos: t.Pos, Params: p.parseParams()}
		if !isKeyword(p.peek(), "by") && !p.atOperatorEnd() {
			op.Aggs = p.parseNamedList("in summarize")
		}
		if isKeyword(p.peek(), "by") {
			p.next()
			op.By = p.parseNamedList("after summarize ... by")
		}
		if len(op.Aggs) == 0 && len(op.By) == 0 {
			p.fail(p.peek().Pos, "summarize needs an aggregation or a by clause, for example summarize count() by Computer")
		}
		return op
	case "sort", "order":
		p.expectKeyword("by", "after "+t.Text)
		return &SortOp{OpPos: t.Pos, Keys: p.parseSortKeys()}
	case "top":
		op := &TopOp{OpPos: t.Pos, N: p.parseExpr()}
		p.expectKeyword("by", "after top N (write top 10 by Column)")
		op.Keys = p.parseSortKeys()
		return op
	case "take", "limit":
		return &TakeOp{OpPos: t.Pos, N: p.parseExpr()}
	case "distinct":
		if isPunct(p.peek(), "*") {
			p.next()
			return &DistinctOp{OpPos: t.Pos, Star: true}
		}
		return &DistinctOp{OpPos: t.Pos, Cols: p.parseIdentList("in distinct")}
	case "count":
		return &CountOp{OpPos: t.Pos}
	case "join":
		return p.parseJoin(t)
	case "union":
		op := &UnionOp{OpPos: t.Pos, Params: p.parseParams()}
		op.Items = p.parseUnionItems()
		return op
	case "parse":
		return p.parseParse(t)
	case "mv-expand", "mvexpand":
		return p.parseMvExpand(t)
	case "render":
		return p.parseRender(t)
	case "serialize":
		op := &SerializeOp{OpPos: t.Pos}
		if !p.atOperatorEnd() {
			op.Cols = p.parseNamedList("in serialize")
		}
		return op
	case "project-keep", "project-reorder":
		op := &ColumnsOp{OpPos: t.Pos, Name: t.Text}
		p.parsePatterns(op)
		return op
	case "getschema":
		return &GetschemaOp{OpPos: t.Pos}
	case "as":
		p.parseParams()
		name := p.expectIdent("after as")
		return &AsOp{OpPos: t.Pos, Name: name.Text}
	case "sample":
		return &SampleOp{OpPos: t.Pos, N: p.parseExpr()}
	case "sample-distinct", "invoke",
		"fork", "facet", "partition", "reduce", "find", "consume", "print", "range",
		"make-graph", "project-by-names", "graph-match",
		"graph-shortest-paths", "graph-to-table", "graph-mark-components", "graph-merge":
		why := ""
		if r, ok := unsupportedOperators[t.Text]; ok {
			why = " " + r
		}
		p.fail(t.Pos, "the %s operator is not supported%s; supported operators are %s", t.Text, why, strings.Join(supportedOperators(), ", "))
	}
	msg := fmt.Sprintf("unknown operator %q", t.Text)
	if s := nearest(t.Text, supportedOperators()); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	p.fail(t.Pos, "%s", msg)
	return nil
}

func (p *parser) parseIdentList(context string) []*Ident {
	var list []*Ident
	for {
		t := p.expectIdent(context)
		list = append(list, &Ident{NamePos: t.Pos, Name: t.Text})
		if !isPunct(p.peek(), ",") {
			return list
		}
		p.next()
	}
}

func (p *parser) parseNamedList(context string) []NamedExpr {
	var list []NamedExpr
	for {
		if p.atOperatorEnd() {
			p.fail(p.peek().Pos, "expected an expression %s, found %s", context, describe(p.peek()))
		}
		if t := p.peek(); isPunct(t, "(") && p.peekN(1).Kind == TokIdent && (isPunct(p.peekN(2), ",") || (isPunct(p.peekN(2), ")") && isPunct(p.peekN(3), "="))) &&
			(context == "in project" || context == "in extend" || context == "in print") {
			list = append(list, p.parseTupleNamed())
		} else {
			list = append(list, p.parseNamed())
		}
		if !isPunct(p.peek(), ",") {
			return list
		}
		p.next()
	}
}

func (p *parser) parseNamed() NamedExpr {
	t := p.peek()
	if t.Kind == TokIdent && isPunct(p.peekN(1), "=") && (t.Quoted || isPlainIdent(t.Text)) {
		p.next()
		p.next()
		return NamedExpr{Name: t.Text, NamePos: t.Pos, Expr: p.parseExpr()}
	}
	if isPunct(t, "(") && p.peekN(1).Kind == TokIdent && isPunct(p.peekN(2), ",") {
		p.fail(t.Pos, "tuple names (a, b) = ... are only allowed in project, extend and print; name each column separately")
	}
	return NamedExpr{Expr: p.parseExpr()}
}

func (p *parser) parseSortKeys() []SortKey {
	var keys []SortKey
	for {
		k := SortKey{Expr: p.parseExpr()}
		switch {
		case isKeyword(p.peek(), "asc"):
			p.next()
			k.Order = SortAsc
		case isKeyword(p.peek(), "desc"):
			p.next()
			k.Order = SortDesc
		}
		if isKeyword(p.peek(), "nulls") {
			p.next()
			switch t := p.peek(); {
			case isKeyword(t, "first"):
				k.Nulls = NullsFirst
			case isKeyword(t, "last"):
				k.Nulls = NullsLast
			default:
				p.fail(t.Pos, "expected first or last after nulls, found %s", describe(t))
			}
			p.next()
		}
		keys = append(keys, k)
		if !isPunct(p.peek(), ",") {
			return keys
		}
		p.next()
	}
}

func (p *parser) parseExpr() Expr {
	p.enter()
	defer p.leave()
	return p.parseOr()
}

func (p *parser) parseOr() Expr {
	left := p.parseAnd()
	for isKeyword(p.peek(), "or") {
		t := p.next()
		left = &Binary{Op: "or", OpPos: t.Pos, Left: left, Right: p.parseAnd()}
	}
	return left
}

func (p *parser) parseAnd() Expr {
	left := p.parseEquality()
	for isKeyword(p.peek(), "and") {
		t := p.next()
		left = &Binary{Op: "and", OpPos: t.Pos, Left: left, Right: p.parseEquality()}
	}
	return left
}

func (p *parser) isEqualityOp(t Token) bool {
	if t.Kind == TokPunct {
		return t.Text == "==" || t.Text == "!=" || t.Text == "<>"
	}
	return t.Kind == TokIdent && !t.Quoted && (isInOperator(t.Text) || t.Text == "between" || t.Text == "!between")
}

func (p *parser) parseEquality() Expr {
	left := p.parseRelational()
	t := p.peek()
	if !p.isEqualityOp(t) {
		return left
	}
	p.next()
	var e Expr
	switch {
	case t.Kind == TokPunct:
		e = &Binary{Op: t.Text, OpPos: t.Pos, Left: left, Right: p.parseRelational()}
	case t.Text == "between" || t.Text == "!between":
		open := p.expectPunct("(", "after between (write x between (1 .. 10))")
		b := &Between{X: left, Not: t.Text == "!between", OpPos: t.Pos}
		b.Lo = p.parseExpr()
		p.expectPunct("..", "between the bounds of between")
		b.Hi = p.parseExpr()
		p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
		e = b
	default:
		open := p.expectPunct("(", fmt.Sprintf("after %s (write x %s (\"a\", \"b\"))", t.Text, t.Text))
		in := &In{X: left, Op: t.Text, OpPos: t.Pos}
		for {
			in.List = append(in.List, p.parseExpr())
			if !isPunct(p.peek(), ",") {
				break
			}
			p.next()
		}
		p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
		e = in
	}
	if n := p.peek(); p.isEqualityOp(n) {
		p.fail(n.Pos, "%s cannot follow another comparison; add parentheses", describe(n))
	}
	return e
}

func isRelationalOp(t Token) bool {
	return t.Kind == TokPunct && (t.Text == "<" || t.Text == "<=" || t.Text == ">" || t.Text == ">=")
}

func (p *parser) parseRelational() Expr {
	left := p.parseAdditive()
	t := p.peek()
	if !isRelationalOp(t) {
		return left
	}
	p.next()
	e := &Binary{Op: t.Text, OpPos: t.Pos, Left: left, Right: p.parseAdditive()}
	if n := p.peek(); isRelationalOp(n) {
		p.fail(n.Pos, "%s cannot follow another comparison; add parentheses", describe(n))
	}
	return e
}

func (p *parser) parseAdditive() Expr {
	left := p.parseMultiplicative()
	for t := p.peek(); isPunct(t, "+") || isPunct(t, "-"); t = p.peek() {
		p.next()
		left = &Binary{Op: t.Text, OpPos: t.Pos, Left: left, Right: p.parseMultiplicative()}
	}
	return left
}

func (p *parser) parseMultiplicative() Expr {
	left := p.parseStringOp()
	for t := p.peek(); isPunct(t, "*") || isPunct(t, "/") || isPunct(t, "%"); t = p.peek() {
		p.next()
		left = &Binary{Op: t.Text, OpPos: t.Pos, Left: left, Right: p.parseStringOp()}
	}
	return left
}

func isStringOp(t Token) bool {
	if t.Kind == TokPunct {
		return t.Text == "=~" || t.Text == "!~" || t.Text == ":"
	}
	return t.Kind == TokIdent && !t.Quoted && isStringOperator(t.Text)
}

func (p *parser) parseStringOp() Expr {
	left := p.parseUnary()
	t := p.peek()
	if !isStringOp(t) {
		return left
	}
	p.next()
	e := &Binary{Op: t.Text, OpPos: t.Pos, Left: left, Right: p.parseUnary()}
	if n := p.peek(); isStringOp(n) {
		p.fail(n.Pos, "%s cannot follow another string operator; add parentheses", describe(n))
	}
	return e
}

func (p *parser) parseUnary() Expr {
	t := p.peek()
	if isPunct(t, "-") || isPunct(t, "+") {
		p.enter()
		defer p.leave()
		p.next()
		return &Unary{Op: t.Text, OpPos: t.Pos, X: p.parseUnary()}
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() Expr {
	x := p.parsePrimary()
	for {
		t := p.peek()
		switch {
		case isPunct(t, "."):
			p.next()
			n := p.peek()
			if isPunct(n, "[") || (n.Kind == TokIdent && n.Quoted) {
				// x.[e] and x.['name'] are x[e] and x['name'] (Kusto's
				// parse_urlquery example reads params.[param]).
				continue
			}
			if n.Kind != TokIdent || n.Quoted || !isPlainIdent(n.Text) {
				p.fail(n.Pos, "expected a property name after \".\", found %s; use x[\"name\"] for unusual names", describe(n))
			}
			p.next()
			x = &Member{X: x, DotPos: t.Pos, Name: n.Text}
		case isPunct(t, "["):
			p.next()
			idx := p.parseExpr()
			p.expectPunct("]", fmt.Sprintf("to close the [ at %s", t.Pos))
			x = &Index{X: x, LbPos: t.Pos, Index: idx}
		case t.Kind == TokIdent && t.Quoted:
			// x['key'] lexes as a bracketed name; after an operand it is an index.
			p.next()
			x = &Index{X: x, LbPos: t.Pos, Index: &Literal{LitPos: Pos{Offset: t.Pos.Offset + 1, Line: t.Pos.Line, Col: t.Pos.Col + 1}, Type: TypeString, Value: t.Text}}
		default:
			return x
		}
	}
}

func (p *parser) parsePrimary() Expr {
	t := p.peek()
	switch {
	case t.Kind == TokLiteral:
		p.next()
		lit := &Literal{LitPos: t.Pos, Type: t.Type, Value: t.Value}
		// Adjacent string literals are one string in KQL ('a' 'b' is "ab").
		for lit.Type == TypeString && p.peek().Kind == TokLiteral && p.peek().Type == TypeString {
			lit.Value = lit.Value.(string) + p.next().Value.(string)
		}
		return lit
	case t.Kind == TokIdent && !t.Quoted:
		switch t.Text {
		case "true", "True", "TRUE":
			p.next()
			return &Literal{LitPos: t.Pos, Type: TypeBool, Value: true}
		case "false", "False", "FALSE":
			p.next()
			return &Literal{LitPos: t.Pos, Type: TypeBool, Value: false}
		}
		if !isPlainIdent(t.Text) {
			p.fail(t.Pos, "expected an expression, found %s", describe(t))
		}
		p.next()
		if isPunct(p.peek(), "(") {
			if t.Text == "toscalar" {
				return p.parseToScalar(t)
			}
			return p.parseCall(t)
		}
		return &Ident{NamePos: t.Pos, Name: t.Text}
	case t.Kind == TokIdent:
		p.next()
		return &Ident{NamePos: t.Pos, Name: t.Text}
	case isPunct(t, "("):
		p.next()
		e := p.parseExpr()
		p.expectPunct(")", fmt.Sprintf("to close the ( at %s", t.Pos))
		return e
	case isPunct(t, "*"):
		p.next()
		return &Star{StarPos: t.Pos}
	}
	p.fail(t.Pos, "expected an expression, found %s", describe(t))
	return nil
}

func (p *parser) parseCall(name Token) Expr {
	open := p.next()
	c := &Call{NamePos: name.Pos, Name: name.Text}
	if isPunct(p.peek(), ")") {
		p.next()
		return c
	}
	for {
		if t := p.peek(); t.Kind == TokIdent && isPunct(p.peekN(1), "=") {
			// A named argument of a let function: f(len=3).
			p.next()
			p.next()
			for len(c.ArgNames) < len(c.Args) {
				c.ArgNames = append(c.ArgNames, "")
			}
			c.ArgNames = append(c.ArgNames, t.Text)
		} else if c.ArgNames != nil {
			c.ArgNames = append(c.ArgNames, "")
		}
		c.Args = append(c.Args, p.parseExpr())
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( of %s at %s", name.Text, open.Pos))
	return c
}
