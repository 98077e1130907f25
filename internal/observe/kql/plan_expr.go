package kql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Scalar expressions.

func (pl *planner) expr(e texpr, cols []string) frag {
	switch e := e.(type) {
	case *tColumn:
		return raw(quoteIdent(cols[e.idx]))
	case *tLiteral:
		if e.t == TypeUnknown {
			pl.fail("typeof(...) cannot be used here")
		}
		return pl.d.literal(e.value, e.t)
	case *tNow:
		return pl.d.literal(pl.now, TypeDatetime)
	case *tBinary:
		return pl.binary(e, cols)
	case *tUnary:
		return cat("(-", pl.expr(e.x, cols), ")")
	case *tIn:
		return pl.in(e, cols)
	case *tBetween:
		f := cat("(", pl.expr(e.x, cols), " BETWEEN ", pl.expr(e.lo, cols), " AND ", pl.expr(e.hi, cols), ")")
		if e.not {
			// ClickHouse 18.16 cannot parse x NOT BETWEEN a AND b.
			return cat("(NOT ", f, ")")
		}
		return f
	case *tPath:
		return pl.path(e, cols)
	case *tCall:
		return pl.call(e, cols)
	case *tScalarSub:
		return pl.scalarSub(e)
	}
	panic(fmt.Sprintf("unexpected expression %T", e))
}

// termPattern builds the regular expression for the has family: Kusto
// matches whole terms, i.e. maximal runs of letters and digits.
func termPattern(op string, terms []string) string {
	cs := strings.HasSuffix(op, "_cs")
	base := strings.TrimSuffix(strings.TrimPrefix(op, "!"), "_cs")
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = regexp.QuoteMeta(t)
	}
	body := strings.Join(quoted, "|")
	if len(terms) > 1 {
		body = "(?:" + body + ")"
	}
	const before, after = `(?:^|[^\p{L}\p{N}])`, `(?:$|[^\p{L}\p{N}])`
	var re string
	switch base {
	case "hasprefix":
		re = before + body
	case "hassuffix":
		re = body + after
	default:
		re = before + body + after
	}
	if !cs {
		re = "(?i)" + re
	}
	return re
}

// hasMatch is the has family's test. ClickHouse 18.16's match() checks a
// required literal of the pattern case-sensitively before running it, which
// breaks (?i); there both sides are lowered instead.
func (pl *planner) hasMatch(x frag, op string, terms []string) frag {
	if pl.d != ClickHouse || strings.HasSuffix(op, "_cs") {
		return pl.regexMatch(x, param(termPattern(op, terms)))
	}
	lowered := make([]string, len(terms))
	for i, t := range terms {
		lowered[i] = strings.ToLower(t)
	}
	return pl.regexMatch(pl.lower(x), param(strings.TrimPrefix(termPattern(op, lowered), "(?i)")))
}

func (pl *planner) regexMatch(x frag, pattern frag) frag {
	if pl.d == ClickHouse {
		return cat("match(", x, ", ", pattern, ")")
	}
	return cat("regexp_matches(", x, ", ", pattern, ")")
}

func (pl *planner) lower(x frag) frag {
	if pl.d == ClickHouse {
		return cat("lowerUTF8(", x, ")")
	}
	return cat("lower(", x, ")")
}

func (pl *planner) binary(e *tBinary, cols []string) frag {
	ch := pl.d == ClickHouse
	l, r := pl.expr(e.l, cols), pl.expr(e.r, cols)
	lt, rt := e.l.typ(), e.r.typ()
	switch e.op {
	case "and", "or":
		return cat("(", l, " "+strings.ToUpper(e.op)+" ", r, ")")
	case "==", "!=":
		return pl.equality(e.op, l, r, e.l, e.r)
	case "<", "<=", ">", ">=":
		return cat("(", l, " "+e.op+" ", r, ")")
	case "+", "-", "*", "/", "%":
		return pl.arithmetic(e, l, r, lt, rt)
	}
	neg := strings.HasPrefix(e.op, "!")
	op := strings.TrimPrefix(e.op, "!")
	var f frag
	switch op {
	case "=~", "~":
		f = cat("(", pl.lower(l), " = ", pl.lower(r), ")")
		if e.op == "!~" {
			neg = true
		}
	case "contains":
		if ch {
			f = cat("(positionCaseInsensitiveUTF8(", l, ", ", r, ") > 0)")
		} else {
			f = cat("(strpos(", pl.lower(l), ", ", pl.lower(r), ") > 0)")
		}
	case "contains_cs":
		if ch {
			f = cat("(position(", l, ", ", r, ") > 0)")
		} else {
			f = cat("(strpos(", l, ", ", r, ") > 0)")
		}
	case "startswith", "endswith", "startswith_cs", "endswith_cs":
		fn := map[bool]map[bool]string{false: {false: "starts_with", true: "ends_with"}, true: {false: "startsWith", true: "endsWith"}}[ch][strings.HasPrefix(op, "ends")]
		if strings.HasSuffix(op, "_cs") {
			f = cat(fn+"(", l, ", ", r, ")")
		} else {
			f = cat(fn+"(", pl.lower(l), ", ", pl.lower(r), ")")
		}
	case "has", "has_cs", "hasprefix", "hasprefix_cs", "hassuffix", "hassuffix_cs":
		term, _ := constString(e.r)
		f = pl.hasMatch(l, op, []string{term})
	case "matches regex":
		if ch && caseInsensitiveFlag(e.r) {
			pl.fail("matches regex with the i flag is not supported on ClickHouse 18.16, whose match() checks the pattern's literal part case-sensitively whatever the flag says; compare tolower(x) with a lower-case pattern instead")
		}
		f = pl.regexMatch(l, r)
	default:
		panic(fmt.Sprintf("unexpected operator %s", e.op))
	}
	if neg {
		return cat("(NOT ", f, ")")
	}
	return f
}

func (pl *planner) arithmetic(e *tBinary, l, r frag, lt, rt Type) frag {
	ch := pl.d == ClickHouse
	switch {
	case lt == TypeDatetime && rt == TypeDatetime:
		if ch {
			return cat("(toInt64(", l, ") - toInt64(", r, "))")
		}
		return cat("(", l, " - ", r, ")")
	case lt == TypeDatetime || rt == TypeDatetime:
		if ch {
			if lt == TypeTimespan {
				l = cat("toInt64(", l, ")")
			} else {
				r = cat("toInt64(", r, ")")
			}
		}
		return cat("(", l, " "+e.op+" ", r, ")")
	case lt == TypeTimespan && rt == TypeTimespan:
		if e.op == "/" {
			if ch {
				return cat("(", l, " / ", r, ")")
			}
			return cat("(epoch(", l, ") / epoch(", r, "))")
		}
		return cat("(", l, " "+e.op+" ", r, ")")
	case lt == TypeTimespan || rt == TypeTimespan:
		if ch {
			return cat("(", l, " "+e.op+" ", r, ")")
		}
		span, num := l, r
		if rt == TypeTimespan {
			span, num = r, l
		}
		return cat("to_microseconds(CAST(round(epoch(", span, ") * 1000000 "+e.op+" ", num, ") AS BIGINT))")
	}
	if e.op == "%" {
		// Kusto's remainder takes the sign of neither operand: it is never
		// negative (-14 % 12 is 10, 14 % -12 is 2).
		return cat("(((", l, " % ", r, ") + abs(", r, ")) % abs(", r, "))")
	}
	if e.op == "/" && e.t != TypeReal {
		if ch {
			return cat("intDiv(", l, ", ", r, ")")
		}
		return cat("(", l, " // ", r, ")")
	}
	return cat("(", l, " "+e.op+" ", r, ")")
}

func (pl *planner) in(e *tIn, cols []string) frag { return pl.inSQL(e, cols, false) }

// inList is in as a where condition (see predicate).
func (pl *planner) inList(e *tIn, cols []string) frag { return pl.inSQL(e, cols, true) }

func (pl *planner) inSQL(e *tIn, cols []string, plain bool) frag {
	x := pl.expr(e.x, cols)
	switch e.op {
	case "has_any", "has_all":
		terms := make([]string, len(e.list))
		for i, v := range e.list {
			terms[i], _ = constString(v)
		}
		if e.op == "has_any" {
			return pl.hasMatch(x, "has", terms)
		}
		parts := make([]frag, len(terms))
		for i, t := range terms {
			parts[i] = pl.hasMatch(x, "has", []string{t})
		}
		return cat("(", joinFrags(parts, " AND "), ")")
	}
	list := make([]frag, len(e.list))
	for i, v := range e.list {
		list[i] = pl.expr(v, cols)
		if strings.HasSuffix(e.op, "~") {
			list[i] = pl.lower(list[i])
		}
	}
	if strings.HasSuffix(e.op, "~") {
		x = pl.lower(x)
	}
	// As with ==, a null is not in any list of constants.
	op, missing := " IN (", pl.boolSQL(false)
	if strings.HasPrefix(e.op, "!") {
		op, missing = " NOT IN (", pl.boolSQL(true)
	}
	if plain {
		return cat("(", x, op, joinFrags(list, ", "), "))")
	}
	return cat("COALESCE((", x, op, joinFrags(list, ", "), ")), "+missing+")")
}

func (pl *planner) path(e *tPath, cols []string) frag {
	if pl.d == ClickHouse {
		// split(s, d)[i] is common and ClickHouse can index its array.
		if c, ok := e.x.(*tCall); ok && c.fn == "split" && len(e.path) == 1 && e.path[0].isIndex && e.path[0].index >= 0 {
			elem := cat("arrayElement(splitByString(", pl.expr(c.args[1], cols), ", ", pl.expr(c.args[0], cols), "), "+fmt.Sprint(e.path[0].index+1)+")")
			return cat(`if(`, elem, ` = '', NULL, `, raw(chJSONString(elem.sql)), `)`).withArgs(elem.args, 2)
		}
		x := pl.expr(e.x, cols)
		for _, el := range e.path {
			if el.isIndex {
				pl.fail("array indexes on dynamic values are not supported on ClickHouse 18.16; only property names are")
			}
			// 18.16 keeps the whitespace around the raw value.
			x = cat(`replaceRegexpAll(visitParamExtractRaw(`, x, ", ", param(el.key), `), '^\\s+|\\s+$', '')`)
		}
		return x
	}
	var b strings.Builder
	b.WriteString("$")
	for _, el := range e.path {
		if el.isIndex {
			if el.index < 0 {
				fmt.Fprintf(&b, "[#%d]", el.index)
			} else {
				fmt.Fprintf(&b, "[%d]", el.index)
			}
			continue
		}
		if strings.ContainsAny(el.key, `"\`) {
			pl.fail("property names containing quotes or backslashes are not supported: %q", el.key)
		}
		b.WriteString(`."` + el.key + `"`)
	}
	return cat("json_extract(", pl.expr(e.x, cols), ", ", param(b.String()), ")")
}

// withArgs repeats the arguments of a fragment that appears n times in a
// raw string built from its SQL text.
func (f frag) withArgs(args []any, n int) frag {
	out := frag{sql: f.sql}
	out.args = append(out.args, f.args...)
	for i := 1; i < n; i++ {
		out.args = append(out.args, args...)
	}
	return out
}

// castTo widens a numeric branch to the common type of iff/case/coalesce.
func (pl *planner) castTo(x frag, e texpr, t Type) frag {
	if e.typ() == t || !t.isNumeric() || isNullLiteral(e) {
		return x
	}
	return cat("CAST(", x, " AS ", pl.d.sqlType(t), ")")
}

func (pl *planner) toString(x frag, t Type) frag {
	ch := pl.d == ClickHouse
	switch t {
	case TypeString, TypeGUID:
		return x
	case TypeDynamic:
		if ch {
			return cat(`replaceRegexpOne(`, x, `, '^"(.*)"$', '\\1')`)
		}
		return cat("(", x, " ->> '$')")
	case TypeDatetime:
		if ch {
			return cat("concat(replaceOne(toString(", x, ", 'UTC'), ' ', 'T'), 'Z')")
		}
		return cat("strftime(", x, ", '%Y-%m-%dT%H:%M:%SZ')")
	case TypeBool:
		if ch {
			return cat("if(", x, ", 'true', 'false')")
		}
		return cat("(CASE WHEN ", x, " THEN 'true' WHEN NOT ", x, " THEN 'false' END)")
	}
	if ch {
		return cat("toString(", x, ")")
	}
	return cat("CAST(", x, " AS VARCHAR)")
}

// fromString converts text to t, giving NULL when it does not parse, as
// Kusto's conversion functions do.
func (pl *planner) fromString(x frag, t Type) frag {
	if pl.d == ClickHouse {
		switch t {
		case TypeLong, TypeInt:
			// Kusto reads a whole number, else a real cut toward zero (in
			// range), around spaces.
			// toInt64OrNull wraps around past the range: its text must come
			// back unchanged; toInt32 is checked against the range too.
			// The text is named once (ClickHouse resolves an alias anywhere in
			// its SELECT), not repeated in the SQL.
			va, fa, la := pl.internal("s"), pl.internal("f"), pl.internal("l")
			v := raw(quoteIdent(va))
			f := raw(quoteIdent(fa))
			l := cat("ifNull(if(toString(toInt64OrNull((replaceRegexpAll(", x, ", ", param(`^\s+|\s+$`), ", '') AS "+quoteIdent(va)+"))) = ", v, ", toInt64OrNull(", v, "), NULL), if(abs((toFloat64OrNull(", v, ") AS "+quoteIdent(fa)+")) < 9223372036854775807, toInt64(trunc(", f, ")), NULL))")
			if t == TypeInt {
				return cat("if(abs((", l, " AS "+quoteIdent(la)+")) <= 2147483647, toInt32("+quoteIdent(la)+"), NULL)")
			}
			return l
		case TypeReal:
			return cat("toFloat64OrNull(", x, ")")
		case TypeDatetime:
			// parseDateTimeBestEffort reads text Kusto does not ("" as
			// 2000-01-01, 12-02-2022 as a time of day), so ClickHouse reads
			// the ISO 8601 formats only; the others are null there.
			return cat("if(match(", x, ", ", param(isoDatetimeRE), "), parseDateTimeBestEffortOrNull(", x, "), NULL)")
		case TypeBool:
			return cat("(lowerUTF8(", x, ") = 'true')")
		case TypeString, TypeGUID, TypeDynamic:
			return x
		}
		pl.fail("converting text to %s is not supported on ClickHouse 18.16", t)
	}
	if t == TypeString || t == TypeGUID {
		return x
	}
	if t == TypeTimespan {
		return duckTimespan(x)
	}
	if t.isInteger() {
		// DuckDB's cast rounds "1.5" to 2; Kusto reads a whole number, else a
		// real cut toward zero.
		return cat("(CASE WHEN regexp_matches(", x, ", ", param(`^\s*[+-]?[0-9]+\s*$`), ") THEN TRY_CAST(", x, " AS ", pl.d.sqlType(t), ") ELSE TRY_CAST(trunc(TRY_CAST(", x, " AS DOUBLE)) AS ", pl.d.sqlType(t), ") END)")
	}
	if t == TypeDatetime {
		// DuckDB's cast reads ISO 8601; the other documented formats
		// (RFC 822, RFC 850, ...) are read in Go, only where the cast fails.
		// The cast drops a UTC offset (10:00+02:00 would be 10:00), so text
		// ending in one is read in Go, which converts it to UTC.
		return cat("(CASE WHEN regexp_matches(", x, ", ", param(`[+-][0-9]{2}:?[0-9]{2}$`), ") THEN _tb_todatetime(", x, ") ELSE COALESCE(TRY_CAST(", x, " AS TIMESTAMP), _tb_todatetime(", x, ")) END)")
	}
	return cat("TRY_CAST(", x, " AS ", pl.d.sqlType(t), ")")
}

func (pl *planner) convert(fn string, t Type, arg texpr, cols []string) frag {
	x := pl.expr(arg, cols)
	from := arg.typ()
	switch {
	case from == TypeString || from == TypeGUID:
		return pl.fromString(x, t)
	case from == TypeDynamic:
		return pl.fromString(pl.toString(x, TypeDynamic), t)
	case (from.isNumeric() || from == TypeBool) && (t.isNumeric() || t == TypeBool):
		if pl.d == ClickHouse {
			if t == TypeBool {
				return cat("(", x, " <> 0)")
			}
			return cat(map[Type]string{TypeLong: "toInt64", TypeInt: "toInt32", TypeReal: "toFloat64"}[t]+"(", x, ")")
		}
		if from == TypeReal && t.isInteger() {
			// Kusto truncates; a SQL cast would round.
			x = cat("trunc(", x, ")")
		}
		return cat("TRY_CAST(", x, " AS ", pl.d.sqlType(t), ")")
	}
	pl.fail("%s of a %s value is not supported", fn, from)
	return frag{}
}

// bin rounds down to a multiple of the size. Kusto measures datetime bins
// from 0001-01-01, so for sizes that do not divide that distance from the
// Unix epoch (7d, for example) the origin is shifted to match.
func (pl *planner) bin(e *tCall, cols []string) frag {
	x, size := e.args[0], e.args[1]
	xs := pl.expr(x, cols)
	if x.typ() == TypeTimespan {
		// ClickHouse holds timespans as seconds, DuckDB as intervals.
		ss := pl.expr(size, cols)
		if pl.d == ClickHouse {
			return cat("(floor(", xs, " / ", ss, ") * ", pl.expr(size, cols), ")")
		}
		return cat("to_microseconds(CAST(floor(epoch_us(", xs, ") / epoch_us(", ss, ")) * epoch_us(", pl.expr(size, cols), ") AS BIGINT))")
	}
	if x.typ() == TypeDatetime {
		d, isConst := constDuration(size)
		// Seconds from 0001-01-01 to 1970-01-01.
		const kustoEpochOffset = int64(62135596800)
		if pl.d == ClickHouse {
			if !isConst || d%time.Second != 0 {
				pl.fail("bin of a datetime needs a constant whole number of seconds on ClickHouse 18.16")
			}
			s := int64(d / time.Second)
			shift := ((kustoEpochOffset % s) + s) % s
			if shift == 0 {
				return cat("toDateTime(intDiv(toUInt32(", xs, "), ", param(s), ") * ", param(s), ", 'UTC')")
			}
			return cat("toDateTime(intDiv(toInt64(", xs, ") + ", param(shift), ", ", param(s), ") * ", param(s), " - ", param(shift), ", 'UTC')")
		}
		if !isConst {
			return cat("time_bucket(", pl.expr(size, cols), ", ", xs, ", TIMESTAMP '1970-01-01 00:00:00')")
		}
		us := int64(d / time.Microsecond)
		if us <= 0 {
			pl.fail("bin sizes below a microsecond are not supported on DuckDB")
		}
		// Counted from 0001-01-01, the microseconds of every datetime DuckDB holds are
		// non-negative, so integer division is floor division and the bins start at
		// Kusto's origin with no shift. Integer arithmetic, not time_bucket with an
		// origin, which ran the summarize less than half as fast (BenchmarkQuery10M). The
		// constants are computed here, never user text.
		offsetUS := kustoEpochOffset * 1000000
		return cat("make_timestamp((epoch_us(", xs, fmt.Sprintf(") + %d) // %d * %d - %d)", offsetUS, us, us, offsetUS))
	}
	ss := pl.expr(size, cols)
	if e.t.isInteger() && size.typ().isInteger() {
		if pl.d == ClickHouse {
			// intDiv truncates towards zero; bin rounds down.
			return cat("(toInt64(floor(", xs, " / ", ss, ")) * ", pl.expr(size, cols), ")")
		}
		return cat("CAST(floor(", xs, " / ", ss, ") * ", pl.expr(size, cols), " AS BIGINT)")
	}
	return cat("(floor(", xs, " / ", ss, ") * ", pl.expr(size, cols), ")")
}

// equality is Kusto's == and !=: a null compared with a value is not equal
// to it (false for ==, true for !=), unlike SQL's unknown; two nulls give
// null. A non-null constant on one side lets the test be one COALESCE.
func (pl *planner) equality(op string, l, r frag, le, re texpr) frag {
	eq, missing := " = ", pl.boolSQL(false)
	if op == "!=" {
		eq, missing = " <> ", pl.boolSQL(true)
	}
	if isNonNullConst(le) || isNonNullConst(re) {
		return cat("COALESCE((", l, eq, r, "), "+missing+")")
	}
	return cat("(CASE WHEN ", l, " IS NULL AND ", r, " IS NULL THEN NULL WHEN ", l, " IS NULL OR ", r, " IS NULL THEN "+missing+" ELSE (", l, eq, r, ") END)")
}

func isNonNullConst(e texpr) bool {
	l, ok := e.(*tLiteral)
	return ok && l.value != nil
}

// boolSQL is a boolean constant; ClickHouse 18.16 has no true and false.
func (pl *planner) boolSQL(b bool) string {
	switch {
	case pl.d == ClickHouse && b:
		return "1"
	case pl.d == ClickHouse:
		return "0"
	case b:
		return "true"
	}
	return "false"
}

// predicate plans a where condition. A filter drops false and null rows
// alike, so where x == constant and x in (constants), which are the
// common filters, need not turn a null into false: the plain comparison
// keeps the engines' index and partition pruning.
func (pl *planner) predicate(e texpr, cols []string) frag {
	switch e := e.(type) {
	case *tBinary:
		switch {
		case e.op == "and":
			return cat("(", pl.predicate(e.l, cols), " AND ", pl.predicate(e.r, cols), ")")
		case e.op == "==" && (isNonNullConst(e.l) || isNonNullConst(e.r)):
			return cat("(", pl.expr(e.l, cols), " = ", pl.expr(e.r, cols), ")")
		}
	case *tIn:
		if e.op == "in" || e.op == "in~" {
			return pl.inList(e, cols)
		}
	}
	return pl.expr(e, cols)
}

// kustoTimespan is Kusto's timespan text: [-][d.]hh:mm[:ss[.fffffff]].
const kustoTimespan = `^(-?)(?:(\d+)\.)?(\d+):(\d+)(?::(\d+(?:\.\d+)?))?$`

// duckTimespan parses Kusto's timespan text, which DuckDB's interval cast
// does not read ("0.00:03:00" is three minutes); other text falls back to
// the cast (such as "3 minutes").
func duckTimespan(x frag) frag {
	part := func(g int) frag {
		return cat("COALESCE(TRY_CAST(NULLIF(regexp_extract(", x, ", ", param(kustoTimespan), ", "+strconv.Itoa(g)+"), '') AS DOUBLE), 0)")
	}
	secs := cat("(", part(2), " * 86400 + ", part(3), " * 3600 + ", part(4), " * 60 + ", part(5), ")")
	sign := cat("(CASE WHEN starts_with(", x, ", '-') THEN -1 ELSE 1 END)")
	return cat("(CASE WHEN regexp_matches(", x, ", ", param(kustoTimespan), ") THEN to_microseconds(CAST(round(", sign, " * ", secs, " * 1000000) AS BIGINT)) ELSE TRY_CAST(", x, " AS INTERVAL) END)")
}
