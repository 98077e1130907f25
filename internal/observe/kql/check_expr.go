package kql

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Scalar expressions.

func (ck *checker) expr(e Expr, cols []Column) texpr {
	switch e := e.(type) {
	case *Ident:
		if ck.params[e.Name] {
			return ck.lets[e.Name].scalar
		}
		if i := findColumn(cols, e.Name); i >= 0 {
			return &tColumn{idx: i, t: cols[i].Type}
		}
		if b, ok := ck.lets[e.Name]; ok {
			if b.scalar != nil {
				return b.scalar
			}
			if b.fn != nil && b.fn.Expr != nil {
				// A function needing no argument can be named without
				// parentheses; each use calls it (Kusto's named expressions).
				return ck.callScalarFunc(b.fn, &Call{NamePos: e.NamePos, Name: e.Name}, cols)
			}
			ck.fail(e.NamePos, "%s is a table, not a scalar; use it after | join, union or as a query", identString(e.Name))
		}
		if cols == nil {
			ck.fail(e.NamePos, "unknown name %s: only constants and earlier lets can be used here", identString(e.Name))
		}
		msg := fmt.Sprintf("unknown column %s", identString(e.Name))
		candidates := columnNames(cols)
		for n, b := range ck.lets {
			if b.scalar != nil {
				candidates = append(candidates, n)
			}
		}
		if sug := nearest(e.Name, candidates); sug != "" {
			msg += fmt.Sprintf("; did you mean %s?", identString(sug))
		}
		ck.fail(e.NamePos, "%s", msg)
	case *Literal:
		return &tLiteral{value: e.Value, t: e.Type}
	case *Star:
		ck.fail(e.StarPos, "* is only allowed in * has \"term\", * contains \"text\" and arg_max(x, *)")
	case *Binary:
		if _, ok := e.Left.(*Star); ok {
			return ck.starSearch(e, cols)
		}
		return ck.binary(e, ck.expr(e.Left, cols), ck.expr(e.Right, cols), cols)
	case *Unary:
		return ck.unary(e, ck.expr(e.X, cols))
	case *ToScalar:
		return ck.toScalar(e)
	case *Call:
		if r := ck.specialCall(e, cols); r != nil {
			return r
		}
		if b, ok := ck.lets[e.Name]; ok && b.fn != nil {
			return ck.callScalarFunc(b.fn, e, cols)
		}
		if e.Name == "column_ifexists" || e.Name == "columnifexists" {
			return ck.columnIfExists(e, cols)
		}
		if len(e.ArgNames) > 0 {
			ck.fail(e.NamePos, "named arguments are only for let functions, and %s is not one", e.Name)
		}
		if isAggregate(e.Name) {
			ck.fail(e.NamePos, "%s() is an aggregation and is only allowed in summarize", e.Name)
		}
		args := make([]texpr, len(e.Args))
		for i, a := range e.Args {
			if _, ok := a.(*Star); ok {
				ck.fail(a.Position(), "* is not a valid argument of %s", e.Name)
			}
			if c, ok := a.(*Call); ok && c.Name == "typeof" {
				args[i] = ck.typeofArg(c)
				continue
			}
			args[i] = ck.expr(a, cols)
		}
		return ck.call(e, args)
	case *Member:
		return ck.path(ck.expr(e.X, cols), e.X.Position(), pathElem{key: e.Name})
	case *Index:
		x := ck.expr(e.X, cols)
		idx := ck.expr(e.Index, cols)
		switch v := idx.(type) {
		case *tLiteral:
			if s, ok := v.value.(string); ok && v.t == TypeString {
				return ck.path(x, e.X.Position(), pathElem{key: s})
			}
			if n, ok := v.value.(int64); ok {
				return ck.path(x, e.X.Position(), pathElem{index: n, isIndex: true})
			}
		}
		ck.fail(e.Index.Position(), "only constant keys and indexes are supported, such as x[0] or x[\"name\"]")
	case *In:
		return ck.in(e, cols)
	case *Between:
		x, lo, hi := ck.expr(e.X, cols), ck.expr(e.Lo, cols), ck.expr(e.Hi, cols)
		if !orderable(x.typ()) {
			ck.fail(e.OpPos, "between needs a number, datetime or timespan, but the value is %s", x.typ())
		}
		lo = ck.coerceComparable(e.OpPos, "between", x, lo)
		if x.typ() == TypeDatetime && hi.typ() == TypeTimespan {
			// Kusto's `between (start .. span)`: the range ends span after start.
			hi = &tBinary{op: "+", l: lo, r: hi, t: TypeDatetime}
		}
		hi = ck.coerceComparable(e.OpPos, "between", x, hi)
		return &tBetween{x: x, lo: lo, hi: hi, not: e.Not}
	}
	panic(fmt.Sprintf("unexpected expression %T", e))
}

func orderable(t Type) bool {
	return t.isNumeric() || t == TypeDatetime || t == TypeTimespan || t == TypeString
}

// typeofArg turns typeof(long) into a literal carrying the type name.
func (ck *checker) typeofArg(c *Call) texpr {
	if len(c.Args) == 1 {
		if id, ok := c.Args[0].(*Ident); ok {
			if t, ok := ParseType(id.Name); ok {
				return &tLiteral{value: t.String(), t: TypeUnknown}
			}
		}
	}
	ck.fail(c.NamePos, "typeof needs a type name such as typeof(long)")
	return nil
}

func (ck *checker) path(x texpr, pos Pos, el pathElem) texpr {
	if x.typ() != TypeDynamic {
		ck.fail(pos, "only dynamic values have properties or elements, but this is %s; convert it with todynamic()", x.typ())
	}
	if p, ok := x.(*tPath); ok {
		return &tPath{x: p.x, path: append(append([]pathElem(nil), p.path...), el)}
	}
	return &tPath{x: x, path: []pathElem{el}}
}

// starSearch expands * has "x" into a disjunction over the string and
// dynamic columns, as Kusto's any-column search does.
func (ck *checker) starSearch(b *Binary, cols []Column) texpr {
	op := normalizeStringOp(b.Op)
	if !isStringOperator(b.Op) || op == "" {
		ck.fail(b.OpPos, "* can only be used with string operators such as has or contains")
	}
	var out texpr
	for i, c := range cols {
		if c.Type != TypeString && c.Type != TypeDynamic {
			continue
		}
		one := ck.binary(b, &tColumn{idx: i, t: c.Type}, ck.expr(b.Right, cols), cols)
		if out == nil {
			out = one
		} else if strings.HasPrefix(b.Op, "!") {
			out = &tBinary{op: "and", l: out, r: one, t: TypeBool}
		} else {
			out = &tBinary{op: "or", l: out, r: one, t: TypeBool}
		}
	}
	if out == nil {
		ck.fail(b.Left.Position(), "* %s needs at least one string column, and there is none", b.Op)
	}
	return out
}

// normalizeStringOp maps aliases to one spelling and reports "" for the
// operators that are not supported.
func normalizeStringOp(op string) string {
	switch op {
	case ":":
		return "has"
	case "notcontains":
		return "!contains"
	case "notcontainscs":
		return "!contains_cs"
	case "like", "notlike", "likecs", "notlikecs":
		return ""
	}
	return op
}

func (ck *checker) asString(pos Pos, what string, e texpr) texpr {
	switch e.typ() {
	case TypeString:
		return e
	case TypeDynamic, TypeGUID:
		return &tCall{fn: "tostring", args: []texpr{e}, t: TypeString}
	}
	ck.fail(pos, "%s needs a string, but this is %s; convert it with tostring()", what, e.typ())
	return nil
}

func (ck *checker) binary(b *Binary, l, r texpr, cols []Column) texpr {
	switch b.Op {
	case "and", "or":
		if l.typ() != TypeBool || r.typ() != TypeBool {
			ck.fail(b.OpPos, "%s needs bool operands, but they are %s and %s", b.Op, l.typ(), r.typ())
		}
		return &tBinary{op: b.Op, l: l, r: r, t: TypeBool}
	case "==", "!=", "<>":
		op := b.Op
		if op == "<>" {
			op = "!="
		}
		l, r = ck.comparable(b.OpPos, op, l, r, false)
		return &tBinary{op: op, l: l, r: r, t: TypeBool}
	case "<", "<=", ">", ">=":
		l, r = ck.comparable(b.OpPos, b.Op, l, r, true)
		return &tBinary{op: b.Op, l: l, r: r, t: TypeBool}
	case "+", "-", "*", "/", "%":
		return ck.arithmetic(b, l, r)
	}
	op := normalizeStringOp(b.Op)
	if op == "" {
		ck.fail(b.OpPos, "the %s operator is not supported; use contains, startswith, endswith or matches regex", b.Op)
	}
	l = ck.asString(b.Left.Position(), op, l)
	r = ck.asString(b.Right.Position(), op, r)
	switch strings.TrimPrefix(op, "!") {
	case "has", "has_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs":
		if _, ok := constString(r); !ok {
			ck.fail(b.Right.Position(), "%s needs a constant string on the right, such as x %s \"error\"", op, op)
		}
	case "matches regex":
		s, ok := constString(r)
		if !ok {
			ck.fail(b.Right.Position(), "matches regex needs a constant regular expression on the right")
		}
		if _, err := regexp.Compile(s); err != nil {
			ck.fail(b.Right.Position(), "invalid regular expression: %v", err)
		}
	}
	return &tBinary{op: op, l: l, r: r, t: TypeBool}
}

// comparable checks that two operands can be compared; a dynamic operand is
// converted to the other side's type, as Kusto does implicitly.
func (ck *checker) comparable(pos Pos, op string, l, r texpr, ordered bool) (texpr, texpr) {
	lt, rt := l.typ(), r.typ()
	switch {
	case lt == rt:
		if ordered && (lt == TypeDynamic || lt == TypeBool) {
			ck.fail(pos, "cannot order %s values with %s; convert them first", lt, op)
		}
		if lt == TypeDynamic && !ordered {
			return &tCall{fn: "tostring", args: []texpr{l}, t: TypeString}, &tCall{fn: "tostring", args: []texpr{r}, t: TypeString}
		}
		return l, r
	case lt.isNumeric() && rt.isNumeric():
		return l, r
	case lt == TypeDynamic && rt != TypeDynamic:
		return ck.convert(l, rt), r
	case rt == TypeDynamic && lt != TypeDynamic:
		return l, ck.convert(r, lt)
	case (lt == TypeGUID && rt == TypeString) || (lt == TypeString && rt == TypeGUID):
		return l, r
	}
	hint := ""
	if lt == TypeDatetime && rt == TypeString || rt == TypeDatetime && lt == TypeString {
		hint = "; write the time as datetime(2024-01-31 10:00) or convert with todatetime()"
	}
	ck.fail(pos, "cannot compare %s with %s using %s%s", lt, rt, op, hint)
	return nil, nil
}

func (ck *checker) coerceComparable(pos Pos, op string, x, y texpr) texpr {
	_, y = ck.comparable(pos, op, x, y, true)
	return y
}

// convert is the implicit conversion of a dynamic value to t.
func (ck *checker) convert(e texpr, t Type) texpr {
	fn := map[Type]string{TypeString: "tostring", TypeLong: "tolong", TypeInt: "toint", TypeReal: "todouble",
		TypeBool: "tobool", TypeDatetime: "todatetime", TypeTimespan: "totimespan", TypeGUID: "tostring"}[t]
	if fn == "" {
		return e
	}
	if t == TypeGUID {
		t = TypeString
	}
	return &tCall{fn: fn, args: []texpr{e}, t: t}
}

func (ck *checker) arithmetic(b *Binary, l, r texpr) texpr {
	lt, rt := l.typ(), r.typ()
	res := TypeUnknown
	switch {
	case lt.isNumeric() && rt.isNumeric():
		switch {
		case lt == TypeReal || rt == TypeReal:
			res = TypeReal
		case lt == TypeInt && rt == TypeInt:
			res = TypeInt
		default:
			res = TypeLong
		}
	case lt == TypeDatetime && rt == TypeDatetime && b.Op == "-":
		res = TypeTimespan
	case lt == TypeDatetime && rt == TypeTimespan && (b.Op == "+" || b.Op == "-"):
		res = TypeDatetime
	case lt == TypeTimespan && rt == TypeDatetime && b.Op == "+":
		res = TypeDatetime
	case lt == TypeTimespan && rt == TypeTimespan && (b.Op == "+" || b.Op == "-"):
		res = TypeTimespan
	case lt == TypeTimespan && rt == TypeTimespan && b.Op == "/":
		res = TypeReal
	case lt == TypeTimespan && rt.isNumeric() && (b.Op == "*" || b.Op == "/"):
		res = TypeTimespan
	case lt.isNumeric() && rt == TypeTimespan && b.Op == "*":
		res = TypeTimespan
	}
	if res == TypeUnknown {
		hint := ""
		switch {
		case lt == TypeString && rt == TypeString && b.Op == "+":
			hint = "; use strcat() to join strings"
		case lt == TypeDynamic || rt == TypeDynamic:
			hint = "; convert the dynamic value with todouble() or tolong() first"
		}
		ck.fail(b.OpPos, "cannot apply %s to %s and %s%s", b.Op, lt, rt, hint)
	}
	if b.Op == "%" && res != TypeLong && res != TypeInt {
		ck.fail(b.OpPos, "%% needs whole numbers, but the operands are %s and %s", lt, rt)
	}
	return &tBinary{op: b.Op, l: l, r: r, t: res}
}

func (ck *checker) unary(u *Unary, x texpr) texpr {
	if !x.typ().isNumeric() && x.typ() != TypeTimespan {
		ck.fail(u.OpPos, "cannot apply unary %s to %s", u.Op, x.typ())
	}
	if u.Op == "+" {
		return x
	}
	return &tUnary{op: "-", x: x, t: x.typ()}
}

func (ck *checker) in(e *In, cols []Column) texpr {
	x := ck.expr(e.X, cols)
	var list []texpr
	for _, item := range e.List {
		v := ck.expr(item, cols)
		// A dynamic array literal in the list contributes its elements.
		if l, ok := v.(*tLiteral); ok && l.t == TypeDynamic && l.value != nil {
			elems, ok := dynamicElements(l.value.(string))
			if !ok {
				ck.fail(item.Position(), "only arrays of strings, numbers and bools can be used in %s", e.Op)
			}
			list = append(list, elems...)
			continue
		}
		list = append(list, v)
	}
	switch e.Op {
	case "in~", "!in~", "has_any", "has_all":
		x = ck.asString(e.X.Position(), e.Op, x)
		for i, v := range list {
			list[i] = ck.asString(e.List[min(i, len(e.List)-1)].Position(), e.Op, v)
			if _, ok := constString(list[i]); !ok && (e.Op == "has_any" || e.Op == "has_all") {
				ck.fail(e.List[min(i, len(e.List)-1)].Position(), "%s needs constant strings", e.Op)
			}
		}
	default:
		for i, v := range list {
			_, list[i] = ck.comparable(e.OpPos, e.Op, x, v, false)
		}
		if x.typ() == TypeDynamic {
			x = &tCall{fn: "tostring", args: []texpr{x}, t: TypeString}
		}
	}
	return &tIn{op: e.Op, x: x, list: list}
}

func dynamicElements(js string) ([]texpr, bool) {
	var arr []any
	if err := json.Unmarshal([]byte(js), &arr); err != nil {
		return nil, false
	}
	var out []texpr
	for _, v := range arr {
		switch v := v.(type) {
		case string:
			out = append(out, &tLiteral{value: v, t: TypeString})
		case bool:
			out = append(out, &tLiteral{value: v, t: TypeBool})
		case float64:
			if v == math.Trunc(v) && math.Abs(v) < 1e15 {
				out = append(out, &tLiteral{value: int64(v), t: TypeLong})
			} else {
				out = append(out, &tLiteral{value: v, t: TypeReal})
			}
		default:
			return nil, false
		}
	}
	return out, true
}
