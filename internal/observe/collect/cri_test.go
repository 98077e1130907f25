package collect

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCRILine(t *testing.T) {
	ts := time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC)
	tests := map[string]struct {
		line    string
		want    CRILine
		wantErr string
	}{
		"a full stdout line": {
			line: "2016-10-06T00:17:09.669794202Z stdout F log content 1",
			want: CRILine{Time: ts, Stream: "stdout", Message: []byte("log content 1")},
		},
		"a partial stderr line": {
			line: "2016-10-06T00:17:09.669794202Z stderr P part one ",
			want: CRILine{Time: ts, Stream: "stderr", Partial: true, Message: []byte("part one ")},
		},
		"an empty message with nothing after the tag": {
			line: "2016-10-06T00:17:09.669794202Z stdout F",
			want: CRILine{Time: ts, Stream: "stdout"},
		},
		"an empty message after a space": {
			line: "2016-10-06T00:17:09.669794202Z stdout F ",
			want: CRILine{Time: ts, Stream: "stdout", Message: []byte{}},
		},
		"extra tags after a colon are ignored": {
			line: "2016-10-06T00:17:09.669794202Z stdout P:x:y more",
			want: CRILine{Time: ts, Stream: "stdout", Partial: true, Message: []byte("more")},
		},
		"a local offset as CRI-O may write": {
			line: "2016-10-05T19:17:09.669794202-05:00 stdout F x",
			want: CRILine{Time: ts, Stream: "stdout", Message: []byte("x")},
		},
		"spaces inside the message are kept": {
			line: "2016-10-06T00:17:09.669794202Z stdout F a  b   c",
			want: CRILine{Time: ts, Stream: "stdout", Message: []byte("a  b   c")},
		},
		"a bad timestamp is an error naming it": {
			line: "yesterday stdout F x", wantErr: `bad timestamp "yesterday"`,
		},
		"a bad stream is an error naming it": {
			line: "2016-10-06T00:17:09.669794202Z stdin F x", wantErr: `bad stream "stdin"`,
		},
		"a bad tag is an error naming it": {
			line: "2016-10-06T00:17:09.669794202Z stdout X x", wantErr: `bad tag "X"`,
		},
		"a line with only a timestamp is an error": {
			line: "2016-10-06T00:17:09.669794202Z", wantErr: "missing the stream field",
		},
		"a docker json line is not CRI": {
			line: `{"log":"x\n","stream":"stdout","time":"2016-10-06T00:17:09.669794202Z"}`, wantErr: "missing the stream field",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseCRILine([]byte(tc.line))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Partial != tc.want.Partial ||
				string(got.Message) != string(tc.want.Message) {
				t.Errorf("got %+v (%q), want %+v (%q)", got, got.Message, tc.want, tc.want.Message)
			}
		})
	}
}

func TestRecombiner(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	part := func(s int, msg string) CRILine {
		return CRILine{Time: at(s), Stream: "stdout", Partial: true, Message: []byte(msg)}
	}
	full := func(s int, msg string) CRILine { return CRILine{Time: at(s), Stream: "stdout", Message: []byte(msg)} }
	tests := map[string]struct {
		max     int
		lines   []CRILine
		want    []LogEntry
		pending bool
	}{
		"a message reaching the cap is given out truncated at once, and its rest dropped": {
			max:   8,
			lines: []CRILine{part(0, "12345"), part(1, "67890"), part(2, "abcde"), full(3, "end"), full(4, "next")},
			want: []LogEntry{{Time: at(0), Stream: "stdout", Message: "12345678", Truncated: true},
				{Time: at(4), Stream: "stdout", Message: "next"}},
		},
		"a message ending exactly at the cap is whole": {
			max:   8,
			lines: []CRILine{part(0, "1234"), full(1, "5678")},
			want:  []LogEntry{{Time: at(0), Stream: "stdout", Message: "12345678"}},
		},
		"a full line past the cap is truncated": {
			max:   4,
			lines: []CRILine{full(0, "123456"), full(1, "ok")},
			want:  []LogEntry{{Time: at(0), Stream: "stdout", Message: "1234", Truncated: true}, {Time: at(1), Stream: "stdout", Message: "ok"}},
		},
		"a cut never splits a UTF-8 character": {
			max:   4,
			lines: []CRILine{full(0, "abcé")},
			want:  []LogEntry{{Time: at(0), Stream: "stdout", Message: "abc", Truncated: true}},
		},
		"an unfinished message past the cap is given out, not kept pending": {
			max:   4,
			lines: []CRILine{part(0, "123"), part(1, "456"), part(2, "789")},
			want:  []LogEntry{{Time: at(0), Stream: "stdout", Message: "1234", Truncated: true}},
		},
		"full lines pass through": {
			lines: []CRILine{{Time: at(0), Stream: "stdout", Message: []byte("a")}, {Time: at(1), Stream: "stderr", Message: []byte("b")}},
			want:  []LogEntry{{Time: at(0), Stream: "stdout", Message: "a"}, {Time: at(1), Stream: "stderr", Message: "b"}},
		},
		"partials join the full line that ends them, at the first part's time": {
			lines: []CRILine{
				{Time: at(0), Stream: "stdout", Partial: true, Message: []byte("hel")},
				{Time: at(1), Stream: "stdout", Partial: true, Message: []byte("lo ")},
				{Time: at(2), Stream: "stdout", Message: []byte("world")},
			},
			want: []LogEntry{{Time: at(0), Stream: "stdout", Message: "hello world"}},
		},
		"streams are recombined separately": {
			lines: []CRILine{
				{Time: at(0), Stream: "stdout", Partial: true, Message: []byte("out-")},
				{Time: at(1), Stream: "stderr", Message: []byte("err")},
				{Time: at(2), Stream: "stdout", Message: []byte("end")},
			},
			want: []LogEntry{{Time: at(1), Stream: "stderr", Message: "err"}, {Time: at(0), Stream: "stdout", Message: "out-end"}},
		},
		"an unfinished message stays pending": {
			lines:   []CRILine{{Time: at(0), Stream: "stdout", Partial: true, Message: []byte("x")}},
			pending: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := Recombiner{MaxBytes: tc.max}
			var got []LogEntry
			for _, l := range tc.lines {
				if e, ok := r.Add(l); ok {
					got = append(got, e)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entries = %+v, want %+v", got, tc.want)
			}
			if r.Pending() != tc.pending {
				t.Errorf("Pending() = %v, want %v", r.Pending(), tc.pending)
			}
		})
	}
}
