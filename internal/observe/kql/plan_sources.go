package kql

import (
	"math"
	"time"
)

// values plans a table of constants as a UNION ALL of one-row SELECTs,
// every cell cast to its column's type so that both engines agree on the
// column types whatever the first row holds.
func (pl *planner) values(r *relValues) stage {
	names := pl.sqlNames(r.cols, nil)
	if len(r.cols) == 0 {
		// print's row: one row, no columns.
		return stage{src: raw("(SELECT 1 AS " + quoteIdent(pl.internal("u")) + ")")}
	}
	// A hidden ordinal keeps the rows in the order written, which Kusto
	// treats as serialized (prev, row_number...).
	ord := pl.internal("o")
	var rows []frag
	for k, row := range r.rows {
		list := make([]frag, len(row), len(row)+1)
		for j, v := range row {
			list[j] = cat(pl.typedCell(v), " AS ", quoteIdent(names[j]))
		}
		n, _ := inlineNumber(float64(k))
		list = append(list, raw("CAST("+n+" AS "+pl.d.sqlType(TypeLong)+") AS "+quoteIdent(ord)))
		rows = append(rows, cat("SELECT ", joinFrags(list, ", ")))
	}
	if len(rows) == 0 {
		list := make([]frag, len(r.cols))
		for j, c := range r.cols {
			list[j] = raw(pl.d.nullOf(c.Type) + " AS " + quoteIdent(names[j]))
		}
		list = append(list, raw("CAST(0 AS "+pl.d.sqlType(TypeLong)+") AS "+quoteIdent(ord)))
		rows = append(rows, cat("SELECT ", joinFrags(list, ", "), " LIMIT 0"))
	}
	return stage{src: cat("(", joinFrags(rows, " UNION ALL "), ")"), cols: names, order: []orderKey{{col: ord}}}
}

// typedCell is a constant with an explicit type: a bare parameter would let
// the engine guess (a whole-number real becomes an integer column).
func (pl *planner) typedCell(v texpr) frag {
	x := pl.expr(v, nil)
	t := v.typ()
	if pl.d == ClickHouse {
		return cat("CAST(", x, " AS Nullable("+pl.d.sqlType(t)+"))")
	}
	switch t {
	case TypeDatetime, TypeTimespan, TypeDynamic:
		return x
	}
	return cat("CAST(", x, " AS "+pl.d.sqlType(t)+")")
}

// rangeRows is the number of values of a range, from its bounds folded at
// plan time (now() is known only then).
func (pl *planner) rangeRows(r *relRange) int64 {
	from, ok1 := pl.fold(r.from)
	to, ok2 := pl.fold(r.to)
	step, ok3 := pl.fold(r.step)
	if !ok1 || !ok2 || !ok3 {
		pl.fail("range needs constant from, to and step")
	}
	var n float64
	switch f := from.(type) {
	case time.Time:
		s := step.(time.Duration)
		if s <= 0 {
			pl.fail("the range step must be positive")
		}
		n = math.Floor(float64(to.(time.Time).Sub(f))/float64(s)) + 1
	case time.Duration:
		s := step.(time.Duration)
		if s <= 0 {
			pl.fail("the range step must be positive")
		}
		n = math.Floor(float64(to.(time.Duration)-f)/float64(s)) + 1
	default:
		fv, tv, sv := toFloat(from), toFloat(to), toFloat(step)
		if sv == 0 || math.IsNaN(sv) {
			pl.fail("the range step must not be zero")
		}
		n = math.Floor((tv-fv)/sv+1e-9) + 1
	}
	if n < 0 || math.IsNaN(n) {
		n = 0
	}
	if n > maxRangeRows {
		pl.fail("range would make %.0f rows, more than the limit of %d", n, maxRangeRows)
	}
	return int64(n)
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

// fold evaluates a constant expression of range bounds.
func (pl *planner) fold(e texpr) (any, bool) {
	switch e := e.(type) {
	case *tLiteral:
		return e.value, e.value != nil
	case *tNow:
		return pl.now, true
	case *tUnary:
		x, ok := pl.fold(e.x)
		switch v := x.(type) {
		case int64:
			return -v, ok
		case float64:
			return -v, ok
		case time.Duration:
			return -v, ok
		}
	case *tBinary:
		l, ok1 := pl.fold(e.l)
		r, ok2 := pl.fold(e.r)
		if !ok1 || !ok2 {
			return nil, false
		}
		switch lv := l.(type) {
		case time.Time:
			if d, ok := r.(time.Duration); ok {
				switch e.op {
				case "+":
					return lv.Add(d), true
				case "-":
					return lv.Add(-d), true
				}
			}
		case time.Duration:
			if d, ok := r.(time.Duration); ok {
				switch e.op {
				case "+":
					return lv + d, true
				case "-":
					return lv - d, true
				}
			}
		case int64:
			if rv, ok := r.(int64); ok {
				switch e.op {
				case "+":
					return lv + rv, true
				case "-":
					return lv - rv, true
				case "*":
					return lv * rv, true
				}
			}
		}
	}
	return nil, false
}

func (pl *planner) rangeStage(r *relRange) stage {
	n := pl.rangeRows(r)
	name := pl.sqlNames(r.cols, nil)[0]
	ord := pl.internal("o")
	ns, _ := inlineNumber(float64(n))
	from, step := pl.expr(r.from, nil), pl.expr(r.step, nil)
	t := r.cols[0].Type
	if pl.d == ClickHouse {
		var v frag
		switch t {
		case TypeReal:
			v = cat("(toFloat64(", from, ") + toFloat64(", step, ") * number)")
		default:
			v = cat("(", from, " + ", step, " * toInt64(number))")
		}
		return stage{src: cat("(SELECT ", v, " AS ", quoteIdent(name), ", number AS "+quoteIdent(ord)+" FROM numbers("+ns+") LIMIT "+ns+")"), cols: []string{name}, order: []orderKey{{col: ord}}}
	}
	var v frag
	switch t {
	case TypeReal:
		v = cat("(CAST(", from, " AS DOUBLE) + CAST(", step, " AS DOUBLE) * i)")
	case TypeLong:
		v = cat("(CAST(", from, " AS BIGINT) + CAST(", step, " AS BIGINT) * i)")
	default:
		v = cat("(", from, " + ", step, " * i)")
	}
	return stage{src: cat("(SELECT ", v, " AS ", quoteIdent(name), ", i AS "+quoteIdent(ord)+" FROM range("+ns+") AS ", pl.alias(), "(i))"), cols: []string{name}, order: []orderKey{{col: ord}}}
}

// let plans a tabular let once. DuckDB gets a common table expression that
// every use reads; ClickHouse 18.16 has no table-valued WITH, so there each
// use repeats the subquery, and maxSQLBytes bounds what repetition can cost.
func (pl *planner) let(r *relLet) stage {
	if st, ok := pl.lets[r]; ok {
		return st
	}
	in := pl.relation(r.in)
	if pl.d == ClickHouse {
		return in
	}
	name := pl.internal("let")
	pl.ctes = append(pl.ctes, cat(quoteIdent(name), " AS (SELECT * FROM ", in.src, " AS ", raw(pl.alias()), ")"))
	st := stage{src: raw(quoteIdent(name)), cols: in.cols, order: in.order}
	if pl.lets == nil {
		pl.lets = map[*relLet]stage{}
	}
	pl.lets[r] = st
	return st
}
