package store

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// checkSameAsEncodingJSON fails when the hand-written encoder's text or
// error differs from encoding/json's for v.
func checkSameAsEncodingJSON(t *testing.T, v any) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	var e jsonEncoder
	got, err := e.encode(v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("encode(%#v): error %v, encoding/json's error %v", v, err, wantErr)
	}
	if err != nil {
		if err.Error() != wantErr.Error() {
			t.Fatalf("encode(%#v): error %q, encoding/json's %q", v, err, wantErr)
		}
		return
	}
	if got != string(want) {
		t.Fatalf("encode(%#v) =\n%s\nencoding/json:\n%s", v, got, want)
	}
}

type labels map[string]string

func TestJSONEncoderWritesWhatEncodingJSONWrites(t *testing.T) {
	deep := any("leaf")
	for range maxJSONDepth + 5 {
		deep = []any{deep}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := map[string]struct {
		v any
		// hand says whether the hand-written path (not the fallback)
		// must take the value.
		hand bool
	}{
		"nil":                                {v: nil, hand: true},
		"an empty string":                    {v: "", hand: true},
		"plain text":                         {v: "GET /api/v1/items/1 200 3ms", hand: true},
		"quotes, backslashes and controls":   {v: "a\"b\\c\n\r\t\b\f\x00\x01\x1f\x7f end", hand: true},
		"HTML-sensitive characters":          {v: "<script>&amp;</script>", hand: true},
		"line and paragraph separators":      {v: "a\u2028b\u2029c", hand: true},
		"invalid UTF-8":                      {v: "a\xffb\xc3(c\xed\xa0\x80", hand: true},
		"multi-byte UTF-8":                   {v: "héllo, 世界 🚢", hand: true},
		"true":                               {v: true, hand: true},
		"false":                              {v: false, hand: true},
		"integers of every size":             {v: []any{int(-1), int8(-8), int16(-16), int32(-32), int64(math.MinInt64), uint(1), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64)}, hand: true},
		"floats in fixed and exponent forms": {v: []any{0.0, math.Copysign(0, -1), 1.0, -2.5, 1e-6, 1e-7, 123456789e-15, 1e20, 1e21, 1.7976931348623157e308, 5e-324, 0.1}, hand: true},
		"float32s at the cutoffs":            {v: []any{float32(1e-6), float32(1e-7), float32(1e20), float32(1e21), float32(0.1), float32(3.4e38)}, hand: true},
		"a Kubernetes metadata map": {v: map[string]any{"podUid": "uid-1", "image": "registry.local/shop/app:1.4.2",
			"podLabels": map[string]string{"app": "shop", "pod-template-hash": "7d9f8c6b5"}, "podAnnotations": map[string]string{"a/b": "<x>"}}, hand: true},
		"keys needing escapes and sorting": {v: map[string]any{"b": 1, "a": 2, "A": 3, "<": 4, "é": 5, "": 6, "a\"b": 7}, hand: true},
		"nested maps and slices":           {v: map[string]any{"x": []any{map[string]any{"z": nil, "y": []string{"p", "q"}}, []any{}}, "w": map[string]any{}}, hand: true},
		"nil maps and slices":              {v: []any{map[string]any(nil), map[string]string(nil), []any(nil), []string(nil)}, hand: true},
		"empty maps and slices":            {v: []any{map[string]any{}, map[string]string{}, []any{}, []string{}}, hand: true},
		"a named map type falls back":      {v: map[string]any{"l": labels{"b": "1", "a": "2"}}},
		"a struct falls back":              {v: map[string]any{"s": struct{ A int }{1}}},
		"a RawMessage inside falls back":   {v: map[string]any{"r": json.RawMessage(`{"a": 1}`)}},
		"NaN is an error":                  {v: map[string]any{"n": math.NaN()}},
		"infinity is an error":             {v: []any{math.Inf(1)}},
		"a channel is an error":            {v: make(chan int)},
		"very deep nesting falls back":     {v: deep},
		"a cycle is an error":              {v: cyclic},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkSameAsEncodingJSON(t, tc.v)
			var e jsonEncoder
			if hand := e.appendValue(tc.v, 0); hand != tc.hand {
				t.Fatalf("the hand-written path took the value: %v, want %v", hand, tc.hand)
			}
		})
	}
}

func TestJSONEncoderReusesItsBuffersWithoutMixingValues(t *testing.T) {
	var e jsonEncoder
	values := []any{
		map[string]any{"b": map[string]any{"d": 1, "c": 2}, "a": []any{map[string]string{"f": "1", "e": "2"}}},
		map[string]any{"z": 1},
		"text",
		map[string]any{"y": map[string]any{"x": make(chan int)}}, // falls back, with an error
		map[string]any{"k": map[string]string{"j": "1", "i": "2"}, "h": 3},
	}
	for i, v := range values {
		got, err := e.encode(v)
		want, wantErr := json.Marshal(v)
		if (err != nil) != (wantErr != nil) || (err == nil && got != string(want)) {
			t.Fatalf("value %d: got %q (%v), want %q (%v)", i, got, err, want, wantErr)
		}
		if len(e.keys) != 0 {
			t.Fatalf("value %d: %d map keys left on the stack", i, len(e.keys))
		}
	}
}

// FuzzJSONEncoderMatchesEncodingJSON builds maps, slices and scalars from
// the fuzzer's bytes and strings and compares the two encoders.
func FuzzJSONEncoderMatchesEncodingJSON(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7}, "podUid", "a<b>&\u2028\xff", 1.5, int64(-3))
	f.Add([]byte{6, 6, 0, 7, 1, 2}, "", "", 1e21, int64(math.MaxInt64))
	f.Add([]byte{5, 3, 5, 4, 0, 0}, "k\x00", "é", 1e-7, int64(0))
	f.Fuzz(func(t *testing.T, shape []byte, s1, s2 string, fl float64, n int64) {
		b := &valueBuilder{shape: shape, strs: []string{s1, s2, s1 + s2, strings.ToUpper(s1)}, fl: fl, n: n}
		checkSameAsEncodingJSON(t, b.value(0))
	})
}

// valueBuilder turns fuzz input into a nested value: each byte of shape
// picks the next node's kind.
type valueBuilder struct {
	shape []byte
	strs  []string
	fl    float64
	n     int64
	i     int
}

func (b *valueBuilder) next() byte {
	if b.i >= len(b.shape) {
		return 0
	}
	b.i++
	return b.shape[b.i-1]
}

func (b *valueBuilder) str() string { return b.strs[int(b.next())%len(b.strs)] }

func (b *valueBuilder) value(depth int) any {
	k := b.next()
	if depth > 6 {
		k %= 6
	}
	switch k % 10 {
	case 0:
		return b.str()
	case 1:
		return b.fl
	case 2:
		return b.n
	case 3:
		return k > 128
	case 4:
		return nil
	case 5:
		return float32(b.fl)
	case 6:
		m := map[string]any{}
		for range int(b.next() % 5) {
			m[b.str()+string(rune('a'+len(m)))] = b.value(depth + 1)
		}
		return m
	case 7:
		var s []any
		for range int(b.next() % 5) {
			s = append(s, b.value(depth+1))
		}
		return s
	case 8:
		m := map[string]string{}
		for range int(b.next() % 4) {
			m[b.str()] = b.str()
		}
		return m
	default:
		return []string{b.str(), b.str()}
	}
}
