package kql

import (
	"regexp"
	"strings"
)

// extract_json (and its older name extractjson) reads the value at a
// JSONPath of $, .name, ['name'] and [index] steps from JSON text, as text
// or as the type of its typeof() argument; text that is not JSON, or a
// path that is not there, gives null. The path is a constant, checked
// here and rewritten in DuckDB's own path syntax. ClickHouse 18.16 refuses
// it.
var jsonFunctions = map[string]funcDef{
	"extract_json": sig(2, 3, TypeString, argConstString, argString, argAny).with(checkExtractJSON),
	"extractjson":  sig(2, 3, TypeString, argConstString, argString, argAny).with(checkExtractJSON),
}

var jsonPathStep = regexp.MustCompile(`^(?:\.([A-Za-z_][A-Za-z0-9_]*)|\['([^'"\\]*)'\]|\["([^'"\\]*)"\]|\[(\d{1,9})\])`)

// duckJSONPath rewrites a Kusto JSONPath in DuckDB's syntax.
func duckJSONPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "$") || len(p) > 1024 {
		return "", false
	}
	out := "$"
	for rest := p[1:]; rest != ""; {
		m := jsonPathStep.FindStringSubmatch(rest)
		if m == nil {
			return "", false
		}
		switch {
		case m[4] != "":
			out += "[" + m[4] + "]"
		default:
			out += `."` + m[1] + m[2] + m[3] + `"`
		}
		rest = rest[len(m[0]):]
	}
	return out, true
}

func checkExtractJSON(ck *checker, c *Call, a []texpr) texpr {
	p, _ := constString(a[0])
	if _, ok := duckJSONPath(p); !ok {
		ck.fail(c.Args[0].Position(), "unsupported JSON path %q; use $ followed by .name, ['name'] or [index] steps", p)
	}
	t := TypeString
	if len(a) == 3 {
		ok := false
		if l, isLit := a[2].(*tLiteral); isLit && l.t == TypeUnknown {
			name, _ := l.value.(string)
			t, ok = ParseType(name)
		}
		ck.need(c, a, 2, ok, "a type, such as typeof(long)")
	}
	return mkCall("extract_json", t, a[0], a[1])
}

var duckdbJSON = map[string]sqlFunc{
	"extract_json": func(c sqlCall) frag {
		p, _ := constString(c.e.args[0])
		path, _ := duckJSONPath(p)
		src := c.arg(1)
		return c.pl.typedText(cat("(CASE WHEN json_valid(", src, ") THEN json_extract_string(", src, ", ", param(path), ") END)"), c.e.t)
	},
}
