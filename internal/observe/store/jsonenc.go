package store

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// jsonEncoder writes the dynamic values collectors send — maps, slices,
// strings, numbers, bools and nil, nested — as JSON text, byte for byte as
// encoding/json.Marshal writes them (keys sorted, HTML-safe escaping of <, >
// and &, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD, floats in
// ES6 form).
//
// It is hand-written on purpose: encoding/json goes through reflection and
// one sorted copy of every map's keys per value, which was a large share of
// ingest in BenchmarkDuckDBAppend (docs/design/2026-12-06-benchmark-history.md).
// Anything else (structs, typed maps, json.Marshaler, NaN, very deep
// nesting) makes appendValue report false, and the caller falls back to
// encoding/json for the whole value, so its output and errors stay the
// reference; FuzzJSONEncoderMatchesEncodingJSON holds the two together.
type jsonEncoder struct {
	buf []byte
	// keys is a stack of map keys being sorted, reused across values.
	keys []string
}

// maxJSONDepth is how deep appendValue nests before it gives the value to
// encoding/json, which reports cycles.
const maxJSONDepth = 100

// encode returns v as JSON text.
func (e *jsonEncoder) encode(v any) (string, error) {
	e.buf = e.buf[:0]
	if !e.appendValue(v, 0) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return string(e.buf), nil
}

// appendValue appends v to e.buf, or reports false (with e.buf in any
// state) when v holds something it does not encode.
func (e *jsonEncoder) appendValue(v any, depth int) bool {
	if depth > maxJSONDepth {
		return false
	}
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendJSONString(e.buf, v)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case float64:
		return e.appendFloat(v, 64)
	case float32:
		return e.appendFloat(float64(v), 32)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case map[string]any:
		return appendObject(e, v, func(x any) bool { return e.appendValue(x, depth+1) })
	case map[string]string:
		return appendObject(e, v, func(x string) bool { e.buf = appendJSONString(e.buf, x); return true })
	case []any:
		return appendArray(e, v, func(x any) bool { return e.appendValue(x, depth+1) })
	case []string:
		return appendArray(e, v, func(x string) bool { e.buf = appendJSONString(e.buf, x); return true })
	default:
		return false
	}
	return true
}

// appendObject writes m with its keys sorted, each value by value, which reports
// false for a value it does not encode; a nil map is null, as encoding/json has it.
func appendObject[V any](e *jsonEncoder, m map[string]V, value func(V) bool) bool {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return true
	}
	base := len(e.keys)
	defer func() { e.keys = e.keys[:base] }()
	for k := range m {
		e.keys = append(e.keys, k)
	}
	keys := e.keys[base:]
	slices.Sort(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		if !value(m[k]) {
			return false
		}
	}
	e.buf = append(e.buf, '}')
	return true
}

// appendArray writes s in order, each item by item; a nil slice is null.
func appendArray[V any](e *jsonEncoder, s []V, item func(V) bool) bool {
	if s == nil {
		e.buf = append(e.buf, "null"...)
		return true
	}
	e.buf = append(e.buf, '[')
	for i, x := range s {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if !item(x) {
			return false
		}
	}
	e.buf = append(e.buf, ']')
	return true
}

// appendFloat writes f as encoding/json does (its floatEncoder): like %g
// but with ES6's exponent cutoffs and no padding of the exponent. NaN and
// infinities are not JSON: false, so that encoding/json reports them.
func (e *jsonEncoder) appendFloat(f float64, bits int) bool {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, bits)
	if format == 'e' {
		// e-09 becomes e-9.
		n := len(e.buf)
		if n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted as encoding/json does with HTML
// escaping on (its default for Marshal).
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				// Other control characters, and <, > and &.
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR are valid
		// JSON but not JavaScript; encoding/json escapes them.
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// JSONText is a dynamic value that is already JSON text, compact and
// spelled as encoding/json writes it (AppendJSON, AppendJSONString and
// AppendJSONFloat write such text). Append stores it as it is: an ingest
// path that writes its JSON itself (observe/otlp's Properties, 10+ values a
// span) skips building a map and encoding it a second time
// (docs/design/2026-12-06-otlp-ingest.md). It comes from code, never from
// a user: text that is not JSON is the caller's bug.
type JSONText string

// AppendJSON appends v, a dynamic value as Append takes it, to dst as
// JSON text, byte for byte as encoding/json.Marshal writes it.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	e := jsonEncoder{buf: dst}
	if e.appendValue(v, 0) {
		return e.buf, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, s) }

// AppendJSONFloat appends f as encoding/json writes a float64; NaN and
// infinities, which JSON has no number for, report false.
func AppendJSONFloat(dst []byte, f float64) ([]byte, bool) {
	e := jsonEncoder{buf: dst}
	ok := e.appendFloat(f, 64)
	return e.buf, ok
}
