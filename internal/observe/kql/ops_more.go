package kql

import (
	"path"
	"strings"
)

// The operators that reshape columns without computing much: serialize,
// project-keep, project-reorder, getschema, as and sample.

// SerializeOp is serialize [Name = expr, ...]: the rows keep their order
// (which tugboat's plans always do), with optional extend-like columns.
type SerializeOp struct {
	OpPos Pos
	Cols  []NamedExpr
}

// ColumnsOp is project-keep or project-reorder with column name patterns
// (a * matches any run of characters).
type ColumnsOp struct {
	OpPos    Pos
	Name     string // project-keep or project-reorder
	Patterns []string
	PatPos   []Pos
}

// GetschemaOp is getschema: one row per column of its input.
type GetschemaOp struct{ OpPos Pos }

// AsOp is as Name: it names its input for later reference; tugboat
// accepts it and passes the rows through.
type AsOp struct {
	OpPos Pos
	Name  string
}

// SampleOp is sample N: N rows of its input, any of them.
type SampleOp struct {
	OpPos Pos
	N     Expr
}

func (*SerializeOp) opNode() {}
func (*ColumnsOp) opNode()   {}
func (*GetschemaOp) opNode() {}
func (*AsOp) opNode()        {}
func (*SampleOp) opNode()    {}

// Position returns the position of the operator keyword.
func (o *SerializeOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *ColumnsOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *GetschemaOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *AsOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *SampleOp) Position() Pos { return o.OpPos }

func (o *SerializeOp) String() string {
	if len(o.Cols) == 0 {
		return "serialize"
	}
	return "serialize " + namedString(o.Cols)
}
func (o *ColumnsOp) String() string   { return o.Name + " " + strings.Join(o.Patterns, ", ") }
func (o *GetschemaOp) String() string { return "getschema" }
func (o *AsOp) String() string        { return "as " + identString(o.Name) }
func (o *SampleOp) String() string    { return "sample " + exprString(o.N) }

// parsePatterns reads name patterns such as Col, Col*, *Name, separated
// by commas; the parts of a pattern are adjacent tokens.
func (p *parser) parsePatterns(op *ColumnsOp) {
	for {
		start := p.peek()
		var b strings.Builder
		end := start.Pos.Offset
		for {
			t := p.peek()
			if t.Pos.Offset != end || (t.Kind != TokIdent && !isPunct(t, "*")) {
				break
			}
			if isKeyword(t, "asc") || isKeyword(t, "desc") || isKeyword(t, "granny-asc") {
				break
			}
			b.WriteString(t.Text)
			end = t.End
			p.next()
		}
		if b.Len() == 0 {
			p.fail(start.Pos, "expected a column name %s, found %s", "in "+op.Name, describe(start))
		}
		op.Patterns = append(op.Patterns, b.String())
		op.PatPos = append(op.PatPos, start.Pos)
		if isKeyword(p.peek(), "asc") || isKeyword(p.peek(), "desc") {
			p.fail(p.peek().Pos, "%s ... asc/desc is not supported; list the columns in the order wanted", op.Name)
		}
		if !isPunct(p.peek(), ",") {
			return
		}
		p.next()
	}
}

func (ck *checker) columnsOp(in relation, op *ColumnsOp) relation {
	cols := in.columns()
	var picked []int
	seen := map[int]bool{}
	for i, pat := range op.Patterns {
		n := 0
		for j, c := range cols {
			if ok, _ := path.Match(pat, c.Name); ok && !seen[j] {
				seen[j] = true
				picked = append(picked, j)
				n++
			}
		}
		if n == 0 && !strings.Contains(pat, "*") {
			ck.unknownColumn(op.PatPos[i], pat, cols)
		}
	}
	if op.Name == "project-keep" {
		// project-keep keeps the input order.
		picked = picked[:0]
		for j := range cols {
			if seen[j] {
				picked = append(picked, j)
			}
		}
	} else {
		for j := range cols {
			if !seen[j] {
				picked = append(picked, j)
			}
		}
	}
	p := &relProject{in: in}
	for _, j := range picked {
		p.cols = append(p.cols, cols[j])
		p.exprs = append(p.exprs, &tColumn{idx: j, t: cols[j].Type})
	}
	return p
}

// getschema lists the input's columns as Kusto does: name, ordinal, the
// .NET type and the KQL type.
func (ck *checker) getschema(in relation) relation {
	dotnet := map[Type]string{TypeString: "System.String", TypeLong: "System.Int64", TypeInt: "System.Int32",
		TypeReal: "System.Double", TypeBool: "System.SByte", TypeDatetime: "System.DateTime",
		TypeTimespan: "System.TimeSpan", TypeDynamic: "System.Object", TypeGUID: "System.Guid"}
	r := &relValues{cols: []Column{{"ColumnName", TypeString}, {"ColumnOrdinal", TypeInt}, {"DataType", TypeString}, {"ColumnType", TypeString}}}
	for i, c := range in.columns() {
		kql := c.Type.String()
		if c.Type == TypeBool {
			kql = "bool"
		}
		r.rows = append(r.rows, []texpr{
			&tLiteral{value: c.Name, t: TypeString}, &tLiteral{value: int64(i), t: TypeInt},
			&tLiteral{value: dotnet[c.Type], t: TypeString}, &tLiteral{value: kql, t: TypeString},
		})
	}
	return r
}
