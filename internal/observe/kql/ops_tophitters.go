package kql

// top-hitters N of Value [by Summing]: the N values of the largest count
// (or sum). Kusto approximates it with a count-min sketch; its
// documentation gives the exact query it approximates, summarize then
// top, and tugboat runs that one, so the counts are exact.

// TopHittersOp is top-hitters N of Value [by Summing].
type TopHittersOp struct {
	OpPos Pos
	N     Expr
	Value NamedExpr
	Sum   Expr // nil: count the rows
}

func (*TopHittersOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *TopHittersOp) Position() Pos { return o.OpPos }

func (o *TopHittersOp) String() string {
	s := "top-hitters " + exprString(o.N) + " of " + namedString([]NamedExpr{o.Value})
	if o.Sum != nil {
		s += " by " + exprString(o.Sum)
	}
	return s
}

func (p *parser) parseTopHitters(t Token) *TopHittersOp {
	op := &TopHittersOp{OpPos: t.Pos, N: p.parseExpr()}
	p.expectKeyword("of", "after top-hitters N (write top-hitters 5 of Column)")
	op.Value = p.parseNamed()
	if isKeyword(p.peek(), "by") {
		p.next()
		op.Sum = p.parseExpr()
	}
	return op
}

func (ck *checker) topHitters(in relation, op *TopHittersOp) relation {
	cols := in.columns()
	name := op.Value.Name
	if name == "" {
		name = ck.resultName(op.Value.Expr, cols)
	}
	if name == "" {
		name = freshName("", nil)
	}
	agg := NamedExpr{Name: "approximate_count_" + name, NamePos: op.OpPos, Expr: &Call{NamePos: op.OpPos, Name: "count"}}
	if op.Sum != nil {
		agg = NamedExpr{Name: "approximate_sum_" + name, NamePos: op.OpPos, Expr: &Call{NamePos: op.Sum.Position(), Name: "sum", Args: []Expr{op.Sum}}}
	}
	sum := &SummarizeOp{OpPos: op.OpPos, Aggs: []NamedExpr{agg}, By: []NamedExpr{{Name: name, NamePos: op.Value.NamePos, Expr: op.Value.Expr}}}
	top := &TopOp{OpPos: op.OpPos, N: op.N, Keys: []SortKey{{Expr: &Ident{NamePos: op.OpPos, Name: agg.Name}, Order: SortDesc}}}
	return ck.operator(ck.operator(in, sum), top)
}
