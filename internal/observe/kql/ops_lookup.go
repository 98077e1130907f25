package kql

import (
	"fmt"
	"strings"
)

// lookup extends its input with the columns of a (usually small) dimension
// table: a join whose kind is leftouter unless written (inner is the other
// one allowed), and whose result does not repeat the right side's key
// columns, as Kusto's documentation states.

// LookupOp is lookup [kind=leftouter|inner] Right on conds.
type LookupOp struct {
	JoinOp
}

func (o *LookupOp) String() string { return "lookup" + strings.TrimPrefix(o.JoinOp.String(), "join") }

func (ck *checker) lookup(left relation, op *LookupOp) relation {
	j := op.JoinOp
	switch j.Kind {
	case "":
		j.Kind = "leftouter"
	case "leftouter", "inner":
	default:
		ck.fail(op.OpPos, "lookup kind must be leftouter or inner, not %s", j.Kind)
	}
	rel, ok := ck.join(left, &j).(*relJoin)
	if !ok {
		panic("lookup: join did not make a join")
	}
	rightKey := map[int]bool{}
	for _, k := range rel.rightKeys {
		rightKey[k] = true
	}
	p := &relProject{in: rel}
	for i, c := range rel.cols {
		if o := rel.out[i]; o.right && rightKey[o.idx] {
			continue
		}
		p.cols = append(p.cols, c)
		p.exprs = append(p.exprs, &tColumn{idx: i, t: c.Type})
	}
	return p
}

// withSource puts a column first in each union input naming where its rows
// come from: the table or tabular let, or union_arg<i> for the i-th input
// when it is a query.
func withSource(inputs []relation, column string) []relation {
	out := make([]relation, len(inputs))
	for i, in := range inputs {
		name := fmt.Sprintf("union_arg%d", i)
		switch r := in.(type) {
		case *relScan:
			name = r.table
		case *relLet:
			name = r.name
		}
		cols := in.columns()
		p := &relProject{in: in, cols: []Column{{Name: column, Type: TypeString}}, exprs: []texpr{&tLiteral{value: name, t: TypeString}}}
		for j, c := range cols {
			if c.Name == column {
				continue
			}
			p.cols = append(p.cols, c)
			p.exprs = append(p.exprs, &tColumn{idx: j, t: c.Type})
		}
		out[i] = p
	}
	return out
}
