package kql

import "strings"

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
