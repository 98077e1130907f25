package kql

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestGoFunctionsAreReservedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range GoFunctions() {
		if !strings.HasPrefix(f.Name, "_tb_") || safeIdent(f.Name) {
			t.Errorf("%s: a Go function needs a _tb_ name, which KQL cannot reach", f.Name)
		}
		if seen[f.Name] {
			t.Errorf("%s is registered twice", f.Name)
		}
		seen[f.Name] = true
	}
}

func TestGoFunctionPanicIsAnError(t *testing.T) {
	fn := safeGoFn("_tb_boom", func([]any) (any, error) { panic("boom") })
	v, err := fn(nil)
	if err == nil || v != nil || !strings.Contains(err.Error(), "failed to run _tb_boom") {
		t.Fatalf("got %v, %v; want an error naming the function", v, err)
	}
}

// The hostile inputs of the Go functions stay bounded and never panic.
func TestGoFunctionsOnHostileInput(t *testing.T) {
	huge := strings.Repeat("1.2.3.4 ", 1<<18)
	cases := map[string]struct {
		fn   string
		args []any
	}{
		"has_ipv4 over a 2 MiB source":         {"_tb_has_ipv4", []any{huge, "9.9.9.9"}},
		"parse_ipv6 of a long text":            {"_tb_parse_ipv6", []any{strings.Repeat(":", 1<<16), int64(128)}},
		"buildschema of deep nesting":          {"_tb_buildschema", []any{"[" + strings.Repeat("[", 1<<12) + strings.Repeat("]", 1<<12) + "]"}},
		"replace_strings of invalid JSON":      {"_tb_replace_strings", []any{"abc", "[", "]"}},
		"format_timespan of the minimum":       {"_tb_format_timespan", []any{int64(-1 << 59), "dddddddd.hh:mm:ss.fffffff"}},
		"indexof_regex with a huge occurrence": {"_tb_indexof_regex", []any{huge[:1000], "1", int64(0), int64(-1), int64(1 << 40)}},
		"tohex with a huge width":              {"_tb_tohex", []any{int64(1), int64(1 << 40)}},
		"datetime zone name of 1 KiB":          {"_tb_datetime_utc_to_local", []any{time.Unix(0, 0), strings.Repeat("A", 1024)}},
		"todatetime of 1 KiB":                  {"_tb_todatetime", []any{strings.Repeat("8 Nov 14 ", 128)}},
		"parse_command_line of quotes only":    {"_tb_parse_command_line", []any{strings.Repeat(`\"`, 1<<16)}},
		"array_sort of invalid JSON":           {"_tb_array_sort", []any{"[[1,", true, true, int64(0)}},
		"array_sort of an index out of range":  {"_tb_array_sort", []any{"[[1]]", true, true, int64(5)}},
		"series_fit_line of one value":         {"_tb_series_fit_line", []any{"[1]"}},
		"row_window_session of invalid JSON":   {"_tb_row_window_session", []any{"[", "[]", int64(1), int64(1)}},
	}
	fns := map[string]GoFunc{}
	for _, f := range GoFunctions() {
		fns[f.Name] = f
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, ok := fns[c.fn]
			if !ok {
				t.Fatalf("no Go function %s", c.fn)
			}
			if _, err := f.Fn(c.args); err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%s panicked: %v", c.fn, err)
			}
		})
	}
}

// A decompression bomb stops at the limit with an error that says so.
func TestDecompressBombIsRefused(t *testing.T) {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(make([]byte, maxDecompressed+1024)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := decompress(base64.StdEncoding.EncodeToString(b.Bytes()), false)
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Fatalf("got %v, want the size limit", err)
	}
}

// Too many rows for row_window_session or too long a command line fail with
// an error that names the limit.
func TestSessionAndCommandLineLimits(t *testing.T) {
	fns := map[string]GoFunc{}
	for _, f := range GoFunctions() {
		fns[f.Name] = f
	}
	rows := "[" + strings.Repeat("1,", maxSessionRows) + "1]"
	if _, err := fns["_tb_row_window_session"].Fn([]any{rows, "[]", int64(1), int64(1)}); err == nil || !strings.Contains(err.Error(), "reads at most") {
		t.Errorf("row_window_session of %d rows: got %v, want the row limit", maxSessionRows+1, err)
	}
	if _, err := fns["_tb_parse_command_line"].Fn([]any{strings.Repeat("a", maxCommandLine+1)}); err == nil || !strings.Contains(err.Error(), "reads at most") {
		t.Errorf("parse_command_line past the limit: got %v, want the size limit", err)
	}
}
