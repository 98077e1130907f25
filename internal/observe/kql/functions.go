package kql

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// The scalar function registry, in the shape of promql's parser/functions.go:
// each function is one entry saying how many arguments it takes, what kind
// each must be, its result type and, where typing needs more than that, a
// check hook. Its SQL lives in one table per dialect (sql_duckdb.go,
// sql_clickhouse.go); a function missing from a dialect's table is refused
// there with an error that names it. Adding a function is one entry here,
// one per dialect, and its cases in testdata/engine.

// argKind is what an argument must be. Arguments of kind argString accept
// dynamic and guid values too, converted with tostring() as Kusto does.
type argKind uint8

const (
	argAny argKind = iota
	argString
	argNumber // long, int or real
	argWhole  // long or int
	argBool
	argDatetime
	argTimespan
	argDynamic
	argConstString // a string literal
	argConstWhole  // a whole-number literal
	argScalar      // any type but dynamic (ordered values)
)

func (k argKind) describe() string {
	return [...]string{"any value", "a string", "a number", "a whole number", "a bool", "a datetime", "a timespan",
		"a dynamic value", "a constant string", "a constant whole number", "a string, number, bool, datetime or timespan"}[k]
}

// variadic is the maximum argument count of a function that takes any number.
const variadic = 64

// funcDef describes one scalar function.
type funcDef struct {
	min, max int       // argument count; max == variadic for any number
	args     []argKind // kind of each argument; the last kind repeats
	result   Type      // result type when check is nil; TypeUnknown: the first argument's type
	// check types calls that kinds alone cannot (results that depend on
	// constant arguments, conversions). It runs after the arity and kinds
	// are checked and returns the typed expression.
	check func(ck *checker, c *Call, args []texpr) texpr
	name  string // the canonical name in the plan when it differs (aliases)
}

func sig(min, max int, result Type, args ...argKind) funcDef {
	return funcDef{min: min, max: max, args: args, result: result}
}

func (f funcDef) with(check func(ck *checker, c *Call, args []texpr) texpr) funcDef {
	f.check = check
	return f
}

func (f funcDef) alias(name string) funcDef {
	f.name = name
	return f
}

func (f funcDef) kind(i int) argKind {
	if len(f.args) == 0 {
		return argAny
	}
	return f.args[min(i, len(f.args)-1)]
}

// knownFunctions lists the scalar function names, for suggestions.
func knownFunctions() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// call checks a call of a scalar function against the registry.
func (ck *checker) call(c *Call, args []texpr) texpr {
	def, ok := functions[c.Name]
	if !ok {
		if isAggregate(c.Name) {
			ck.fail(c.NamePos, "%s() is an aggregation and is only allowed in summarize", c.Name)
		}
		reason, ok := unsupportedFunctions[c.Name]
		if !ok {
			reason, ok = undocumentedFunctions[c.Name]
		}
		if ok {
			ck.fail(c.NamePos, "function %s is not supported %s", c.Name, reason)
		}
		msg := fmt.Sprintf("unknown function %s", c.Name)
		if s := nearest(c.Name, knownFunctions()); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		ck.fail(c.NamePos, "%s", msg)
	}
	if len(args) < def.min || len(args) > def.max {
		switch {
		case def.min == def.max:
			ck.fail(c.NamePos, "%s takes %d argument(s), not %d", c.Name, def.min, len(args))
		case def.max == variadic:
			ck.fail(c.NamePos, "%s takes at least %d argument(s), not %d", c.Name, def.min, len(args))
		}
		ck.fail(c.NamePos, "%s takes %d to %d arguments, not %d", c.Name, def.min, def.max, len(args))
	}
	for i := range args {
		args[i] = ck.argOfKind(c, i, args[i], def.kind(i))
	}
	if def.check != nil {
		e := def.check(ck, c, args)
		if tc, ok := e.(*tCall); ok && strings.HasPrefix(tc.fn, "_tb_") && ck.opts != nil && ck.opts.Dialect == ClickHouse {
			// A function DuckDB runs in Go (gofuncs.go): refused here, where
			// the error can name the function and point at the call.
			ck.fail(c.NamePos, "function %s is not supported on ClickHouse 18.16, which cannot run it; DuckDB has it", c.Name)
		}
		return e
	}
	t := def.result
	if t == TypeUnknown && len(args) > 0 {
		t = args[0].typ()
	}
	name := c.Name
	if def.name != "" {
		name = def.name
	}
	return &tCall{fn: name, args: args, t: t}
}

// argOfKind checks argument i of c and applies Kusto's implicit conversions.
func (ck *checker) argOfKind(c *Call, i int, a texpr, k argKind) texpr {
	t := a.typ()
	ok := true
	switch k {
	case argString:
		if t == TypeDynamic || t == TypeGUID {
			return &tCall{fn: "tostring", args: []texpr{a}, t: TypeString}
		}
		ok = t == TypeString
	case argNumber:
		ok = t.isNumeric()
	case argWhole:
		ok = t.isInteger()
	case argBool:
		ok = t == TypeBool
	case argDatetime:
		ok = t == TypeDatetime
	case argTimespan:
		ok = t == TypeTimespan
	case argDynamic:
		ok = t == TypeDynamic
	case argConstString:
		_, ok = constString(a)
	case argConstWhole:
		_, ok = constInt(a)
	case argScalar:
		ok = t != TypeDynamic
	}
	if !ok {
		ck.fail(c.Args[i].Position(), "argument %d of %s must be %s, but it is %s", i+1, c.Name, k.describe(), t)
	}
	return a
}

// need fails with the usual argument message when ok is false.
func (ck *checker) need(c *Call, args []texpr, i int, ok bool, what string) {
	if !ok {
		ck.fail(c.Args[i].Position(), "argument %d of %s must be %s, but it is %s", i+1, c.Name, what, args[i].typ())
	}
}

func mkCall(fn string, t Type, args ...texpr) texpr { return &tCall{fn: fn, args: args, t: t} }

// unsupportedFunctions are Kusto functions tugboat knows and refuses, with
// the reason; they are not typos, so no suggestion is made.
var unsupportedFunctions = map[string]string{
	"ingestion_time":            "because tugboat's tables have no ingestion time",
	"current_principal_details": "because tugboat's principals are Kubernetes identities, without the Entra ID details it returns (current_principal() names the caller)",
	"current_cluster_endpoint":  "because tugboat is not a Kusto cluster",
	"current_database":          "because tugboat is not a Kusto cluster",
	"extent_id":                 "because tugboat's tables have no extents",
	"extent_tags":               "because tugboat's tables have no extents",
	"cursor_after":              "because tugboat has no database cursors",
	"cursor_current":            "because tugboat has no database cursors",
	"materialize":               "because materialize is a tabular function",
}

// commonType is the type of iff/case/coalesce branches: equal types, or the
// widest number.
func (ck *checker) commonType(c *Call, values []texpr) Type {
	t := values[0].typ()
	for _, v := range values[1:] {
		vt := v.typ()
		switch {
		case vt == t:
		case vt.isNumeric() && t.isNumeric():
			if vt == TypeReal || t == TypeReal {
				t = TypeReal
			} else {
				t = TypeLong
			}
		case isNullLiteral(v):
		case isNullLiteral(values[0]) && t != vt:
			t = vt
		default:
			ck.fail(c.NamePos, "the values of %s have different types, %s and %s; convert one so they match", c.Name, t, vt)
		}
	}
	return t
}

func isNullLiteral(e texpr) bool {
	l, ok := e.(*tLiteral)
	return ok && l.value == nil
}

// checkRegex compiles a constant regular expression argument.
func (ck *checker) checkRegex(c *Call, i int, args []texpr) *regexp.Regexp {
	s, ok := constString(args[i])
	ck.need(c, args, i, ok, "a constant regular expression")
	re, err := regexp.Compile(s)
	if err != nil {
		ck.fail(c.Args[i].Position(), "invalid regular expression: %v", err)
	}
	return re
}

// datetimeFormat translates a Kusto format_datetime pattern into strftime.
func datetimeFormat(f string) (string, error) {
	tokens := []struct{ kusto, strf string }{
		{"yyyy", "%Y"}, {"yy", "%y"}, {"MM", "%m"}, {"dd", "%d"}, {"HH", "%H"}, {"hh", "%I"},
		{"mm", "%M"}, {"ss", "%S"}, {"fffffff", "%f0"}, {"ffffff", "%f"}, {"fff", "%g"}, {"tt", "%p"},
		// One letter: the number without a leading zero.
		{"M", "%-m"}, {"d", "%-d"}, {"H", "%-H"}, {"h", "%-I"}, {"m", "%-M"}, {"s", "%-S"},
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		matched := false
		for _, t := range tokens {
			if strings.HasPrefix(f[i:], t.kusto) {
				b.WriteString(t.strf)
				i += len(t.kusto)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		switch f[i] {
		case ' ', '/', '-', ':', ',', '.', '_', '[', ']', 'T', 'Z':
			b.WriteByte(f[i])
			i++
		default:
			return "", fmt.Errorf("unsupported format_datetime pattern %q at %q; use yyyy, MM, dd, HH, hh, mm, ss (or one letter, without a leading zero), fff, tt and the separators / - : , . _ [ ]", f, f[i:])
		}
	}
	return b.String(), nil
}
