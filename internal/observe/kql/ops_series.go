package kql

import (
	"math"
	"strings"
	"time"
)

// make-series: one row per group, each aggregate a dynamic array with one
// element per bin of the axis, and the axis itself as an array. Bins with
// no rows take the aggregate's default (0 unless default= says otherwise).
// It is planned on DuckDB only: the groups are crossed with the bins and
// left-joined to the aggregated rows, so the cost is linear in groups ×
// bins, which the store's memory limit bounds; the number of bins has its
// own limit.

// MakeSeriesAgg is one [Name =] Aggregation [default = Value] of make-series.
type MakeSeriesAgg struct {
	NamedExpr
	Default Expr // nil when not written
}

// MakeSeriesOp is make-series [params] aggs on Axis [from A] [to B] step S [by keys].
type MakeSeriesOp struct {
	OpPos    Pos
	Params   []Param
	Aggs     []MakeSeriesAgg
	On       Expr
	From, To Expr // nil when not written
	Step     Expr
	By       []NamedExpr
}

func (*MakeSeriesOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *MakeSeriesOp) Position() Pos { return o.OpPos }

func (o *MakeSeriesOp) String() string {
	parts := make([]string, len(o.Aggs))
	for i, a := range o.Aggs {
		parts[i] = namedString([]NamedExpr{a.NamedExpr})
		if a.Default != nil {
			parts[i] += " default=" + exprString(a.Default)
		}
	}
	s := "make-series " + paramsString(o.Params) + strings.Join(parts, ", ") + " on " + exprString(o.On)
	if o.From != nil {
		s += " from " + exprString(o.From)
	}
	if o.To != nil {
		s += " to " + exprString(o.To)
	}
	s += " step " + exprString(o.Step)
	if len(o.By) > 0 {
		s += " by " + namedString(o.By)
	}
	return s
}

func (p *parser) parseMakeSeries(t Token) *MakeSeriesOp {
	op := &MakeSeriesOp{OpPos: t.Pos, Params: p.parseParams()}
	for {
		if p.atOperatorEnd() || isKeyword(p.peek(), "on") {
			p.fail(p.peek().Pos, "expected an aggregation in make-series, such as make-series count() on TimeGenerated step 1h, found %s", describe(p.peek()))
		}
		a := MakeSeriesAgg{NamedExpr: p.parseNamed()}
		if isKeyword(p.peek(), "default") && isPunct(p.peekN(1), "=") {
			p.next()
			p.next()
			a.Default = p.parseExpr()
		}
		op.Aggs = append(op.Aggs, a)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectKeyword("on", "after the make-series aggregations (write ... on TimeGenerated step 1h)")
	if p.peek().Kind == TokIdent && isKeyword(p.peekN(1), "in") && isKeyword(p.peekN(2), "range") {
		// The older form: on Axis in range(from, to, step).
		a := p.expectIdent("after on")
		op.On = &Ident{NamePos: a.Pos, Name: a.Text}
		p.next()
		c, ok := p.parseCall(p.next()).(*Call)
		if !ok || len(c.Args) != 3 {
			p.fail(c.NamePos, "range in make-series takes from, to and step")
		}
		op.From, op.To, op.Step = c.Args[0], c.Args[1], c.Args[2]
	} else {
		op.On = p.parseExpr()
		if isKeyword(p.peek(), "from") {
			p.next()
			op.From = p.parseExpr()
		}
		if isKeyword(p.peek(), "to") {
			p.next()
			op.To = p.parseExpr()
		}
		p.expectKeyword("step", "in make-series ... on Axis [from A] [to B] step S")
		op.Step = p.parseExpr()
	}
	if isKeyword(p.peek(), "by") {
		p.next()
		op.By = p.parseNamedList("after make-series ... by")
	}
	return op
}

// relMakeSeries turns the aggregate of (keys..., bin, aggs...) into one row
// per key with arrays. Bin k is origin + k*step.
type relMakeSeries struct {
	in        relation // columns: nkeys keys, the bin index, then the aggregates
	cols      []Column
	nkeys     int
	defaults  []texpr // one constant per aggregate
	axisType  Type
	origin    texpr // from, or zero
	step      texpr
	to        texpr // nil when not written
	fromSet   bool
	keepEmpty bool // kind=nonempty: a row of defaults for an empty input
}

func (r *relMakeSeries) columns() []Column { return r.cols }

// maxSeriesBins bounds the bins of make-series, as Kusto's range() bounds
// its arrays: a step a few zeros too small must not exhaust memory.
const maxSeriesBins = 1 << 20

func (ck *checker) makeSeries(in relation, op *MakeSeriesOp) relation {
	cols := in.columns()
	r := &relMakeSeries{}
	for _, p := range op.Params {
		switch {
		case p.Name == "kind" && paramValue(p.Value) == "nonempty":
			r.keepEmpty = true
		case strings.HasPrefix(p.Name, "hint."):
		default:
			ck.fail(p.NamePos, "make-series parameter %s=%s is not supported; use kind=nonempty", p.Name, exprString(p.Value))
		}
	}
	axis := ck.expr(op.On, cols)
	axisName := ck.resultName(op.On, cols)
	if axisName == "" {
		ck.fail(op.On.Position(), "make-series needs a column (or a named value) as its axis, such as on TimeGenerated")
	}
	step := ck.expr(op.Step, nil)
	at := axis.typ()
	switch {
	case at == TypeDatetime || at == TypeTimespan:
		if step.typ() != TypeTimespan {
			ck.fail(op.Step.Position(), "the make-series step must be a timespan for a %s axis, but it is %s", at, step.typ())
		}
	case at.isNumeric():
		if !step.typ().isNumeric() {
			ck.fail(op.Step.Position(), "the make-series step must be a number for a %s axis, but it is %s", at, step.typ())
		}
	default:
		ck.fail(op.On.Position(), "the make-series axis must be a datetime, timespan or number, but it is %s", at)
	}
	r.axisType, r.step = at, step
	bound := func(e Expr, what string) texpr {
		b := ck.expr(e, nil)
		if b.typ() != at && (!at.isNumeric() || !b.typ().isNumeric()) {
			ck.fail(e.Position(), "make-series %s must be a %s like its axis, but it is %s", what, at, b.typ())
		}
		return b
	}
	var preds []texpr
	switch at {
	case TypeDatetime:
		r.origin = &tLiteral{value: time.Unix(0, 0).UTC(), t: TypeDatetime}
	case TypeTimespan:
		r.origin = &tLiteral{value: time.Duration(0), t: TypeTimespan}
	case TypeReal:
		r.origin = &tLiteral{value: 0.0, t: TypeReal}
	default:
		r.origin = &tLiteral{value: int64(0), t: at}
	}
	if op.From != nil {
		r.origin, r.fromSet = bound(op.From, "from"), true
		preds = append(preds, ck.binary(&Binary{Op: ">=", OpPos: op.From.Position(), Left: op.On, Right: op.From}, axis, r.origin, cols))
	}
	if op.To != nil {
		r.to = bound(op.To, "to")
		preds = append(preds, ck.binary(&Binary{Op: "<", OpPos: op.To.Position(), Left: op.On, Right: op.To}, axis, r.to, cols))
	}
	for _, pred := range preds {
		in = &relFilter{in: in, pred: pred}
	}
	// The bin index of each row, as a column the aggregation groups by.
	binName := freshName("series_bin_", cols)
	ext := &relProject{in: in, cols: append(append([]Column(nil), cols...), Column{Name: binName, Type: TypeLong}),
		exprs: append(identity(cols), mkCall("series_bin_index", TypeLong, axis, r.origin, step))}
	sum := &SummarizeOp{OpPos: op.OpPos, By: append(append([]NamedExpr(nil), op.By...), NamedExpr{Name: binName, NamePos: op.OpPos, Expr: &Ident{NamePos: op.OpPos, Name: binName}})}
	for _, a := range op.Aggs {
		sum.Aggs = append(sum.Aggs, a.NamedExpr)
	}
	r.in = ck.summarize(ext, sum)
	r.nkeys = len(op.By)
	aggCols := r.in.columns()
	r.cols = append(r.cols, aggCols[:r.nkeys]...)
	for i, a := range op.Aggs {
		c := aggCols[r.nkeys+1+i]
		var def texpr
		if a.Default != nil {
			d, ok := foldConstant(ck.expr(a.Default, nil))
			if !ok {
				ck.fail(a.Default.Position(), "the make-series default must be a constant")
			}
			def = d
		} else if c.Type.isNumeric() {
			def = &tLiteral{value: int64(0), t: TypeLong}
		} else {
			def = &tLiteral{t: c.Type}
		}
		r.defaults = append(r.defaults, def)
		r.cols = append(r.cols, Column{Name: c.Name, Type: TypeDynamic})
	}
	r.cols = append(r.cols, Column{Name: freshName(axisName, r.cols), Type: TypeDynamic})
	return r
}

// seriesBounds folds origin, step and to at plan time: the step in the
// axis's unit (microseconds for datetimes and timespans), and the index
// past the last bin when to is written.
func (pl *planner) seriesBounds(r *relMakeSeries) (step float64, end int64, hasEnd bool) {
	s, ok := pl.fold(r.step)
	if !ok {
		pl.fail("the make-series step must be a constant")
	}
	o, ok := pl.fold(r.origin)
	if !ok && r.fromSet {
		pl.fail("the make-series from must be a constant")
	}
	var span float64
	switch st := s.(type) {
	case time.Duration:
		step = float64(st / time.Microsecond)
		if r.to != nil {
			t, ok := pl.fold(r.to)
			if !ok {
				pl.fail("the make-series to must be a constant")
			}
			switch tv := t.(type) {
			case time.Time:
				span = float64(tv.Sub(o.(time.Time)) / time.Microsecond)
			case time.Duration:
				span = float64((tv - o.(time.Duration)) / time.Microsecond)
			}
		}
	default:
		step = toFloat(s)
		if r.to != nil {
			t, ok := pl.fold(r.to)
			if !ok {
				pl.fail("the make-series to must be a constant")
			}
			span = toFloat(t) - toFloat(o)
		}
	}
	if !(step > 0) {
		pl.fail("the make-series step must be positive")
	}
	if r.to == nil {
		return step, 0, false
	}
	n := math.Ceil(span/step - 1e-9)
	if r.fromSet && n > maxSeriesBins {
		pl.fail("make-series would make %.0f bins, more than the limit of %d; use a larger step or a shorter range", n, maxSeriesBins)
	}
	if math.Abs(n) > 1<<52 {
		pl.fail("make-series would make too many bins; use a larger step or a shorter range")
	}
	return step, int64(n), true
}

// parseMoreOperator parses the operators added for Kusto's documentation
// examples (make-series, evaluate, mv-apply, ...), or returns nil for the
// others; t, the operator's name, has been read.
func (p *parser) parseMoreOperator(t Token) Operator {
	switch t.Text {
	case "make-series":
		return p.parseMakeSeries(t)
	case "evaluate":
		return p.parseEvaluate(t)
	case "parse-where":
		return &ParseWhereOp{ParseOp: *p.parseParse(t)}
	case "parse-kv":
		return p.parseParseKv(t)
	case "mv-apply":
		return p.parseMvApply(t)
	case "scan":
		return p.parseScan(t)
	case "top-hitters":
		return p.parseTopHitters(t)
	case "top-nested":
		return p.parseTopNested(t)
	case "search":
		return p.parseSearch(t)
	case "lookup":
		return &LookupOp{JoinOp: *p.parseJoin(t)}
	}
	return nil
}
