package collect

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

func TestEventsCollector(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	ev := func(uid, typ, reason string, count int32, last time.Time) *eventsv1.Event {
		e := &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, EventTime: metav1.NewMicroTime(t0),
			Type: typ, Reason: reason, Regarding: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p"},
		}
		if count > 1 {
			e.Series = &eventsv1.EventSeries{Count: count, LastObservedTime: metav1.NewMicroTime(last)}
		}
		return e
	}
	tests := map[string]struct {
		types, reasons []string
		watermark      time.Time
		events         []*eventsv1.Event
		wantRows       int
		wantAlso       int
	}{
		"every type by default": {
			events:   []*eventsv1.Event{ev("a", "Normal", "Pulled", 1, t0), ev("b", "Warning", "BackOff", 1, t0)},
			wantRows: 2, wantAlso: 2,
		},
		"a type filter keeps rows of that type but the delivery collector sees all": {
			types:    []string{"Warning"},
			events:   []*eventsv1.Event{ev("a", "Normal", "Pulled", 1, t0), ev("b", "Warning", "BackOff", 1, t0)},
			wantRows: 1, wantAlso: 2,
		},
		"a reason filter": {
			reasons:  []string{"Pulled"},
			events:   []*eventsv1.Event{ev("a", "Normal", "Pulled", 1, t0), ev("b", "Warning", "BackOff", 1, t0)},
			wantRows: 1, wantAlso: 2,
		},
		"a series that grows is a new row each time; a resync is not": {
			events: []*eventsv1.Event{
				ev("a", "Warning", "BackOff", 1, t0), ev("a", "Warning", "BackOff", 2, t0.Add(time.Minute)),
				ev("a", "Warning", "BackOff", 2, t0.Add(time.Minute)),
			},
			wantRows: 2, wantAlso: 2,
		},
		"events last seen before the checkpoint are not stored again": {
			watermark: t0.Add(time.Second),
			events:    []*eventsv1.Event{ev("a", "Normal", "Pulled", 1, t0), ev("b", "Warning", "BackOff", 3, t0.Add(time.Hour))},
			wantRows:  1, wantAlso: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder()
			also := 0
			ck := filepath.Join(t.TempDir(), "events.json")
			if !tc.watermark.IsZero() {
				if err := (checkpoint[eventsState]{path: ck}).save(eventsState{LastSeen: tc.watermark}); err != nil {
					t.Fatal(err)
				}
			}
			c := &EventsCollector{Types: tc.types, Reasons: tc.reasons, Checkpoint: ck, App: rec, Also: func(*eventsv1.Event) { also++ }}
			if err := c.Load(); err != nil {
				t.Fatal(err)
			}
			h := c.Handler()
			for _, e := range tc.events {
				h.OnAdd(e, false)
			}
			if err := c.flush(context.Background(), checkpoint[eventsState]{path: ck}); err != nil {
				t.Fatal(err)
			}
			if n := len(rec.table(store.KubeEvents)); n != tc.wantRows {
				t.Errorf("rows = %d, want %d", n, tc.wantRows)
			}
			if also != tc.wantAlso {
				t.Errorf("delivery saw %d events, want %d", also, tc.wantAlso)
			}
		})
	}
}
