package kql

import (
	"fmt"
	"strings"
)

// User-defined functions: let f = (a:long, b:string = "x") { [lets;] body };
// The body is a scalar expression or a tabular expression; a call binds the
// parameters (by position or by name, with defaults) and checks the body in
// that scope, so each call is inlined into the plan.

// FuncDef is the parameter list and body of a let function.
type FuncDef struct {
	Params  []FuncParam
	Lets    []*Let
	Expr    Expr      // scalar body
	Tabular *Pipeline // tabular body
}

// FuncParam is one parameter: Name:type, or Name:(cols) / Name:(*) for a
// table, with an optional default.
type FuncParam struct {
	NamePos Pos
	Name    string
	Type    Type
	Tabular bool
	Default Expr
}

// FuncSource is a call of a tabular let function at the start of a
// pipeline.
type FuncSource struct {
	NamePos  Pos
	Name     string
	Args     []Expr
	ArgNames []string
}

func (*FuncSource) sourceNode() {}

// Position returns the position of the function name.
func (s *FuncSource) Position() Pos { return s.NamePos }

func (s *FuncSource) String() string {
	return (&Call{NamePos: s.NamePos, Name: s.Name, Args: s.Args, ArgNames: s.ArgNames}).String()
}

func (f *FuncDef) String() string {
	params := make([]string, len(f.Params))
	for i, p := range f.Params {
		t := p.Type.String()
		if p.Tabular {
			t = "(*)"
		}
		params[i] = identString(p.Name) + ":" + t
		if p.Default != nil {
			params[i] += " = " + exprString(p.Default)
		}
	}
	var b strings.Builder
	b.WriteString("(" + strings.Join(params, ", ") + ") { ")
	for _, l := range f.Lets {
		b.WriteString(l.String() + " ")
	}
	if f.Tabular != nil {
		b.WriteString(f.Tabular.String())
	} else {
		b.WriteString(exprString(f.Expr))
	}
	b.WriteString(" }")
	return b.String()
}

// looksLikeFunction reports whether a let value is a parameter list.
func (p *parser) looksLikeFunction() bool {
	return isPunct(p.peek(), "(") && (isPunct(p.peekN(1), ")") || p.peekN(1).Kind == TokIdent && isPunct(p.peekN(2), ":"))
}

func (p *parser) parseFuncDef() *FuncDef {
	f := &FuncDef{}
	p.expectPunct("(", "to start the parameters")
	for !isPunct(p.peek(), ")") {
		name := p.expectIdent("as a parameter name")
		p.expectPunct(":", "after the parameter name (write name:type)")
		fp := FuncParam{NamePos: name.Pos, Name: name.Text}
		if isPunct(p.peek(), "(") {
			// A tabular parameter: (*) or (col:type, ...); the columns are
			// not checked against the argument.
			p.next()
			depth := 1
			for depth > 0 {
				t := p.next()
				switch {
				case t.Kind == TokEOF:
					p.fail(t.Pos, "unterminated table parameter %s", name.Text)
				case isPunct(t, "("):
					depth++
				case isPunct(t, ")"):
					depth--
				}
			}
			fp.Tabular = true
		} else {
			fp.Type, _ = p.expectType("as the parameter type", "")
		}
		if isPunct(p.peek(), "=") {
			p.next()
			fp.Default = p.parseExpr()
		}
		f.Params = append(f.Params, fp)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", "to close the parameters")
	open := p.expectPunct("{", "to start the function body")
	for isKeyword(p.peek(), "let") {
		f.Lets = append(f.Lets, p.parseLet())
	}
	if p.looksTabular() {
		f.Tabular = p.parsePipeline()
	} else {
		f.Expr = p.parseExpr()
	}
	if isPunct(p.peek(), ";") {
		p.next()
	}
	p.expectPunct("}", fmt.Sprintf("to close the { at %s", open.Pos))
	return f
}

// maxCallDepth bounds nested and recursive function calls.
const maxCallDepth = 32

// withArgs checks fn's body in a scope holding its parameters.
func (ck *checker) withArgs(fn *FuncDef, name string, pos Pos, args []Expr, names []string, cols []Column, body func()) {
	if ck.depth >= maxCallDepth {
		ck.fail(pos, "functions are nested more than %d deep (is %s recursive?)", maxCallDepth, name)
	}
	bound := make([]Expr, len(fn.Params))
	for i, a := range args {
		j := i
		if i < len(names) && names[i] != "" {
			j = -1
			for k, p := range fn.Params {
				if p.Name == names[i] {
					j = k
				}
			}
			if j < 0 {
				ck.fail(a.Position(), "%s has no parameter %s", name, names[i])
			}
		}
		if j >= len(fn.Params) {
			ck.fail(a.Position(), "%s takes %d argument(s), not %d", name, len(fn.Params), len(args))
		}
		bound[j] = a
	}
	scope := map[string]*letBinding{}
	for n, b := range ck.lets {
		scope[n] = b
	}
	params := map[string]bool{}
	for i, p := range fn.Params {
		a := bound[i]
		if a == nil {
			a = p.Default
		}
		if a == nil {
			ck.fail(pos, "missing argument %s of %s", p.Name, name)
		}
		if p.Tabular {
			id, ok := a.(*Ident)
			rel := relation(nil)
			if ok {
				rel = ck.lookupTable(id.Name)
			}
			if rel == nil {
				ck.fail(a.Position(), "argument %s of %s must be a table", p.Name, name)
			}
			scope[p.Name] = &letBinding{table: rel}
			continue
		}
		v := ck.expr(a, cols)
		if v.typ() != p.Type && (!v.typ().isNumeric() || !p.Type.isNumeric()) && !isNullLiteral(v) {
			ck.fail(a.Position(), "argument %s of %s must be %s, but it is %s", p.Name, name, p.Type, v.typ())
		}
		scope[p.Name] = &letBinding{scalar: v}
		params[p.Name] = true
	}
	saved, savedParams := ck.lets, ck.params
	ck.lets, ck.params = scope, params
	ck.depth++
	defer func() { ck.lets, ck.params = saved, savedParams; ck.depth-- }()
	for _, l := range fn.Lets {
		ck.bindLet(l)
		delete(ck.params, l.Name)
	}
	body()
}

func (ck *checker) callScalarFunc(fn *FuncDef, c *Call, cols []Column) texpr {
	if fn.Expr == nil {
		ck.fail(c.NamePos, "%s is a tabular function; call it at the start of a query", c.Name)
	}
	if s, ok := ck.once[fn]; ok && len(c.Args) == 0 {
		s.shared = true
		return s
	}
	var out texpr
	ck.withArgs(fn, c.Name, c.NamePos, c.Args, c.ArgNames, cols, func() { out = ck.expr(fn.Expr, cols) })
	// A toscalar is computed once per query, so every call of a function
	// without parameters returning one gives the same value.
	if s, ok := out.(*tScalarSub); ok && len(fn.Params) == 0 {
		if ck.once == nil {
			ck.once = map[*FuncDef]*tScalarSub{}
		}
		ck.once[fn] = s
	}
	return out
}

func (ck *checker) callTabularFunc(s *FuncSource) relation {
	b, ok := ck.lets[s.Name]
	if !ok || b.fn == nil {
		ck.fail(s.NamePos, "unknown function %s", s.Name)
	}
	var out relation
	ck.withArgs(b.fn, s.Name, s.NamePos, s.Args, s.ArgNames, nil, func() {
		if b.fn.Tabular == nil {
			ck.fail(s.NamePos, "%s is a scalar function; use it in an expression", s.Name)
		}
		out = ck.checkPipeline(b.fn.Tabular, false)
	})
	return out
}
