package kql

// toscalar(query) is the first column of the query's first row as a
// scalar, planned as a scalar subquery (on both engines). materialize(query)
// is accepted where a tabular expression is (a let, a source) and is that
// query: tugboat's tabular lets are computed once already.

// ToScalar is toscalar(query), or toscalar(expr) of a scalar.
type ToScalar struct {
	NamePos Pos
	Query   *Pipeline // nil for a scalar
	Scalar  Expr
}

func (*ToScalar) exprNode() {}

// Position returns the position of the toscalar keyword.
func (e *ToScalar) Position() Pos { return e.NamePos }

func (e *ToScalar) String() string {
	if e.Query == nil {
		return "toscalar(" + exprString(e.Scalar) + ")"
	}
	return "toscalar(" + e.Query.String() + ")"
}

func (p *parser) parseToScalar(name Token) Expr {
	open := p.expectPunct("(", "after toscalar")
	e := &ToScalar{NamePos: name.Pos}
	if p.looksTabular() {
		e.Query = p.parsePipeline()
	} else {
		e.Scalar = p.parseExpr()
	}
	p.expectPunct(")", "to close the ( at "+open.Pos.String())
	return e
}

// tScalarSub is the first column of the first row of a relation.
type tScalarSub struct {
	rel    relation
	t      Type
	shared bool // used in several places (a function without arguments named twice): computed once
}

func (e *tScalarSub) typ() Type { return e.t }

func (ck *checker) toScalar(e *ToScalar) texpr {
	q := e.Query
	if q == nil {
		id, ok := e.Scalar.(*Ident)
		if !ok || ck.lookupTable(id.Name) == nil {
			// Computed once for the query: no column of the row, and a
			// value that is not a constant (rand()) is a subquery, so
			// that all the uses of one toscalar see one value.
			x := ck.expr(e.Scalar, nil)
			switch x.(type) {
			case *tLiteral, *tNow, *tScalarSub:
				return x
			}
			one := &relProject{in: &relValues{rows: [][]texpr{{}}}, cols: []Column{{Name: "v", Type: x.typ()}}, exprs: []texpr{x}}
			return &tScalarSub{rel: one, t: x.typ()}
		}
		q = &Pipeline{Source: &TableRef{NamePos: id.NamePos, Name: id.Name}}
	}
	rel := ck.checkPipeline(q, false)
	out := rel.columns()
	if len(out) == 0 {
		ck.fail(e.NamePos, "toscalar needs a query with at least one column")
	}
	return &tScalarSub{rel: rel, t: out[0].Type}
}

// planRelation is (*planner).relation, reached through a variable set in
// init: the function tables, which plan expressions, are package
// variables, and a direct call from an expression back into relation
// planning would make their initialisation a cycle.
var planRelation func(pl *planner, r relation) stage

func init() { planRelation = (*planner).relation }

func (pl *planner) scalarSub(e *tScalarSub) frag {
	if name, ok := pl.scalars[e]; ok {
		return raw("(SELECT v FROM " + name + ")")
	}
	st := planRelation(pl, e.rel)
	tail := " LIMIT 1"
	if len(st.order) > 0 {
		tail = " ORDER BY " + orderBy(st.order) + tail
	}
	sub := cat("(SELECT ", quoteIdent(st.cols[0]), " FROM ", st.src, " AS "+pl.alias()+tail+")")
	if !e.shared || pl.d == ClickHouse || pl.outer != nil {
		// ClickHouse 18.16 has no table-valued WITH: a shared value is
		// computed at each use there.
		return sub
	}
	name := quoteIdent(pl.internal("scalar"))
	pl.ctes = append(pl.ctes, cat(name+" AS MATERIALIZED (SELECT ", sub, " AS v)"))
	if pl.scalars == nil {
		pl.scalars = map[*tScalarSub]string{}
	}
	pl.scalars[e] = name
	return raw("(SELECT v FROM " + name + ")")
}
