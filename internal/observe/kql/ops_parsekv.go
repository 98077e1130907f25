package kql

import (
	"fmt"
	"regexp"
	"strings"
)

// parse-kv extracts the values of named keys from text of key-value pairs
// (Kusto's delimiter mode): pairs are separated by pair_delimiter, a key
// from its value by kv_delimiter, keys and values may be quoted with one
// of the quote characters, and spaces around them are dropped. Each key is
// one regular expression extraction, as parse does, so it runs on both
// engines.

// ParseKvOp is parse-kv Expr as (Key:type, ...) with (name=value, ...).
type ParseKvOp struct {
	OpPos   Pos
	Expr    Expr
	Keys    []Column
	KeyPos  []Pos
	Options []Param
}

func (*ParseKvOp) opNode() {}

// Position returns the position of the operator keyword.
func (o *ParseKvOp) Position() Pos { return o.OpPos }

func (o *ParseKvOp) String() string {
	keys := make([]string, len(o.Keys))
	for i, k := range o.Keys {
		keys[i] = identString(k.Name) + ":" + k.Type.String()
	}
	opts := make([]string, len(o.Options))
	for i, p := range o.Options {
		opts[i] = p.Name + "=" + exprString(p.Value)
	}
	return "parse-kv " + exprString(o.Expr) + " as (" + strings.Join(keys, ", ") + ") with (" + strings.Join(opts, ", ") + ")"
}

func (p *parser) parseParseKv(t Token) *ParseKvOp {
	op := &ParseKvOp{OpPos: t.Pos, Expr: p.parseExpr()}
	p.expectKeyword("as", "after the parse-kv source (write parse-kv Text as (Key:string) with (pair_delimiter=',', kv_delimiter='='))")
	open := p.expectPunct("(", "after parse-kv ... as")
	for {
		k := p.expectIdent("in the parse-kv keys (write Key:type)")
		p.expectPunct(":", "after the key (write Key:type)")
		typ, _ := p.expectType("as the key's type", "")
		op.Keys = append(op.Keys, Column{Name: k.Text, Type: typ})
		op.KeyPos = append(op.KeyPos, k.Pos)
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	p.expectKeyword("with", "after the parse-kv keys (write with (pair_delimiter=',', kv_delimiter='='))")
	open = p.expectPunct("(", "after parse-kv ... with")
	for {
		name := p.expectIdent("in the parse-kv options (write name=value)")
		p.expectPunct("=", "after the option name")
		op.Options = append(op.Options, Param{NamePos: name.Pos, Name: name.Text, Value: p.parseExpr()})
		if !isPunct(p.peek(), ",") {
			break
		}
		p.next()
	}
	p.expectPunct(")", fmt.Sprintf("to close the ( at %s", open.Pos))
	return op
}

func (ck *checker) parseKv(in relation, op *ParseKvOp) relation {
	cols := in.columns()
	src := ck.expr(op.Expr, cols)
	switch src.typ() {
	case TypeString:
	case TypeDynamic:
		src = mkCall("tostring", TypeString, src)
	default:
		ck.fail(op.Expr.Position(), "parse-kv needs a string to parse, but this is %s; convert it with tostring()", src.typ())
	}
	var pairDelim, kvDelim, quotes string
	for _, o := range op.Options {
		v, ok := constString(ck.expr(o.Value, nil))
		if !ok {
			ck.fail(o.Value.Position(), "the parse-kv option %s must be a constant string", o.Name)
		}
		switch o.Name {
		case "pair_delimiter":
			pairDelim = v
		case "kv_delimiter":
			kvDelim = v
		case "quote":
			quotes = v
		default:
			ck.fail(o.NamePos, "the parse-kv option %s is not supported; use pair_delimiter, kv_delimiter and quote", o.Name)
		}
	}
	for _, d := range []struct{ name, v string }{{"pair_delimiter", pairDelim}, {"kv_delimiter", kvDelim}} {
		if len([]rune(d.v)) != 1 {
			ck.fail(op.OpPos, "parse-kv needs %s, one character (such as %s=','); regex and greedy modes are not supported", d.name, d.name)
		}
	}
	pd, kd := regexp.QuoteMeta(pairDelim), regexp.QuoteMeta(kvDelim)
	p := &relProject{in: in, cols: append([]Column(nil), cols...), exprs: identity(cols)}
	for i, k := range op.Keys {
		key := regexp.QuoteMeta(k.Name)
		if quotes != "" {
			q := "[" + regexp.QuoteMeta(quotes) + "]"
			key = "(?:" + key + "|" + q + key + q + ")"
		}
		// A key at the start or after a pair delimiter, then its value up
		// to the next pair delimiter, spaces trimmed.
		prefix := `(?:^|` + pd + `)\s*` + key + `\s*` + kd + `\s*`
		plain := prefix + `([^` + pd + `]*?)\s*(?:` + pd + `|$)`
		value := mkCall("parse_extract", TypeString, src, &tLiteral{value: plain, t: TypeString})
		if quotes != "" {
			q := regexp.QuoteMeta(quotes)
			quoted := mkCall("parse_extract", TypeString, src, &tLiteral{value: prefix + `[` + q + `]([^` + q + `]*)[` + q + `]`, t: TypeString})
			value = mkCall("case", TypeString, mkCall("isnotempty", TypeBool, quoted), quoted, value)
		}
		e := value
		if k.Type != TypeString {
			e = ck.convertText(value, k.Type, op.KeyPos[i])
		}
		if j := findColumn(p.cols, k.Name); j >= 0 {
			p.cols[j].Type = k.Type
			p.exprs[j] = e
			continue
		}
		p.cols = append(p.cols, Column{Name: k.Name, Type: k.Type})
		p.exprs = append(p.exprs, e)
	}
	return p
}

// convertText converts extracted text to a key's type with the to*
// function of that type.
func (ck *checker) convertText(s texpr, t Type, pos Pos) texpr {
	fn := map[Type]string{TypeLong: "tolong", TypeInt: "toint", TypeReal: "todouble", TypeBool: "tobool",
		TypeDatetime: "todatetime", TypeTimespan: "totimespan", TypeDynamic: "todynamic", TypeGUID: "toguid"}[t]
	if fn == "" {
		ck.fail(pos, "parse-kv cannot convert text to %s", t)
	}
	return ck.call(&Call{NamePos: pos, Name: fn, Args: []Expr{&Ident{NamePos: pos, Name: "_"}}}, []texpr{s})
}

// ParseWhereOp is parse-where: parse that drops the rows its pattern does
// not match, instead of giving them empty columns.
type ParseWhereOp struct {
	ParseOp
}

func (o *ParseWhereOp) String() string {
	return "parse-where" + strings.TrimPrefix(o.ParseOp.String(), "parse")
}

func (ck *checker) parseWhere(in relation, op *ParseWhereOp) relation {
	regexKind := false
	for _, p := range op.Params {
		if p.Name == "kind" && paramValue(p.Value) == "regex" {
			regexKind = true
		}
	}
	src := ck.expr(op.Expr, in.columns())
	if src.typ() == TypeDynamic {
		src = mkCall("tostring", TypeString, src)
	}
	if src.typ() != TypeString {
		ck.fail(op.Expr.Position(), "parse-where needs a string to parse, but this is %s; convert it with tostring()", src.typ())
	}
	match := &tBinary{op: "matches regex", l: src, r: &tLiteral{value: ck.parseRegex(&op.ParseOp, -1, regexKind), t: TypeString}, t: TypeBool}
	return ck.parse(&relFilter{in: in, pred: match}, &op.ParseOp)
}

// paramValue is the text of an operator parameter's value (kind=regex):
// the name itself, not its printed form, which quotes reserved words.
func paramValue(v Expr) string {
	switch v := v.(type) {
	case *Ident:
		return v.Name
	case *Literal:
		if s, ok := v.Value.(string); ok {
			return s
		}
	}
	return exprString(v)
}
