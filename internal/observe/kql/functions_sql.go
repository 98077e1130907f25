package kql

import (
	"strings"
)

// sqlCall is a function call being planned: its typed arguments are
// translated on demand, because some (regular expressions, type names) are
// constants that go into the SQL differently.
type sqlCall struct {
	pl   *planner
	e    *tCall
	cols []string
}

// sqlFunc translates one function call for one dialect.
type sqlFunc func(c sqlCall) frag

func (c sqlCall) arg(i int) frag { return c.pl.expr(c.e.args[i], c.cols) }

func (c sqlCall) all() []frag {
	out := make([]frag, len(c.e.args))
	for i := range c.e.args {
		out[i] = c.arg(i)
	}
	return out
}

func (c sqlCall) typ(i int) Type { return c.e.args[i].typ() }

// fn is the SQL function name applied to all arguments in order.
func fn(name string) sqlFunc {
	return func(c sqlCall) frag { return cat(name+"(", joinFrags(c.all(), ", "), ")") }
}

// tmpl fills a template whose $0, $1 ... are the arguments, for SQL that is
// not one function call. Arguments may appear more than once.
func tmpl(t string) sqlFunc {
	return func(c sqlCall) frag {
		var parts []any
		rest := t
		for {
			i := strings.IndexByte(rest, '$')
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			if i+1 >= len(rest) || rest[i+1] < '0' || rest[i+1] > '9' {
				// A $ of the SQL itself, such as the JSON path '$'.
				parts = append(parts, rest[:i+1])
				rest = rest[i+1:]
				continue
			}
			parts = append(parts, rest[:i], c.arg(int(rest[i+1]-'0')))
			rest = rest[i+2:]
		}
		return cat(parts...)
	}
}

func (pl *planner) call(e *tCall, cols []string) frag {
	f, ok := pl.funcs[e.fn]
	if !ok && pl.d == DuckDB {
		f, ok = goFuncSQL(e.fn)
	}
	if !ok {
		if pl.d == ClickHouse {
			pl.fail("function %s is not supported on ClickHouse 18.16; DuckDB has it", e.fn)
		}
		pl.fail("function %s is not supported on %s", e.fn, pl.d)
	}
	return f(sqlCall{pl: pl, e: e, cols: cols})
}

// SQL shared by both dialects' tables.

func convertSQL(c sqlCall) frag { return c.pl.convert(c.e.fn, c.e.t, c.e.args[0], c.cols) }

func concatSQL(c sqlCall) frag {
	if len(c.e.args) == 1 {
		return c.arg(0)
	}
	return cat("concat(", joinFrags(c.all(), ", "), ")")
}

func substringSQL(name string) sqlFunc {
	return func(c sqlCall) frag {
		if len(c.e.args) == 3 {
			return cat(name+"(", c.arg(0), ", (", c.arg(1), " + 1), ", c.arg(2), ")")
		}
		if c.pl.d == ClickHouse {
			return cat(name+"(", c.arg(0), ", (", c.arg(1), " + 1), lengthUTF8(", c.arg(0), "))")
		}
		return cat(name+"(", c.arg(0), ", (", c.arg(1), " + 1))")
	}
}

func caseSQL(c sqlCall) frag {
	e := c.e
	parts := []any{"(CASE"}
	for i := 0; i+1 < len(e.args); i += 2 {
		parts = append(parts, " WHEN ", c.arg(i), " THEN ", c.pl.castTo(c.arg(i+1), e.args[i+1], e.t))
	}
	parts = append(parts, " ELSE ", c.pl.castTo(c.arg(len(e.args)-1), e.args[len(e.args)-1], e.t), " END)")
	return cat(parts...)
}

func isEmptySQL(not bool) sqlFunc {
	return func(c sqlCall) frag {
		x := c.arg(0)
		var f frag
		if c.typ(0) == TypeString {
			f = cat("(", x, " IS NULL OR ", x, " = '')")
		} else {
			f = cat("(", x, " IS NULL)")
		}
		if not {
			return cat("(NOT ", f, ")")
		}
		return f
	}
}

func coalesceSQL(c sqlCall) frag {
	e := c.e
	parts := make([]frag, len(e.args))
	for i := range e.args {
		parts[i] = c.pl.castTo(c.arg(i), e.args[i], e.t)
		// Kusto's coalesce skips empty strings as well as nulls.
		if e.t == TypeString && i < len(e.args)-1 {
			parts[i] = cat("NULLIF(", parts[i], ", '')")
		}
	}
	return cat("COALESCE(", joinFrags(parts, ", "), ")")
}

// typedText converts extracted text to t; an empty match is null.
func (pl *planner) typedText(f frag, t Type) frag {
	if t != TypeString {
		return pl.fromString(cat("NULLIF(", f, ", '')"), t)
	}
	return f
}

// functionsFor is the SQL table of dialect d. The planner holds it so that
// the tables, whose entries call back into the planner, are not part of
// their own initialisation.
func functionsFor(d Dialect) map[string]sqlFunc {
	if d == ClickHouse {
		return clickhouseAll
	}
	return duckdbAll
}

// commonFunctions are spelled the same on both engines.
var commonFunctions = map[string]sqlFunc{
	"case":       caseSQL,
	"isempty":    isEmptySQL(false),
	"isnotempty": isEmptySQL(true),
	"isnull":     tmpl("($0 IS NULL)"),
	"isnotnull":  tmpl("($0 IS NOT NULL)"),
	"coalesce":   coalesceSQL,
}

// duckdbAll is DuckDB's whole table.
var duckdbAll = mergeSQL(commonFunctions, duckdbFunctions, duckdbFamilies, duckdbWindow, duckdbHash, duckdbNet, duckdbStats, duckdbRank, duckdbSession, duckdbMore, duckdbTimespan, duckdbSearch, duckdbSketch, duckdbJSON, duckdbOps)

// clickhouseAll is ClickHouse's whole table.
var clickhouseAll = mergeSQL(commonFunctions, clickhouseFunctions, clickhouseFamilies, clickhouseHash, clickhouseStats, clickhouseOps, clickhouseMore)

func mergeSQL(tables ...map[string]sqlFunc) map[string]sqlFunc {
	out := map[string]sqlFunc{}
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}
