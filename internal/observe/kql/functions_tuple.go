package kql

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Some Kusto functions make several columns: series_fit_line (rsquare,
// slope, ...) and array_sort_asc/desc of several arrays. They are allowed
// as a whole item of project, extend and print, where Kusto names the
// columns from the function and its argument (series_fit_line_y_rsquare,
// array1_sorted) or from tuple names: (a, b) = f(...) names the first
// columns; project keeps the others under their own names, extend drops
// them, as series_fit_2lines' page describes. Each column is an ordinary
// expression (a path into the dynamic result of a Go function), so the
// planner needs nothing new.

// tupleFunc is one function making several columns.
type tupleFunc struct {
	min, max int
	// check types the call; it returns the columns, or several=false when
	// this call makes one column and is an ordinary scalar call.
	check func(ck *checker, c *Call, args []texpr) (cols []tupleCol, several bool)
}

type tupleCol struct {
	name string
	e    texpr
}

var tupleFunctions = map[string]tupleFunc{
	"array_sort_asc":   {min: 1, max: variadic, check: checkArraySortTuple(false)},
	"array_sort_desc":  {min: 1, max: variadic, check: checkArraySortTuple(true)},
	"series_fit_line":  {min: 1, max: 1, check: checkSeriesFitLine},
	"series_decompose": {min: 1, max: 5, check: checkSeriesDecompose},
	"series_stats":     {min: 1, max: 2, check: checkSeriesStats},
}

// tupleColumns expands a project, extend or print item that calls a
// function making several columns; ok is false for any other item.
func (ck *checker) tupleColumns(n NamedExpr, keepUnnamed bool, exprOf func(Expr) texpr) (cols []tupleCol, ok bool) {
	c, isCall := n.Expr.(*Call)
	def, known := tupleFunctions[strings.ToLower(callName(c, isCall))]
	if !known {
		if len(n.Names) > 0 {
			ck.fail(n.NamePos, "tuple names (a, b) = ... need a function that makes several columns, such as series_fit_line or array_sort_asc of several arrays")
		}
		return nil, false
	}
	if len(c.Args) < def.min || len(c.Args) > def.max {
		ck.fail(c.NamePos, "%s takes %d to %d arguments, not %d", c.Name, def.min, def.max, len(c.Args))
	}
	args := make([]texpr, len(c.Args))
	for i, a := range c.Args {
		args[i] = exprOf(a)
	}
	cols, several := def.check(ck, c, args)
	if !several {
		if len(n.Names) > 0 {
			ck.fail(n.NamePos, "tuple names (a, b) = ... need a function that makes several columns, but this %s call makes one", c.Name)
		}
		return nil, false
	}
	if ck.opts != nil && ck.opts.Dialect == ClickHouse {
		// All of them run in Go (gofuncs.go).
		ck.fail(c.NamePos, "function %s is not supported on ClickHouse 18.16, which cannot run it; DuckDB has it", c.Name)
	}
	if n.Name != "" {
		ck.fail(n.NamePos, "%s makes %d columns; name them with (a, b, ...) = %s(...), or leave them unnamed", c.Name, len(cols), c.Name)
	}
	if len(n.Names) > len(cols) {
		ck.fail(n.NamePos, "%s makes %d columns, but %d names are given", c.Name, len(cols), len(n.Names))
	}
	for i, name := range n.Names {
		cols[i].name = name
	}
	if len(n.Names) > 0 && !keepUnnamed {
		cols = cols[:len(n.Names)]
	}
	return cols, true
}

func callName(c *Call, ok bool) string {
	if !ok {
		return ""
	}
	return c.Name
}

// makesSeveral reports whether a print item makes several columns, so
// that print does not name it print_N.
func (ck *checker) makesSeveral(e Expr) bool {
	c, ok := e.(*Call)
	if !ok {
		return false
	}
	def, ok := tupleFunctions[c.Name]
	if !ok || len(c.Args) < def.min || len(c.Args) > def.max {
		return false
	}
	args := make([]texpr, len(c.Args))
	for i, a := range c.Args {
		args[i] = ck.expr(a, nil)
	}
	_, several := def.check(ck, c, args)
	return several
}

// tupleName is Kusto's generated name: the function, its argument's name
// when it has one, and the part.
func (ck *checker) tupleName(c *Call, part string) string {
	name := c.Name
	if len(c.Args) > 0 {
		if arg := ck.resultName(c.Args[0], nil); arg != "" {
			name += "_" + arg
		}
	}
	return name + "_" + part
}

// checkArraySortTuple: array_sort_asc/desc(array1[, ..., arrayN][,
// nulls_last]) sorts the first array and orders the others to match; an
// array of another length than the first is null. One array is one column.
func checkArraySortTuple(desc bool) func(ck *checker, c *Call, a []texpr) ([]tupleCol, bool) {
	return func(ck *checker, c *Call, a []texpr) ([]tupleCol, bool) {
		arrays := a
		var nullsLast texpr = &tLiteral{value: true, t: TypeBool}
		if n := len(a); n > 1 && a[n-1].typ() == TypeBool {
			arrays, nullsLast = a[:n-1], a[n-1]
		}
		for i, x := range arrays {
			ck.need(c, a, i, x.typ() == TypeDynamic, "a dynamic array")
		}
		if len(arrays) == 1 {
			return nil, false
		}
		all := mkCall("pack_array", TypeDynamic, arrays...)
		cols := make([]tupleCol, len(arrays))
		for i := range arrays {
			name := ck.resultName(c.Args[i], nil)
			if name == "" {
				name = fmt.Sprintf("array%d", i+1)
			}
			cols[i] = tupleCol{name: name + "_sorted", e: mkCall("_tb_array_sort", TypeDynamic, all, &tLiteral{value: desc, t: TypeBool}, nullsLast, &tLiteral{value: int64(i), t: TypeLong})}
		}
		return cols, true
	}
}

// checkArraySortOne is array_sort_asc/desc of one array with nulls_last.
func checkArraySortOne(desc bool) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		if len(a) > 1 && a[len(a)-1].typ() != TypeBool {
			ck.fail(c.NamePos, "%s of several arrays makes several columns and must be a whole item of project, extend or print", c.Name)
		}
		ck.need(c, a, 0, a[0].typ() == TypeDynamic, "a dynamic array")
		// One sort for one array and several: the SQL list sort put nulls
		// first in descending order, against nulls_last's default.
		var nullsLast texpr = &tLiteral{value: true, t: TypeBool}
		if len(a) == 2 {
			nullsLast = a[1]
		}
		return mkCall("_tb_array_sort", TypeDynamic, mkCall("pack_array", TypeDynamic, a[0]), &tLiteral{value: desc, t: TypeBool}, nullsLast, &tLiteral{value: int64(0), t: TypeLong})
	}
}

// sortKind is the documented order of kinds in array_sort: numbers, then
// strings (which also hold datetimes, timespans and guids in tugboat's
// JSON), then everything else in its original order; nulls apart.
func sortKind(v any) int {
	switch v.(type) {
	case nil:
		return -1
	case float64, json.Number:
		return 0
	case string:
		return 1
	}
	return 2
}

// arraySortMany sorts arrays[0] and orders the others to match.
func arraySortMany(arrays []any, desc, nullsLast bool, idx int) any {
	if idx < 0 || idx >= len(arrays) {
		return nil
	}
	first, ok := arrays[0].([]any)
	if !ok {
		return nil
	}
	target, ok := arrays[idx].([]any)
	if !ok || len(target) != len(first) {
		return nil
	}
	perm := make([]int, len(first))
	for i := range perm {
		perm[i] = i
	}
	num := func(v any) float64 {
		switch v := v.(type) {
		case float64:
			return v
		case json.Number:
			f, _ := v.Float64()
			return f
		}
		return 0
	}
	sort.SliceStable(perm, func(i, j int) bool {
		a, b := first[perm[i]], first[perm[j]]
		ka, kb := sortKind(a), sortKind(b)
		if (ka < 0) != (kb < 0) {
			return (ka < 0) != nullsLast
		}
		if ka != kb {
			// Kinds keep their documented order both ways, as the SQL
			// sort of one array does.
			return ka < kb
		}
		switch ka {
		case 0:
			if num(a) == num(b) {
				return false
			}
			return (num(a) < num(b)) != desc
		case 1:
			if a.(string) == b.(string) {
				return false
			}
			return (a.(string) < b.(string)) != desc
		}
		return false
	})
	out := make([]any, len(target))
	for i, p := range perm {
		out[i] = target[p]
	}
	return out
}

// maxSortElements bounds the arrays array_sort orders in Go.
const maxSortElements = 1 << 20

var _ = registerGo(GoFunc{Name: "_tb_array_sort", Args: []Type{TypeDynamic, TypeBool, TypeBool, TypeLong}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	var arrays []any
	d := json.NewDecoder(strings.NewReader(a[0].(string)))
	d.UseNumber()
	if err := d.Decode(&arrays); err != nil {
		return nil, nil
	}
	for _, x := range arrays {
		if l, ok := x.([]any); ok && len(l) > maxSortElements {
			return nil, fmt.Errorf("array_sort sorts at most %d elements, but an array has %d", maxSortElements, len(l))
		}
	}
	return dynamicResult(arraySortMany(arrays, a[1].(bool), a[2].(bool), int(a[3].(int64))))
}})

// seriesFitParts are series_fit_line's columns, in Kusto's order.
var seriesFitParts = []struct {
	key string
	t   Type
}{{"rsquare", TypeReal}, {"slope", TypeReal}, {"variance", TypeReal}, {"rvariance", TypeReal}, {"interception", TypeReal}, {"line_fit", TypeDynamic}}

func checkSeriesFitLine(ck *checker, c *Call, a []texpr) ([]tupleCol, bool) {
	ck.need(c, a, 0, a[0].typ() == TypeDynamic, "a dynamic array of numbers")
	fit := mkCall("_tb_series_fit_line", TypeDynamic, a[0])
	cols := make([]tupleCol, len(seriesFitParts))
	for i, p := range seriesFitParts {
		var e texpr = &tPath{x: fit, path: []pathElem{{key: p.key}}}
		if p.t == TypeReal {
			e = mkCall("todouble", TypeReal, e)
		}
		cols[i] = tupleCol{name: ck.tupleName(c, p.key), e: e}
	}
	return cols, true
}

// fitLine is Kusto's series_fit_line over x = 1..n: least squares, r² =
// 1 - SSres/SStot, variance the sample variance of y and rvariance that of
// the residuals (both over n-1, which Kusto's example shows). A series
// holding anything but numbers, or fewer than two, has no fit (null).
func fitLine(y []float64) map[string]any {
	n := float64(len(y))
	if len(y) < 2 {
		return nil
	}
	var sx, sy float64
	for i, v := range y {
		sx += float64(i + 1)
		sy += v
	}
	mx, my := sx/n, sy/n
	var sxy, sxx, sst float64
	for i, v := range y {
		dx := float64(i+1) - mx
		sxy += dx * (v - my)
		sxx += dx * dx
		sst += (v - my) * (v - my)
	}
	slope := sxy / sxx
	icpt := my - slope*mx
	line := make([]any, len(y))
	var ssr float64
	for i, v := range y {
		f := icpt + slope*float64(i+1)
		line[i] = jsonNumber(f)
		ssr += (v - f) * (v - f)
	}
	return map[string]any{
		"rsquare": jsonNumber(1 - ssr/sst), "slope": jsonNumber(slope), "variance": jsonNumber(sst / (n - 1)),
		"rvariance": jsonNumber(ssr / (n - 1)), "interception": jsonNumber(icpt), "line_fit": line,
	}
}

// jsonNumber is a float as JSON allows: NaN and infinities are null.
func jsonNumber(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

// numericSeries reads a JSON array of numbers; ok is false for anything
// else, or more than maxSortElements elements.
func numericSeries(s string) ([]float64, bool) {
	var raw []any
	if err := json.Unmarshal([]byte(s), &raw); err != nil || len(raw) > maxSortElements {
		return nil, false
	}
	out := make([]float64, len(raw))
	for i, v := range raw {
		f, ok := v.(float64)
		if !ok {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

var _ = registerGo(GoFunc{Name: "_tb_series_fit_line", Args: []Type{TypeDynamic}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	y, ok := numericSeries(a[0].(string))
	if !ok {
		return nil, nil
	}
	return dynamicResult(fitLine(y))
}})
