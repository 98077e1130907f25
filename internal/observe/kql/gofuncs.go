package kql

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
)

// Some of Kusto's functions have no counterpart in DuckDB's SQL: xxhash64,
// IPv6 text, punycode, the regularized incomplete beta function. Writing them
// as SQL would be long, slow and wrong at the edges, while Go's standard
// library and well-kept modules have them. DuckDB runs them as scalar UDFs
// that the store registers when it opens a database (GoFunctions); the
// planner calls them by their _tb_ names, which no KQL identifier can reach.
// ClickHouse 18.16 has no UDFs, so these functions are refused there unless
// its own SQL has the same function (xxHash64).

// GoFunc is one scalar function DuckDB runs in Go.
type GoFunc struct {
	Name   string // the SQL name, _tb_ prefixed
	Args   []Type // argument types: string, long, real, bool or datetime (dynamic is passed as JSON text)
	Result Type
	// Fn computes one row. It gets the arguments as the database driver
	// gives them (string, int64, float64, bool, time.Time) and never nil:
	// a null argument makes the result null without calling Fn. It returns
	// nil for a null result. It must stay bounded on any input.
	Fn func(args []any) (any, error)
}

// goFunctions is the list GoFunctions returns; each functions_*.go file
// adds its own with registerGo.
var goFunctions []GoFunc

func registerGo(fs ...GoFunc) bool {
	goFunctions = append(goFunctions, fs...)
	return true
}

// dynamicResult is a Go function's dynamic result: v as JSON text, or null
// when v is nil — also a nil []any or map[string]any, which the functions
// return when they have no answer.
func dynamicResult(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		if x == nil {
			return nil, nil
		}
	case map[string]any:
		if x == nil {
			return nil, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// GoFunctions are the functions the store registers in DuckDB. Each one
// recovers from a panic into an error, so a bug in one cannot take the
// process down from inside a cgo callback.
func GoFunctions() []GoFunc {
	out := make([]GoFunc, len(goFunctions))
	for i, f := range goFunctions {
		f.Fn = safeGoFn(f.Name, f.Fn)
		out[i] = f
	}
	return out
}

func safeGoFn(name string, fn func([]any) (any, error)) func([]any) (any, error) {
	return func(args []any) (v any, err error) {
		defer func() {
			if r := recover(); r != nil {
				v, err = nil, fmt.Errorf("failed to run %s: internal error: %v\n%s", name, r, debug.Stack())
			}
		}()
		return fn(args)
	}
}

// goSQL is the DuckDB SQL of a call of a Go function: its arguments cast to
// the declared types.
func goSQL(name string, args ...Type) sqlFunc {
	return func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			t := args[min(i, len(args)-1)]
			parts[i] = c.pl.castTo(c.arg(i), c.e.args[i], t)
			if t == TypeDynamic || (t == TypeString && c.typ(i) == TypeDynamic) {
				parts[i] = cat("CAST(", c.arg(i), " AS VARCHAR)")
			}
		}
		f := cat(name+"(", joinFrags(parts, ", "), ")")
		if c.e.t == TypeDynamic {
			return cat("CAST(", f, " AS JSON)")
		}
		return f
	}
}

// goFuncSQL is the DuckDB SQL of a call of the Go function name.
func goFuncSQL(name string) (sqlFunc, bool) {
	for _, f := range goFunctions {
		if f.Name == name {
			return goSQL(name, f.Args...), true
		}
	}
	return nil, false
}
