package kql

// evaluate pivot(Column [, Aggregation [, GroupColumn ...]]): one output
// column per distinct value of Column (as text), holding the aggregation
// (count() unless written) of the rows with that value, grouped by the
// group columns. The values come from a first query over the same input
// (Options.Explore), as bag_unpack's properties do.

// maxPivotColumns bounds the columns pivot makes from the data.
const maxPivotColumns = 1000

func (ck *checker) pivot(in relation, op *EvaluateOp) relation {
	c := op.Plugin
	if len(c.Args) == 0 || c.ArgNames != nil {
		ck.fail(c.NamePos, "pivot needs the column to pivot on, such as pivot(Level) or pivot(Level, sum(n), Pod)")
	}
	if op.Schema != nil {
		ck.fail(c.NamePos, "pivot with an output schema is not supported")
	}
	cols := in.columns()
	key := ck.expr(c.Args[0], cols)
	if key.typ() == TypeDynamic {
		ck.fail(c.Args[0].Position(), "pivot cannot pivot on a dynamic value; convert it with tostring()")
	}
	var agg *Call
	if len(c.Args) > 1 {
		a, ok := c.Args[1].(*Call)
		if !ok || !isAggregate(a.Name) {
			ck.fail(c.Args[1].Position(), "the second argument of pivot must be an aggregation such as sum(x) or count()")
		}
		agg = a
	}
	var by []NamedExpr
	for _, g := range c.Args[min(2, len(c.Args)):] {
		by = append(by, NamedExpr{Expr: g})
	}
	text := key
	if text.typ() != TypeString {
		text = mkCall("tostring", TypeString, key)
	}
	values := ck.explorePivot(in, text, c)
	sum := &SummarizeOp{OpPos: op.OpPos, By: by}
	for _, v := range values {
		sum.Aggs = append(sum.Aggs, NamedExpr{Name: v, NamePos: c.NamePos, Expr: pivotAgg(agg, c.Args[0], v, ck, cols)})
	}
	if len(sum.Aggs) == 0 && len(by) == 0 {
		ck.fail(c.NamePos, "pivot found no values to make columns of")
	}
	return ck.summarize(in, sum)
}

// pivotAgg is the aggregation restricted to the rows whose key is value:
// count() becomes countif, any other aggregate gets its first argument
// replaced by iff(key == value, x, null), as aggregates skip nulls.
func pivotAgg(agg *Call, key Expr, value string, ck *checker, cols []Column) Expr {
	pos := key.Position()
	cond := &Binary{Op: "==", OpPos: pos, Left: &Call{NamePos: pos, Name: "tostring", Args: []Expr{key}}, Right: &Literal{LitPos: pos, Type: TypeString, Value: value}}
	if agg == nil || (agg.Name == "count" && len(agg.Args) == 0) {
		return &Call{NamePos: pos, Name: "countif", Args: []Expr{cond}}
	}
	if len(agg.Args) == 0 {
		ck.fail(agg.NamePos, "pivot cannot restrict %s() to a value; use an aggregation of a column", agg.Name)
	}
	x := agg.Args[0]
	t := ck.expr(x, cols).typ()
	args := append([]Expr{&Call{NamePos: pos, Name: "iff", Args: []Expr{cond, x, &Literal{LitPos: pos, Type: t}}}}, agg.Args[1:]...)
	return &Call{NamePos: agg.NamePos, Name: agg.Name, Args: args}
}

// explorePivot asks the engine for the distinct values of the key, in
// order, nulls left out.
func (ck *checker) explorePivot(in relation, key texpr, c *Call) []string {
	if ck.opts == nil || ck.opts.Explore == nil {
		ck.fail(c.NamePos, "pivot needs the engine to list the pivot values, which this compilation cannot ask")
	}
	plan, err := explorePlan(*ck.opts, func(pl *planner) (frag, []Column) {
		st := pl.relation(in)
		x := pl.expr(key, st.cols)
		n, _ := inlineNumber(maxPivotColumns + 1)
		sql := cat("SELECT DISTINCT _tb_v FROM (SELECT ", x, " AS _tb_v FROM ", st.src, " AS ", pl.alias(), ") AS "+pl.alias()+" WHERE _tb_v IS NOT NULL ORDER BY _tb_v LIMIT "+n)
		return sql, []Column{{Name: "value", Type: TypeString}}
	})
	if err != nil {
		ck.fail(c.NamePos, "failed to plan the query that lists the pivot values: %v", err)
	}
	rows, err := ck.opts.Explore(plan)
	if err != nil {
		ck.fail(c.NamePos, "failed to list the pivot values: %v", err)
	}
	if len(rows) > maxPivotColumns {
		ck.fail(c.NamePos, "pivot would make more than %d columns", maxPivotColumns)
	}
	var out []string
	for _, r := range rows {
		// An empty key (Kusto's null string) names no column.
		if s, _ := r[0].(string); s != "" {
			out = append(out, s)
		}
	}
	return out
}
