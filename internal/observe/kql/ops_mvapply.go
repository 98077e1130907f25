package kql

import (
	"fmt"
	"strings"
)

// mv-apply, as Kusto's documentation describes it: each input row is
// expanded into a sub-table of its arrays' elements (mv-expand), the
// subquery runs on that sub-table alone, and the row's columns that were
// not expanded are added to what it returns. It is planned on DuckDB as a
// LATERAL subquery, which runs once per input row.

// MvApplyOp is mv-apply [with_itemindex=I] items [limit N] on (subquery).
type MvApplyOp struct {
	OpPos  Pos
	Params []Param
	Items  []MvExpandItem
	Limit  Expr // nil when not written
	Sub    []Operator
	SubPos Pos
}

func (*MvApplyOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *MvApplyOp) Position() Pos { return o.OpPos }

func (o *MvApplyOp) String() string {
	// The items print as mv-expand's do.
	exp := (&MvExpandOp{Params: o.Params, Items: o.Items, Limit: o.Limit}).String()
	ops := make([]string, len(o.Sub))
	for i, op := range o.Sub {
		ops[i] = op.String()
	}
	return "mv-apply" + strings.TrimPrefix(exp, "mv-expand") + " on (" + strings.Join(ops, " | ") + ")"
}

func (p *parser) parseMvApply(t Token) *MvApplyOp {
	exp := p.parseMvExpand(t)
	op := &MvApplyOp{OpPos: t.Pos, Params: exp.Params, Items: exp.Items, Limit: exp.Limit}
	p.expectKeyword("on", "after the mv-apply items (write mv-apply x = Arr on (take 1))")
	open := p.expectPunct("(", "after mv-apply ... on (write on (take 1))")
	op.SubPos = open.Pos
	if isPunct(p.peek(), "|") {
		p.next()
	}
	for {
		op.Sub = append(op.Sub, p.parseOperator())
		if !isPunct(p.peek(), "|") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	return op
}

// relOuterRow is the current row of the enclosing mv-apply: one row whose
// columns are the outer row's (the planner qualifies them with the outer
// alias, so SQL reads them as correlated references).
type relOuterRow struct {
	cols []Column
}

func (r *relOuterRow) columns() []Column { return r.cols }

// relMvApply joins each input row with its subquery's rows. out says, for
// each output column, whether it comes from the subquery and its index.
type relMvApply struct {
	in   relation
	sub  relation
	cols []Column
	out  []joinOut
}

func (r *relMvApply) columns() []Column { return r.cols }

func (ck *checker) mvApply(in relation, op *MvApplyOp) relation {
	cols := in.columns()
	row := &relOuterRow{cols: cols}
	exp, ok := ck.mvExpand(row, &MvExpandOp{OpPos: op.OpPos, Params: op.Params, Items: op.Items, Limit: op.Limit}).(*relMvExpand)
	if !ok {
		panic("mv-apply: mv-expand did not make an expansion")
	}
	// The sub-table: the expanded columns (and the item index) only.
	src := &relProject{in: exp}
	expanded := map[string]bool{}
	for i, c := range exp.cols {
		if exp.itemAt(i) >= 0 || i == exp.index {
			src.cols = append(src.cols, c)
			src.exprs = append(src.exprs, &tColumn{idx: i, t: c.Type})
			expanded[c.Name] = true
		}
	}
	var sub relation = src
	for _, o := range op.Sub {
		if _, ok := o.(*RenderOp); ok {
			ck.fail(o.Position(), "render is only allowed at the end of the query, not inside mv-apply")
		}
		sub = ck.operator(sub, o)
	}
	r := &relMvApply{in: in, sub: sub}
	for i, c := range cols {
		if !expanded[c.Name] {
			r.cols = append(r.cols, c)
			r.out = append(r.out, joinOut{idx: i})
		}
	}
	for i, c := range sub.columns() {
		r.cols = append(r.cols, Column{Name: freshName(c.Name, r.cols), Type: c.Type})
		r.out = append(r.out, joinOut{right: true, idx: i})
	}
	return r
}

func (pl *planner) mvApply(r *relMvApply) stage {
	if pl.d == ClickHouse {
		pl.fail("mv-apply is not supported on ClickHouse 18.16, which cannot split JSON arrays")
	}
	in := pl.relation(r.in)
	oa := pl.alias()
	saved := pl.outer
	// Qualified names: quoteIdent wraps them in quotes, which makes
	// "t1"."col" of alias and column, both safe identifiers.
	pl.outer = make([]string, len(in.cols))
	for i, c := range in.cols {
		pl.outer[i] = oa + `"."` + c
	}
	sub := pl.relation(r.sub)
	pl.outer = saved
	sa := pl.alias()
	names := pl.sqlNames(r.cols, hiddenCols(in.order))
	list := make([]frag, 0, len(r.cols)+len(in.order))
	for i, o := range r.out {
		if o.right {
			list = append(list, raw(sa+"."+quoteIdent(sub.cols[o.idx])+" AS "+quoteIdent(names[i])))
		} else {
			list = append(list, raw(oa+"."+quoteIdent(in.cols[o.idx])+" AS "+quoteIdent(names[i])))
		}
	}
	for _, k := range in.order {
		list = append(list, raw(oa+"."+quoteIdent(k.col)))
	}
	src := cat("(SELECT ", joinFrags(list, ", "), " FROM ", in.src, " AS "+oa+", LATERAL ", sub.src, " AS "+sa+")")
	return stage{src: src, cols: names, order: in.order}
}

// outerRow is the one-row source of an mv-apply subquery.
func (pl *planner) outerRow(r *relOuterRow) stage {
	if pl.outer == nil {
		panic("mv-apply: the outer row is planned outside mv-apply")
	}
	return stage{src: raw("(SELECT 1 AS " + quoteIdent(pl.internal("u")) + ")"), cols: pl.outer}
}
