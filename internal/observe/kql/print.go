package kql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Operator precedence, lowest to highest, from the official grammar
// (microsoft/Kusto-Query-Language grammar/Kql.g4): string operators bind
// tighter than * and /, and equality, relational and string operators do not
// chain.
const (
	precOr = iota + 1
	precAnd
	precEquality
	precRelational
	precAdditive
	precMultiplicative
	precString
	precUnary
	precPostfix
	precAtom
)

// isStringOperator reports the binary operators of the
// stringOperatorExpression level; the parser accepts all of them, the
// checker decides which it supports.
func isStringOperator(op string) bool {
	switch op {
	case "=~", "!~", ":",
		"has", "!has", "has_cs", "!has_cs",
		"hasprefix", "!hasprefix", "hasprefix_cs", "!hasprefix_cs",
		"hassuffix", "!hassuffix", "hassuffix_cs", "!hassuffix_cs",
		"contains", "!contains", "contains_cs", "!contains_cs", "notcontains", "notcontainscs",
		"startswith", "!startswith", "startswith_cs", "!startswith_cs",
		"endswith", "!endswith", "endswith_cs", "!endswith_cs",
		"like", "notlike", "likecs", "notlikecs", "matches regex":
		return true
	}
	return false
}

// isInOperator reports the list operators of the equality level.
func isInOperator(op string) bool {
	switch op {
	case "in", "!in", "in~", "!in~", "has_any", "has_all":
		return true
	}
	return false
}

// binaryPrec returns the precedence of a binary operator and whether it may
// be chained (a - b - c).
func binaryPrec(op string) (int, bool) {
	switch op {
	case "or":
		return precOr, true
	case "and":
		return precAnd, true
	case "==", "!=", "<>":
		return precEquality, false
	case "<", "<=", ">", ">=":
		return precRelational, false
	case "+", "-":
		return precAdditive, true
	case "*", "/", "%":
		return precMultiplicative, true
	}
	return precString, false
}

func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		p, _ := binaryPrec(e.Op)
		return p
	case *In, *Between:
		return precEquality
	case *Unary:
		return precUnary
	case *Member, *Index, *Call:
		return precPostfix
	}
	return precAtom
}

func (e *Ident) String() string   { return identString(e.Name) }
func (e *Literal) String() string { return formatLiteral(e) }
func (e *Star) String() string    { return "*" }
func (e *Binary) String() string  { return exprString(e) }
func (e *Unary) String() string   { return exprString(e) }
func (e *Call) String() string    { return exprString(e) }
func (e *Member) String() string  { return exprString(e) }
func (e *Index) String() string   { return exprString(e) }
func (e *In) String() string      { return exprString(e) }
func (e *Between) String() string { return exprString(e) }

func exprString(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e, 0)
	return b.String()
}

// writeExpr prints e, parenthesised when its precedence is below min. The
// parser drops parentheses, so the printer adds exactly those the grammar
// needs to rebuild the same tree.
func writeExpr(b *strings.Builder, e Expr, min int) {
	if exprPrec(e) < min {
		b.WriteByte('(')
		writeExpr(b, e, 0)
		b.WriteByte(')')
		return
	}
	switch e := e.(type) {
	case *Ident:
		b.WriteString(identString(e.Name))
	case *Literal:
		b.WriteString(formatLiteral(e))
	case *Star:
		b.WriteByte('*')
	case *Binary:
		p, chain := binaryPrec(e.Op)
		left := p + 1
		if chain {
			left = p
		}
		writeExpr(b, e.Left, left)
		b.WriteByte(' ')
		b.WriteString(e.Op)
		b.WriteByte(' ')
		writeExpr(b, e.Right, p+1)
	case *Unary:
		b.WriteString(e.Op)
		writeExpr(b, e.X, precUnary)
	case *Call:
		b.WriteString(e.Name)
		b.WriteByte('(')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			if i < len(e.ArgNames) && e.ArgNames[i] != "" {
				b.WriteString(identString(e.ArgNames[i]) + "=")
			}
			writeExpr(b, a, 0)
		}
		b.WriteByte(')')
	case *Member:
		writeExpr(b, e.X, precPostfix)
		b.WriteByte('.')
		b.WriteString(e.Name)
	case *Index:
		writeExpr(b, e.X, precPostfix)
		b.WriteByte('[')
		writeExpr(b, e.Index, 0)
		b.WriteByte(']')
	case *In:
		writeExpr(b, e.X, precRelational)
		b.WriteByte(' ')
		b.WriteString(e.Op)
		b.WriteString(" (")
		writeExprList(b, e.List)
		b.WriteByte(')')
	case *Between:
		writeExpr(b, e.X, precRelational)
		if e.Not {
			b.WriteString(" !between (")
		} else {
			b.WriteString(" between (")
		}
		writeExpr(b, e.Lo, 0)
		b.WriteString(" .. ")
		writeExpr(b, e.Hi, 0)
		b.WriteByte(')')
	default:
		// Expressions defined beside their operators (toscalar) print themselves.
		b.WriteString(e.String())
	}
}

func writeExprList(b *strings.Builder, list []Expr) {
	for i, a := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, a, 0)
	}
}

// reservedWords are names that must be written as ['name'] because the parser
// would read them as a keyword or an operator in some position.
func reservedWord(s string) bool {
	if isStringOperator(s) || isInOperator(s) || typedLiteralKeyword(s) || isHyphenatedKeyword(s) {
		return true
	}
	switch s {
	case "and", "or", "by", "on", "with", "asc", "desc", "nulls", "first", "last",
		"true", "false", "True", "False", "TRUE", "FALSE", "between", "to", "limit",
		"kind", "flags", "withsource", "isfuzzy", "with_itemindex", "bagexpansion",
		"hint", "typeof", "let", "matches", "regex", "null":
		return true
	}
	return false
}

func isPlainIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !isIdentStart(r) {
			return false
		}
		if i > 0 && !isIdentPart(r) {
			return false
		}
	}
	return true
}

// identString writes a name so that it lexes back to the same name.
func identString(name string) string {
	if isPlainIdent(name) && !reservedWord(name) {
		return name
	}
	return "[" + quoteString(name) + "]"
}

// quoteString writes a double-quoted KQL string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x2028 || r == 0x2029 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatReal prints a real so that it lexes back as a real, not a long.
func formatReal(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

// formatTimespan prints a non-negative duration in the largest exact unit.
func formatTimespan(d time.Duration) string {
	units := []struct {
		d    time.Duration
		name string
	}{
		{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"},
		{time.Millisecond, "ms"}, {time.Microsecond, "microsecond"}, {100 * time.Nanosecond, "tick"},
	}
	for _, u := range units {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "nanosecond"
}

func formatLiteral(l *Literal) string {
	if l.Value == nil {
		switch l.Type {
		case TypeString:
			return `""`
		case TypeLong, TypeInt, TypeReal, TypeBool, TypeDatetime, TypeTimespan, TypeDynamic, TypeGUID:
			return l.Type.String() + "(null)"
		}
		return "dynamic(null)"
	}
	switch v := l.Value.(type) {
	case string:
		switch l.Type {
		case TypeDynamic:
			return "dynamic(" + v + ")"
		case TypeGUID:
			return "guid(" + v + ")"
		}
		return quoteString(v)
	case int64:
		if l.Type == TypeInt || v < 0 {
			return l.Type.String() + "(" + strconv.FormatInt(v, 10) + ")"
		}
		return strconv.FormatInt(v, 10)
	case float64:
		switch {
		case math.IsNaN(v):
			return "real(nan)"
		case math.IsInf(v, 1):
			return "real(+inf)"
		case math.IsInf(v, -1):
			return "real(-inf)"
		case math.Signbit(v):
			return "real(" + formatReal(v) + ")"
		}
		return formatReal(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	case time.Time:
		return "datetime(" + v.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") + ")"
	case time.Duration:
		if v < 0 {
			return "timespan(-" + formatTimespan(-v) + ")"
		}
		return formatTimespan(v)
	}
	return fmt.Sprintf("<%T>", l.Value)
}

// String renders the whole query.
func (q *Query) String() string {
	var b strings.Builder
	for _, l := range q.Lets {
		b.WriteString(l.String())
		b.WriteByte(' ')
	}
	b.WriteString(q.Body.String())
	return b.String()
}

func (l *Let) String() string {
	value := ""
	switch {
	case l.Func != nil:
		value = l.Func.String()
	case l.Tabular != nil:
		value = l.Tabular.String()
	default:
		value = exprString(l.Expr)
	}
	return "let " + identString(l.Name) + " = " + value + ";"
}

func (p *Pipeline) String() string {
	var b strings.Builder
	b.WriteString(p.Source.String())
	for _, op := range p.Ops {
		b.WriteString(" | ")
		b.WriteString(op.String())
	}
	return b.String()
}

// operandString prints a pipeline used as a join side or union item: a bare
// table name stays bare, anything else is parenthesised.
func operandString(p *Pipeline) string {
	if t, ok := p.Source.(*TableRef); ok && len(p.Ops) == 0 {
		return t.String()
	}
	return "(" + p.String() + ")"
}

func (s *TableRef) String() string { return identString(s.Name) }
func (s *Subquery) String() string { return "(" + s.Pipeline.String() + ")" }
func (s *UnionSource) String() string {
	return "union " + paramsString(s.Params) + itemsString(s.Items)
}

func itemsString(items []*Pipeline) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = operandString(it)
	}
	return strings.Join(parts, ", ")
}

// paramsString prints name=value parameters, each followed by a space.
func paramsString(ps []Param) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Name)
		b.WriteByte('=')
		// Parameter values are bare words (kind=or is valid), never brackets.
		if id, ok := p.Value.(*Ident); ok {
			b.WriteString(id.Name)
		} else {
			b.WriteString(exprString(p.Value))
		}
		b.WriteByte(' ')
	}
	return b.String()
}

func namedString(list []NamedExpr) string {
	parts := make([]string, len(list))
	for i, n := range list {
		if len(n.Names) > 0 {
			names := make([]string, len(n.Names))
			for j, x := range n.Names {
				names[j] = identString(x)
			}
			parts[i] = "(" + strings.Join(names, ", ") + ") = " + exprString(n.Expr)
		} else if n.Name != "" {
			parts[i] = identString(n.Name) + " = " + exprString(n.Expr)
		} else {
			parts[i] = exprString(n.Expr)
		}
	}
	return strings.Join(parts, ", ")
}

func identsString(list []*Ident) string {
	parts := make([]string, len(list))
	for i, id := range list {
		parts[i] = identString(id.Name)
	}
	return strings.Join(parts, ", ")
}

func sortKeysString(keys []SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		s := exprString(k.Expr)
		switch k.Order {
		case SortAsc:
			s += " asc"
		case SortDesc:
			s += " desc"
		}
		switch k.Nulls {
		case NullsFirst:
			s += " nulls first"
		case NullsLast:
			s += " nulls last"
		}
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}

func (o *WhereOp) String() string       { return "where " + exprString(o.Pred) }
func (o *ProjectOp) String() string     { return "project " + namedString(o.Cols) }
func (o *ProjectAwayOp) String() string { return "project-away " + identsString(o.Cols) }
func (o *ProjectRenameOp) String() string {
	parts := make([]string, len(o.Renames))
	for i, r := range o.Renames {
		parts[i] = identString(r.New) + " = " + identString(r.Old.Name)
	}
	return "project-rename " + strings.Join(parts, ", ")
}
func (o *ExtendOp) String() string { return "extend " + namedString(o.Cols) }
func (o *SummarizeOp) String() string {
	s := "summarize " + paramsString(o.Params) + namedString(o.Aggs)
	if len(o.By) > 0 {
		if len(o.Aggs) > 0 {
			s += " "
		}
		s += "by " + namedString(o.By)
	}
	return strings.TrimRight(s, " ")
}
func (o *SortOp) String() string { return "sort by " + sortKeysString(o.Keys) }
func (o *TopOp) String() string {
	return "top " + exprString(o.N) + " by " + sortKeysString(o.Keys)
}
func (o *TakeOp) String() string { return "take " + exprString(o.N) }
func (o *DistinctOp) String() string {
	if o.Star {
		return "distinct *"
	}
	return "distinct " + identsString(o.Cols)
}
func (o *CountOp) String() string { return "count" }
func (o *JoinOp) String() string {
	s := "join "
	if o.Kind != "" {
		s += "kind=" + o.Kind + " "
	}
	s += paramsString(o.Params) + operandString(o.Right) + " on "
	parts := make([]string, len(o.On))
	for i, c := range o.On {
		if c.Column != nil {
			parts[i] = identString(c.Column.Name)
		} else {
			parts[i] = "$left." + identString(c.Left.Name) + " == $right." + identString(c.Right.Name)
		}
	}
	return s + strings.Join(parts, ", ")
}
func (o *UnionOp) String() string { return "union " + paramsString(o.Params) + itemsString(o.Items) }
func (o *ParseOp) String() string {
	var b strings.Builder
	b.WriteString("parse ")
	b.WriteString(paramsString(o.Params))
	writeExpr(&b, o.Expr, 0)
	b.WriteString(" with")
	for _, p := range o.Pattern {
		b.WriteByte(' ')
		switch {
		case p.Star:
			b.WriteByte('*')
		case p.Text != nil:
			b.WriteString(formatLiteral(p.Text))
		default:
			b.WriteString(identString(p.Column))
			if p.Type != TypeUnknown {
				b.WriteString(":" + p.Type.String())
			}
		}
	}
	return b.String()
}
func (o *MvExpandOp) String() string {
	parts := make([]string, len(o.Items))
	for i, it := range o.Items {
		parts[i] = namedString([]NamedExpr{it.NamedExpr})
		if it.To != TypeUnknown {
			parts[i] += " to typeof(" + it.To.String() + ")"
		}
	}
	s := "mv-expand " + paramsString(o.Params) + strings.Join(parts, ", ")
	if o.Limit != nil {
		s += " limit " + exprString(o.Limit)
	}
	return s
}
func (o *RenderOp) String() string {
	s := "render " + identString(o.Kind)
	if len(o.Props) > 0 {
		parts := make([]string, len(o.Props))
		for i, p := range o.Props {
			vals := make([]string, len(p.Values))
			for j, v := range p.Values {
				vals[j] = exprString(v)
			}
			parts[i] = identString(p.Name) + "=" + strings.Join(vals, ", ")
		}
		s += " with (" + strings.Join(parts, ", ") + ")"
	}
	return s
}
