package kql

import (
	"fmt"
	"regexp"
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
	c, err := Check(q, schema)
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
	pl := &planner{d: opts.Dialect, now: opts.Now.UTC()}
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
	return &Plan{SQL: f.sql, Args: f.args, Columns: c.Columns, Render: c.Render}, nil
}

// frag is a piece of SQL with the arguments of its placeholders, in order.
type frag struct {
	sql  string
	args []any
}

func raw(s string) frag { return frag{sql: s} }

func param(v any) frag { return frag{sql: "?", args: []any{v}} }

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
	d       Dialect
	now     time.Time
	aliases int
	names   int
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
		return stage{src: raw(quoteIdent(r.table)), cols: cols}
	case *relFilter:
		in := pl.relation(r.in)
		return stage{src: pl.selectFrom(raw("*"), in, cat(" WHERE ", pl.expr(r.pred, in.cols))), cols: in.cols, order: in.order}
	case *relProject:
		in := pl.relation(r.in)
		names := pl.sqlNames(r.cols, hiddenCols(in.order))
		list := make([]frag, 0, len(r.exprs)+len(in.order))
		for i, e := range r.exprs {
			list = append(list, cat(pl.expr(e, in.cols), " AS ", quoteIdent(names[i])))
		}
		for _, k := range in.order {
			list = append(list, raw(quoteIdent(k.col)))
		}
		return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: names, order: in.order}
	case *relSort:
		in := pl.relation(r.in)
		list := []frag{raw("*")}
		var order []orderKey
		for _, k := range r.keys {
			name := pl.internal("o")
			list = append(list, cat(pl.expr(k.e, in.cols), " AS ", quoteIdent(name)))
			order = append(order, orderKey{col: name, desc: k.desc, nullsFirst: k.nullsFirst})
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
	}
	panic(fmt.Sprintf("unexpected relation %T", r))
}

// aggregate computes non-column keys in an inner SELECT first: engines
// cannot match a GROUP BY expression containing parameters with the same
// expression in the select list, but they can group by a column.
func (pl *planner) aggregate(r *relAggregate) stage {
	in := pl.relation(r.in)
	keyCols := make([]string, len(r.keys))
	var pre []frag
	for i, k := range r.keys {
		if c, ok := k.(*tColumn); ok {
			keyCols[i] = in.cols[c.idx]
			continue
		}
		keyCols[i] = pl.internal("k")
		pre = append(pre, cat(pl.expr(k, in.cols), " AS ", quoteIdent(keyCols[i])))
	}
	if len(pre) > 0 {
		in = stage{src: pl.selectFrom(joinFrags(append([]frag{raw("*")}, pre...), ", "), in, frag{}), cols: in.cols}
	}
	names := pl.sqlNames(r.cols[:len(r.keys)], nil)
	var list []frag
	for i, k := range keyCols {
		list = append(list, raw(quoteIdent(k)+" AS "+quoteIdent(names[i])))
	}
	// Aggregates of one arg_max/arg_min group become one call over a tuple,
	// so that all returned columns come from the same row.
	type groupInfo struct {
		name   string
		fields []texpr
		by     texpr
		fn     string
	}
	groups := map[int]*groupInfo{}
	var groupOrder []int
	aggNames := make([]string, len(r.aggs))
	groupField := make([]int, len(r.aggs))
	for i, a := range r.aggs {
		if a.fn == "arg_max" || a.fn == "arg_min" {
			g, ok := groups[a.group]
			if !ok {
				g = &groupInfo{name: pl.internal("g"), by: a.args[0], fn: a.fn}
				groups[a.group] = g
				groupOrder = append(groupOrder, a.group)
			}
			groupField[i] = len(g.fields)
			g.fields = append(g.fields, a.value)
			continue
		}
		aggNames[i] = pl.internal("a")
		list = append(list, cat(pl.aggregateSQL(a, in.cols), " AS ", quoteIdent(aggNames[i])))
	}
	for _, gid := range groupOrder {
		g := groups[gid]
		list = append(list, cat(pl.argMinMax(g.fn, g.fields, g.by, in.cols), " AS ", quoteIdent(g.name)))
	}
	tail := frag{}
	if len(keyCols) > 0 {
		gb := make([]string, len(keyCols))
		for i, k := range keyCols {
			gb[i] = quoteIdent(k)
		}
		tail = raw(" GROUP BY " + strings.Join(gb, ", "))
	}
	grouped := stage{src: pl.selectFrom(joinFrags(list, ", "), in, tail)}
	grouped.cols = append(append(grouped.cols, names...), aggNames...)
	if len(groups) == 0 {
		return grouped
	}
	// Unpack the tuples into one column per returned value.
	out := make([]frag, 0, len(r.cols))
	cols := append([]string(nil), names...)
	for _, n := range names {
		out = append(out, raw(quoteIdent(n)))
	}
	for i, a := range r.aggs {
		if a.fn != "arg_max" && a.fn != "arg_min" {
			out = append(out, raw(quoteIdent(aggNames[i])))
			cols = append(cols, aggNames[i])
			continue
		}
		name := pl.internal("a")
		g := groups[a.group].name
		var field string
		if pl.d == ClickHouse {
			field = fmt.Sprintf("tupleElement(%s, %d)", quoteIdent(g), groupField[i]+1)
		} else {
			field = fmt.Sprintf("struct_extract(%s, 'v%d')", quoteIdent(g), groupField[i])
		}
		out = append(out, raw(field+" AS "+quoteIdent(name)))
		cols = append(cols, name)
	}
	return stage{src: pl.selectFrom(joinFrags(out, ", "), grouped, frag{}), cols: cols}
}

func (pl *planner) argMinMax(fn string, fields []texpr, by texpr, cols []string) frag {
	parts := make([]frag, len(fields))
	for i, f := range fields {
		if pl.d == ClickHouse {
			parts[i] = pl.expr(f, cols)
		} else {
			parts[i] = cat(fmt.Sprintf("v%d := ", i), pl.expr(f, cols))
		}
	}
	if pl.d == ClickHouse {
		name := "argMax"
		if fn == "arg_min" {
			name = "argMin"
		}
		return cat(name+"(tuple(", joinFrags(parts, ", "), "), ", pl.expr(by, cols), ")")
	}
	return cat(fn+"(struct_pack(", joinFrags(parts, ", "), "), ", pl.expr(by, cols), ")")
}

func (pl *planner) aggregateSQL(a aggregate, cols []string) frag {
	ch := pl.d == ClickHouse
	arg := func(i int) frag { return pl.expr(a.args[i], cols) }
	switch a.fn {
	case "count":
		if ch {
			return raw("count()")
		}
		return raw("count(*)")
	case "countif":
		if ch {
			return cat("countIf(", arg(0), ")")
		}
		return cat("count_if(", arg(0), ")")
	case "sum", "sumif":
		var s frag
		switch {
		case ch && a.fn == "sumif":
			// sumIf gives 0 when no row matches; Kusto (and DuckDB) give null.
			s = cat("if(countIf(isNotNull(", arg(0), ") AND ", arg(1), ") = 0, NULL, sumIf(", arg(0), ", ", arg(1), "))")
		case ch:
			s = cat("sum(", arg(0), ")")
		case a.fn == "sumif":
			s = cat("sum(", arg(0), ") FILTER (WHERE ", arg(1), ")")
		default:
			s = cat("sum(", arg(0), ")")
		}
		// DuckDB sums integers into HUGEINT; Kusto's sum of longs is a long.
		if !ch && a.t == TypeLong {
			return cat("CAST(", s, " AS BIGINT)")
		}
		return s
	case "avg", "min", "max":
		return cat(a.fn+"(", arg(0), ")")
	case "dcount":
		if ch {
			return cat("uniq(", arg(0), ")")
		}
		return cat("approx_count_distinct(", arg(0), ")")
	case "percentile":
		level, err := inlineNumber(a.level / 100)
		if err != nil {
			panic(err)
		}
		// Kusto's percentile returns a value of the set (nearest rank),
		// which quantile_disc matches better than interpolation.
		if ch {
			// Nearest rank, exactly: ClickHouse's quantile() samples and
			// interpolates, and quantileExact picks the rank above.
			x := arg(0)
			return cat("if(count(", x, ") = 0, NULL, arrayElement(arraySort(groupArray(", x, ")), toUInt64(greatest(1, ceil("+level+" * count(", x, "))))))")
		}
		return cat("quantile_disc(", arg(0), ", "+level+")")
	case "make_list", "make_set":
		if ch {
			fn := "groupArray"
			if a.fn == "make_set" {
				fn = "groupUniqArray"
			}
			return pl.chJSONArray(cat(fn+"(", arg(0), ")"), a.args[0].typ())
		}
		distinct := ""
		if a.fn == "make_set" {
			distinct = "DISTINCT "
		}
		x := arg(0)
		return cat("COALESCE(to_json(list("+distinct, x, ") FILTER (WHERE ", x, " IS NOT NULL)), CAST('[]' AS JSON))")
	case "any":
		if ch {
			return cat("any(", arg(0), ")")
		}
		return cat("any_value(", arg(0), ")")
	}
	panic(fmt.Sprintf("unexpected aggregate %s", a.fn))
}

// chJSONArray renders a ClickHouse array as JSON text, since ClickHouse
// 18.16 has no JSON serialisation function.
func (pl *planner) chJSONArray(arr frag, elem Type) frag {
	return cat("concat('[', arrayStringConcat(arrayMap(x -> ", raw(chJSONValue("x", elem)), ", ", arr, "), ','), ']')")
}

func chJSONValue(x string, t Type) string {
	switch t {
	case TypeLong, TypeInt, TypeReal, TypeTimespan:
		return "toString(" + x + ")"
	case TypeBool:
		return "if(" + x + ", 'true', 'false')"
	case TypeDynamic:
		return x
	case TypeDatetime:
		return chJSONString("concat(replaceOne(toString(" + x + ", 'UTC'), ' ', 'T'), 'Z')")
	}
	return chJSONString(x)
}

func chJSONString(x string) string {
	return `concat('"', replaceAll(replaceAll(` + x + `, '\\', '\\\\'), '"', '\\"'), '"')`
}

func (pl *planner) join(r *relJoin) stage {
	left, right := pl.relation(r.left), pl.relation(r.right)
	la, ra := pl.alias(), pl.alias()
	ch := pl.d == ClickHouse
	lkeys := make([]string, len(r.leftKeys))
	rkeys := make([]string, len(r.rightKeys))
	for i := range r.leftKeys {
		lkeys[i] = quoteIdent(left.cols[r.leftKeys[i]])
		rkeys[i] = quoteIdent(right.cols[r.rightKeys[i]])
	}
	names := pl.sqlNames(r.cols, nil)
	switch r.kind {
	case "leftsemi", "leftanti", "rightsemi", "rightanti":
		keep, other, keepKeys, otherKeys := left, right, lkeys, rkeys
		if strings.HasPrefix(r.kind, "right") {
			keep, other, keepKeys, otherKeys = right, left, rkeys, lkeys
		}
		notNull := make([]string, len(otherKeys))
		for i, k := range otherKeys {
			notNull[i] = k + " IS NOT NULL"
		}
		sub := cat("(SELECT ", strings.Join(otherKeys, ", "), " FROM ", other.src, " AS ", pl.alias(), " WHERE ", strings.Join(notNull, " AND "), ")")
		op := " IN "
		if strings.HasSuffix(r.kind, "anti") {
			op = " NOT IN "
		}
		tuple := strings.Join(keepKeys, ", ")
		if len(keepKeys) > 1 {
			tuple = "(" + tuple + ")"
		}
		list := make([]frag, len(keep.cols))
		for i, c := range keep.cols {
			list[i] = raw(quoteIdent(c) + " AS " + quoteIdent(names[i]))
		}
		return stage{src: pl.selectFrom(joinFrags(list, ", "), keep, cat(" WHERE ", tuple, op, sub)), cols: names}
	}
	if ch {
		// ClickHouse 18.16 mixes up same-named columns of the two sides
		// (outer joins fail, filters above the join break), so each side
		// gets unique column names first.
		// A right key column selected from the join breaks a filter
		// above it, and is missing from right-only rows of outer joins,
		// so the ON clause uses a copy of each right key.
		// Left keys likewise: ClickHouse fills them from the right for
		// right-only rows.
		left = pl.renamed(left, r.leftKeys)
		right = pl.renamed(right, r.rightKeys)
		for i := range r.leftKeys {
			lkeys[i] = quoteIdent(left.cols[len(left.cols)-len(r.leftKeys)+i])
			rkeys[i] = quoteIdent(right.cols[len(right.cols)-len(r.rightKeys)+i])
		}
	}
	lsrc := left.src
	if r.kind == "innerunique" {
		// Kusto's default join keeps one (arbitrary) left row per key.
		if ch {
			lsrc = cat("(SELECT * FROM ", left.src, " AS ", pl.alias(), " LIMIT 1 BY ", strings.Join(lkeys, ", "), ")")
		} else {
			lsrc = cat("(SELECT DISTINCT ON (", strings.Join(lkeys, ", "), ") * FROM ", left.src, " AS ", pl.alias(), ")")
		}
	}
	joinKw := map[string]string{"innerunique": "INNER JOIN", "inner": "INNER JOIN", "leftouter": "LEFT JOIN",
		"rightouter": "RIGHT JOIN", "fullouter": "FULL JOIN"}[r.kind]
	if ch {
		joinKw = "ALL " + joinKw
	}
	var on []string
	for i := range lkeys {
		on = append(on, la+"."+lkeys[i]+" = "+ra+"."+rkeys[i])
	}
	list := make([]frag, len(r.out))
	for i, o := range r.out {
		if o.right {
			list[i] = raw(ra + "." + quoteIdent(right.cols[o.idx]) + " AS " + quoteIdent(names[i]))
		} else {
			list[i] = raw(la + "." + quoteIdent(left.cols[o.idx]) + " AS " + quoteIdent(names[i]))
		}
	}
	src := cat("(SELECT ", joinFrags(list, ", "), " FROM ", lsrc, " AS ", la, " ", joinKw, " ", right.src, " AS ", ra,
		" ON ", strings.Join(on, " AND "), ")")
	return stage{src: src, cols: names}
}

// renamed gives every column of a stage a fresh internal name.
// Copies of the columns at the indexes in copies are appended.
func (pl *planner) renamed(in stage, copies []int) stage {
	cols := make([]string, 0, len(in.cols)+len(copies))
	list := make([]frag, 0, len(in.cols)+len(copies))
	for _, c := range in.cols {
		cols = append(cols, pl.internal("j"))
		list = append(list, raw(quoteIdent(c)+" AS "+quoteIdent(cols[len(cols)-1])))
	}
	for _, i := range copies {
		cols = append(cols, pl.internal("j"))
		list = append(list, raw(quoteIdent(in.cols[i])+" AS "+quoteIdent(cols[len(cols)-1])))
	}
	return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: cols}
}

func (pl *planner) union(r *relUnion) stage {
	names := pl.sqlNames(r.cols, nil)
	var branches []frag
	for i, in := range r.inputs {
		st := pl.relation(in)
		list := make([]frag, len(r.cols))
		for j, c := range r.cols {
			if k := r.maps[i][j]; k >= 0 {
				list[j] = raw(quoteIdent(st.cols[k]) + " AS " + quoteIdent(names[j]))
			} else {
				list[j] = raw(pl.d.nullOf(c.Type) + " AS " + quoteIdent(names[j]))
			}
		}
		branches = append(branches, cat("SELECT ", joinFrags(list, ", "), " FROM ", st.src, " AS ", pl.alias()))
	}
	return stage{src: cat("(", joinFrags(branches, " UNION ALL "), ")"), cols: names}
}

func (pl *planner) mvExpand(r *relMvExpand) stage {
	if pl.d == ClickHouse {
		pl.fail("mv-expand is not supported on ClickHouse 18.16, which cannot split JSON arrays")
	}
	if r.limit > 0 {
		pl.fail("mv-expand ... limit is not supported")
	}
	in := pl.relation(r.in)
	names := pl.sqlNames(r.cols, hiddenCols(in.order))
	list := make([]frag, 0, len(r.cols))
	for i := range r.cols {
		if i == r.col {
			x := pl.expr(r.expr, in.cols)
			e := cat("unnest(CASE WHEN json_type(", x, ") = 'ARRAY' THEN CAST(", x, " AS JSON[]) ELSE [", x, "] END)")
			if t := r.cols[i].Type; t != TypeDynamic {
				e = pl.fromJSON(e, t)
			}
			list = append(list, cat(e, " AS ", quoteIdent(names[i])))
			continue
		}
		list = append(list, raw(quoteIdent(in.cols[i])+" AS "+quoteIdent(names[i])))
	}
	return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: names}
}

// fromJSON converts a DuckDB JSON value to a scalar type.
func (pl *planner) fromJSON(x frag, t Type) frag {
	s := cat("(", x, " ->> '$')")
	if t == TypeString || t == TypeGUID {
		return s
	}
	return cat("TRY_CAST(", s, " AS ", pl.d.sqlType(t), ")")
}

// Scalar expressions.

func (pl *planner) expr(e texpr, cols []string) frag {
	switch e := e.(type) {
	case *tColumn:
		return raw(quoteIdent(cols[e.idx]))
	case *tLiteral:
		if e.t == TypeUnknown {
			pl.fail("typeof(...) cannot be used here")
		}
		return pl.d.literal(e.value, e.t)
	case *tNow:
		return pl.d.literal(pl.now, TypeDatetime)
	case *tBinary:
		return pl.binary(e, cols)
	case *tUnary:
		return cat("(-", pl.expr(e.x, cols), ")")
	case *tIn:
		return pl.in(e, cols)
	case *tBetween:
		f := cat("(", pl.expr(e.x, cols), " BETWEEN ", pl.expr(e.lo, cols), " AND ", pl.expr(e.hi, cols), ")")
		if e.not {
			// ClickHouse 18.16 cannot parse x NOT BETWEEN a AND b.
			return cat("(NOT ", f, ")")
		}
		return f
	case *tPath:
		return pl.path(e, cols)
	case *tCall:
		return pl.call(e, cols)
	}
	panic(fmt.Sprintf("unexpected expression %T", e))
}

// termPattern builds the regular expression for the has family: Kusto
// matches whole terms, i.e. maximal runs of letters and digits.
func termPattern(op string, terms []string) string {
	cs := strings.HasSuffix(op, "_cs")
	base := strings.TrimSuffix(strings.TrimPrefix(op, "!"), "_cs")
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = regexp.QuoteMeta(t)
	}
	body := strings.Join(quoted, "|")
	if len(terms) > 1 {
		body = "(?:" + body + ")"
	}
	const before, after = `(?:^|[^\p{L}\p{N}])`, `(?:$|[^\p{L}\p{N}])`
	var re string
	switch base {
	case "hasprefix":
		re = before + body
	case "hassuffix":
		re = body + after
	default:
		re = before + body + after
	}
	if !cs {
		re = "(?i)" + re
	}
	return re
}

// hasMatch is the has family's test. ClickHouse 18.16's match() checks a
// required literal of the pattern case-sensitively before running it, which
// breaks (?i); there both sides are lowered instead.
func (pl *planner) hasMatch(x frag, op string, terms []string) frag {
	if pl.d != ClickHouse || strings.HasSuffix(op, "_cs") {
		return pl.regexMatch(x, param(termPattern(op, terms)))
	}
	lowered := make([]string, len(terms))
	for i, t := range terms {
		lowered[i] = strings.ToLower(t)
	}
	return pl.regexMatch(pl.lower(x), param(strings.TrimPrefix(termPattern(op, lowered), "(?i)")))
}

func (pl *planner) regexMatch(x frag, pattern frag) frag {
	if pl.d == ClickHouse {
		return cat("match(", x, ", ", pattern, ")")
	}
	return cat("regexp_matches(", x, ", ", pattern, ")")
}

func (pl *planner) lower(x frag) frag {
	if pl.d == ClickHouse {
		return cat("lowerUTF8(", x, ")")
	}
	return cat("lower(", x, ")")
}

func (pl *planner) binary(e *tBinary, cols []string) frag {
	ch := pl.d == ClickHouse
	l, r := pl.expr(e.l, cols), pl.expr(e.r, cols)
	lt, rt := e.l.typ(), e.r.typ()
	switch e.op {
	case "and", "or":
		return cat("(", l, " "+strings.ToUpper(e.op)+" ", r, ")")
	case "==":
		return cat("(", l, " = ", r, ")")
	case "!=":
		return cat("(", l, " <> ", r, ")")
	case "<", "<=", ">", ">=":
		return cat("(", l, " "+e.op+" ", r, ")")
	case "+", "-", "*", "/", "%":
		return pl.arithmetic(e, l, r, lt, rt)
	}
	neg := strings.HasPrefix(e.op, "!")
	op := strings.TrimPrefix(e.op, "!")
	var f frag
	switch op {
	case "=~", "~":
		f = cat("(", pl.lower(l), " = ", pl.lower(r), ")")
		if e.op == "!~" {
			neg = true
		}
	case "contains":
		if ch {
			f = cat("(positionCaseInsensitiveUTF8(", l, ", ", r, ") > 0)")
		} else {
			f = cat("(strpos(", pl.lower(l), ", ", pl.lower(r), ") > 0)")
		}
	case "contains_cs":
		if ch {
			f = cat("(position(", l, ", ", r, ") > 0)")
		} else {
			f = cat("(strpos(", l, ", ", r, ") > 0)")
		}
	case "startswith", "endswith", "startswith_cs", "endswith_cs":
		fn := map[bool]map[bool]string{false: {false: "starts_with", true: "ends_with"}, true: {false: "startsWith", true: "endsWith"}}[ch][strings.HasPrefix(op, "ends")]
		if strings.HasSuffix(op, "_cs") {
			f = cat(fn+"(", l, ", ", r, ")")
		} else {
			f = cat(fn+"(", pl.lower(l), ", ", pl.lower(r), ")")
		}
	case "has", "has_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs":
		term, _ := constString(e.r)
		f = pl.hasMatch(l, op, []string{term})
	case "matches regex":
		f = pl.regexMatch(l, r)
	default:
		panic(fmt.Sprintf("unexpected operator %s", e.op))
	}
	if neg {
		return cat("(NOT ", f, ")")
	}
	return f
}

func (pl *planner) arithmetic(e *tBinary, l, r frag, lt, rt Type) frag {
	ch := pl.d == ClickHouse
	switch {
	case lt == TypeDatetime && rt == TypeDatetime:
		if ch {
			return cat("(toInt64(", l, ") - toInt64(", r, "))")
		}
		return cat("(", l, " - ", r, ")")
	case lt == TypeDatetime || rt == TypeDatetime:
		if ch {
			if lt == TypeTimespan {
				l = cat("toInt64(", l, ")")
			} else {
				r = cat("toInt64(", r, ")")
			}
		}
		return cat("(", l, " "+e.op+" ", r, ")")
	case lt == TypeTimespan && rt == TypeTimespan:
		if e.op == "/" {
			if ch {
				return cat("(", l, " / ", r, ")")
			}
			return cat("(epoch(", l, ") / epoch(", r, "))")
		}
		return cat("(", l, " "+e.op+" ", r, ")")
	case lt == TypeTimespan || rt == TypeTimespan:
		if ch {
			return cat("(", l, " "+e.op+" ", r, ")")
		}
		span, num := l, r
		if rt == TypeTimespan {
			span, num = r, l
		}
		return cat("to_microseconds(CAST(round(epoch(", span, ") * 1000000 "+e.op+" ", num, ") AS BIGINT))")
	}
	if e.op == "/" && e.t != TypeReal {
		if ch {
			return cat("intDiv(", l, ", ", r, ")")
		}
		return cat("(", l, " // ", r, ")")
	}
	return cat("(", l, " "+e.op+" ", r, ")")
}

func (pl *planner) in(e *tIn, cols []string) frag {
	x := pl.expr(e.x, cols)
	switch e.op {
	case "has_any", "has_all":
		terms := make([]string, len(e.list))
		for i, v := range e.list {
			terms[i], _ = constString(v)
		}
		if e.op == "has_any" {
			return pl.hasMatch(x, "has", terms)
		}
		parts := make([]frag, len(terms))
		for i, t := range terms {
			parts[i] = pl.hasMatch(x, "has", []string{t})
		}
		return cat("(", joinFrags(parts, " AND "), ")")
	}
	list := make([]frag, len(e.list))
	for i, v := range e.list {
		list[i] = pl.expr(v, cols)
		if strings.HasSuffix(e.op, "~") {
			list[i] = pl.lower(list[i])
		}
	}
	if strings.HasSuffix(e.op, "~") {
		x = pl.lower(x)
	}
	op := " IN ("
	if strings.HasPrefix(e.op, "!") {
		op = " NOT IN ("
	}
	return cat("(", x, op, joinFrags(list, ", "), "))")
}

func (pl *planner) path(e *tPath, cols []string) frag {
	if pl.d == ClickHouse {
		// split(s, d)[i] is common and ClickHouse can index its array.
		if c, ok := e.x.(*tCall); ok && c.fn == "split" && len(e.path) == 1 && e.path[0].isIndex && e.path[0].index >= 0 {
			elem := cat("arrayElement(splitByString(", pl.expr(c.args[1], cols), ", ", pl.expr(c.args[0], cols), "), "+fmt.Sprint(e.path[0].index+1)+")")
			return cat(`if(`, elem, ` = '', NULL, `, raw(chJSONString(elem.sql)), `)`).withArgs(elem.args, 2)
		}
		x := pl.expr(e.x, cols)
		for _, el := range e.path {
			if el.isIndex {
				pl.fail("array indexes on dynamic values are not supported on ClickHouse 18.16; only property names are")
			}
			// 18.16 keeps the whitespace around the raw value.
			x = cat(`replaceRegexpAll(visitParamExtractRaw(`, x, ", ", param(el.key), `), '^\\s+|\\s+$', '')`)
		}
		return x
	}
	var b strings.Builder
	b.WriteString("$")
	for _, el := range e.path {
		if el.isIndex {
			if el.index < 0 {
				fmt.Fprintf(&b, "[#%d]", el.index)
			} else {
				fmt.Fprintf(&b, "[%d]", el.index)
			}
			continue
		}
		if strings.ContainsAny(el.key, `"\`) {
			pl.fail("property names containing quotes or backslashes are not supported: %q", el.key)
		}
		b.WriteString(`."` + el.key + `"`)
	}
	return cat("json_extract(", pl.expr(e.x, cols), ", ", param(b.String()), ")")
}

// withArgs repeats the arguments of a fragment that appears n times in a
// raw string built from its SQL text.
func (f frag) withArgs(args []any, n int) frag {
	out := frag{sql: f.sql}
	out.args = append(out.args, f.args...)
	for i := 1; i < n; i++ {
		out.args = append(out.args, args...)
	}
	return out
}

func (pl *planner) call(e *tCall, cols []string) frag {
	ch := pl.d == ClickHouse
	arg := func(i int) frag { return pl.expr(e.args[i], cols) }
	switch e.fn {
	case "tostring":
		return pl.toString(arg(0), e.args[0].typ())
	case "toint", "tolong", "todouble", "tobool", "todatetime", "totimespan":
		return pl.convert(e.fn, e.t, e.args[0], cols)
	case "todynamic":
		if ch {
			return arg(0)
		}
		return cat("TRY_CAST(", arg(0), " AS JSON)")
	case "bin":
		return pl.bin(e, cols)
	case "strcat":
		if len(e.args) == 1 {
			return arg(0)
		}
		parts := make([]frag, len(e.args))
		for i := range e.args {
			parts[i] = arg(i)
		}
		return cat("concat(", joinFrags(parts, ", "), ")")
	case "extract":
		re, _ := constString(e.args[0])
		g, _ := constInt(e.args[1])
		src := arg(2)
		var f frag
		if ch {
			switch {
			case g == 0:
				re = "(" + re + ")"
			case g > 1:
				pl.fail("extract with group %d is not supported on ClickHouse 18.16; use group 0 or 1", g)
			}
			f = cat("extract(", src, ", ", param(re), ")")
		} else {
			gs, _ := inlineNumber(float64(g))
			f = cat("regexp_extract(", src, ", ", param(re), ", "+gs+")")
		}
		if e.t != TypeString {
			return pl.fromString(cat("NULLIF(", f, ", '')"), e.t)
		}
		return f
	case "parse_extract":
		re, _ := constString(e.args[1])
		var f frag
		if ch {
			f = cat("extract(", arg(0), ", ", param(re), ")")
		} else {
			f = cat("regexp_extract(", arg(0), ", ", param(re), ", 1)")
		}
		if e.t != TypeString {
			return pl.fromString(cat("NULLIF(", f, ", '')"), e.t)
		}
		return f
	case "split":
		if ch {
			return pl.chJSONArray(cat("splitByString(", arg(1), ", ", arg(0), ")"), TypeString)
		}
		return cat("to_json(string_split(", arg(0), ", ", arg(1), "))")
	case "strlen":
		if ch {
			return cat("toInt64(lengthUTF8(", arg(0), "))")
		}
		return cat("length(", arg(0), ")")
	case "substring":
		fn := "substring"
		if ch {
			fn = "substringUTF8"
		}
		if len(e.args) == 3 {
			return cat(fn+"(", arg(0), ", (", arg(1), " + 1), ", arg(2), ")")
		}
		if ch {
			return cat(fn+"(", arg(0), ", (", arg(1), " + 1), lengthUTF8(", arg(0), "))")
		}
		return cat(fn+"(", arg(0), ", (", arg(1), " + 1))")
	case "tolower", "toupper":
		fn := map[string]string{"tolower": "lower", "toupper": "upper"}[e.fn]
		if ch {
			fn += "UTF8"
		}
		return cat(fn+"(", arg(0), ")")
	case "trim":
		re, _ := constString(e.args[0])
		pattern := param("^(?:" + re + ")+|(?:" + re + ")+$")
		if ch {
			return cat("replaceRegexpAll(", arg(1), ", ", pattern, ", '')")
		}
		return cat("regexp_replace(", arg(1), ", ", pattern, ", '', 'g')")
	case "case":
		parts := []any{"(CASE"}
		for i := 0; i+1 < len(e.args); i += 2 {
			parts = append(parts, " WHEN ", arg(i), " THEN ", pl.castTo(arg(i+1), e.args[i+1], e.t))
		}
		parts = append(parts, " ELSE ", pl.castTo(arg(len(e.args)-1), e.args[len(e.args)-1], e.t), " END)")
		return cat(parts...)
	case "isempty", "isnotempty":
		x := arg(0)
		var f frag
		if e.args[0].typ() == TypeString {
			f = cat("(", x, " IS NULL OR ", x, " = '')")
		} else {
			f = cat("(", x, " IS NULL)")
		}
		if e.fn == "isnotempty" {
			return cat("(NOT ", f, ")")
		}
		return f
	case "isnull":
		return cat("(", arg(0), " IS NULL)")
	case "isnotnull":
		return cat("(", arg(0), " IS NOT NULL)")
	case "coalesce":
		parts := make([]frag, len(e.args))
		for i := range e.args {
			parts[i] = pl.castTo(arg(i), e.args[i], e.t)
			// Kusto's coalesce skips empty strings as well as nulls.
			if e.t == TypeString && i < len(e.args)-1 {
				parts[i] = cat("NULLIF(", parts[i], ", '')")
			}
		}
		return cat("COALESCE(", joinFrags(parts, ", "), ")")
	case "format_datetime":
		f, _ := constString(e.args[1])
		strf, err := datetimeFormat(f)
		if err != nil {
			panic(err)
		}
		if ch {
			if strings.Contains(strf, "%f") || strings.Contains(strf, "%g") {
				pl.fail("fractions of a second in format_datetime are not supported on ClickHouse 18.16, whose DateTime has whole seconds")
			}
			return cat("formatDateTime(", arg(0), ", ", param(strf), ", 'UTC')")
		}
		return cat("strftime(", arg(0), ", ", param(strf), ")")
	case "startofday":
		if ch {
			return cat("toStartOfDay(", arg(0), ")")
		}
		return cat("date_trunc('day', ", arg(0), ")")
	case "not":
		return cat("(NOT ", arg(0), ")")
	}
	panic(fmt.Sprintf("unexpected function %s", e.fn))
}

// castTo widens a numeric branch to the common type of iff/case/coalesce.
func (pl *planner) castTo(x frag, e texpr, t Type) frag {
	if e.typ() == t || !t.isNumeric() || isNullLiteral(e) {
		return x
	}
	return cat("CAST(", x, " AS ", pl.d.sqlType(t), ")")
}

func (pl *planner) toString(x frag, t Type) frag {
	ch := pl.d == ClickHouse
	switch t {
	case TypeString, TypeGUID:
		return x
	case TypeDynamic:
		if ch {
			return cat(`replaceRegexpOne(`, x, `, '^"(.*)"$', '\\1')`)
		}
		return cat("(", x, " ->> '$')")
	case TypeDatetime:
		if ch {
			return cat("concat(replaceOne(toString(", x, ", 'UTC'), ' ', 'T'), 'Z')")
		}
		return cat("strftime(", x, ", '%Y-%m-%dT%H:%M:%SZ')")
	case TypeBool:
		if ch {
			return cat("if(", x, ", 'true', 'false')")
		}
		return cat("(CASE WHEN ", x, " THEN 'true' WHEN NOT ", x, " THEN 'false' END)")
	}
	if ch {
		return cat("toString(", x, ")")
	}
	return cat("CAST(", x, " AS VARCHAR)")
}

// fromString converts text to t, giving NULL when it does not parse, as
// Kusto's conversion functions do.
func (pl *planner) fromString(x frag, t Type) frag {
	if pl.d == ClickHouse {
		switch t {
		case TypeLong:
			return cat("toInt64OrNull(", x, ")")
		case TypeInt:
			return cat("toInt32OrNull(", x, ")")
		case TypeReal:
			return cat("toFloat64OrNull(", x, ")")
		case TypeDatetime:
			return cat("parseDateTimeBestEffortOrNull(", x, ")")
		case TypeBool:
			return cat("(lowerUTF8(", x, ") = 'true')")
		case TypeString, TypeGUID, TypeDynamic:
			return x
		}
		pl.fail("converting text to %s is not supported on ClickHouse 18.16", t)
	}
	if t == TypeString || t == TypeGUID {
		return x
	}
	return cat("TRY_CAST(", x, " AS ", pl.d.sqlType(t), ")")
}

func (pl *planner) convert(fn string, t Type, arg texpr, cols []string) frag {
	x := pl.expr(arg, cols)
	from := arg.typ()
	switch {
	case from == TypeString || from == TypeGUID:
		return pl.fromString(x, t)
	case from == TypeDynamic:
		return pl.fromString(pl.toString(x, TypeDynamic), t)
	case (from.isNumeric() || from == TypeBool) && (t.isNumeric() || t == TypeBool):
		if pl.d == ClickHouse {
			if t == TypeBool {
				return cat("(", x, " <> 0)")
			}
			return cat(map[Type]string{TypeLong: "toInt64", TypeInt: "toInt32", TypeReal: "toFloat64"}[t]+"(", x, ")")
		}
		if from == TypeReal && t.isInteger() {
			// Kusto truncates; a SQL cast would round.
			x = cat("trunc(", x, ")")
		}
		return cat("TRY_CAST(", x, " AS ", pl.d.sqlType(t), ")")
	}
	pl.fail("%s of a %s value is not supported", fn, from)
	return frag{}
}

// bin rounds down to a multiple of the size. Kusto measures datetime bins
// from 0001-01-01, so for sizes that do not divide that distance from the
// Unix epoch (7d, for example) the origin is shifted to match.
func (pl *planner) bin(e *tCall, cols []string) frag {
	x, size := e.args[0], e.args[1]
	xs := pl.expr(x, cols)
	if x.typ() == TypeDatetime {
		d, isConst := constDuration(size)
		// Seconds from 0001-01-01 to 1970-01-01.
		const kustoEpochOffset = int64(62135596800)
		if pl.d == ClickHouse {
			if !isConst || d%time.Second != 0 {
				pl.fail("bin of a datetime needs a constant whole number of seconds on ClickHouse 18.16")
			}
			s := int64(d / time.Second)
			shift := ((kustoEpochOffset % s) + s) % s
			if shift == 0 {
				return cat("toDateTime(intDiv(toUInt32(", xs, "), ", param(s), ") * ", param(s), ", 'UTC')")
			}
			return cat("toDateTime(intDiv(toInt64(", xs, ") + ", param(shift), ", ", param(s), ") * ", param(s), " - ", param(shift), ", 'UTC')")
		}
		if !isConst {
			return cat("time_bucket(", pl.expr(size, cols), ", ", xs, ", TIMESTAMP '1970-01-01 00:00:00')")
		}
		us := int64(d / time.Microsecond)
		if us <= 0 {
			pl.fail("bin sizes below a microsecond are not supported on DuckDB")
		}
		// Counted from 0001-01-01, the microseconds of every datetime DuckDB holds are
		// non-negative, so integer division is floor division and the bins start at
		// Kusto's origin with no shift. Integer arithmetic, not time_bucket with an
		// origin, which ran the summarize less than half as fast (BenchmarkQuery10M). The
		// constants are computed here, never user text.
		offsetUS := kustoEpochOffset * 1000000
		return cat("make_timestamp((epoch_us(", xs, fmt.Sprintf(") + %d) // %d * %d - %d)", offsetUS, us, us, offsetUS))
	}
	ss := pl.expr(size, cols)
	if e.t.isInteger() && size.typ().isInteger() {
		if pl.d == ClickHouse {
			// intDiv truncates towards zero; bin rounds down.
			return cat("(toInt64(floor(", xs, " / ", ss, ")) * ", pl.expr(size, cols), ")")
		}
		return cat("CAST(floor(", xs, " / ", ss, ") * ", pl.expr(size, cols), " AS BIGINT)")
	}
	return cat("(floor(", xs, " / ", ss, ") * ", pl.expr(size, cols), ")")
}
