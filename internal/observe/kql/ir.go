package kql

import "time"

// The checker turns the syntax tree into this typed, name-resolved relational
// form; the planner only translates it to SQL. Column references are indexes
// into the input relation's columns, so the planner never resolves names.

// Column is a named, typed column of a table or a result.
type Column struct {
	Name string
	Type Type
}

// Schema maps table names to their ordered columns. Table and column names
// are case-sensitive, as in Kusto.
type Schema map[string][]Column

// relation is a node of the checked plan.
type relation interface {
	columns() []Column
}

type relScan struct {
	table string
	cols  []Column
}

type relFilter struct {
	in   relation
	pred texpr
}

// relProject computes one expression per output column over its input.
type relProject struct {
	in    relation
	cols  []Column
	exprs []texpr
}

// relAggregate groups by keys and computes aggregates; its columns are the
// keys followed by one column per aggregate.
type relAggregate struct {
	in   relation
	cols []Column
	keys []texpr
	aggs []aggregate
}

// aggregate is one aggregate column. Columns of the same arg_max/arg_min call
// share a group so that they come from the same row.
type aggregate struct {
	fn    string  // count, countif, sum, sumif, avg, min, max, dcount, percentile, make_list, make_set, arg_max, arg_min, any
	args  []texpr // arguments; for arg_max/arg_min: the expression to maximise
	value texpr   // arg_max/arg_min: the returned expression
	group int     // arg_max/arg_min: calls with the same group share a row
	level float64 // percentile: 0..100
	t     Type
}

type sortSpec struct {
	e          texpr
	desc       bool
	nullsFirst bool
}

type relSort struct {
	in   relation
	keys []sortSpec
}

type relLimit struct {
	in relation
	n  int64
}

type relDistinct struct {
	in relation
}

// relJoin joins on key equality. out lists, for each output column, its side
// and index in that side's columns.
type relJoin struct {
	left, right relation
	kind        string
	leftKeys    []int
	rightKeys   []int
	cols        []Column
	out         []joinOut
}

type joinOut struct {
	right bool
	idx   int
}

// relUnion concatenates inputs; maps[i][j] is the column of input i feeding
// output column j, or -1 for a typed null.
type relUnion struct {
	inputs []relation
	cols   []Column
	maps   [][]int
}

// relMvExpand expands dynamic arrays into one row per element, side by
// side; items[i] goes into output column items[i].col (the input columns,
// replaced or added to). index is the with_itemindex column, or -1.
type relMvExpand struct {
	in        relation
	cols      []Column
	items     []mvItem
	kindArray bool // property bags expand to [key, value] arrays, not {key: value}
	index     int
	indexName string
	limit     int64 // 0: no limit
}

type mvItem struct {
	col  int
	expr texpr
}

func (r *relScan) columns() []Column      { return r.cols }
func (r *relFilter) columns() []Column    { return r.in.columns() }
func (r *relProject) columns() []Column   { return r.cols }
func (r *relAggregate) columns() []Column { return r.cols }
func (r *relSort) columns() []Column      { return r.in.columns() }
func (r *relLimit) columns() []Column     { return r.in.columns() }
func (r *relDistinct) columns() []Column  { return r.in.columns() }
func (r *relJoin) columns() []Column      { return r.cols }
func (r *relUnion) columns() []Column     { return r.cols }
func (r *relMvExpand) columns() []Column  { return r.cols }

// texpr is a typed scalar expression.
type texpr interface {
	typ() Type
}

type tColumn struct {
	idx int
	t   Type
}

// tLiteral is a constant; value as in Literal (nil for null).
type tLiteral struct {
	value any
	t     Type
}

// tNow is now(): one instant for the whole query, fixed at compile time.
type tNow struct{}

type tBinary struct {
	op   string
	l, r texpr
	t    Type
}

type tUnary struct {
	op string
	x  texpr
	t  Type
}

// tCall is a scalar function with checked, normalised arguments.
type tCall struct {
	fn   string
	args []texpr
	t    Type
}

type tIn struct {
	op   string // in, !in, in~, !in~, has_any, has_all
	x    texpr
	list []texpr
}

type tBetween struct {
	x, lo, hi texpr
	not       bool
}

// pathElem is .key, ["key"] or [index] on a dynamic value.
type pathElem struct {
	key     string
	index   int64
	isIndex bool
}

type tPath struct {
	x    texpr
	path []pathElem
}

// tAggRef refers to aggregate i of the enclosing relAggregate (used while
// building the summarize output).
type tAggRef struct {
	idx int
	t   Type
}

func (e *tColumn) typ() Type  { return e.t }
func (e *tLiteral) typ() Type { return e.t }
func (e *tNow) typ() Type     { return TypeDatetime }
func (e *tBinary) typ() Type  { return e.t }
func (e *tUnary) typ() Type   { return e.t }
func (e *tCall) typ() Type    { return e.t }
func (e *tIn) typ() Type      { return TypeBool }
func (e *tBetween) typ() Type { return TypeBool }
func (e *tPath) typ() Type    { return TypeDynamic }
func (e *tAggRef) typ() Type  { return e.t }

func constDuration(e texpr) (time.Duration, bool) {
	if l, ok := e.(*tLiteral); ok {
		if d, ok := l.value.(time.Duration); ok {
			return d, true
		}
	}
	return 0, false
}

func constInt(e texpr) (int64, bool) {
	if l, ok := e.(*tLiteral); ok {
		if v, ok := l.value.(int64); ok {
			return v, true
		}
	}
	return 0, false
}

func constString(e texpr) (string, bool) {
	if l, ok := e.(*tLiteral); ok && l.t == TypeString {
		if v, ok := l.value.(string); ok {
			return v, true
		}
	}
	return "", false
}
