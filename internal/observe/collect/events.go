package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// EventsCollector turns events.k8s.io/v1 Events, as an informer delivers them, into
// KubeEvents rows: one when an event appears and one each time its series grows.
// Rows are buffered and appended every second and when the collector stops.
type EventsCollector struct {
	ClusterID, ClusterName string
	// Types and Reasons keep only events of these types (Normal, Warning) and reasons;
	// empty keeps all (Container Insights keeps only Warnings by default; we keep all).
	Types, Reasons []string
	// Checkpoint remembers the newest LastSeen stored, so that the informer's initial
	// list after a restart does not store old events again.
	Checkpoint string
	App        store.Appender
	// Also receives every event that passes, for the delivery collector.
	Also func(*eventsv1.Event)

	mu        sync.Mutex
	rows      [][]any
	last      map[types.UID]eventKey
	watermark time.Time
	// unstored is the newest LastSeen of rows handed to an append that
	// failed: a Spool keeps them, and the watermark moves past them only
	// once an append succeeds.
	unstored time.Time
}

type eventKey struct {
	count    int32
	lastSeen time.Time
}

type eventsState struct {
	LastSeen time.Time `json:"lastSeen"`
}

// Handler is the informer event handler.
func (c *EventsCollector) Handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(obj) },
		UpdateFunc: func(_, obj any) { c.observe(obj) },
		DeleteFunc: c.forget,
	}
}

// forget drops what was remembered of an event the apiserver expired (--event-ttl).
func (c *EventsCollector) forget(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if ev, ok := obj.(*eventsv1.Event); ok {
		c.mu.Lock()
		delete(c.last, ev.UID)
		c.mu.Unlock()
	}
}

func (c *EventsCollector) observe(obj any) {
	ev, ok := obj.(*eventsv1.Event)
	if !ok {
		return
	}
	row := kubeEventsRow(c.ClusterID, c.ClusterName, ev)
	key := eventKey{count: int32(row.Count), lastSeen: row.LastSeen}
	c.mu.Lock()
	if c.last == nil {
		c.last = map[types.UID]eventKey{}
	}
	if prev, ok := c.last[ev.UID]; ok && prev == key {
		c.mu.Unlock()
		return // an update that is not a new occurrence
	}
	if len(c.last) >= maxEventKeys {
		c.forgetStored()
	}
	c.last[ev.UID] = key
	if key.lastSeen.Before(c.watermark) {
		c.mu.Unlock()
		return // stored before the restart
	}
	// The filters choose KubeEvents rows only; the delivery collector sees every event.
	if (len(c.Types) == 0 || slices.Contains(c.Types, ev.Type)) && (len(c.Reasons) == 0 || slices.Contains(c.Reasons, ev.Reason)) {
		c.rows = append(c.rows, store.Row(row))
	}
	c.mu.Unlock()
	if c.Also != nil {
		c.Also(ev)
	}
}

// maxEventKeys bounds what is remembered of events (one entry per event object).
// Entries normally go when the apiserver expires their event; a flood of events, or
// deletions the informer missed, must not grow the agent past its memory limit.
const maxEventKeys = 100000

// forgetStored drops the entries of events last seen before the watermark: an update
// of one of those is skipped by the watermark anyway, so forgetting it stores nothing
// twice. If that frees too little, the map is cleared: at worst an old event's next
// update is stored again, which is better than an agent killed for its memory.
func (c *EventsCollector) forgetStored() {
	for uid, k := range c.last {
		if k.lastSeen.Before(c.watermark) {
			delete(c.last, uid)
		}
	}
	if len(c.last) >= maxEventKeys*9/10 {
		c.last = map[types.UID]eventKey{}
	}
}

// Load reads the checkpoint's watermark; call it before the informer starts.
func (c *EventsCollector) Load() error {
	st, err := checkpoint[eventsState]{path: c.Checkpoint}.load()
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.watermark = st.LastSeen
	c.mu.Unlock()
	return nil
}

// Run flushes buffered rows every second until ctx ends, and once more after.
func (c *EventsCollector) Run(ctx context.Context) error {
	ck := checkpoint[eventsState]{path: c.Checkpoint}
	_ = every(ctx, time.Second, func(ctx context.Context) {
		if err := c.flush(ctx, ck); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStoreUnavailable) {
			klog.FromContext(ctx).Error(err, "event collection failed; retrying")
		}
	})
	return c.flush(context.WithoutCancel(ctx), ck)
}

func (c *EventsCollector) flush(ctx context.Context, ck checkpoint[eventsState]) error {
	c.mu.Lock()
	rows, newest := c.rows, c.unstored
	c.rows = nil
	c.mu.Unlock()
	if len(rows) == 0 && newest.IsZero() {
		return nil
	}
	for _, r := range rows {
		if t := r[6].(time.Time); t.After(newest) {
			newest = t
		}
	}
	if err := c.App.Append(ctx, store.KubeEvents, rows); err != nil {
		c.mu.Lock()
		if errors.Is(err, ErrStoreUnavailable) {
			// The spool keeps the rows; retry it at the next flush.
			if newest.After(c.unstored) {
				c.unstored = newest
			}
		} else {
			c.rows = append(rows, c.rows...)
		}
		c.mu.Unlock()
		return fmt.Errorf("failed to append %d KubeEvents rows: %w", len(rows), err)
	}
	c.mu.Lock()
	c.unstored = time.Time{}
	if newest.After(c.watermark) {
		c.watermark = newest
	}
	wm := c.watermark
	c.mu.Unlock()
	return ck.save(eventsState{LastSeen: wm})
}

// KubeEventRow projects an events.k8s.io/v1 Event onto KubeEvents' columns (which
// Container Insights defines from the core/v1 Event): Count from the series or the
// deprecated count, FirstSeen/LastSeen from the series or the deprecated timestamps,
// falling back to eventTime.
func KubeEventRow(clusterID, clusterName string, ev *eventsv1.Event) []any {
	return store.Row(kubeEventsRow(clusterID, clusterName, ev))
}

func kubeEventsRow(clusterID, clusterName string, ev *eventsv1.Event) store.KubeEventsRow {
	first, last, count := eventTimes(ev)
	computer := ev.DeprecatedSource.Host
	if computer == "" && ev.Regarding.Kind == "Node" {
		computer = ev.Regarding.Name
	}
	source := ev.ReportingController
	if source == "" {
		source = ev.DeprecatedSource.Component
	}
	return store.KubeEventsRow{
		TimeGenerated: last, ClusterID: clusterID, ClusterName: clusterName, Computer: computer, Count: float64(count),
		FirstSeen: first, LastSeen: last, KubeEventType: ev.Type, Message: ev.Note, Name: ev.Regarding.Name,
		Namespace: ev.Regarding.Namespace, ObjectKind: ev.Regarding.Kind, Reason: ev.Reason, SourceComponent: source,
	}
}

// eventTimes returns when an event was first and last seen and how often.
func eventTimes(ev *eventsv1.Event) (time.Time, time.Time, int32) {
	first := ev.EventTime.Time
	if !ev.DeprecatedFirstTimestamp.IsZero() {
		first = ev.DeprecatedFirstTimestamp.Time
	}
	if first.IsZero() {
		first = ev.CreationTimestamp.Time
	}
	last := first
	count := int32(1)
	switch {
	case ev.Series != nil:
		count, last = ev.Series.Count, ev.Series.LastObservedTime.Time
	case ev.DeprecatedCount > 0:
		count = ev.DeprecatedCount
		if !ev.DeprecatedLastTimestamp.IsZero() {
			last = ev.DeprecatedLastTimestamp.Time
		}
	}
	return first.UTC(), last.UTC(), count
}
