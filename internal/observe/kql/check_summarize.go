package kql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// resultName is the column name Kusto derives for an unnamed expression
// (Binder.GetExpressionResultName in microsoft/Kusto-Query-Language): a
// column keeps its name, a dynamic path joins its parts with _, conversion
// functions and bin() take their first argument's name, aggregates prefix it.
func (ck *checker) resultName(e Expr, cols []Column) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *Member:
		if left := ck.resultName(e.X, cols); left != "" {
			return left + "_" + e.Name
		}
		return e.Name
	case *Index:
		l, ok := e.Index.(*Literal)
		if !ok || (l.Type != TypeString && l.Type != TypeLong && l.Type != TypeInt) || l.Value == nil {
			return ""
		}
		right := fmt.Sprint(l.Value)
		if left := ck.resultName(e.X, cols); left != "" {
			return left + "_" + right
		}
		return right
	case *Call:
		switch e.Name {
		case "bin", "floor", "tostring", "toint", "tolong", "todouble", "toreal", "todatetime", "totimespan",
			"tobool", "todynamic", "parse_json", "format_datetime":
			if len(e.Args) > 0 {
				return ck.resultName(e.Args[0], cols)
			}
		}
		if prefix := aggregatePrefix(e.Name); prefix != "" {
			first := ""
			if len(e.Args) > 0 {
				first = ck.resultName(e.Args[0], cols)
			}
			if (e.Name == "covariance" || e.Name == "covariancep") && len(e.Args) == 2 {
				// The two-column aggregates name both columns.
				first += "_" + ck.resultName(e.Args[1], cols)
			}
			return prefix + "_" + first
		}
	}
	return ""
}

func (ck *checker) summarize(in relation, op *SummarizeOp) relation {
	cols := in.columns()
	for _, p := range op.Params {
		if !strings.HasPrefix(p.Name, "hint.") {
			ck.fail(p.NamePos, "summarize parameter %s is not supported", p.Name)
		}
	}
	agg := &relAggregate{in: in}
	var out []Column
	var outExprs []texpr
	add := func(pos Pos, name string, explicit bool, e texpr) {
		if findColumn(out, name) >= 0 {
			if explicit {
				ck.fail(pos, "column %s is declared twice in summarize; rename one with Name = ...", identString(name))
			}
			name = freshName(name, out)
		}
		out = append(out, Column{Name: name, Type: e.typ()})
		outExprs = append(outExprs, e)
	}
	var keyCols []int // input columns used as plain keys, skipped by arg_max(*)
	for _, k := range op.By {
		e := ck.expr(k.Expr, cols)
		if e.typ() == TypeDynamic {
			ck.fail(k.Expr.Position(), "cannot group by a dynamic value; convert it with tostring()")
		}
		if c, ok := e.(*tColumn); ok {
			keyCols = append(keyCols, c.idx)
		}
		name := k.Name
		if name == "" {
			name = ck.resultName(k.Expr, cols)
		}
		if name == "" {
			name = freshName("", out)
		}
		agg.keys = append(agg.keys, e)
		agg.cols = append(agg.cols, Column{Name: name, Type: e.typ()})
		add(namedPos(k), name, k.Name != "", &tColumn{idx: len(agg.keys) - 1, t: e.typ()})
	}
	nkeys := len(agg.keys)
	for _, a := range op.Aggs {
		call, isCall := a.Expr.(*Call)
		if isCall && (call.Name == "arg_max" || call.Name == "arg_min") {
			for j, c := range ck.argMinMax(agg, call, cols, keyCols, a.Name) {
				add(namedPos(a), c.name, a.Name != "" && j == 0, &tColumn{idx: nkeys + c.agg, t: c.t})
			}
			continue
		}
		if isCall && call.Name == "percentiles" {
			if a.Name != "" {
				ck.fail(a.NamePos, "percentiles produces several columns and cannot be named; use percentile(x, p) for one named column")
			}
			value := ck.aggArg(call, 0, cols)
			for _, lvl := range call.Args[1:] {
				level := ck.percentileLevel(lvl)
				agg.aggs = append(agg.aggs, aggregate{fn: "percentile", args: []texpr{value}, level: level, t: percentileType(value.typ())})
				name := "percentile_" + ck.resultName(call.Args[0], cols) + "_" + validNameFragment(lvl.String())
				add(call.NamePos, name, false, &tColumn{idx: nkeys + len(agg.aggs) - 1, t: percentileType(value.typ())})
			}
			if len(call.Args) < 2 {
				ck.fail(call.NamePos, "percentiles needs a value and at least one percentile, such as percentiles(x, 50, 95)")
			}
			continue
		}
		if isCall && call.Name == "percentilesw" {
			if a.Name != "" {
				ck.fail(a.NamePos, "percentilesw produces several columns and cannot be named; use percentilew(x, w, p) for one named column")
			}
			ck.percentilesW(agg, call, cols, func(name string, t Type, i int) { add(call.NamePos, name, false, &tColumn{idx: nkeys + i, t: t}) })
			continue
		}
		expr, arrayName := a.Expr, ""
		if isCall && (call.Name == "percentiles_array" || call.Name == "percentilesw_array") {
			expr, arrayName = ck.percentilesArray(call, cols)
		}
		e := ck.aggExpr(agg, expr, cols)
		if !containsAggRef(e) {
			ck.fail(a.Expr.Position(), "summarize needs an aggregation such as count(), sum(x) or avg(x) here; put plain columns in the by clause")
		}
		name := a.Name
		if name == "" && arrayName != "" {
			name = arrayName
		}
		if name == "" {
			if isCall && call.Name == "percentile" && len(call.Args) == 2 {
				name = "percentile_" + ck.resultName(call.Args[0], cols) + "_" + validNameFragment(call.Args[1].String())
			} else if isCall && call.Name == "percentilew" && len(call.Args) == 3 {
				name = "percentile_" + ck.resultName(call.Args[0], cols) + "_" + validNameFragment(call.Args[2].String())
			} else {
				name = ck.resultName(a.Expr, cols)
			}
		}
		if name == "" {
			name = freshName("", out)
		}
		add(namedPos(a), name, a.Name != "", shiftAggRefs(e, nkeys))
	}
	for i, a := range agg.aggs {
		agg.cols = append(agg.cols, Column{Name: "_agg" + strconv.Itoa(i), Type: a.t})
	}
	return &relProject{in: agg, cols: out, exprs: outExprs}
}

// shiftAggRefs turns references to aggregate i into references to column
// nkeys+i of the aggregate relation.
func shiftAggRefs(e texpr, nkeys int) texpr {
	return rewriteExpr(e, func(x texpr) (texpr, bool) {
		if a, ok := x.(*tAggRef); ok {
			return &tColumn{idx: nkeys + a.idx, t: a.t}, true
		}
		return nil, false
	})
}

func containsAggRef(e texpr) bool {
	switch e := e.(type) {
	case *tAggRef:
		return true
	case *tBinary:
		return containsAggRef(e.l) || containsAggRef(e.r)
	case *tUnary:
		return containsAggRef(e.x)
	case *tCall:
		for _, a := range e.args {
			if containsAggRef(a) {
				return true
			}
		}
	case *tIn:
		return containsAggRef(e.x)
	case *tBetween:
		return containsAggRef(e.x)
	case *tPath:
		return containsAggRef(e.x)
	}
	return false
}

func validNameFragment(s string) string {
	var b strings.Builder
	for _, r := range s {
		if isIdentPart(r) && r != '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func percentileType(t Type) Type {
	if t == TypeInt {
		return TypeLong
	}
	return t
}

func (ck *checker) percentileLevel(e Expr) float64 {
	l, ok := e.(*Literal)
	var v float64
	switch {
	case ok && l.Type.isInteger() && l.Value != nil:
		v = float64(l.Value.(int64))
	case ok && l.Type == TypeReal && l.Value != nil:
		v = l.Value.(float64)
	default:
		ck.fail(e.Position(), "the percentile must be a number literal between 0 and 100")
	}
	if v < 0 || v > 100 || math.IsNaN(v) {
		ck.fail(e.Position(), "the percentile must be between 0 and 100")
	}
	return v
}

func (ck *checker) aggArg(c *Call, i int, cols []Column) texpr {
	if i >= len(c.Args) {
		ck.fail(c.NamePos, "%s needs at least %d argument(s)", c.Name, i+1)
	}
	e := ck.expr(c.Args[i], cols)
	return e
}

type argCol struct {
	name string
	agg  int
	t    Type
}

// argMinMax expands arg_max(by, a, b) / arg_max(by, *) into one aggregate
// per returned column, all in one group so they come from the same row
// (Aggregates.GetArgMinMaxResult in microsoft/Kusto-Query-Language).
func (ck *checker) argMinMax(agg *relAggregate, c *Call, cols []Column, keyCols []int, rename string) []argCol {
	if len(c.Args) < 1 {
		ck.fail(c.NamePos, "%s needs an expression to maximise, such as %s(TimeGenerated, *)", c.Name, c.Name)
	}
	by := ck.expr(c.Args[0], cols)
	if by.typ() == TypeDynamic {
		ck.fail(c.Args[0].Position(), "%s cannot order by a dynamic value; convert it with tolong() or todatetime()", c.Name)
	}
	group := ck.argGroup
	ck.argGroup++
	prefix := strings.TrimPrefix(c.Name, "arg_")
	var out []argCol
	seen := map[int]bool{}
	addCol := func(name string, value texpr) {
		agg.aggs = append(agg.aggs, aggregate{fn: c.Name, args: []texpr{by}, value: value, group: group, t: value.typ()})
		out = append(out, argCol{name: name, agg: len(agg.aggs) - 1, t: value.typ()})
	}
	primary := ck.resultName(c.Args[0], cols)
	first := primary
	if first == "" {
		first = prefix + "_"
	}
	if rename != "" {
		first = rename
	}
	addCol(first, by)
	if col, ok := by.(*tColumn); ok {
		seen[col.idx] = true
	}
	anyStar := false
	for _, a := range c.Args[1:] {
		if _, ok := a.(*Star); ok {
			anyStar = true
		}
	}
	if anyStar {
		for _, k := range keyCols {
			seen[k] = true
		}
	}
	for i, a := range c.Args[1:] {
		if _, ok := a.(*Star); ok {
			for j, col := range cols {
				if !seen[j] {
					seen[j] = true
					addCol(col.Name, &tColumn{idx: j, t: col.Type})
				}
			}
			continue
		}
		e := ck.expr(a, cols)
		if col, ok := e.(*tColumn); ok {
			if anyStar && seen[col.idx] {
				continue
			}
			seen[col.idx] = true
		}
		name := ck.resultName(a, cols)
		if name == "" {
			name = prefix + "_" + primary + "_arg" + strconv.Itoa(i+1)
		}
		addCol(name, e)
	}
	return out
}

// aggExpr checks an expression of the aggregate list: aggregate calls are
// registered in agg and replaced by tAggRef; the rest is ordinary scalar code.
func (ck *checker) aggExpr(agg *relAggregate, e Expr, cols []Column) texpr {
	switch e := e.(type) {
	case *Call:
		if isAggregate(e.Name) {
			a := ck.aggregateCall(e, cols)
			agg.aggs = append(agg.aggs, a)
			return &tAggRef{idx: len(agg.aggs) - 1, t: a.t}
		}
		if _, scalar := functions[e.Name]; !scalar {
			if _, let := ck.lets[e.Name]; !let {
				msg := fmt.Sprintf("unknown aggregate %s", e.Name)
				if s := nearest(e.Name, aggregateNames()); s != "" {
					msg += fmt.Sprintf("; did you mean %s?", s)
				}
				ck.fail(e.NamePos, "%s", msg)
			}
		}
		args := make([]texpr, len(e.Args))
		for i, x := range e.Args {
			args[i] = ck.aggExpr(agg, x, cols)
		}
		return ck.call(e, args)
	case *Binary:
		return ck.binary(e, ck.aggExpr(agg, e.Left, cols), ck.aggExpr(agg, e.Right, cols), cols)
	case *Unary:
		return ck.unary(e, ck.aggExpr(agg, e.X, cols))
	}
	t := ck.expr(e, cols)
	if hasColumnRef(t) {
		ck.fail(e.Position(), "summarize needs an aggregation such as count(), sum(x) or avg(x) here; put plain columns in the by clause")
	}
	return t
}

func hasColumnRef(e texpr) bool {
	switch e := e.(type) {
	case *tColumn:
		return true
	case *tBinary:
		return hasColumnRef(e.l) || hasColumnRef(e.r)
	case *tUnary:
		return hasColumnRef(e.x)
	case *tCall:
		for _, a := range e.args {
			if hasColumnRef(a) {
				return true
			}
		}
	case *tIn:
		if hasColumnRef(e.x) {
			return true
		}
		for _, a := range e.list {
			if hasColumnRef(a) {
				return true
			}
		}
	case *tBetween:
		return hasColumnRef(e.x) || hasColumnRef(e.lo) || hasColumnRef(e.hi)
	case *tPath:
		return hasColumnRef(e.x)
	}
	return false
}
