package kql

import (
	"fmt"
	"regexp"
	"strings"
)

func (ck *checker) operator(in relation, op Operator) relation {
	cols := in.columns()
	switch op := op.(type) {
	case *WhereOp:
		pred := ck.expr(op.Pred, cols)
		if pred.typ() != TypeBool {
			ck.fail(op.Pred.Position(), "where needs a bool condition, but this expression is %s", pred.typ())
		}
		return &relFilter{in: in, pred: pred}
	case *ProjectOp:
		p := &relProject{in: in}
		for _, n := range op.Cols {
			if several, ok := ck.tupleColumns(n, true, func(x Expr) texpr { return ck.expr(x, cols) }); ok {
				for _, t := range several {
					name := freshName(t.name, p.cols)
					p.cols = append(p.cols, Column{Name: name, Type: t.e.typ()})
					p.exprs = append(p.exprs, t.e)
				}
				continue
			}
			e := ck.expr(n.Expr, cols)
			name := n.Name
			if name == "" {
				name = ck.resultName(n.Expr, cols)
			}
			if name == "" {
				name = freshName("", p.cols)
			}
			if findColumn(p.cols, name) >= 0 {
				ck.fail(namedPos(n), "column %s is declared twice in project; rename one with Name = ...", identString(name))
			}
			p.cols = append(p.cols, Column{Name: name, Type: e.typ()})
			p.exprs = append(p.exprs, e)
		}
		return p
	case *ExtendOp:
		p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
		for _, n := range op.Cols {
			if several, ok := ck.tupleColumns(n, false, func(x Expr) texpr { return inline(ck.expr(x, p.cols), p.exprs) }); ok {
				for _, t := range several {
					if i := findColumn(p.cols, t.name); i >= 0 {
						p.cols[i].Type = t.e.typ()
						p.exprs[i] = t.e
						continue
					}
					p.cols = append(p.cols, Column{Name: t.name, Type: t.e.typ()})
					p.exprs = append(p.exprs, t.e)
				}
				continue
			}
			// Later items may use columns defined earlier in the same extend.
			e := inline(ck.expr(n.Expr, p.cols), p.exprs)
			name := n.Name
			if name == "" {
				name = ck.resultName(n.Expr, cols)
			}
			if name == "" {
				name = freshName("", p.cols)
			}
			if i := findColumn(p.cols, name); i >= 0 {
				p.cols[i].Type = e.typ()
				p.exprs[i] = e
				continue
			}
			p.cols = append(p.cols, Column{Name: name, Type: e.typ()})
			p.exprs = append(p.exprs, e)
		}
		return p
	case *ProjectAwayOp:
		drop := map[int]bool{}
		for _, id := range op.Cols {
			i := findColumn(cols, id.Name)
			if i < 0 {
				ck.unknownColumn(id.NamePos, id.Name, cols)
			}
			drop[i] = true
		}
		p := &relProject{in: in}
		for i, c := range cols {
			if !drop[i] {
				p.cols = append(p.cols, c)
				p.exprs = append(p.exprs, &tColumn{idx: i, t: c.Type})
			}
		}
		return p
	case *ProjectRenameOp:
		p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
		for _, r := range op.Renames {
			i := findColumn(cols, r.Old.Name)
			if i < 0 {
				ck.unknownColumn(r.Old.NamePos, r.Old.Name, cols)
			}
			if j := findColumn(p.cols, r.New); j >= 0 && j != i {
				ck.fail(r.NewPos, "cannot rename %s to %s: a column with that name already exists", identString(r.Old.Name), identString(r.New))
			}
			p.cols[i].Name = r.New
		}
		return p
	case *SummarizeOp:
		return ck.summarize(in, op)
	case *SortOp:
		return &relSort{in: in, keys: ck.sortKeys(op.Keys, cols)}
	case *TopOp:
		n := ck.constCount(op.N, "top")
		return &relLimit{in: &relSort{in: in, keys: ck.sortKeys(op.Keys, cols)}, n: n}
	case *TakeOp:
		return &relLimit{in: in, n: ck.constCount(op.N, "take")}
	case *DistinctOp:
		if op.Star {
			return &relDistinct{in: in}
		}
		p := &relProject{in: in}
		for _, id := range op.Cols {
			i := findColumn(cols, id.Name)
			if i < 0 {
				ck.unknownColumn(id.NamePos, id.Name, cols)
			}
			if findColumn(p.cols, id.Name) >= 0 {
				ck.fail(id.NamePos, "column %s is listed twice in distinct", identString(id.Name))
			}
			p.cols = append(p.cols, cols[i])
			p.exprs = append(p.exprs, &tColumn{idx: i, t: cols[i].Type})
		}
		return &relDistinct{in: p}
	case *CountOp:
		agg := &relAggregate{in: in, cols: []Column{{Name: "_agg0", Type: TypeLong}}, aggs: []aggregate{{fn: "count", t: TypeLong}}}
		return &relProject{in: agg, cols: []Column{{Name: "Count", Type: TypeLong}}, exprs: []texpr{&tColumn{idx: 0, t: TypeLong}}}
	case *JoinOp:
		return ck.join(in, op)
	case *UnionOp:
		return ck.union(in, op.OpPos, op.Params, op.Items)
	case *ParseOp:
		return ck.parse(in, op)
	case *MvExpandOp:
		return ck.mvExpand(in, op)
	case *RenderOp:
		return in
	case *SerializeOp:
		if len(op.Cols) == 0 {
			return in
		}
		return ck.operator(in, &ExtendOp{OpPos: op.OpPos, Cols: op.Cols})
	case *ColumnsOp:
		return ck.columnsOp(in, op)
	case *GetschemaOp:
		return ck.getschema(in)
	case *AsOp:
		return in
	case *SampleOp:
		return &relLimit{in: in, n: ck.constCount(op.N, "sample")}
	case *MakeSeriesOp:
		return ck.makeSeries(in, op)
	case *EvaluateOp:
		return ck.evaluate(in, op)
	case *LookupOp:
		return ck.lookup(in, op)
	case *MvApplyOp:
		return ck.mvApply(in, op)
	case *ScanOp:
		return ck.scan(in, op)
	case *TopHittersOp:
		return ck.topHitters(in, op)
	case *TopNestedOp:
		return ck.topNested(in, op)
	case *SearchOp:
		return ck.search(in, op)
	case *ParseKvOp:
		return ck.parseKv(in, op)
	case *ParseWhereOp:
		return ck.parseWhere(in, op)
	}
	panic(fmt.Sprintf("unexpected operator %T", op))
}

func namedPos(n NamedExpr) Pos {
	if n.Name != "" {
		return n.NamePos
	}
	return n.Expr.Position()
}

// inline replaces column references in e by the expressions that define
// them (used by extend, whose items may refer to earlier items).
func inline(e texpr, defs []texpr) texpr {
	return rewriteExpr(e, func(x texpr) (texpr, bool) {
		if c, ok := x.(*tColumn); ok {
			return defs[c.idx], true
		}
		return nil, false
	})
}

// rewriteExpr rebuilds e bottom-up, replacing each node for which leaf says so
// (and not descending into it); nodes it leaves are copied with their children
// rewritten.
func rewriteExpr(e texpr, leaf func(texpr) (texpr, bool)) texpr {
	if r, ok := leaf(e); ok {
		return r
	}
	rec := func(x texpr) texpr { return rewriteExpr(x, leaf) }
	switch e := e.(type) {
	case *tBinary:
		return &tBinary{op: e.op, l: rec(e.l), r: rec(e.r), t: e.t}
	case *tUnary:
		return &tUnary{op: e.op, x: rec(e.x), t: e.t}
	case *tCall:
		args := make([]texpr, len(e.args))
		for i, a := range e.args {
			args[i] = rec(a)
		}
		return &tCall{fn: e.fn, args: args, t: e.t}
	case *tIn:
		list := make([]texpr, len(e.list))
		for i, a := range e.list {
			list[i] = rec(a)
		}
		return &tIn{op: e.op, x: rec(e.x), list: list}
	case *tBetween:
		return &tBetween{x: rec(e.x), lo: rec(e.lo), hi: rec(e.hi), not: e.not}
	case *tPath:
		return &tPath{x: rec(e.x), path: e.path}
	}
	return e
}

func (ck *checker) constCount(e Expr, op string) int64 {
	t := ck.expr(e, nil)
	n, ok := constInt(t)
	if !ok || n < 0 {
		ck.fail(e.Position(), "%s needs a constant non-negative whole number, such as %s 100", op, op)
	}
	return n
}

func (ck *checker) sortKeys(keys []SortKey, cols []Column) []sortSpec {
	var specs []sortSpec
	for _, k := range keys {
		e := ck.expr(k.Expr, cols)
		if e.typ() == TypeDynamic {
			ck.fail(k.Expr.Position(), "cannot sort by a dynamic value; convert it with tostring(), tolong() or todouble()")
		}
		// Kusto sorts descending unless told otherwise; nulls go last when
		// descending and first when ascending.
		s := sortSpec{e: e, desc: k.Order != SortAsc}
		s.nullsFirst = !s.desc
		switch k.Nulls {
		case NullsFirst:
			s.nullsFirst = true
		case NullsLast:
			s.nullsFirst = false
		}
		specs = append(specs, s)
	}
	return specs
}

func (ck *checker) render(r *RenderOp) *RenderHint {
	kinds := []string{"table", "list", "barchart", "columnchart", "piechart", "timechart", "linechart",
		"areachart", "stackedareachart", "scatterchart", "anomalychart", "card", "pivotchart", "ladderchart", "treemap", "3Dchart", "timepivot"}
	ok := false
	for _, k := range kinds {
		ok = ok || k == r.Kind
	}
	if !ok {
		msg := fmt.Sprintf("unknown visualization %q", r.Kind)
		if s := nearest(r.Kind, kinds); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		ck.fail(r.OpPos, "%s", msg)
	}
	h := &RenderHint{Kind: r.Kind, Properties: map[string]string{}}
	for _, p := range r.Props {
		var vals []string
		for _, v := range p.Values {
			if l, ok := v.(*Literal); ok && l.Type == TypeString {
				vals = append(vals, l.Value.(string))
			} else {
				vals = append(vals, v.String())
			}
		}
		h.Properties[p.Name] = strings.Join(vals, ",")
	}
	return h
}

func (ck *checker) join(left relation, op *JoinOp) relation {
	right := ck.checkPipeline(op.Right, false)
	kind := op.Kind
	if kind == "" {
		kind = "innerunique"
	}
	kinds := []string{"innerunique", "inner", "leftouter", "rightouter", "fullouter", "leftanti", "rightanti", "leftsemi", "rightsemi"}
	valid := false
	for _, k := range kinds {
		valid = valid || k == kind
	}
	if !valid {
		msg := fmt.Sprintf("unknown join kind %q", kind)
		if kind == "anti" || kind == "leftantisemi" {
			msg += `; did you mean "leftanti"?`
		} else if s := nearest(kind, kinds); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += "; use one of " + strings.Join(kinds, ", ")
		}
		ck.fail(op.OpPos, "%s", msg)
	}
	for _, p := range op.Params {
		if !strings.HasPrefix(p.Name, "hint.") {
			ck.fail(p.NamePos, "join parameter %s is not supported", p.Name)
		}
	}
	lcols, rcols := left.columns(), right.columns()
	j := &relJoin{left: left, right: right, kind: kind}
	for _, c := range op.On {
		var l, r *Ident
		if c.Column != nil {
			l, r = c.Column, c.Column
		} else {
			l, r = c.Left, c.Right
		}
		li := findColumn(lcols, l.Name)
		if li < 0 {
			ck.fail(l.NamePos, "join column %s is not in the left side%s", identString(l.Name), suggestion(l.Name, lcols))
		}
		ri := findColumn(rcols, r.Name)
		if ri < 0 {
			ck.fail(r.NamePos, "join column %s is not in the right side%s", identString(r.Name), suggestion(r.Name, rcols))
		}
		lt, rt := lcols[li].Type, rcols[ri].Type
		if lt != rt && (!lt.isNumeric() || !rt.isNumeric()) {
			ck.fail(l.NamePos, "join columns must have the same type, but %s is %s and %s is %s", identString(l.Name), lt, identString(r.Name), rt)
		}
		if lt == TypeDynamic {
			ck.fail(l.NamePos, "cannot join on a dynamic column; convert it with tostring() first")
		}
		j.leftKeys = append(j.leftKeys, li)
		j.rightKeys = append(j.rightKeys, ri)
	}
	switch kind {
	case "leftanti", "leftsemi":
		for i, c := range lcols {
			j.cols = append(j.cols, c)
			j.out = append(j.out, joinOut{idx: i})
		}
	case "rightanti", "rightsemi":
		for i, c := range rcols {
			j.cols = append(j.cols, c)
			j.out = append(j.out, joinOut{right: true, idx: i})
		}
	default:
		// Right-side columns whose names clash get a numeric suffix (Key1).
		for i, c := range lcols {
			j.cols = append(j.cols, c)
			j.out = append(j.out, joinOut{idx: i})
		}
		for i, c := range rcols {
			j.cols = append(j.cols, Column{Name: freshName(c.Name, j.cols), Type: c.Type})
			j.out = append(j.out, joinOut{right: true, idx: i})
		}
	}
	return j
}

func suggestion(name string, cols []Column) string {
	if s := nearest(name, columnNames(cols)); s != "" {
		return fmt.Sprintf("; did you mean %s?", identString(s))
	}
	return ""
}

func (ck *checker) union(first relation, pos Pos, params []Param, items []*Pipeline) relation {
	inner := false
	source := ""
	for _, p := range params {
		switch {
		case p.Name == "withsource":
			id, ok := p.Value.(*Ident)
			if !ok {
				ck.fail(p.NamePos, "withsource needs a column name, such as withsource=SourceTable")
			}
			source = id.Name
		case p.Name == "kind" && paramValue(p.Value) == "outer":
		case p.Name == "kind" && paramValue(p.Value) == "inner":
			inner = true
		case strings.HasPrefix(p.Name, "hint."):
		default:
			ck.fail(p.NamePos, "union parameter %s=%s is not supported", p.Name, p.Value)
		}
	}
	var inputs []relation
	if first != nil {
		inputs = append(inputs, first)
	}
	for _, it := range items {
		inputs = append(inputs, ck.checkPipeline(it, false))
	}
	if source != "" {
		inputs = withSource(inputs, source)
	}
	return ck.unionOf(pos, inputs, inner)
}

// unionOf is the union of inputs: their columns by name, in order of first
// appearance (only those of every input when inner).
func (ck *checker) unionOf(pos Pos, inputs []relation, inner bool) *relUnion {
	u := &relUnion{inputs: inputs}
	for idx, in := range inputs {
		for _, c := range in.columns() {
			if i := findColumn(u.cols, c.Name); i >= 0 {
				if u.cols[i].Type != c.Type {
					ck.fail(pos, "union: column %s is %s in one input and %s in input %d; convert one side so the types match", identString(c.Name), u.cols[i].Type, c.Type, idx+1)
				}
				continue
			}
			u.cols = append(u.cols, c)
		}
	}
	if inner {
		var kept []Column
		for _, c := range u.cols {
			everywhere := true
			for _, in := range inputs {
				everywhere = everywhere && findColumn(in.columns(), c.Name) >= 0
			}
			if everywhere {
				kept = append(kept, c)
			}
		}
		u.cols = kept
	}
	for _, in := range inputs {
		m := make([]int, len(u.cols))
		for j, c := range u.cols {
			m[j] = findColumn(in.columns(), c.Name)
		}
		u.maps = append(u.maps, m)
	}
	return u
}

// parse compiles the pattern into one regular expression per extracted
// column, in which only that column's group captures.
func (ck *checker) parse(in relation, op *ParseOp) relation {
	cols := in.columns()
	regexKind := false
	for _, p := range op.Params {
		switch {
		case p.Name == "kind" && (paramValue(p.Value) == "simple" || paramValue(p.Value) == "relaxed"):
		case p.Name == "kind" && paramValue(p.Value) == "regex":
			regexKind = true
		default:
			ck.fail(p.NamePos, "parse parameter %s=%s is not supported; use kind=simple or kind=regex", p.Name, p.Value)
		}
	}
	src := ck.expr(op.Expr, cols)
	switch src.typ() {
	case TypeString:
	case TypeDynamic:
		src = &tCall{fn: "tostring", args: []texpr{src}, t: TypeString}
	default:
		ck.fail(op.Expr.Position(), "parse needs a string to parse, but this is %s; convert it with tostring()", src.typ())
	}
	p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
	var columnParts []int
	for i, part := range op.Pattern {
		if part.Column != "" {
			columnParts = append(columnParts, i)
		}
	}
	if len(columnParts) == 0 {
		ck.fail(op.OpPos, "the parse pattern extracts no column; name at least one, such as Name:string")
	}
	for _, target := range columnParts {
		re := ck.parseRegex(op, target, regexKind)
		part := op.Pattern[target]
		t := part.Type
		if t == TypeUnknown {
			t = TypeString
		}
		e := &tCall{fn: "parse_extract", args: []texpr{src, &tLiteral{value: re, t: TypeString}}, t: t}
		if i := findColumn(p.cols, part.Column); i >= 0 {
			p.cols[i].Type = t
			p.exprs[i] = e
			continue
		}
		p.cols = append(p.cols, Column{Name: part.Column, Type: t})
		p.exprs = append(p.exprs, e)
	}
	return p
}

// parseRegex is the regular expression of a parse pattern in which only
// the column part at index target captures (none when target is -1).
func (ck *checker) parseRegex(op *ParseOp, target int, regexKind bool) string {
	var re strings.Builder
	re.WriteString("^")
	for i, part := range op.Pattern {
		switch {
		case part.Star:
			re.WriteString(".*?")
		case part.Text != nil:
			if regexKind {
				re.WriteString("(?:" + part.Text.Value.(string) + ")")
			} else {
				re.WriteString(regexp.QuoteMeta(part.Text.Value.(string)))
			}
		default:
			last := i == len(op.Pattern)-1
			g := parseGroup(part.Type, last)
			if i == target {
				re.WriteString("(" + g + ")")
			} else {
				re.WriteString("(?:" + g + ")")
			}
		}
	}
	if _, err := regexp.Compile(re.String()); err != nil {
		ck.fail(op.OpPos, "the parse pattern is not a valid regular expression: %v", err)
	}
	return re.String()
}

func parseGroup(t Type, last bool) string {
	switch t {
	case TypeLong, TypeInt:
		return `-?\d+`
	case TypeReal:
		return `-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?`
	case TypeBool:
		return `(?i:true|false)`
	}
	if last {
		return ".*"
	}
	return ".*?"
}

// mvExpand expands one or more dynamic arrays (or property bags) into one
// row per element; several columns expand side by side, the shorter ones
// padded with nulls, as Kusto does.
func (ck *checker) mvExpand(in relation, op *MvExpandOp) relation {
	cols := in.columns()
	m := &relMvExpand{in: in, cols: append([]Column(nil), cols...), index: -1}
	for _, p := range op.Params {
		v := paramValue(p.Value)
		switch {
		case p.Name == "kind" && v == "array":
			m.kindArray = true
		case p.Name == "kind" && v == "bag":
		case p.Name == "bagexpansion" && (v == "array" || v == "bag"):
			m.kindArray = v == "array"
		case p.Name == "with_itemindex":
			id, ok := p.Value.(*Ident)
			if !ok {
				ck.fail(p.NamePos, "with_itemindex needs a column name, such as with_itemindex=i")
			}
			m.indexName = id.Name
		default:
			ck.fail(p.NamePos, "mv-expand parameter %s=%s is not supported", p.Name, p.Value)
		}
	}
	for _, item := range op.Items {
		e := ck.expr(item.Expr, cols)
		if e.typ() != TypeDynamic {
			ck.fail(item.Expr.Position(), "mv-expand needs a dynamic array, but this is %s", e.typ())
		}
		name := item.Name
		if name == "" {
			name = ck.resultName(item.Expr, cols)
		}
		if name == "" {
			ck.fail(item.Expr.Position(), "name the expanded column: mv-expand Name = expression")
		}
		t := item.To
		if t == TypeUnknown {
			t = TypeDynamic
		}
		col := findColumn(m.cols, name)
		if col >= 0 {
			m.cols[col].Type = t
		} else {
			m.cols = append(m.cols, Column{Name: name, Type: t})
			col = len(m.cols) - 1
		}
		m.items = append(m.items, mvItem{col: col, expr: e})
	}
	if m.indexName != "" {
		if findColumn(m.cols, m.indexName) >= 0 {
			ck.fail(op.OpPos, "with_itemindex column %s already exists", identString(m.indexName))
		}
		m.cols = append(m.cols, Column{Name: m.indexName, Type: TypeLong})
		m.index = len(m.cols) - 1
	}
	if op.Limit != nil {
		m.limit = ck.constCount(op.Limit, "mv-expand limit")
	}
	return m
}
