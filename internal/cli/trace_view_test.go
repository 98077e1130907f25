package cli

import (
	"strings"
	"testing"
	"time"
)

func TestBuildTraceKeepsEverySpanOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	span := func(id, parent string, offMs float64) traceSpan {
		return traceSpan{ID: id, ParentID: parent, Name: "s" + id, Start: t0.Add(time.Duration(offMs * float64(time.Millisecond))), DurationMs: 1, Success: true}
	}
	tests := map[string]struct {
		spans []traceSpan
		want  string // id:depth[:orphan] in waterfall order
	}{
		"children sit under their parent whatever the order received": {
			spans: []traceSpan{span("c", "b", 2), span("b", "a", 1), span("a", "", 0), span("d", "a", 1.5)},
			want:  "a:0 b:1 c:2 d:1",
		},
		"a span whose parent never came is a root, marked": {
			spans: []traceSpan{span("a", "", 0), span("x", "gone", 1)},
			want:  "a:0 x:0:orphan",
		},
		"a cycle of parent ids shows each span once": {
			spans: []traceSpan{span("a", "b", 0), span("b", "a", 1)},
			want:  "a:0:orphan b:1",
		},
		"a span that is its own parent": {
			spans: []traceSpan{span("a", "a", 0)},
			want:  "a:0:orphan",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tv := buildTrace("op", tc.spans, nil)
			var got []string
			for _, s := range tv.Spans {
				g := s.ID + ":" + string(rune('0'+s.Depth))
				if s.Orphan {
					g += ":orphan"
				}
				got = append(got, g)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}
