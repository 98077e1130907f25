package kql

// Node is any element of a parsed query. String returns canonical KQL that
// parses back to an equal tree.
type Node interface {
	Position() Pos
	String() string
}

// Expr is a scalar expression. The unexported marker method seals the
// interface: only the types in this file are expressions.
type Expr interface {
	Node
	exprNode()
}

// Ident is a reference to a column or a let-bound scalar.
type Ident struct {
	NamePos Pos
	Name    string
}

// Literal is a constant. Value is nil for a typed null (datetime(null)) and
// otherwise a string, int64 (long and int), float64, bool, time.Time,
// time.Duration, canonical JSON text (dynamic) or lower-case text (guid).
type Literal struct {
	LitPos Pos
	Type   Type
	Value  any
}

// Star is the * in arg_max(x, *), count(*) and * has "term".
type Star struct {
	StarPos Pos
}

// Binary is a binary operation; Op is the KQL spelling (and, ==, has,
// !contains, matches regex, ...).
type Binary struct {
	Op    string
	OpPos Pos
	Left  Expr
	Right Expr
}

// Unary is a sign applied to an operand (-x, +x).
type Unary struct {
	Op    string
	OpPos Pos
	X     Expr
}

// Call is a function or aggregate call.
type Call struct {
	NamePos  Pos
	Name     string
	Args     []Expr
	ArgNames []string // f(name=value): the names, "" for positional arguments; nil when none is named
}

// Member is property access on a dynamic value: X.Name.
type Member struct {
	X      Expr
	DotPos Pos
	Name   string
}

// Index is element access on a dynamic value: X[0] or X["key"].
type Index struct {
	X     Expr
	LbPos Pos
	Index Expr
}

// In is X in (a, b), and its variants !in, in~, !in~, has_any, has_all.
type In struct {
	X     Expr
	Op    string
	OpPos Pos
	List  []Expr
}

// Between is X between (Lo .. Hi) or X !between (Lo .. Hi).
type Between struct {
	X     Expr
	Not   bool
	OpPos Pos
	Lo    Expr
	Hi    Expr
}

func (*Ident) exprNode()   {}
func (*Literal) exprNode() {}
func (*Star) exprNode()    {}
func (*Binary) exprNode()  {}
func (*Unary) exprNode()   {}
func (*Call) exprNode()    {}
func (*Member) exprNode()  {}
func (*Index) exprNode()   {}
func (*In) exprNode()      {}
func (*Between) exprNode() {}

// Position returns the position of the identifier's name.
func (e *Ident) Position() Pos { return e.NamePos }

// Position returns the position of the literal's first character.
func (e *Literal) Position() Pos { return e.LitPos }

// Position returns the position of the *.
func (e *Star) Position() Pos { return e.StarPos }

// Position returns the position of the left operand, where the expression starts.
func (e *Binary) Position() Pos { return e.Left.Position() }

// Position returns the position of the sign.
func (e *Unary) Position() Pos { return e.OpPos }

// Position returns the position of the function name.
func (e *Call) Position() Pos { return e.NamePos }

// Position returns the position of X, where the access starts.
func (e *Member) Position() Pos { return e.X.Position() }

// Position returns the position of X, where the access starts.
func (e *Index) Position() Pos { return e.X.Position() }

// Position returns the position of X, where the expression starts.
func (e *In) Position() Pos { return e.X.Position() }

// Position returns the position of X, where the expression starts.
func (e *Between) Position() Pos { return e.X.Position() }

// Query is a whole query: let statements, then one tabular expression.
type Query struct {
	Lets []*Let
	Body *Pipeline
}

// Let binds a name to a scalar expression (Expr) or a tabular expression
// (Tabular); exactly one is set. let T = SomeTable; parses as a scalar Ident
// and the checker resolves it to the table.
type Let struct {
	LetPos  Pos
	Name    string
	NamePos Pos
	Expr    Expr
	Tabular *Pipeline
	Func    *FuncDef // a user-defined function
}

// Pipeline is Source | op | op ...
type Pipeline struct {
	Source Source
	Ops    []Operator
}

// Source starts a pipeline.
type Source interface {
	Node
	sourceNode()
}

// TableRef names a table or a tabular let.
type TableRef struct {
	NamePos Pos
	Name    string
}

// Subquery is a parenthesised pipeline used as a source.
type Subquery struct {
	LparenPos Pos
	Pipeline  *Pipeline
}

// UnionSource is union at the start of a pipeline.
type UnionSource struct {
	UnionPos Pos
	Params   []Param
	Items    []*Pipeline
}

func (*TableRef) sourceNode()    {}
func (*Subquery) sourceNode()    {}
func (*UnionSource) sourceNode() {}

// Position returns the position of the table name.
func (s *TableRef) Position() Pos { return s.NamePos }

// Position returns the position of the opening parenthesis.
func (s *Subquery) Position() Pos { return s.LparenPos }

// Position returns the position of the union keyword.
func (s *UnionSource) Position() Pos { return s.UnionPos }

// Param is a name=value operator parameter (kind=inner, hint.strategy=broadcast).
type Param struct {
	NamePos Pos
	Name    string
	Value   Expr // an Ident or a Literal
}

// NamedExpr is [Name =] Expr in project, extend and summarize.
type NamedExpr struct {
	Name    string // empty when the name is derived from the expression
	NamePos Pos
	Expr    Expr
	// Names are the tuple names of (a, b) = f(...), for a function that
	// makes several columns (project, extend and print only); Name is empty.
	Names []string
}

// Operator is a tabular operator after a pipe.
type Operator interface {
	Node
	opNode()
}

// WhereOp is where (or filter).
type WhereOp struct {
	OpPos Pos
	Pred  Expr
}

// ProjectOp is project.
type ProjectOp struct {
	OpPos Pos
	Cols  []NamedExpr
}

// ProjectAwayOp is project-away.
type ProjectAwayOp struct {
	OpPos Pos
	Cols  []*Ident
}

// Rename is New = Old in project-rename.
type Rename struct {
	New    string
	NewPos Pos
	Old    *Ident
}

// ProjectRenameOp is project-rename.
type ProjectRenameOp struct {
	OpPos   Pos
	Renames []Rename
}

// ExtendOp is extend.
type ExtendOp struct {
	OpPos Pos
	Cols  []NamedExpr
}

// SummarizeOp is summarize [params] [aggs] [by keys].
type SummarizeOp struct {
	OpPos  Pos
	Params []Param
	Aggs   []NamedExpr
	By     []NamedExpr
}

// SortOrder is the written direction of a sort key.
type SortOrder uint8

// Sort directions; SortDefault means the user wrote none (Kusto: desc).
const (
	SortDefault SortOrder = iota
	SortAsc
	SortDesc
)

// NullsOrder is the written null placement of a sort key.
type NullsOrder uint8

// Null placements; NullsDefault means the user wrote none (Kusto: last for
// desc, first for asc).
const (
	NullsDefault NullsOrder = iota
	NullsFirst
	NullsLast
)

// SortKey is one expression of sort by / top by.
type SortKey struct {
	Expr  Expr
	Order SortOrder
	Nulls NullsOrder
}

// SortOp is sort by (or order by).
type SortOp struct {
	OpPos Pos
	Keys  []SortKey
}

// TopOp is top N by key.
type TopOp struct {
	OpPos Pos
	N     Expr
	Keys  []SortKey
}

// TakeOp is take N (or limit N).
type TakeOp struct {
	OpPos Pos
	N     Expr
}

// DistinctOp is distinct * or distinct a, b.
type DistinctOp struct {
	OpPos Pos
	Star  bool
	Cols  []*Ident
}

// CountOp is the count operator.
type CountOp struct {
	OpPos Pos
}

// JoinCond is one condition of join ... on: either a column present on both
// sides (Column) or $left.Left == $right.Right.
type JoinCond struct {
	Column *Ident
	Left   *Ident
	Right  *Ident
}

// JoinOp is join [kind=K] [hints] Right on conds.
type JoinOp struct {
	OpPos  Pos
	Kind   string // empty when not written (Kusto: innerunique)
	Params []Param
	Right  *Pipeline
	On     []JoinCond
}

// UnionOp is | union T1, (T2 | ...).
type UnionOp struct {
	OpPos  Pos
	Params []Param
	Items  []*Pipeline
}

// ParsePart is one element of a parse pattern: * (Star), a string (Text) or
// a column to extract (Column, with an optional Type).
type ParsePart struct {
	Pos     Pos
	Star    bool
	Text    *Literal
	Column  string
	Type    Type // TypeUnknown when not written (string)
	TypePos Pos
}

// ParseOp is parse [kind=...] Expr with pattern.
type ParseOp struct {
	OpPos   Pos
	Params  []Param
	Expr    Expr
	Pattern []ParsePart
}

// MvExpandItem is one [Name =] Expr [to typeof(T)] of mv-expand.
type MvExpandItem struct {
	NamedExpr
	To Type // TypeUnknown when not written (dynamic)
}

// MvExpandOp is mv-expand.
type MvExpandOp struct {
	OpPos  Pos
	Params []Param
	Items  []MvExpandItem
	Limit  Expr // nil when not written
}

// RenderProp is one name=value[, value...] of render ... with (...).
type RenderProp struct {
	NamePos Pos
	Name    string
	Values  []Expr
}

// RenderOp is render Kind [with (props)]: a hint for the client.
type RenderOp struct {
	OpPos Pos
	Kind  string
	Props []RenderProp
}

func (*WhereOp) opNode()         {}
func (*ProjectOp) opNode()       {}
func (*ProjectAwayOp) opNode()   {}
func (*ProjectRenameOp) opNode() {}
func (*ExtendOp) opNode()        {}
func (*SummarizeOp) opNode()     {}
func (*SortOp) opNode()          {}
func (*TopOp) opNode()           {}
func (*TakeOp) opNode()          {}
func (*DistinctOp) opNode()      {}
func (*CountOp) opNode()         {}
func (*JoinOp) opNode()          {}
func (*UnionOp) opNode()         {}
func (*ParseOp) opNode()         {}
func (*MvExpandOp) opNode()      {}
func (*RenderOp) opNode()        {}

// Position returns the position of the operator keyword.
func (o *WhereOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *ProjectOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *ProjectAwayOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *ProjectRenameOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *ExtendOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *SummarizeOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *SortOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *TopOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *TakeOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *DistinctOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *CountOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *JoinOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *UnionOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *ParseOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *MvExpandOp) Position() Pos { return o.OpPos }

// Position returns the position of the operator keyword.
func (o *RenderOp) Position() Pos { return o.OpPos }

// Position returns the position of the first let keyword, or of the body when
// there are no lets.
func (q *Query) Position() Pos {
	if len(q.Lets) > 0 {
		return q.Lets[0].LetPos
	}
	return q.Body.Position()
}

// Position returns the position of the let keyword.
func (l *Let) Position() Pos { return l.LetPos }

// Position returns the position of the pipeline's source.
func (p *Pipeline) Position() Pos { return p.Source.Position() }
