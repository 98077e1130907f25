package kql

import (
	"fmt"
	"strings"
	"time"
)

// Plan is one read-only SQL statement for a query, with its bound arguments
// (one per ? in SQL, in order), the KQL result columns (matched to the SQL
// result by position) and the render hint.
type Plan struct {
	SQL     string
	Args    []any
	Columns []Column
	Render  *RenderHint
}

// Options control compilation.
type Options struct {
	Dialect Dialect
	// Now is the value of now() and the base of ago(); Kusto fixes it once
	// per query. The zero value means time.Now().
	Now time.Time
	// Explore runs a query whose answer decides the columns of another,
	// as Kusto does for plugins such as bag_unpack without an output
	// schema. It is given a plan of the same dialect and returns its rows;
	// the caller applies the same restrictions (scope, limits) as to the
	// query itself. Nil: such plugins need an output schema.
	Explore func(p *Plan) ([][]any, error)
	// Restrict keeps, per table, only the rows where its condition holds:
	// every place the plan reads the table (joins, unions, lets, subqueries)
	// reads (SELECT * FROM "T" WHERE cond) instead, so no part of a query can
	// get around it. Tables not in the map are read whole.
	Restrict map[string]Condition
	// Principal is who runs the query, for current_principal() and
	// current_principal_is_member_of(); nil: nobody.
	Principal *Principal
}

// Condition is an SQL boolean expression over a table's columns, in the
// plan's dialect, with the values of its ? placeholders in order.
type Condition struct {
	SQL  string
	Args []any
}

// Compile parses, checks and plans a query for dialect.
func Compile(query string, schema Schema, dialect Dialect) (*Plan, error) {
	return CompileWithOptions(query, schema, Options{Dialect: dialect})
}

// CompileWithOptions is Compile with explicit options.
func CompileWithOptions(query string, schema Schema, opts Options) (*Plan, error) {
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	c, err := check(q, schema, &opts)
	if err != nil {
		return nil, err
	}
	return PlanSQL(c, opts)
}

// PlanSQL translates a checked query into SQL. Unsupported constructs for
// the dialect are reported as *Error without a position (0:0 is never a
// query position, so callers can tell).
func PlanSQL(c *Checked, opts Options) (p *Plan, err error) {
	if opts.Dialect != DuckDB && opts.Dialect != ClickHouse {
		return nil, fmt.Errorf("failed to plan query: unknown dialect %d", opts.Dialect)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	pl := &planner{d: opts.Dialect, now: opts.Now.UTC(), funcs: functionsFor(opts.Dialect), restrict: opts.Restrict}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(userFailure); ok {
				p, err = nil, f.err
				return
			}
			p = nil
			err = fmt.Errorf("failed to plan query: %w: %v", ErrInternal, r)
		}
	}()
	st := pl.relation(c.rel)
	sel := make([]frag, len(st.cols))
	for i, name := range st.cols {
		sel[i] = raw(quoteIdent(name))
	}
	f := cat("SELECT ", joinFrags(sel, ", "), " FROM ", st.src, " AS ", raw(pl.alias()))
	if len(st.order) > 0 {
		f = cat(f, " ORDER BY ", raw(orderBy(st.order)))
	}
	if len(pl.ctes) > 0 {
		f = cat("WITH ", joinFrags(pl.ctes, ", "), " ", f)
	}
	return &Plan{SQL: f.sql, Args: f.args, Columns: c.Columns, Render: c.Render}, nil
}

// frag is a piece of SQL with the arguments of its placeholders, in order.
type frag struct {
	sql  string
	args []any
}

func raw(s string) frag { return frag{sql: s} }

func param(v any) frag { return frag{sql: "?", args: []any{v}} }

// maxSQLBytes bounds the SQL of one query. Repetition (a let used many
// times on ClickHouse, scalar lets built from each other) could otherwise
// grow it exponentially; real queries stay far below.
const maxSQLBytes = 4 << 20

// cat concatenates strings (raw SQL) and frags, keeping argument order.
func cat(parts ...any) frag {
	var b strings.Builder
	var args []any
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b.WriteString(p)
		case frag:
			b.WriteString(p.sql)
			args = append(args, p.args...)
		default:
			panic(fmt.Sprintf("cat: unexpected %T", p))
		}
	}
	if b.Len() > maxSQLBytes {
		panic(userFailure{errorf(Pos{}, "the query is too large once compiled (over %d MiB of SQL); use fewer repeated lets", maxSQLBytes>>20)})
	}
	return frag{sql: b.String(), args: args}
}

func joinFrags(fs []frag, sep string) frag {
	parts := make([]any, 0, 2*len(fs))
	for i, f := range fs {
		if i > 0 {
			parts = append(parts, sep)
		}
		parts = append(parts, f)
	}
	return cat(parts...)
}

// stage is a compiled relation: something to select FROM (a table name or a
// parenthesised SELECT), the SQL names of its columns, and the order its rows
// are in, if any. Order is kept in hidden _tb_o columns because Kusto keeps
// the order of sorted rows through later operators (project, take...),
// while SQL only orders the outermost SELECT.
type stage struct {
	src   frag
	cols  []string
	order []orderKey
}

type orderKey struct {
	col        string
	desc       bool
	nullsFirst bool
	of         string // the column the key copies, when it is a plain column
}

func orderBy(keys []orderKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		s := quoteIdent(k.col)
		if k.desc {
			s += " DESC"
		} else {
			s += " ASC"
		}
		if k.nullsFirst {
			s += " NULLS FIRST"
		} else {
			s += " NULLS LAST"
		}
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}

type planner struct {
	window   []orderKey        // the input order while a project is planned; nil elsewhere
	lets     map[*relLet]stage // planned lets, by node
	ctes     []frag            // their WITH items, dependencies first
	d        Dialect
	funcs    map[string]sqlFunc
	now      time.Time
	aliases  int
	names    int
	outer    []string               // the outer row's qualified columns while an mv-apply subquery is planned
	scalars  map[*tScalarSub]string // shared toscalar values, by node: their WITH item
	restrict map[string]Condition
	segments map[*tCall]segment // the hidden columns of restartable window functions (functions_rank.go)
}

func (pl *planner) fail(format string, args ...any) {
	panic(userFailure{errorf(Pos{}, format, args...)})
}

func (pl *planner) alias() string {
	pl.aliases++
	return fmt.Sprintf("t%d", pl.aliases)
}

// internal returns a fresh internal column name.
func (pl *planner) internal(kind string) string {
	pl.names++
	return fmt.Sprintf("_tb_%s%d", kind, pl.names)
}

// sqlNames assigns SQL names to columns: the KQL name when it is a safe
// identifier not yet used (case-insensitively, because DuckDB folds case),
// otherwise an internal name. The result's Columns carry the KQL names.
func (pl *planner) sqlNames(cols []Column, reserved []string) []string {
	used := map[string]bool{}
	for _, r := range reserved {
		used[strings.ToLower(r)] = true
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		if safeIdent(c.Name) && !used[strings.ToLower(c.Name)] {
			names[i] = c.Name
		} else {
			names[i] = pl.internal("c")
		}
		used[strings.ToLower(names[i])] = true
	}
	return names
}

func hiddenCols(order []orderKey) []string {
	cols := make([]string, len(order))
	for i, k := range order {
		cols[i] = k.col
	}
	return cols
}

// selectFrom wraps a SELECT over the input stage.
func (pl *planner) selectFrom(list frag, in stage, tail frag) frag {
	return cat("(SELECT ", list, " FROM ", in.src, " AS ", raw(pl.alias()), tail, ")")
}

func (pl *planner) relation(r relation) stage {
	switch r := r.(type) {
	case *relScan:
		if !safeIdent(r.table) {
			pl.fail("table name %q cannot be used in SQL; rename it in the schema", r.table)
		}
		cols := make([]string, len(r.cols))
		for i, c := range r.cols {
			if !safeIdent(c.Name) {
				pl.fail("column name %q of table %s cannot be used in SQL; rename it in the schema", c.Name, r.table)
			}
			cols[i] = c.Name
		}
		src := raw(quoteIdent(r.table))
		if c, ok := pl.restrict[r.table]; ok {
			src = cat("(SELECT * FROM ", src, " WHERE ", frag{sql: c.SQL, args: c.Args}, ")")
		}
		return stage{src: src, cols: cols}
	case *relFilter:
		in := pl.relation(r.in)
		return stage{src: pl.selectFrom(raw("*"), in, cat(" WHERE ", pl.predicate(r.pred, in.cols))), cols: in.cols, order: in.order}
	case *relProject:
		in := pl.segmentStages(r.exprs, pl.relation(r.in))
		names := pl.sqlNames(r.cols, hiddenCols(in.order))
		list := make([]frag, 0, len(r.exprs)+len(in.order))
		pl.window = in.order // the row order of prev, next, row_number...
		for i, e := range r.exprs {
			list = append(list, cat(pl.expr(e, in.cols), " AS ", quoteIdent(names[i])))
		}
		pl.window = nil
		for _, k := range in.order {
			list = append(list, raw(quoteIdent(k.col)))
		}
		return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: names, order: keepOrderSources(in.order, in.cols, names, r.exprs)}
	case *relSort:
		in := pl.relation(r.in)
		list := []frag{raw("*")}
		var order []orderKey
		for _, k := range r.keys {
			name := pl.internal("o")
			list = append(list, cat(pl.expr(k.e, in.cols), " AS ", quoteIdent(name)))
			key := orderKey{col: name, desc: k.desc, nullsFirst: k.nullsFirst}
			if c, ok := k.e.(*tColumn); ok {
				key.of = in.cols[c.idx]
			}
			order = append(order, key)
		}
		return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: in.cols, order: order}
	case *relLimit:
		in := pl.relation(r.in)
		n, err := inlineNumber(float64(r.n))
		if err != nil {
			panic(err)
		}
		tail := raw(" LIMIT " + n)
		if len(in.order) > 0 {
			tail = raw(" ORDER BY " + orderBy(in.order) + " LIMIT " + n)
		}
		return stage{src: pl.selectFrom(raw("*"), in, tail), cols: in.cols, order: in.order}
	case *relDistinct:
		in := pl.relation(r.in)
		list := make([]frag, len(in.cols))
		for i, c := range in.cols {
			list[i] = raw(quoteIdent(c))
		}
		return stage{src: pl.selectFrom(cat("DISTINCT ", joinFrags(list, ", ")), in, frag{}), cols: in.cols}
	case *relAggregate:
		return pl.aggregate(r)
	case *relJoin:
		return pl.join(r)
	case *relUnion:
		return pl.union(r)
	case *relMvExpand:
		return pl.mvExpand(r)
	case *relValues:
		return pl.values(r)
	case *relLet:
		return pl.let(r)
	case *relRange:
		return pl.rangeStage(r)
	case *relMakeSeries:
		return pl.makeSeries(r)
	case *relMvApply:
		return pl.mvApply(r)
	case *relOuterRow:
		return pl.outerRow(r)
	case *relCondJoin:
		return pl.condJoin(r)
	case *relScanSteps:
		return pl.scanSteps(r)
	case *relTopPer:
		return pl.topPer(r)
	}
	panic(fmt.Sprintf("unexpected relation %T", r))
}
