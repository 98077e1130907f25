package kql

import (
	"fmt"
	"strconv"
)

// Checked is a query whose names and types are resolved against a schema.
type Checked struct {
	rel     relation
	Columns []Column    // the result columns, in order
	Render  *RenderHint // nil when the query has no render operator
}

// RenderHint is the render operator, kept for the client that draws the
// result; it does not change the rows.
type RenderHint struct {
	Kind       string            // timechart, barchart, table, ...
	Properties map[string]string // with (name=value, ...), values as written (strings unquoted)
}

// Check resolves every table, column and function of q against schema and
// computes the type of every expression and the columns after each operator.
func Check(q *Query, schema Schema) (c *Checked, err error) {
	return check(q, schema, nil)
}

// check is Check with the options of the compilation, which evaluate
// plugins whose columns depend on the data need (see explore).
func check(q *Query, schema Schema, opts *Options) (c *Checked, err error) {
	ck := &checker{schema: schema, lets: map[string]*letBinding{}, opts: opts}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(userFailure); ok {
				c, err = nil, f.err
				return
			}
			c = nil
			err = fmt.Errorf("failed to check query: %w: %v", ErrInternal, r)
		}
	}()
	return ck.checkQuery(q), nil
}

type letBinding struct {
	scalar texpr
	table  relation
	fn     *FuncDef
}

type checker struct {
	schema   Schema
	lets     map[string]*letBinding
	params   map[string]bool          // the scalar parameters of the function being checked: they hide columns
	depth    int                      // nesting of function calls
	argGroup int                      // next arg_max/arg_min group
	opts     *Options                 // nil when checked without compiling
	once     map[*FuncDef]*tScalarSub // the value of functions without parameters whose body is a toscalar
}

func (ck *checker) fail(pos Pos, format string, args ...any) {
	panic(userFailure{errorf(pos, format, args...)})
}

func (ck *checker) checkQuery(q *Query) *Checked {
	for _, l := range q.Lets {
		ck.bindLet(l)
	}
	out := &Checked{}
	for i, op := range q.Body.Ops {
		if r, ok := op.(*RenderOp); ok {
			if i != len(q.Body.Ops)-1 {
				ck.fail(r.OpPos, "render must be the last operator of the query")
			}
			out.Render = ck.render(r)
		}
	}
	out.rel = ck.checkPipeline(q.Body, true)
	out.Columns = out.rel.columns()
	return out
}

// bindLet checks a let statement and binds its name in the current scope.
func (ck *checker) bindLet(l *Let) {
	switch {
	case l.Func != nil:
		ck.lets[l.Name] = &letBinding{fn: l.Func}
	case l.Tabular != nil:
		ck.lets[l.Name] = &letBinding{table: &relLet{name: l.Name, in: ck.checkPipeline(l.Tabular, false)}}
	default:
		// let T = SomeTable; binds a table, not a scalar.
		if id, ok := l.Expr.(*Ident); ok {
			if rel := ck.lookupTable(id.Name); rel != nil {
				ck.lets[l.Name] = &letBinding{table: rel}
				return
			}
		}
		ck.lets[l.Name] = &letBinding{scalar: ck.expr(l.Expr, nil)}
	}
}

func (ck *checker) lookupTable(name string) relation {
	if b, ok := ck.lets[name]; ok && b.table != nil {
		return b.table
	}
	if b, ok := ck.lets[name]; ok && b.fn != nil && b.fn.Tabular != nil {
		// A tabular function needing no argument, named without parentheses.
		return ck.callTabularFunc(&FuncSource{Name: name})
	}
	if cols, ok := ck.schema[name]; ok {
		return &relScan{table: name, cols: cols}
	}
	return nil
}

func (ck *checker) tableNames() []string {
	var names []string
	for n := range ck.schema {
		names = append(names, n)
	}
	for n, b := range ck.lets {
		if b.table != nil {
			names = append(names, n)
		}
	}
	return names
}

func (ck *checker) checkPipeline(p *Pipeline, top bool) relation {
	rel := ck.source(p.Source)
	for _, op := range p.Ops {
		if _, ok := op.(*RenderOp); ok && !top {
			ck.fail(op.Position(), "render is only allowed at the end of the query, not inside a subquery or let")
		}
		rel = ck.operator(rel, op)
	}
	return rel
}

func (ck *checker) source(s Source) relation {
	switch s := s.(type) {
	case *TableRef:
		if rel := ck.lookupTable(s.Name); rel != nil {
			return rel
		}
		if b, ok := ck.lets[s.Name]; ok && b.scalar != nil {
			ck.fail(s.NamePos, "%s is a scalar let, not a table", identString(s.Name))
		}
		msg := fmt.Sprintf("unknown table %s", identString(s.Name))
		if sug := nearest(s.Name, ck.tableNames()); sug != "" {
			msg += fmt.Sprintf("; did you mean %s?", identString(sug))
		}
		ck.fail(s.NamePos, "%s", msg)
	case *Subquery:
		return ck.checkPipeline(s.Pipeline, false)
	case *UnionSource:
		return ck.union(nil, s.UnionPos, s.Params, s.Items)
	case *DatatableSource:
		return ck.datatable(s)
	case *PrintSource:
		return ck.print(s)
	case *RangeSource:
		return ck.rangeSource(s)
	case *FuncSource:
		return ck.callTabularFunc(s)
	case *SearchSource:
		return ck.searchSource(s)
	}
	panic(fmt.Sprintf("unexpected source %T", s))
}

func columnNames(cols []Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func findColumn(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func (ck *checker) unknownColumn(pos Pos, name string, cols []Column) {
	msg := fmt.Sprintf("unknown column %s", identString(name))
	if sug := nearest(name, columnNames(cols)); sug != "" {
		msg += fmt.Sprintf("; did you mean %s?", identString(sug))
	}
	ck.fail(pos, "%s", msg)
}

// identity returns expressions that pass every input column through.
func identity(cols []Column) []texpr {
	exprs := make([]texpr, len(cols))
	for i, c := range cols {
		exprs[i] = &tColumn{idx: i, t: c.Type}
	}
	return exprs
}

// freshName returns a name not in cols: Column1, Column2... for unnamed
// expressions, or base1, base2... to de-duplicate.
func freshName(base string, cols []Column) string {
	if base == "" {
		for i := 1; ; i++ {
			n := "Column" + strconv.Itoa(i)
			if findColumn(cols, n) < 0 {
				return n
			}
		}
	}
	if findColumn(cols, base) < 0 {
		return base
	}
	for i := 1; ; i++ {
		n := base + strconv.Itoa(i)
		if findColumn(cols, n) < 0 {
			return n
		}
	}
}
