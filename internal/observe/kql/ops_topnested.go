package kql

import (
	"fmt"
	"strings"
)

// top-nested, as Kusto's documentation describes it: each clause groups
// by its value within the groups the clauses before it kept, aggregates,
// and keeps the top N. A group's aggregate does not depend on the other
// groups, so level i is a summarize by the first i values, cut to its top
// N per group of the level above, and joined to the levels above on their
// values. Nulls group as in summarize but match no key in the join.

// TopNestedOp is top-nested [N] of [Name =] Expr [with others = C] by [Name =] Agg [asc|desc], ...
type TopNestedOp struct {
	OpPos   Pos
	Clauses []TopNestedClause
}

// TopNestedClause is one level.
type TopNestedClause struct {
	Pos    Pos
	N      Expr // nil: every value
	Value  NamedExpr
	Others Expr // nil when not written
	Agg    NamedExpr
	Asc    bool
}

func (*TopNestedOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *TopNestedOp) Position() Pos { return o.OpPos }

func (o *TopNestedOp) String() string {
	parts := make([]string, len(o.Clauses))
	for i, c := range o.Clauses {
		s := "top-nested "
		if c.N != nil {
			s += exprString(c.N) + " "
		}
		s += "of " + namedString([]NamedExpr{c.Value})
		if c.Others != nil {
			s += " with others = " + exprString(c.Others)
		}
		s += " by " + namedString([]NamedExpr{c.Agg})
		if c.Asc {
			s += " asc"
		}
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}

// maxNestedLevels bounds the clauses: each adds a summarize and a join.
const maxNestedLevels = 16

func (p *parser) parseTopNested(t Token) *TopNestedOp {
	op := &TopNestedOp{OpPos: t.Pos}
	for {
		c := TopNestedClause{Pos: t.Pos}
		if !isKeyword(p.peek(), "of") {
			c.N = p.parseExpr()
		}
		p.expectKeyword("of", "in top-nested (write top-nested 5 of Column by count())")
		c.Value = p.parseNamed()
		if isKeyword(p.peek(), "with") {
			p.next()
			p.expectKeyword("others", "after top-nested ... with")
			p.expectPunct("=", "after with others")
			c.Others = p.parseExpr()
		}
		p.expectKeyword("by", "in top-nested (write top-nested 5 of Column by count())")
		c.Agg = p.parseNamed()
		switch {
		case isKeyword(p.peek(), "asc"):
			p.next()
			c.Asc = true
		case isKeyword(p.peek(), "desc"):
			p.next()
		}
		if len(op.Clauses) == maxNestedLevels {
			p.fail(c.Pos, "top-nested takes at most %d clauses", maxNestedLevels)
		}
		op.Clauses = append(op.Clauses, c)
		if !isPunct(p.peek(), ",") {
			return op
		}
		p.next()
		t = p.expectKeyword("top-nested", "after the comma of top-nested")
	}
}

// relTopPer keeps the first n rows of each group of the partition
// columns, in the order of key.
type relTopPer struct {
	in        relation
	partition []int
	key       sortSpec
	n         int64
}

func (r *relTopPer) columns() []Column { return r.in.columns() }

func (ck *checker) topNested(in relation, op *TopNestedOp) relation {
	base := &relLet{name: "_tb_nested", in: in}
	cols := in.columns()
	var names []string // the values' names, level by level
	var out relation
	var outCols []Column
	var picks []int // for each output column, its index in out
	var keyAt []int // for each level, the index of its key in out
	for i, c := range op.Clauses {
		if c.Others != nil && i != len(op.Clauses)-1 {
			ck.fail(c.Others.Position(), "top-nested ... with others is supported on the last clause only: Kusto does not document what the levels below an others row hold")
		}
		name := c.Value.Name
		if name == "" {
			name = ck.resultName(c.Value.Expr, cols)
		}
		if name == "" {
			name = fmt.Sprintf("Column%d", i+1)
		}
		for _, n := range names {
			if n == name {
				ck.fail(c.Value.Expr.Position(), "top-nested has two levels named %s; name one with Name = ...", identString(name))
			}
		}
		agg := c.Agg
		if agg.Name == "" {
			agg.Name, agg.NamePos = "aggregated_"+name, c.Agg.Expr.Position()
		}
		// The levels above are grouped again by their own values (the
		// clauses' expressions), and by keys of them that tell a null from
		// a value, which the joins use: a join matches no null. Columns:
		// the values of levels 0..i, their keys, the aggregate.
		sum := &SummarizeOp{OpPos: c.Pos, Aggs: []NamedExpr{agg}}
		for j := 0; j < i; j++ {
			prev := op.Clauses[j].Value
			sum.By = append(sum.By, NamedExpr{Name: names[j], NamePos: prev.NamePos, Expr: prev.Expr})
		}
		sum.By = append(sum.By, NamedExpr{Name: name, NamePos: c.Value.NamePos, Expr: c.Value.Expr})
		for j := 0; j <= i; j++ {
			sum.By = append(sum.By, NamedExpr{Name: fmt.Sprintf("_tb_nk%d", j), NamePos: c.Pos, Expr: nullKey(op.Clauses[j].Value.Expr)})
		}
		level := ck.operator(base, sum)
		lcols := level.columns()
		valueIdx, aggIdx := i, len(lcols)-1
		if lcols[aggIdx].Type == TypeDynamic {
			ck.fail(c.Agg.Expr.Position(), "the aggregation of top-nested cannot be dynamic")
		}
		if c.N != nil {
			partition := make([]int, i)
			for j := range partition {
				partition[j] = i + 1 + j
			}
			level = &relTopPer{in: level, partition: partition, n: ck.constCount(c.N, "top-nested"),
				key: sortSpec{e: &tColumn{idx: aggIdx, t: lcols[aggIdx].Type}, desc: !c.Asc, nullsFirst: c.Asc}}
			if c.Others != nil {
				level = ck.nestedOthers(base, op, i, names, name, agg, level)
			}
		}
		names = append(names, name)
		if out == nil {
			out = level
			outCols = []Column{lcols[valueIdx], lcols[aggIdx]}
			picks = []int{valueIdx, aggIdx}
			keyAt = []int{1}
			continue
		}
		j := &relJoin{left: out, right: level, kind: "inner"}
		left := out.columns()
		for k := 0; k < i; k++ {
			j.leftKeys = append(j.leftKeys, keyAt[k])
			j.rightKeys = append(j.rightKeys, i+1+k)
		}
		keyAt = append(keyAt, len(left)+2*i+1)
		for k, col := range left {
			j.cols = append(j.cols, col)
			j.out = append(j.out, joinOut{idx: k})
		}
		for k, col := range lcols {
			j.cols = append(j.cols, Column{Name: freshName(col.Name, j.cols), Type: col.Type})
			j.out = append(j.out, joinOut{right: true, idx: k})
		}
		picks = append(picks, len(left)+valueIdx, len(left)+aggIdx)
		outCols = append(outCols, lcols[valueIdx], lcols[aggIdx])
		out = j
	}
	for i := range outCols {
		for k := 0; k < i; k++ {
			if outCols[k].Name == outCols[i].Name {
				ck.fail(op.Clauses[i/2].Pos, "top-nested would make two columns named %s; name them with Name = ...", identString(outCols[i].Name))
			}
		}
	}
	p := &relProject{in: out, cols: outCols}
	ocols := out.columns()
	for _, k := range picks {
		p.exprs = append(p.exprs, &tColumn{idx: k, t: ocols[k].Type})
	}
	return p
}

// nullKey is a value's key for the joins: "n" for null, else "v" and its
// text.
func nullKey(e Expr) Expr {
	p := e.Position()
	str := func(s string) Expr { return &Literal{LitPos: p, Type: TypeString, Value: s} }
	return &Call{NamePos: p, Name: "iff", Args: []Expr{
		&Call{NamePos: p, Name: "isnull", Args: []Expr{e}},
		str("n"),
		&Call{NamePos: p, Name: "strcat", Args: []Expr{str("v"), &Call{NamePos: p, Name: "tostring", Args: []Expr{e}}}},
	}}
}

// nestedOthers adds to the kept groups of the last level, for each group
// of the level above, one row valued Others whose aggregate is over the
// records of the groups that were not kept. kept's columns: the values of
// levels 0..last, their keys, the aggregate.
func (ck *checker) nestedOthers(base relation, op *TopNestedOp, last int, names []string, name string, agg NamedExpr, kept relation) relation {
	c := op.Clauses[last]
	// The records with the keys of their values.
	ext := &ExtendOp{OpPos: c.Pos}
	for j := 0; j <= last; j++ {
		ext.Cols = append(ext.Cols, NamedExpr{Name: fmt.Sprintf("_tb_rk%d", j), NamePos: c.Pos, Expr: nullKey(op.Clauses[j].Value.Expr)})
	}
	records := ck.operator(base, ext)
	rcols := records.columns()
	anti := &relJoin{left: records, right: kept, kind: "leftanti"}
	for j := 0; j <= last; j++ {
		anti.leftKeys = append(anti.leftKeys, len(rcols)-last-1+j)
		anti.rightKeys = append(anti.rightKeys, last+1+j)
	}
	for k, col := range rcols {
		anti.cols = append(anti.cols, col)
		anti.out = append(anti.out, joinOut{idx: k})
	}
	// The others rows: the values and keys of the levels above, the
	// aggregate of the records left out.
	sum := &SummarizeOp{OpPos: c.Pos, Aggs: []NamedExpr{agg}}
	for j := 0; j < last; j++ {
		sum.By = append(sum.By, NamedExpr{Name: names[j], NamePos: c.Pos, Expr: op.Clauses[j].Value.Expr})
	}
	for j := 0; j < last; j++ {
		sum.By = append(sum.By, NamedExpr{Name: fmt.Sprintf("_tb_nk%d", j), NamePos: c.Pos, Expr: &Ident{NamePos: c.Pos, Name: fmt.Sprintf("_tb_rk%d", j)}})
	}
	rest := ck.operator(anti, sum)
	kcols := kept.columns()
	others := ck.expr(c.Others, nil)
	if others.typ() != kcols[last].Type {
		ck.fail(c.Others.Position(), "the others value of top-nested must be a %s like %s, but it is %s", kcols[last].Type, identString(name), others.typ())
	}
	row := &relProject{in: rest, cols: kcols}
	for j := 0; j < last; j++ {
		row.exprs = append(row.exprs, &tColumn{idx: j, t: kcols[j].Type})
	}
	row.exprs = append(row.exprs, others)
	for j := 0; j < last; j++ {
		row.exprs = append(row.exprs, &tColumn{idx: last + j, t: TypeString})
	}
	row.exprs = append(row.exprs, &tLiteral{value: "o", t: TypeString}, &tColumn{idx: 2 * last, t: kcols[len(kcols)-1].Type})
	ident := make([]int, len(kcols))
	for k := range ident {
		ident[k] = k
	}
	return &relUnion{inputs: []relation{kept, row}, cols: kcols, maps: [][]int{ident, ident}}
}

func (pl *planner) topPer(r *relTopPer) stage {
	in := pl.relation(r.in)
	n := fmt.Sprint(r.n)
	part := make([]string, len(r.partition))
	for i, k := range r.partition {
		part[i] = quoteIdent(in.cols[k])
	}
	key := pl.expr(r.key.e, in.cols)
	dir := " DESC"
	if !r.key.desc {
		dir = " ASC"
	}
	if r.key.nullsFirst {
		dir += " NULLS FIRST"
	} else {
		dir += " NULLS LAST"
	}
	list := make([]string, len(in.cols))
	for i, c := range in.cols {
		list[i] = quoteIdent(c)
	}
	if pl.d == ClickHouse {
		// ClickHouse 18.16 has no window functions; LIMIT n BY keeps the
		// first n rows of each group in the ORDER BY's order.
		tail := cat(" ORDER BY ", key, dir)
		if len(part) > 0 {
			tail = cat(tail, " LIMIT "+n+" BY "+strings.Join(part, ", "))
		} else {
			tail = cat(tail, " LIMIT "+n)
		}
		return stage{src: pl.selectFrom(raw(strings.Join(list, ", ")), in, tail), cols: in.cols}
	}
	rn := quoteIdent(pl.internal("rn"))
	over := "ORDER BY "
	if len(part) > 0 {
		over = "PARTITION BY " + strings.Join(part, ", ") + " ORDER BY "
	}
	inner := pl.selectFrom(cat(strings.Join(list, ", ")+", row_number() OVER ("+over, key, dir+") AS "+rn), in, frag{})
	return stage{src: cat("(SELECT "+strings.Join(list, ", ")+" FROM ", inner, " AS "+pl.alias()+" WHERE "+rn+" <= "+n+")"), cols: in.cols}
}
