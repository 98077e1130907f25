package collect

import (
	"reflect"
	"testing"
)

func TestParseMessage(t *testing.T) {
	tests := map[string]struct {
		msg       string
		wantLevel string
		wantMsg   any
	}{
		"a JSON level key": {
			msg: `{"level":"error","msg":"boom"}`, wantLevel: LevelError,
			wantMsg: map[string]any{"level": "error", "msg": "boom"},
		},
		"a JSON lvl key, upper case": {
			msg: `{"lvl":"WARN","msg":"x"}`, wantLevel: LevelWarning,
			wantMsg: map[string]any{"lvl": "WARN", "msg": "x"},
		},
		"a JSON severity key as GCP writes it": {
			msg: `{"severity":"CRITICAL"}`, wantLevel: LevelCritical,
			wantMsg: map[string]any{"severity": "CRITICAL"},
		},
		"a JSON level that names no level": {
			msg: `{"level":"loud"}`, wantLevel: LevelUnknown, wantMsg: map[string]any{"level": "loud"},
		},
		"a JSON object without a level key falls back to the text": {
			msg: `{"msg":"debug dump"}`, wantLevel: LevelDebug, wantMsg: map[string]any{"msg": "debug dump"},
		},
		"invalid JSON stays a string": {
			msg: `{"level":"info"`, wantLevel: LevelInfo, wantMsg: `{"level":"info"`,
		},
		"a JSON array stays a string": {
			msg: `[1,2]`, wantLevel: LevelUnknown, wantMsg: `[1,2]`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			msg, level := ParseMessage(tc.msg)
			if level != tc.wantLevel {
				t.Errorf("level = %s, want %s", level, tc.wantLevel)
			}
			if !reflect.DeepEqual(msg, tc.wantMsg) {
				t.Errorf("message = %#v, want %#v", msg, tc.wantMsg)
			}
		})
	}
}

func TestInferLevel(t *testing.T) {
	tests := map[string]struct {
		msg  string
		want string
	}{
		"an upper-case prefix":      {"ERROR failed to connect", LevelError},
		"a bracketed prefix":        {"[warn] disk almost full", LevelWarning},
		"logfmt":                    {`ts=2026-11-26 level=info msg="started"`, LevelInfo},
		"the first level word wins": {"INFO retrying after error", LevelInfo},
		"fatal is critical":         {"fatal: out of memory", LevelCritical},
		"panic is critical":         {"panic: runtime error: index out of range", LevelCritical},
		"a klog error header":       {"E1126 01:02:03.456789       1 reflector.go:1] boom", LevelError},
		"a klog info header":        {"I1126 01:02:03.456789       1 main.go:1] hi", LevelInfo},
		"debug":                     {"Debug: cache hit", LevelDebug},
		"trace":                     {"TRACE enter handler", LevelTrace},
		"words that contain a level word are not it": {"informer synced; errors=0 terror", LevelUnknown},
		"no level at all": {"GET /healthz 200", LevelUnknown},
		"an empty line":   {"", LevelUnknown},
		"a level word far into a long line is not searched": {
			string(make([]byte, 300)) + " error", LevelUnknown,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := InferLevel(tc.msg); got != tc.want {
				t.Errorf("InferLevel(%q) = %s, want %s", tc.msg, got, tc.want)
			}
		})
	}
}
