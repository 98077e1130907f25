package kql

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// evaluate runs a plugin over its input. tugboat has bag_unpack, whose
// columns depend on the data: with an output schema they are the schema's;
// without one, as Kusto does, a first query over the same input lists the
// property names and types (Options.Explore), and the query proper is
// compiled from that answer.

// EvaluateOp is evaluate [params] plugin(args) [: (schema)].
type EvaluateOp struct {
	OpPos      Pos
	Params     []Param
	Plugin     *Call
	Schema     []Column // the output schema; nil when not written
	SchemaStar bool     // the schema starts with *: the input's columns come first
}

func (*EvaluateOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *EvaluateOp) Position() Pos { return o.OpPos }

func (o *EvaluateOp) String() string {
	s := "evaluate " + paramsString(o.Params) + exprString(o.Plugin)
	if o.Schema != nil || o.SchemaStar {
		var parts []string
		if o.SchemaStar {
			parts = append(parts, "*")
		}
		for _, c := range o.Schema {
			parts = append(parts, identString(c.Name)+":"+c.Type.String())
		}
		s += " : (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

func (p *parser) parseEvaluate(t Token) *EvaluateOp {
	op := &EvaluateOp{OpPos: t.Pos, Params: p.parseParams()}
	name := p.expectIdent("after evaluate (write evaluate bag_unpack(Column))")
	if !isPunct(p.peek(), "(") {
		p.fail(p.peek().Pos, "expected \"(\" after the plugin name %s, found %s", name.Text, describe(p.peek()))
	}
	op.Plugin = p.parseCall(name).(*Call)
	if !isPunct(p.peek(), ":") {
		return op
	}
	p.next()
	open := p.expectPunct("(", "to start the output schema (write : (Name:type, ...))")
	for {
		if isPunct(p.peek(), "*") && len(op.Schema) == 0 && !op.SchemaStar {
			p.next()
			op.SchemaStar = true
		} else {
			c := p.expectIdent("in the output schema (write Name:type)")
			p.expectPunct(":", "after the column name (write Name:type)")
			typ, _ := p.expectType("as the column type", "")
			op.Schema = append(op.Schema, Column{Name: c.Text, Type: typ})
		}
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	if op.Schema == nil {
		op.Schema = []Column{}
	}
	return op
}

func (ck *checker) evaluate(in relation, op *EvaluateOp) relation {
	for _, p := range op.Params {
		if !strings.HasPrefix(p.Name, "hint.") {
			ck.fail(p.NamePos, "evaluate parameter %s is not supported", p.Name)
		}
	}
	switch op.Plugin.Name {
	case "bag_unpack":
		return ck.bagUnpack(in, op)
	case "pivot":
		return ck.pivot(in, op)
	case "rows_near":
		return ck.rowsNear(in, op)
	case "ipv4_lookup":
		return ck.ipLookup(in, op, "ipv4")
	case "ipv6_lookup":
		return ck.ipLookup(in, op, "ipv6")
	case "activity_counts_metrics":
		return ck.activityCounts(in, op)
	case "narrow":
		return ck.narrow(in, op)
	}
	ck.fail(op.Plugin.NamePos, "the %s plugin is not supported; tugboat's evaluate has %s", op.Plugin.Name, pluginNames())
	return nil
}

// pluginArgs matches a plugin's positional and named arguments to its
// parameter names; a missing argument is nil.
func (ck *checker) pluginArgs(c *Call, names ...string) []Expr {
	out := make([]Expr, len(names))
	for i, a := range c.Args {
		name := ""
		if c.ArgNames != nil {
			name = c.ArgNames[i]
		}
		j := i
		if name != "" {
			j = -1
			for k, n := range names {
				if strings.EqualFold(n, name) {
					j = k
				}
			}
			if j < 0 {
				ck.fail(a.Position(), "%s has no parameter %s; its parameters are %s", c.Name, name, strings.Join(names, ", "))
			}
		}
		if j >= len(names) {
			ck.fail(a.Position(), "%s takes at most %d arguments", c.Name, len(names))
		}
		if out[j] != nil {
			ck.fail(a.Position(), "%s is given twice to %s", names[j], c.Name)
		}
		out[j] = a
	}
	return out
}

// maxUnpackedColumns bounds the columns bag_unpack makes from the data.
const maxUnpackedColumns = 1000

func (ck *checker) bagUnpack(in relation, op *EvaluateOp) relation {
	cols := in.columns()
	c := op.Plugin
	args := ck.pluginArgs(c, "Column", "OutputColumnPrefix", "columnsConflict", "ignoredProperties")
	if args[0] == nil {
		ck.fail(c.NamePos, "bag_unpack needs the dynamic column to unpack, such as bag_unpack(Properties)")
	}
	bag := ck.expr(args[0], cols)
	if bag.typ() != TypeDynamic {
		ck.fail(args[0].Position(), "bag_unpack needs a dynamic column, but this is %s", bag.typ())
	}
	constStr := func(e Expr, what string) string {
		if e == nil {
			return ""
		}
		s, ok := constString(ck.expr(e, nil))
		if !ok {
			ck.fail(e.Position(), "the %s of bag_unpack must be a constant string", what)
		}
		return s
	}
	prefix := constStr(args[1], "OutputColumnPrefix")
	conflict := constStr(args[2], "columnsConflict")
	switch conflict {
	case "", "error", "replace_source", "keep_source":
	default:
		ck.fail(args[2].Position(), "columnsConflict must be error, replace_source or keep_source, not %q", conflict)
	}
	ignored := map[string]bool{}
	if args[3] != nil {
		l, ok := foldConstant(ck.expr(args[3], nil))
		var names []string
		ok = ok && l.t == TypeDynamic && l.value != nil && json.Unmarshal([]byte(l.value.(string)), &names) == nil
		if !ok {
			ck.fail(args[3].Position(), "ignoredProperties must be a constant array of names, such as dynamic(['a', 'b'])")
		}
		for _, n := range names {
			ignored[n] = true
		}
	}

	// The input's columns, without the unpacked one.
	p := &relProject{in: in}
	skip := -1
	if col, ok := bag.(*tColumn); ok {
		skip = col.idx
	}
	if op.Schema == nil || op.SchemaStar {
		for i, col := range cols {
			if i != skip {
				p.cols = append(p.cols, col)
				p.exprs = append(p.exprs, &tColumn{idx: i, t: col.Type})
			}
		}
	}
	var props []Column // property name and type
	if op.Schema != nil {
		for _, sc := range op.Schema {
			props = append(props, Column{Name: strings.TrimPrefix(sc.Name, prefix), Type: sc.Type})
		}
	} else {
		props = ck.exploreBag(in, bag, c)
	}
	for _, prop := range props {
		if ignored[prop.Name] {
			continue
		}
		name := prefix + prop.Name
		e := bagValue(bag, prop.Name, prop.Type)
		if i := findColumn(p.cols, name); i >= 0 {
			switch {
			case op.Schema != nil && !op.SchemaStar:
				ck.fail(c.NamePos, "column %s is declared twice in the output schema", identString(name))
			case conflict == "replace_source":
				p.cols[i] = Column{Name: name, Type: prop.Type}
				p.exprs[i] = e
			case conflict == "keep_source":
			default:
				ck.fail(c.NamePos, "bag_unpack makes a column %s, which the input already has; use columnsConflict='replace_source' or 'keep_source', or an OutputColumnPrefix", identString(name))
			}
			continue
		}
		p.cols = append(p.cols, Column{Name: name, Type: prop.Type})
		p.exprs = append(p.exprs, e)
	}
	return p
}

// bagValue is property name of bag converted to t.
func bagValue(bag texpr, name string, t Type) texpr {
	path := &tPath{x: bag, path: []pathElem{{key: name}}}
	switch t {
	case TypeDynamic:
		return path
	case TypeString:
		return mkCall("tostring", TypeString, path)
	case TypeLong:
		return mkCall("tolong", TypeLong, path)
	case TypeInt:
		return mkCall("toint", TypeInt, path)
	case TypeReal:
		return mkCall("todouble", TypeReal, path)
	case TypeBool:
		return mkCall("tobool", TypeBool, path)
	case TypeDatetime:
		return mkCall("todatetime", TypeDatetime, path)
	case TypeTimespan:
		return mkCall("totimespan", TypeTimespan, path)
	}
	return mkCall("tostring", t, path)
}

// exploreBag asks the engine for the property names of bag over the input
// and the JSON types of their values: a property whose values all have one
// type gets that type, otherwise dynamic, as Kusto's documentation says.
func (ck *checker) exploreBag(in relation, bag texpr, c *Call) []Column {
	switch {
	case ck.opts != nil && ck.opts.Dialect == ClickHouse:
		ck.fail(c.NamePos, "bag_unpack without an output schema is not supported on ClickHouse 18.16, which cannot list JSON keys; give one: evaluate bag_unpack(Col) : (Name:string, Age:long)")
	case ck.opts == nil || ck.opts.Explore == nil:
		ck.fail(c.NamePos, "bag_unpack needs an output schema here, such as evaluate bag_unpack(Col) : (Name:string, Age:long)")
	}
	plan, err := explorePlan(*ck.opts, func(pl *planner) (frag, []Column) {
		st := pl.relation(in)
		x := pl.expr(bag, st.cols)
		n, _ := inlineNumber(maxUnpackedColumns + 1)
		sql := cat("SELECT _tb_k, string_agg(DISTINCT json_type(_tb_x -> _tb_k), ',') FROM (SELECT _tb_x, unnest(json_keys(_tb_x)) AS _tb_k FROM (SELECT ", x, " AS _tb_x FROM ", st.src, " AS ", pl.alias(),
			") WHERE json_type(_tb_x) = 'OBJECT') GROUP BY _tb_k ORDER BY _tb_k LIMIT "+n)
		return sql, []Column{{Name: "key", Type: TypeString}, {Name: "types", Type: TypeString}}
	})
	if err != nil {
		ck.fail(c.NamePos, "failed to plan the query that lists the properties for bag_unpack: %v", err)
	}
	rows, err := ck.opts.Explore(plan)
	if err != nil {
		ck.fail(c.NamePos, "failed to list the properties for bag_unpack: %v", err)
	}
	if len(rows) > maxUnpackedColumns {
		ck.fail(c.NamePos, "bag_unpack would make more than %d columns; name the ones wanted in an output schema", maxUnpackedColumns)
	}
	var props []Column
	for _, r := range rows {
		name, _ := r[0].(string)
		types, _ := r[1].(string)
		props = append(props, Column{Name: name, Type: jsonKustoType(strings.Split(types, ","))})
	}
	sort.SliceStable(props, func(i, j int) bool { return props[i].Name < props[j].Name })
	return props
}

// jsonKustoType is the Kusto type of values of the given DuckDB JSON
// types: one type (nulls aside) is that type, a mix is dynamic.
func jsonKustoType(types []string) Type {
	seen := map[Type]bool{}
	for _, t := range types {
		switch t {
		case "NULL", "":
		case "BIGINT", "UBIGINT":
			seen[TypeLong] = true
		case "DOUBLE":
			seen[TypeReal] = true
		case "VARCHAR":
			seen[TypeString] = true
		case "BOOLEAN":
			seen[TypeBool] = true
		default:
			seen[TypeDynamic] = true
		}
	}
	if len(seen) != 1 {
		return TypeDynamic
	}
	for t := range seen {
		return t
	}
	return TypeDynamic
}

// explorePlan plans a query built by body over a fresh planner; body
// returns the SELECT and its columns.
func explorePlan(opts Options, body func(pl *planner) (frag, []Column)) (p *Plan, err error) {
	// The restriction applies here too: what the engine lists decides the
	// query's columns, so it must come from the caller's rows only.
	pl := &planner{d: opts.Dialect, now: opts.Now.UTC(), funcs: functionsFor(opts.Dialect), restrict: opts.Restrict}
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(userFailure); ok {
				p, err = nil, f.err
				return
			}
			p, err = nil, fmt.Errorf("%w: %v", ErrInternal, r)
		}
	}()
	sql, cols := body(pl)
	if len(pl.ctes) > 0 {
		sql = cat("WITH ", joinFrags(pl.ctes, ", "), " ", sql)
	}
	return &Plan{SQL: sql.sql, Args: sql.args, Columns: cols}, nil
}
