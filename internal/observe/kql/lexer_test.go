package kql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// tokenString renders a token compactly for table comparisons.
func tokenString(t Token) string {
	switch t.Kind {
	case TokEOF:
		return "EOF"
	case TokIdent:
		if t.Quoted {
			return "quoted:" + t.Text
		}
		return "ident:" + t.Text
	case TokPunct:
		return "punct:" + t.Text
	}
	if t.Value == nil {
		return t.Type.String() + ":null"
	}
	switch v := t.Value.(type) {
	case time.Time:
		return t.Type.String() + ":" + v.Format(time.RFC3339Nano)
	case time.Duration:
		return t.Type.String() + ":" + v.String()
	}
	return fmt.Sprintf("%s:%v", t.Type, t.Value)
}

func TestLex(t *testing.T) {
	tests := map[string]struct {
		input string
		want  []string // tokens without the final EOF
		pos   []string // optional: line:col/offset of each token
		err   string   // when set, lexing must fail with this error
	}{
		"a pipeline of identifiers and punctuation": {
			input: "KubeEvents | take 10",
			want:  []string{"ident:KubeEvents", "punct:|", "ident:take", "long:10"},
			pos:   []string{"1:1/0", "1:12/11", "1:14/13", "1:19/18"},
		},
		"positions count lines and runes, not bytes": {
			input: "T\n| where é == 'ü'\n  | count",
			want:  []string{"ident:T", "punct:|", "ident:where", "ident:é", "punct:==", "string:ü", "punct:|", "ident:count"},
			pos:   []string{"1:1/0", "2:1/2", "2:3/4", "2:9/10", "2:11/13", "2:14/16", "3:3/23", "3:5/25"},
		},
		"bracketed names are quoted identifiers": {
			input: `project ['my column'], ["where"]`,
			want:  []string{"ident:project", "quoted:my column", "punct:,", "quoted:where"},
		},
		"an index with an expression is not a bracketed name": {
			input: `x["a" + "b"]`,
			want:  []string{"ident:x", "punct:[", "string:a", "punct:+", "string:b", "punct:]"},
		},
		"hyphenated operator keywords are one token": {
			input: "project-away a | project-rename b = c | mv-expand d",
			want: []string{"ident:project-away", "ident:a", "punct:|", "ident:project-rename", "ident:b", "punct:=", "ident:c",
				"punct:|", "ident:mv-expand", "ident:d"},
		},
		"a hyphen between ordinary names stays a minus": {
			input: "project-x a-b",
			want:  []string{"ident:project", "punct:-", "ident:x", "ident:a", "punct:-", "ident:b"},
		},
		"negated word operators are one token": {
			input: "a !contains b !has c !in (d) !in~ (e) !between (1 .. 2)",
			want: []string{"ident:a", "ident:!contains", "ident:b", "ident:!has", "ident:c", "ident:!in", "punct:(", "ident:d", "punct:)",
				"ident:!in~", "punct:(", "ident:e", "punct:)", "ident:!between", "punct:(", "long:1", "punct:..", "long:2", "punct:)"},
		},
		"in~ and symbolic string operators": {
			input: "a in~ (b) and c =~ d and e !~ f and g != h and i <> j",
			want: []string{"ident:a", "ident:in~", "punct:(", "ident:b", "punct:)", "ident:and", "ident:c", "punct:=~", "ident:d",
				"ident:and", "ident:e", "punct:!~", "ident:f", "ident:and", "ident:g", "punct:!=", "ident:h", "ident:and", "ident:i", "punct:<>", "ident:j"},
		},
		"matches regex is one operator even across spaces": {
			input: `a matches  regex "x+" and matches == 1`,
			want:  []string{"ident:a", "ident:matches regex", "string:x+", "ident:and", "ident:matches", "punct:==", "long:1"},
		},
		"underscored operators are plain identifiers": {
			input: "a has_any (b) and c contains_cs d",
			want:  []string{"ident:a", "ident:has_any", "punct:(", "ident:b", "punct:)", "ident:and", "ident:c", "ident:contains_cs", "ident:d"},
		},
		"string escapes and quote styles": {
			input: `"a\"b\\c\n" 'it\'s' @"C:\dir\""x" @'x''y' h"secret"`,
			want:  []string{"string:a\"b\\c\n", "string:it's", `string:C:\dir\"x`, "string:x'y", "string:secret"},
		},
		"multi-line strings keep their text": {
			input: "```line1\nline2``` ~~~x~~~",
			want:  []string{"string:line1\nline2", "string:x"},
		},
		"numbers": {
			input: "1 42 1.5 2e3 1.5e-3 0x1F",
			want:  []string{"long:1", "long:42", "real:1.5", "real:2000", "real:0.0015", "long:31"},
		},
		"timespan literals with units": {
			input: "5m 1h 2d 30s 100ms 1.5h 10microseconds 3ticks 2days",
			want: []string{"timespan:5m0s", "timespan:1h0m0s", "timespan:48h0m0s", "timespan:30s", "timespan:100ms",
				"timespan:1h30m0s", "timespan:10µs", "timespan:300ns", "timespan:48h0m0s"},
		},
		"typed literals": {
			input: "datetime(2024-01-02 03:04:05) datetime(2024-01-02) datetime(\"2024-01-02T03:04:05.5Z\") timespan(1.5h) timespan(01:30:00) timespan(1.00:00:01) int(5) long(-7) real(nan) bool(true) datetime(null)",
			want: []string{"datetime:2024-01-02T03:04:05Z", "datetime:2024-01-02T00:00:00Z", "datetime:2024-01-02T03:04:05.5Z",
				"timespan:1h30m0s", "timespan:1h30m0s", "timespan:24h0m1s", "int:5", "long:-7", "real:NaN", "bool:true", "datetime:null"},
		},
		"dynamic literals become canonical JSON": {
			input: `dynamic([1, 'a', {"k": null}]) dynamic({}) dynamic(null)`,
			want:  []string{`dynamic:[1,"a",{"k":null}]`, "dynamic:{}", "dynamic:null"},
		},
		"guid literals are lower-cased": {
			input: "guid(0F8FAD5B-D9CB-469F-A165-70867728950E)",
			want:  []string{"guid:0f8fad5b-d9cb-469f-a165-70867728950e"},
		},
		"comments are skipped": {
			input: "T // the table\n| count // done",
			want:  []string{"ident:T", "punct:|", "ident:count"},
		},
		"range dots are not a decimal point": {
			input: "1..5",
			want:  []string{"long:1", "punct:..", "long:5"},
		},
		"join sides": {
			input: "$left.a == $right.b",
			want:  []string{"ident:$left", "punct:.", "ident:a", "punct:==", "ident:$right", "punct:.", "ident:b"},
		},
		"an unterminated string": {
			input: `T | where a == "abc`,
			err:   `1:16: unterminated string literal: add the closing "`,
		},
		"an unknown escape": {
			input: `"a\qb"`,
			err:   `1:3: unknown escape sequence \q in string literal; write \\ for a backslash or use a verbatim string @"..."`,
		},
		"an unknown timespan unit": {
			input: "T | where x > 5minutes2",
			err:   `1:16: unknown timespan unit "minutes2" after 5; use d, h, m, s, ms, microsecond or tick`,
		},
		"an integer that does not fit a long": {
			input: "99999999999999999999",
			err:   "1:1: integer literal 99999999999999999999 is out of range for long; write it as a real (99999999999999999999.0) if you need it",
		},
		"an invalid datetime": {
			input: "datetime(yesterday)",
			err:   `1:10: invalid datetime "yesterday": write it as datetime(2024-01-31), datetime(2024-01-31 10:00:00) or datetime(2024-01-31T10:00:00Z)`,
		},
		"an invalid dynamic": {
			input: "dynamic([1,)",
			err:   `1:9: invalid dynamic literal: missing value`,
		},
		"an unexpected character": {
			input: "T | where a # b",
			err:   `1:13: unexpected character '#'`,
		},
		"invalid UTF-8": {
			input: "T | where a == \"\xff\"",
			err:   "1:17: the query is not valid UTF-8 text",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			toks, err := Lex(tc.input)
			if tc.err != "" {
				var kerr *Error
				if !errors.As(err, &kerr) {
					t.Fatalf("Lex(%q) error = %v, want *Error %q", tc.input, err, tc.err)
				}
				if kerr.Error() != tc.err {
					t.Fatalf("Lex(%q) error:\n got %s\nwant %s", tc.input, kerr.Error(), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lex(%q): %v", tc.input, err)
			}
			if last := toks[len(toks)-1]; last.Kind != TokEOF {
				t.Fatalf("last token is %v, want EOF", last)
			}
			var got []string
			for _, tok := range toks[:len(toks)-1] {
				got = append(got, tokenString(tok))
			}
			if strings.Join(got, " ␟ ") != strings.Join(tc.want, " ␟ ") {
				t.Fatalf("Lex(%q):\n got %q\nwant %q", tc.input, got, tc.want)
			}
			if tc.pos != nil {
				var pos []string
				for _, tok := range toks[:len(toks)-1] {
					pos = append(pos, fmt.Sprintf("%s/%d", tok.Pos, tok.Pos.Offset))
				}
				if strings.Join(pos, " ") != strings.Join(tc.pos, " ") {
					t.Fatalf("positions:\n got %v\nwant %v", pos, tc.pos)
				}
			}
		})
	}
}
