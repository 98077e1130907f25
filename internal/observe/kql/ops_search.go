package kql

import (
	"regexp"
	"strings"
)

// inlineFlags finds a regular expression's flag groups that set i:
// (?i), (?is), (?i:...).
var inlineFlags = regexp.MustCompile(`\(\?[a-zA-Z]*i[a-zA-Z]*[:)]`)

// caseInsensitiveFlag reports whether a constant pattern turns on case
// insensitivity, which ClickHouse 18.16's match() gets wrong (see hasMatch).
func caseInsensitiveFlag(pattern texpr) bool {
	s, ok := constString(pattern)
	return ok && inlineFlags.MatchString(s)
}

// T | search [kind=case_sensitive] Predicate, as Kusto's documentation
// writes it as where: a string term is a search of every column, with has,
// hasprefix (term*), hassuffix (*term), contains (*term*) or a regular
// expression (te*rm); Column:"term" searches one column; other
// comparisons stay as written; and, or and parentheses combine them. The
// output starts with $table, the input's table or let name. The parser
// writes the terms as those where conditions, so the operator prints back
// as one.

// SearchOp is T | search [kind=...] Predicate.
type SearchOp struct {
	OpPos Pos
	Kind  string // "" or case_sensitive
	Pred  Expr
}

func (*SearchOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *SearchOp) Position() Pos { return o.OpPos }

func (o *SearchOp) String() string {
	s := "search "
	if o.Kind != "" {
		s += "kind=" + o.Kind + " "
	}
	return s + exprString(o.Pred)
}

func (p *parser) parseSearch(t Token) *SearchOp {
	op := &SearchOp{OpPos: t.Pos}
	if isKeyword(p.peek(), "kind") && isPunct(p.peekN(1), "=") {
		p.next()
		p.next()
		k := p.expectIdent("after kind=")
		switch k.Text {
		case "case_sensitive":
			op.Kind = k.Text
		case "default", "case_insensitive":
		default:
			p.fail(k.Pos, "search kind must be default, case_insensitive or case_sensitive, not %s", describe(k))
		}
	}
	if isKeyword(p.peek(), "in") {
		p.fail(p.peek().Pos, "search in (tables) starts a query; here search searches the rows piped into it")
	}
	if p.atOperatorEnd() {
		p.fail(p.peek().Pos, "expected a search predicate, such as search \"error\", found %s", describe(p.peek()))
	}
	op.Pred = p.parseSearchOr(op.Kind == "case_sensitive")
	return op
}

// SearchSource is search [kind=...] in (T1, T2, ...) Predicate at the
// start of a query: the union of the tables, each row's table in $table.
type SearchSource struct {
	SearchPos Pos
	Tables    []*TableRef
	Op        *SearchOp
}

func (*SearchSource) sourceNode() {}

// Position returns the position of the search keyword.
func (s *SearchSource) Position() Pos { return s.SearchPos }

func (s *SearchSource) String() string {
	names := make([]string, len(s.Tables))
	for i, t := range s.Tables {
		names[i] = identString(t.Name)
	}
	kind := ""
	if s.Op.Kind != "" {
		kind = "kind=" + s.Op.Kind + " "
	}
	return "search " + kind + "in (" + strings.Join(names, ", ") + ") " + exprString(s.Op.Pred)
}

// maxSearchTables bounds the tables of one search.
const maxSearchTables = 64

func (p *parser) parseSearchSource(t Token) *SearchSource {
	s := &SearchSource{SearchPos: t.Pos}
	kind := ""
	if isKeyword(p.peek(), "kind") && isPunct(p.peekN(1), "=") {
		p.next()
		p.next()
		k := p.expectIdent("after kind=")
		switch k.Text {
		case "case_sensitive":
			kind = k.Text
		case "default", "case_insensitive":
		default:
			p.fail(k.Pos, "search kind must be default, case_insensitive or case_sensitive, not %s", describe(k))
		}
	}
	if !isKeyword(p.peek(), "in") {
		p.fail(p.peek().Pos, "a search of every table is not supported; name them: search in (T1, T2) \"term\", or T | search \"term\"")
	}
	p.next()
	open := p.expectPunct("(", "after search in")
	for {
		n := p.expectIdent("as a table name in search in (...)")
		if len(s.Tables) == maxSearchTables {
			p.fail(n.Pos, "search takes at most %d tables", maxSearchTables)
		}
		s.Tables = append(s.Tables, &TableRef{NamePos: n.Pos, Name: n.Text})
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", "to close the ( at "+open.Pos.String())
	if p.atOperatorEnd() {
		p.fail(p.peek().Pos, "expected a search predicate, such as search in (T) \"error\", found %s", describe(p.peek()))
	}
	s.Op = &SearchOp{OpPos: t.Pos, Kind: kind, Pred: p.parseSearchOr(kind == "case_sensitive")}
	return s
}

// searchSource is the union of the tables, each with its name in $table,
// filtered by the predicate over the other columns.
func (ck *checker) searchSource(s *SearchSource) relation {
	inputs := make([]relation, len(s.Tables))
	for i, t := range s.Tables {
		inputs[i] = ck.source(t)
		if findColumn(inputs[i].columns(), "$table") >= 0 {
			ck.fail(t.NamePos, "search adds a column $table, and %s has one", identString(t.Name))
		}
	}
	// Each table is filtered before the union: ClickHouse 18.16 cannot
	// filter a union whose inputs have a constant column ($table).
	u := ck.unionOf(s.SearchPos, withSource(inputs, "$table"), false)
	filtered := &relUnion{cols: u.cols}
	ident := make([]int, len(u.cols))
	for j := range ident {
		ident[j] = j
	}
	for i, in := range u.inputs {
		p := &relProject{in: in, cols: u.cols}
		for j, c := range u.cols {
			if k := u.maps[i][j]; k >= 0 {
				p.exprs = append(p.exprs, &tColumn{idx: k, t: c.Type})
			} else {
				p.exprs = append(p.exprs, &tLiteral{t: c.Type})
			}
		}
		filtered.inputs = append(filtered.inputs, ck.searchFilter(p, 1, s.Op))
		filtered.maps = append(filtered.maps, ident)
	}
	return filtered
}

func (p *parser) parseSearchOr(cs bool) Expr {
	left := p.parseSearchAnd(cs)
	for isKeyword(p.peek(), "or") {
		t := p.next()
		left = &Binary{Op: "or", OpPos: t.Pos, Left: left, Right: p.parseSearchAnd(cs)}
	}
	return left
}

func (p *parser) parseSearchAnd(cs bool) Expr {
	left := p.parseSearchTerm(cs)
	for isKeyword(p.peek(), "and") {
		t := p.next()
		left = &Binary{Op: "and", OpPos: t.Pos, Left: left, Right: p.parseSearchTerm(cs)}
	}
	return left
}

// searchEnd reports whether the token after a term ends it.
func (p *parser) searchEnd(n int) bool {
	t := p.peekN(n)
	return t.Kind == TokEOF || isPunct(t, "|") || isPunct(t, ")") || isPunct(t, ";") || isKeyword(t, "and") || isKeyword(t, "or")
}

func (p *parser) parseSearchTerm(cs bool) Expr {
	p.enter()
	defer p.leave()
	t := p.peek()
	switch {
	case isPunct(t, "("):
		p.next()
		e := p.parseSearchOr(cs)
		p.expectPunct(")", "to close the ( at "+t.Pos.String())
		return e
	case isPunct(t, "*") && p.searchEnd(1):
		p.next()
		return &Literal{LitPos: t.Pos, Type: TypeBool, Value: true}
	case t.Kind == TokLiteral && t.Type == TypeString && p.searchEnd(1):
		p.next()
		return searchTerm(&Star{StarPos: t.Pos}, t, cs)
	case t.Kind == TokIdent && isPunct(p.peekN(1), ":"):
		p.next()
		p.next()
		v := p.next()
		if v.Kind != TokLiteral || v.Type != TypeString {
			p.fail(v.Pos, "expected a string after %s: in search, found %s", t.Text, describe(v))
		}
		return searchTerm(&Ident{NamePos: t.Pos, Name: t.Text}, v, cs)
	}
	return p.parseEquality()
}

// searchTerm is the where condition of one search term over x (* or a
// column), by the place of its wildcards.
func searchTerm(x Expr, lit Token, cs bool) Expr {
	term, _ := lit.Value.(string)
	lead, trail := strings.HasPrefix(term, "*"), strings.HasSuffix(term, "*")
	inner := strings.Trim(term, "*")
	suffix := ""
	if cs {
		suffix = "_cs"
	}
	str := func(s string) Expr { return &Literal{LitPos: lit.Pos, Type: TypeString, Value: s} }
	switch {
	case inner == "":
		return &Literal{LitPos: lit.Pos, Type: TypeBool, Value: true}
	case strings.Contains(inner, "*"):
		parts := strings.Split(inner, "*")
		for i, s := range parts {
			parts[i] = regexp.QuoteMeta(s)
			if !cs {
				// Letters as [aA] rather than (?i): ClickHouse 18.16's
				// match() looks for the literal part case-sensitively
				// first, whatever the flag says.
				parts[i] = anyCase(parts[i])
			}
		}
		re := strings.Join(parts, ".*")
		if !lead {
			re = `\b` + re
		}
		if !trail {
			re += `\b`
		}
		return &Binary{Op: "matches regex", OpPos: lit.Pos, Left: x, Right: str(re)}
	case lead && trail:
		return &Binary{Op: "contains" + suffix, OpPos: lit.Pos, Left: x, Right: str(inner)}
	case lead:
		return &Binary{Op: "hassuffix" + suffix, OpPos: lit.Pos, Left: x, Right: str(inner)}
	case trail:
		return &Binary{Op: "hasprefix" + suffix, OpPos: lit.Pos, Left: x, Right: str(inner)}
	}
	return &Binary{Op: "has" + suffix, OpPos: lit.Pos, Left: x, Right: str(inner)}
}

func (ck *checker) search(in relation, op *SearchOp) relation {
	if findColumn(in.columns(), "$table") >= 0 {
		ck.fail(op.OpPos, "search adds a column $table, and the input has one; rename it first")
	}
	return ck.searchFilter(withSource([]relation{in}, "$table")[0], 1, op)
}

// searchFilter keeps the rows of in where the predicate holds over its
// columns after the first skip ones ($table is not searched).
func (ck *checker) searchFilter(in relation, skip int, op *SearchOp) relation {
	pred := ck.expr(op.Pred, in.columns()[skip:])
	if pred.typ() != TypeBool {
		ck.fail(op.Pred.Position(), "the search predicate must be bool, but it is %s", pred.typ())
	}
	shifted := rewriteExpr(pred, func(x texpr) (texpr, bool) {
		if c, ok := x.(*tColumn); ok {
			return &tColumn{idx: c.idx + skip, t: c.t}, true
		}
		return nil, false
	})
	return &relFilter{in: in, pred: shifted}
}

// anyCase makes each letter of a pattern match either case.
func anyCase(re string) string {
	var b strings.Builder
	for _, r := range re {
		lo, up := strings.ToLower(string(r)), strings.ToUpper(string(r))
		if lo == up {
			b.WriteRune(r)
			continue
		}
		b.WriteString("[" + lo + up + "]")
	}
	return b.String()
}
