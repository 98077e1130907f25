package kql

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// TokenKind classifies a token.
type TokenKind uint8

// Token kinds. Keywords are identifiers because KQL keywords are contextual:
// the parser decides, so a column may be called "count" or "by".
const (
	TokEOF     TokenKind = iota
	TokIdent             // a name, a keyword or a word operator such as !contains, in~, project-away, matches regex
	TokLiteral           // a string, number, timespan, datetime, dynamic, guid or typed literal
	TokPunct             // punctuation and symbolic operators: | ( ) [ ] , ; . .. = == != <> < <= > >= + - * / % =~ !~ :
)

func (k TokenKind) String() string {
	switch k {
	case TokEOF:
		return "end of query"
	case TokIdent:
		return "identifier"
	case TokLiteral:
		return "literal"
	case TokPunct:
		return "punctuation"
	}
	return "token"
}

// Token is one lexical element of a query.
type Token struct {
	Kind   TokenKind
	Text   string // the name for identifiers (unquoted for ['bracketed'] names), the operator, or the literal's source text
	Quoted bool   // the identifier was written as ['name'] and is never a keyword
	Pos    Pos    // where the token starts
	End    int    // byte offset just past the token
	Type   Type   // literal type, for TokLiteral
	Value  any    // literal value (nil for a typed null): string, int64, float64, bool, time.Time, time.Duration, or canonical JSON text for dynamic
}

// hyphenatedKeywords are the operator names that contain a '-', which would
// otherwise lex as a subtraction.
func isHyphenatedKeyword(s string) bool {
	switch s {
	case "project-away", "project-rename", "project-keep", "project-reorder",
		"mv-expand", "mv-apply", "parse-where", "parse-kv", "make-series",
		// Lexed whole so that the error names them, not "make" or "top".
		"make-graph", "top-nested", "top-hitters", "project-by-names", "sample-distinct",
		"graph-match", "graph-shortest-paths", "graph-to-table", "graph-mark-components", "graph-merge":
		return true
	}
	return false
}

// typedLiteralKeyword reports the literal forms written as name(raw text),
// whose content is not an expression (datetime(2024-01-01 10:00) has no quotes).
func typedLiteralKeyword(s string) bool {
	switch s {
	case "datetime", "date", "timespan", "time", "dynamic", "guid",
		"int", "long", "real", "double", "bool", "boolean", "decimal":
		return true
	}
	return false
}

type lexer struct {
	src    string
	off    int
	line   int
	col    int
	tokens []Token
}

// Lex splits a query into tokens. It fails on the first malformed token, with
// the position of the problem.
func Lex(src string) ([]Token, error) {
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return nil, errorf(posAt(src, off), "the query is not valid UTF-8 text")
	}
	lx := &lexer{src: src, line: 1, col: 1}
	for {
		tok, err := lx.next()
		if err != nil {
			return nil, err
		}
		lx.tokens = append(lx.tokens, tok)
		if tok.Kind == TokEOF {
			return lx.tokens, nil
		}
	}
}

func (lx *lexer) pos() Pos { return Pos{Offset: lx.off, Line: lx.line, Col: lx.col} }

func (lx *lexer) peekRune(ahead int) rune {
	off := lx.off
	for i := 0; ; i++ {
		if off >= len(lx.src) {
			return -1
		}
		r, n := utf8.DecodeRuneInString(lx.src[off:])
		if i == ahead {
			return r
		}
		off += n
	}
}

func (lx *lexer) advance() rune {
	r, n := utf8.DecodeRuneInString(lx.src[lx.off:])
	lx.off += n
	if r == '\n' {
		lx.line++
		lx.col = 1
	} else {
		lx.col++
	}
	return r
}

func (lx *lexer) skipSpaceAndComments() {
	for lx.off < len(lx.src) {
		r := lx.peekRune(0)
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' || unicode.IsSpace(r):
			lx.advance()
		case r == '/' && lx.peekRune(1) == '/':
			for lx.off < len(lx.src) && lx.peekRune(0) != '\n' {
				lx.advance()
			}
		default:
			return
		}
	}
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

func (lx *lexer) next() (Token, error) {
	lx.skipSpaceAndComments()
	start := lx.pos()
	if lx.off >= len(lx.src) {
		return Token{Kind: TokEOF, Pos: start, End: lx.off}, nil
	}
	r := lx.peekRune(0)
	switch {
	case r == '"' || r == '\'':
		return lx.lexString(start, false)
	case r == '@' && (lx.peekRune(1) == '"' || lx.peekRune(1) == '\''):
		lx.advance()
		return lx.lexString(start, true)
	case r == '`' && strings.HasPrefix(lx.src[lx.off:], "```"), r == '~' && strings.HasPrefix(lx.src[lx.off:], "~~~"):
		return lx.lexMultiline(start)
	case (r == 'h' || r == 'H') && (lx.peekRune(1) == '"' || lx.peekRune(1) == '\''):
		// h"..." is an obfuscated string: same value, hidden from traces.
		lx.advance()
		return lx.lexString(start, false)
	case (r == 'h' || r == 'H') && lx.peekRune(1) == '@' && (lx.peekRune(2) == '"' || lx.peekRune(2) == '\''):
		lx.advance()
		lx.advance()
		return lx.lexString(start, true)
	case isASCIIDigit(r) || (r == '.' && isASCIIDigit(lx.peekRune(1)) && !lx.afterOperand()):
		return lx.lexNumber(start)
	case isIdentStart(r):
		return lx.lexIdent(start)
	case r == '[':
		if tok, ok, err := lx.lexBracketedName(start); ok || err != nil {
			return tok, err
		}
	case r == '!':
		if isIdentStart(lx.peekRune(1)) && lx.peekRune(1) != '$' {
			lx.advance()
			word := lx.readWord()
			if word == "in" && lx.peekRune(0) == '~' {
				lx.advance()
				word += "~"
			}
			return Token{Kind: TokIdent, Text: "!" + word, Pos: start, End: lx.off}, nil
		}
	}
	return lx.lexPunct(start)
}

// afterOperand reports whether the previous token ends an operand, in which
// case ".5" cannot start a number (x.5 is not valid anyway, but a..b is).
func (lx *lexer) afterOperand() bool {
	if len(lx.tokens) == 0 {
		return false
	}
	t := lx.tokens[len(lx.tokens)-1]
	return t.Kind == TokLiteral || (t.Kind == TokPunct && t.Text == ".")
}

func (lx *lexer) readWord() string {
	begin := lx.off
	for lx.off < len(lx.src) && isIdentPart(lx.peekRune(0)) {
		lx.advance()
	}
	return lx.src[begin:lx.off]
}

func (lx *lexer) lexIdent(start Pos) (Token, error) {
	lx.advance()
	for lx.off < len(lx.src) && isIdentPart(lx.peekRune(0)) {
		lx.advance()
	}
	word := lx.src[start.Offset:lx.off]
	// project-away and friends: only the known operator names are merged,
	// so that a-b stays a subtraction.
	if lx.peekRune(0) == '-' && isIdentStart(lx.peekRune(1)) {
		save := *lx
		lx.advance()
		rest := lx.readWord()
		if isHyphenatedKeyword(word + "-" + rest) {
			return Token{Kind: TokIdent, Text: word + "-" + rest, Pos: start, End: lx.off}, nil
		}
		*lx = save
	}
	if word == "in" && lx.peekRune(0) == '~' {
		lx.advance()
		return Token{Kind: TokIdent, Text: "in~", Pos: start, End: lx.off}, nil
	}
	if word == "matches" {
		save := *lx
		lx.skipSpaceAndComments()
		if strings.HasPrefix(lx.src[lx.off:], "regex") {
			after := lx.off + len("regex")
			if after >= len(lx.src) || !isIdentPart(lx.peekRuneAt(after)) {
				for lx.off < after {
					lx.advance()
				}
				return Token{Kind: TokIdent, Text: "matches regex", Pos: start, End: lx.off}, nil
			}
		}
		*lx = save
	}
	if typedLiteralKeyword(word) {
		save := *lx
		lx.skipSpaceAndComments()
		if lx.peekRune(0) == '(' {
			return lx.lexTypedLiteral(start, word)
		}
		*lx = save
	}
	return Token{Kind: TokIdent, Text: word, Pos: start, End: lx.off}, nil
}

func (lx *lexer) peekRuneAt(off int) rune {
	r, _ := utf8.DecodeRuneInString(lx.src[off:])
	return r
}

// lexBracketedName lexes ['name'] or ["name"]. It reports ok=false when the
// '[' opens something else (an index such as x[0]).
func (lx *lexer) lexBracketedName(start Pos) (Token, bool, error) {
	save := *lx
	lx.advance()
	lx.skipSpaceAndComments()
	q := lx.peekRune(0)
	verbatim := false
	if q == '@' {
		verbatim = true
		lx.advance()
		q = lx.peekRune(0)
	}
	if q != '\'' && q != '"' {
		*lx = save
		return Token{}, false, nil
	}
	str, err := lx.lexString(lx.pos(), verbatim)
	if err != nil {
		return Token{}, true, err
	}
	lx.skipSpaceAndComments()
	if lx.peekRune(0) != ']' {
		// Not a name but an index expression such as x["a" + "b"].
		*lx = save
		return Token{}, false, nil
	}
	lx.advance()
	name := str.Value.(string)
	if name == "" {
		return Token{}, true, errorf(start, "a bracketed name cannot be empty")
	}
	return Token{Kind: TokIdent, Text: name, Quoted: true, Pos: start, End: lx.off}, true, nil
}

func (lx *lexer) lexString(start Pos, verbatim bool) (Token, error) {
	quote := lx.advance()
	var b strings.Builder
	for {
		if lx.off >= len(lx.src) {
			return Token{}, errorf(start, "unterminated string literal: add the closing %c", quote)
		}
		r := lx.peekRune(0)
		if r == '\n' && !verbatim {
			return Token{}, errorf(start, "unterminated string literal: add the closing %c before the end of the line", quote)
		}
		if r == quote {
			lx.advance()
			// In verbatim strings a doubled quote stands for one quote.
			if verbatim && lx.peekRune(0) == quote {
				lx.advance()
				b.WriteRune(quote)
				continue
			}
			break
		}
		if r == '\\' && !verbatim {
			escPos := lx.pos()
			lx.advance()
			if lx.off >= len(lx.src) {
				return Token{}, errorf(start, "unterminated string literal: add the closing %c", quote)
			}
			e := lx.advance()
			switch e {
			case '\\', '\'', '"':
				b.WriteRune(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case 'u':
				if lx.off+4 > len(lx.src) {
					return Token{}, errorf(escPos, `\u must be followed by 4 hex digits`)
				}
				v, err := strconv.ParseUint(lx.src[lx.off:lx.off+4], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return Token{}, errorf(escPos, `\u must be followed by 4 hex digits of a valid character`)
				}
				for range 4 {
					lx.advance()
				}
				b.WriteRune(rune(v))
			default:
				return Token{}, errorf(escPos, `unknown escape sequence \%c in string literal; write \\ for a backslash or use a verbatim string @"..."`, e)
			}
			continue
		}
		b.WriteRune(lx.advance())
	}
	return Token{Kind: TokLiteral, Text: lx.src[start.Offset:lx.off], Pos: start, End: lx.off, Type: TypeString, Value: b.String()}, nil
}

func (lx *lexer) lexMultiline(start Pos) (Token, error) {
	fence := lx.src[lx.off : lx.off+3]
	for range 3 {
		lx.advance()
	}
	end := strings.Index(lx.src[lx.off:], fence)
	if end < 0 {
		return Token{}, errorf(start, "unterminated multi-line string: add the closing %s", fence)
	}
	value := lx.src[lx.off : lx.off+end]
	stop := lx.off + end + 3
	for lx.off < stop {
		lx.advance()
	}
	return Token{Kind: TokLiteral, Text: lx.src[start.Offset:lx.off], Pos: start, End: lx.off, Type: TypeString, Value: value}, nil
}

func (lx *lexer) lexNumber(start Pos) (Token, error) {
	if lx.peekRune(0) == '0' && (lx.peekRune(1) == 'x' || lx.peekRune(1) == 'X') {
		lx.advance()
		lx.advance()
		for isHexDigit(lx.peekRune(0)) {
			lx.advance()
		}
		text := lx.src[start.Offset:lx.off]
		v, err := strconv.ParseInt(text[2:], 16, 64)
		if err != nil {
			return Token{}, errorf(start, "invalid hexadecimal literal %s: it must fit in a long", text)
		}
		if isIdentPart(lx.peekRune(0)) {
			return Token{}, errorf(lx.pos(), "unexpected %q after number %s", lx.peekRune(0), text)
		}
		return Token{Kind: TokLiteral, Text: text, Pos: start, End: lx.off, Type: TypeLong, Value: v}, nil
	}
	isReal := false
	for isASCIIDigit(lx.peekRune(0)) {
		lx.advance()
	}
	if lx.peekRune(0) == '.' && isASCIIDigit(lx.peekRune(1)) {
		isReal = true
		lx.advance()
		for isASCIIDigit(lx.peekRune(0)) {
			lx.advance()
		}
	}
	if e := lx.peekRune(0); (e == 'e' || e == 'E') &&
		(isASCIIDigit(lx.peekRune(1)) || ((lx.peekRune(1) == '+' || lx.peekRune(1) == '-') && isASCIIDigit(lx.peekRune(2)))) {
		isReal = true
		lx.advance()
		if s := lx.peekRune(0); s == '+' || s == '-' {
			lx.advance()
		}
		for isASCIIDigit(lx.peekRune(0)) {
			lx.advance()
		}
	}
	numText := lx.src[start.Offset:lx.off]
	if isIdentStart(lx.peekRune(0)) {
		unitPos := lx.pos()
		unitStart := lx.off
		for isIdentPart(lx.peekRune(0)) {
			lx.advance()
		}
		unit := lx.src[unitStart:lx.off]
		d, ok := timespanUnit(unit)
		if !ok {
			return Token{}, errorf(unitPos, "unknown timespan unit %q after %s; use d, h, m, s, ms, microsecond or tick", unit, numText)
		}
		v, err := scaleDuration(numText, d)
		if err != nil {
			return Token{}, errorf(start, "%s", err.Error())
		}
		return Token{Kind: TokLiteral, Text: lx.src[start.Offset:lx.off], Pos: start, End: lx.off, Type: TypeTimespan, Value: v}, nil
	}
	if isReal {
		v, err := strconv.ParseFloat(numText, 64)
		if err != nil || math.IsInf(v, 0) {
			return Token{}, errorf(start, "real literal %s is out of range", numText)
		}
		return Token{Kind: TokLiteral, Text: numText, Pos: start, End: lx.off, Type: TypeReal, Value: v}, nil
	}
	v, err := strconv.ParseInt(numText, 10, 64)
	if err != nil {
		return Token{}, errorf(start, "integer literal %s is out of range for long; write it as a real (%s.0) if you need it", numText, numText)
	}
	return Token{Kind: TokLiteral, Text: numText, Pos: start, End: lx.off, Type: TypeLong, Value: v}, nil
}

func isHexDigit(r rune) bool {
	return isASCIIDigit(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// timespanUnit maps a timespan suffix to its length (KqlTokens.g4 list).
func timespanUnit(u string) (time.Duration, bool) {
	switch u {
	case "d", "day", "days":
		return 24 * time.Hour, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	case "m", "min", "minute", "minutes":
		return time.Minute, true
	case "s", "sec", "second", "seconds":
		return time.Second, true
	case "ms", "milli", "millis", "millisecond", "milliseconds":
		return time.Millisecond, true
	case "micro", "micros", "microsecond", "microseconds":
		return time.Microsecond, true
	case "tick", "ticks":
		return 100 * time.Nanosecond, true
	case "nano", "nanos", "nanosecond", "nanoseconds":
		return time.Nanosecond, true
	}
	return 0, false
}

// scaleDuration multiplies a decimal number by a unit exactly when it can
// (integers), and with rounding to the nanosecond otherwise.
func scaleDuration(num string, unit time.Duration) (time.Duration, error) {
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n != 0 && (n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit)) {
			return 0, fmt.Errorf("timespan %s is out of range", num)
		}
		return time.Duration(n) * unit, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid number %s in timespan", num)
	}
	v := math.Round(f * float64(unit))
	if math.IsNaN(v) || v >= math.MaxInt64 || v <= math.MinInt64 {
		return 0, fmt.Errorf("timespan %s is out of range", num)
	}
	return time.Duration(v), nil
}

// lexTypedLiteral lexes name(raw) literals; lx is positioned on the '('.
func (lx *lexer) lexTypedLiteral(start Pos, word string) (Token, error) {
	lx.advance()
	contentStart := lx.pos()
	depth := 1
	for {
		if lx.off >= len(lx.src) {
			return Token{}, errorf(start, "unterminated %s(...) literal: add the closing )", word)
		}
		r := lx.peekRune(0)
		switch r {
		case '\'', '"':
			if _, err := lx.lexString(lx.pos(), false); err != nil {
				return Token{}, err
			}
			continue
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth == 0 {
			break
		}
		lx.advance()
	}
	raw := lx.src[contentStart.Offset:lx.off]
	lx.advance() // ')'
	tok := Token{Kind: TokLiteral, Text: lx.src[start.Offset:lx.off], Pos: start, End: lx.off}
	content := strings.TrimSpace(raw)
	fail := func(format string, args ...any) (Token, error) {
		return Token{}, errorf(contentStart, format, args...)
	}
	isNull := content == "null"
	switch word {
	case "datetime", "date":
		tok.Type = TypeDatetime
		if isNull {
			return tok, nil
		}
		t, ok := parseDatetime(unquote(content))
		if !ok {
			return fail("invalid datetime %q: write it as datetime(2024-01-31), datetime(2024-01-31 10:00:00) or datetime(2024-01-31T10:00:00Z)", content)
		}
		tok.Value = t
	case "timespan", "time":
		tok.Type = TypeTimespan
		if isNull {
			return tok, nil
		}
		d, ok := parseTimespan(unquote(content))
		if !ok {
			return fail("invalid timespan %q: write it as timespan(5m), timespan(1.5h) or timespan(01:30:00)", content)
		}
		tok.Value = d
	case "dynamic":
		tok.Type = TypeDynamic
		if isNull {
			return tok, nil
		}
		js, err := canonicalDynamic(raw)
		if err != nil {
			return fail("invalid dynamic literal: %s", err.Error())
		}
		tok.Value = js
	case "guid":
		tok.Type = TypeGUID
		if isNull {
			return tok, nil
		}
		g, ok := parseGUID(unquote(content))
		if !ok {
			return fail("invalid guid %q: expected 8-4-4-4-12 hexadecimal digits", content)
		}
		tok.Value = g
	case "int", "long":
		tok.Type = TypeLong
		if word == "int" {
			tok.Type = TypeInt
		}
		if isNull {
			return tok, nil
		}
		bits := 64
		if word == "int" {
			bits = 32
		}
		v, err := strconv.ParseInt(strings.TrimPrefix(content, "+"), 10, bits)
		if err != nil {
			return fail("invalid %s literal %q", word, content)
		}
		tok.Value = v
	case "real", "double":
		tok.Type = TypeReal
		if isNull {
			return tok, nil
		}
		switch strings.ToLower(content) {
		case "nan":
			tok.Value = math.NaN()
		case "inf", "+inf":
			tok.Value = math.Inf(1)
		case "-inf":
			tok.Value = math.Inf(-1)
		default:
			v, err := strconv.ParseFloat(content, 64)
			if err != nil || strings.ContainsAny(content, "xXpP_") || math.IsInf(v, 0) {
				return fail("invalid real literal %q", content)
			}
			tok.Value = v
		}
	case "bool", "boolean":
		tok.Type = TypeBool
		if isNull {
			return tok, nil
		}
		switch strings.ToLower(content) {
		case "true":
			tok.Value = true
		case "false":
			tok.Value = false
		default:
			return fail("invalid bool literal %q: use true or false", content)
		}
	default:
		return Token{}, errorf(start, "%s literals are not supported; use real(...) instead", word)
	}
	return tok, nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func parseDatetime(s string) (time.Time, bool) {
	layouts := []string{
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
		"2006-01-02",
		time.RFC1123,
		time.RFC1123Z,
	}
	// datetime(2025, 6, 14[, h, m, s]) and datetime(2017 - 08 - 01) are
	// documented spellings too.
	if parts := strings.Split(s, ","); len(parts) >= 3 && len(parts) <= 6 {
		nums := make([]int, 6)
		ok := true
		for i, p := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			ok = ok && err == nil
			nums[i] = n
		}
		if ok {
			t := time.Date(nums[0], time.Month(nums[1]), nums[2], nums[3], nums[4], nums[5], 0, time.UTC)
			if t.Year() == nums[0] && int(t.Month()) == nums[1] && t.Day() == nums[2] && t.Year() >= 1 && t.Year() <= 9999 {
				return t, true
			}
		}
	}
	if strings.Contains(s, " - ") {
		s = strings.ReplaceAll(s, " - ", "-")
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC()
			if t.Year() < 1 || t.Year() > 9999 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return parseNamedDatetime(s)
}

// parseTimespan accepts the unit form (1.5h) and the clock form
// ([-][d.]hh:mm[:ss[.fffffff]]).
func parseTimespan(s string) (time.Duration, bool) {
	neg := false
	body := s
	if strings.HasPrefix(body, "-") {
		neg = true
		body = body[1:]
	}
	var d time.Duration
	if strings.Contains(body, ":") {
		var days int64
		if dot := strings.IndexByte(body, '.'); dot >= 0 && dot < strings.IndexByte(body, ':') {
			v, err := strconv.ParseInt(body[:dot], 10, 32)
			if err != nil || v < 0 {
				return 0, false
			}
			days = v
			body = body[dot+1:]
		}
		parts := strings.Split(body, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return 0, false
		}
		h, err1 := strconv.ParseUint(parts[0], 10, 8)
		m, err2 := strconv.ParseUint(parts[1], 10, 8)
		if err1 != nil || err2 != nil || h > 23 || m > 59 {
			return 0, false
		}
		d = time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
		if len(parts) == 3 {
			sec, err := strconv.ParseFloat(parts[2], 64)
			if err != nil || sec < 0 || sec >= 60 || strings.ContainsAny(parts[2], "eE+-xX_pP") {
				return 0, false
			}
			d += time.Duration(math.Round(sec * float64(time.Second)))
		}
		if days > 100000000 {
			return 0, false
		}
	} else {
		i := 0
		for i < len(body) && (isASCIIDigit(rune(body[i])) || body[i] == '.') {
			i++
		}
		if i == 0 || i == len(body) {
			return 0, false
		}
		unit, ok := timespanUnit(body[i:])
		if !ok || strings.Count(body[:i], ".") > 1 || strings.HasSuffix(body[:i], ".") || strings.HasPrefix(body[:i], ".") {
			return 0, false
		}
		v, err := scaleDuration(body[:i], unit)
		if err != nil {
			return 0, false
		}
		d = v
	}
	if neg {
		d = -d
	}
	return d, true
}

func parseGUID(s string) (string, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return "", false
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.DecodeString(digits); err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

func (lx *lexer) lexPunct(start Pos) (Token, error) {
	rest := lx.src[lx.off:]
	for _, op := range []string{"..", "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>"} {
		if strings.HasPrefix(rest, op) {
			lx.advance()
			lx.advance()
			return Token{Kind: TokPunct, Text: op, Pos: start, End: lx.off}, nil
		}
	}
	r := lx.peekRune(0)
	switch r {
	case '|', '(', ')', '[', ']', '{', '}', ',', ';', '.', '=', '<', '>', '+', '-', '*', '/', '%', ':':
		lx.advance()
		return Token{Kind: TokPunct, Text: string(r), Pos: start, End: lx.off}, nil
	}
	return Token{}, errorf(start, "unexpected character %q", r)
}
