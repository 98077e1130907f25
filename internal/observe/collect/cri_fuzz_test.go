package collect

import (
	"bytes"
	"testing"
)

// FuzzParseCRILine feeds any bytes to the CRI line parser and the recombiner: the
// log files are written by the container runtime, but their content is whatever the
// container prints, so the parser must refuse or accept every line without a panic,
// and an accepted line must keep its message as a suffix of the input.
// The seed corpus (testdata/fuzz/FuzzParseCRILine plus the f.Add lines) runs in
// `make test`; `make fuzz` runs it for a fixed budget.
func FuzzParseCRILine(f *testing.F) {
	for _, l := range []string{
		"2016-10-06T00:17:09.669794202Z stdout F log content 1",
		"2016-10-06T00:17:09.669794202Z stderr P part one ",
		"2016-10-06T00:17:09.669794202Z stdout F",
		"2016-10-06T00:17:09.669794202Z stdout P:x:y more",
		"2016-10-05T19:17:09.669794202-05:00 stdout F x",
		`{"log":"x\n","stream":"stdout","time":"2016-10-06T00:17:09.669794202Z"}`,
		"",
		" ",
		"2016-10-06T00:17:09Z stdout F \x00\xff",
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var r Recombiner
		// Each input line is fed twice so that partial lines meet a following line.
		for range 2 {
			l, err := ParseCRILine(line)
			if err != nil {
				if l.Stream != "" || l.Message != nil {
					t.Fatalf("ParseCRILine(%q) failed (%v) but returned a line %+v", line, err, l)
				}
				continue
			}
			if l.Stream != "stdout" && l.Stream != "stderr" {
				t.Fatalf("ParseCRILine(%q) returned stream %q", line, l.Stream)
			}
			if !bytes.HasSuffix(line, l.Message) {
				t.Fatalf("ParseCRILine(%q) returned message %q, not a suffix of the line", line, l.Message)
			}
			if len(l.Message) >= len(line) {
				t.Fatalf("ParseCRILine(%q) returned the whole line as the message", line)
			}
			if e, ok := r.Add(l); ok && e.Stream != l.Stream {
				t.Fatalf("Recombiner returned stream %q for a line of %q", e.Stream, l.Stream)
			}
		}
		for _, e := range r.Flush() {
			if e.Stream != "stdout" && e.Stream != "stderr" {
				t.Fatalf("Flush returned stream %q", e.Stream)
			}
		}
		if r.Pending() {
			t.Fatal("Recombiner is still pending after Flush")
		}
	})
}
