package collect

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseAPILine(t *testing.T) {
	tests := map[string]struct {
		line, wantMsg, wantErr string
	}{
		"a timestamped line":               {line: "2026-11-26T01:00:00.123456789Z hello world", wantMsg: "hello world"},
		"an empty message":                 {line: "2026-11-26T01:00:00Z", wantMsg: ""},
		"a line without a timestamp fails": {line: "hello", wantErr: `bad timestamp "hello"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, msg, err := parseAPILine([]byte(tc.line))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || msg != tc.wantMsg {
				t.Errorf("message = %q, err = %v; want %q", msg, err, tc.wantMsg)
			}
		})
	}
}

func TestAPILogsForgetsGonePods(t *testing.T) {
	live := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "u1"}}
	now := time.Now()
	c := &APILogsCollector{
		saved: map[string]time.Time{
			"ns/web/u1/app":  now, // running
			"ns/web/u0/app":  now, // the same name, an older pod
			"ns/gone/u2/app": now, // deleted
			"ns/gone/u3/app": now, // deleted, but rows not yet stored
		},
		pending: map[string]time.Time{"ns/gone/u3/app": now},
		streams: map[string]time.Time{"ns/gone/u2/app": now, "ns/web/u1/app": {}},
	}
	c.forgetGone([]*corev1.Pod{live})
	var kept []string
	for k := range c.saved {
		kept = append(kept, k)
	}
	if len(kept) != 2 || c.saved["ns/web/u1/app"].IsZero() || c.saved["ns/gone/u3/app"].IsZero() {
		t.Errorf("kept %v, want the running pod's and the one with pending rows", kept)
	}
	if _, ok := c.streams["ns/gone/u2/app"]; ok || len(c.streams) != 1 {
		t.Errorf("streams = %v, want only the open one", c.streams)
	}
}

// A stream line is read with at most the cap kept, however long it is, and the
// lines after it are read whole.
func TestReadLineCapsALongLine(t *testing.T) {
	long := "2026-11-26T01:00:00Z " + strings.Repeat("é", 300<<10) // 600 KiB, 4 reader buffers
	input := long + "\n" + "2026-11-26T01:00:01Z next\n" + "exactly10\n" + "no newline at the end"
	r := bufio.NewReaderSize(strings.NewReader(input), 16)
	tests := []struct {
		line      string
		truncated bool
	}{
		{line: long[:99] + "\n", truncated: true}, // 100 would split an é
		{line: "2026-11-26T01:00:01Z next\n"},
		{line: "exactly10\n"},
		{line: "no newline at the end"},
	}
	for i, want := range tests {
		limit := 100
		if i == 2 {
			limit = 9
		}
		line, truncated, err := readLine(r, limit)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if string(line) != want.line || truncated != want.truncated {
			t.Errorf("line %d = %d bytes ...%q (truncated %v), want %d bytes ...%q (truncated %v)", i, len(line), line[max(0, len(line)-6):], truncated, len(want.line), want.line[max(0, len(want.line)-6):], want.truncated)
		}
	}
}
