package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/delivery/changelist"
	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// DeliveryCollector writes the delivery tables: TugboatDeployments from push deploy
// records (ConfigMaps labelled deploy.tugboat.dev/record=true, written once when a
// deploy ends), and TugboatReconciliations from the GitOps
// controllers' events on Kustomization and GitRepository objects. The Normal or Warning
// event that ends a reconcile becomes the row. What the reconcile changed ("Kind/ns/name
// created", one per line) is in a successful apply's ReconciliationSucceeded event
// itself, timed from its applied-at annotation; when the apply was not judged healthy
// it comes in a Normal "Progressing" event of the same object and revision, and the row
// carries those changes and the time between the two.
type DeliveryCollector struct {
	App store.Appender
	// Checkpoint remembers the newest deploy record stored, so that the informer's
	// initial list after a restart does not store old records again.
	Checkpoint string

	deployed deliveryState
	deploys  [][]any
	unstored bool // a Spool keeps deploy rows of a failed append
	// recsUnstored is set while a Spool keeps TugboatReconciliations rows.
	recsUnstored bool

	mu       sync.Mutex
	rows     [][]any
	started  map[string]progress // kind/ns/name@revision → the Progressing event
	finished []finished          // rows held for settle, awaiting a late Progressing event
}

// settle is how long a reconcile's row waits for its Progressing event: the two
// events are emitted a moment apart and may reach the watch in either order.
const settle = 2 * time.Second

type finished struct {
	key     string
	row     store.TugboatReconciliationsRow
	arrived time.Time
}

type progress struct {
	at      time.Time
	changes []any
	seen    time.Time // when the event arrived
}

type deliveryState struct {
	// LastEnd is the newest EndTime of a stored record; Names the records that ended then.
	LastEnd time.Time `json:"lastEnd"`
	Names   []string  `json:"names"`
}

// Load reads the checkpoint; call it before the informer starts.
func (d *DeliveryCollector) Load() error {
	st, err := checkpoint[deliveryState]{path: d.Checkpoint}.load()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.deployed = st
	d.mu.Unlock()
	return nil
}

// RecordHandler is the handler of an informer on deploy record ConfigMaps.
func (d *DeliveryCollector) RecordHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    d.observeRecord,
		UpdateFunc: func(_, obj any) { d.observeRecord(obj) },
	}
}

func (d *DeliveryCollector) observeRecord(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	rec, err := deployrecord.FromConfigMap(cm)
	if err == nil {
		err = verifyRecord(cm, rec)
	}
	if err != nil {
		klog.Background().Error(err, "skipping a deploy record")
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	end := rec.EndTime.UTC()
	if end.Before(d.deployed.LastEnd) || end.Equal(d.deployed.LastEnd) && slices.Contains(d.deployed.Names, cm.Name) {
		return // stored already
	}
	if end.After(d.deployed.LastEnd) {
		d.deployed = deliveryState{LastEnd: end}
	}
	d.deployed.Names = append(d.deployed.Names, cm.Name)
	d.deploys = append(d.deploys, DeploymentRows(rec)...)
}

// verifyRecord accepts a deploy record only as `tugboat deploy` writes it. Anyone
// who may create a ConfigMap could label one a record; what must never follow is a
// row about another namespace (rows are shown by namespace, to whoever may read
// it), or about a workload other than the one the record is labelled for, or one
// no tugboat deploy wrote. So: the record's namespace and name are its ConfigMap's,
// its workload label matches its kind and workload, it was written by tugboat
// deploy's field manager, its result is one tugboat writes, and it ends after it
// starts. What a record cannot prove is who ran the deploy: within its namespace it
// is as trustworthy as the right to write ConfigMaps there (docs/security.md).
func verifyRecord(cm *corev1.ConfigMap, r deployrecord.Record) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("deploy record %s/%s is not one tugboat deploy wrote: %s", cm.Namespace, cm.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Namespace != cm.Namespace:
		return bad("it names namespace %q", r.Namespace)
	case r.Name != cm.Name:
		return bad("it names record %q", r.Name)
	case r.Kind == "" || r.Workload == "":
		return bad("it names no workload")
	case cm.Labels[deployrecord.WorkloadLabel] != deployrecord.WorkloadLabelValue(r.Kind, r.Workload):
		return bad("label %s is %q, not that of %s %s", deployrecord.WorkloadLabel, cm.Labels[deployrecord.WorkloadLabel], r.Kind, r.Workload)
	case !slices.Contains(deployrecord.Results, r.Result):
		return bad("unknown result %q", r.Result)
	case r.StartTime.IsZero() || r.EndTime.Before(r.StartTime):
		return bad("it ends (%s) before it starts (%s)", r.EndTime, r.StartTime)
	}
	for _, mf := range cm.ManagedFields {
		if mf.Manager != deployrecord.FieldManager {
			return bad("field manager %q wrote to it", mf.Manager)
		}
	}
	if len(cm.ManagedFields) == 0 {
		return bad("it has no field manager")
	}
	return nil
}

// DeploymentRows projects a deploy record onto TugboatDeployments: one row per
// container whose image the deploy set (one row with no container when none).
func DeploymentRows(r deployrecord.Record) [][]any {
	changes := r.Changes
	if len(changes) == 0 {
		changes = []deployrecord.Change{{}}
	}
	start, end := r.StartTime.UTC(), r.EndTime.UTC()
	rows := make([][]any, 0, len(changes))
	for _, c := range changes {
		rows = append(rows, store.Row(store.TugboatDeploymentsRow{TimeGenerated: end, Name: r.Name, Namespace: r.Namespace,
			Kind: r.Kind, Workload: r.Workload, Container: c.Container, ImageBefore: c.ImageBefore, ImageAfter: c.ImageAfter,
			Commit: r.Commit, Actor: r.Actor, Revision: r.Revision, Result: string(r.Result), Message: r.Message,
			StartTime: start, EndTime: end, DurationMs: float64(end.Sub(start).Microseconds()) / 1000}))
	}
	return rows
}

// Observe takes one new event occurrence (from the events collector).
func (d *DeliveryCollector) Observe(ev *eventsv1.Event) {
	d.reconciliation(ev, time.Now())
}

// reportingControllers are the controllers whose events about each kind become
// delivery rows: the names tugboat's GitOps reconcilers report as (their event
// recorders in gitops/controller/*_manager.go). Anyone may create an event about a
// Kustomization; only the controller's own make a row.
var reportingControllers = map[string]string{
	kustomizev1.KustomizationKind: "tugboat-kustomize",
	sourcev1.GitRepositoryKind:    "tugboat-source",
}

// maxStarted bounds the Progressing events waiting for the event that ends their
// reconcile, and startedTTL how long one waits: a reconcile ends within its
// timeout, and a flood of events that never end must not grow the agent.
const (
	maxStarted = 10000
	startedTTL = time.Hour
)

// ownEvent reports whether ev is one of the GitOps controller's about a kind of its own.
func ownEvent(ev *eventsv1.Event) bool {
	want, ok := reportingControllers[ev.Regarding.Kind]
	return ok && ev.ReportingController == want &&
		// The apiserver keeps an event in its object's namespace; checked here too,
		// since rows are shown by namespace.
		ev.Regarding.Namespace == ev.Namespace
}

// boundStarted makes room in started: it drops what waited longer than startedTTL,
// and, if that is not enough, the oldest.
func (d *DeliveryCollector) boundStarted(now time.Time) {
	if len(d.started) < maxStarted {
		return
	}
	for k, p := range d.started {
		if now.Sub(p.seen) > startedTTL {
			delete(d.started, k)
		}
	}
	for len(d.started) >= maxStarted {
		oldest, first := "", time.Time{}
		for k, p := range d.started {
			if first.IsZero() || p.seen.Before(first) {
				oldest, first = k, p.seen
			}
		}
		delete(d.started, oldest)
	}
}

func (d *DeliveryCollector) reconciliation(ev *eventsv1.Event, now time.Time) {
	if !ownEvent(ev) {
		return
	}
	kind := ev.Regarding.Kind
	revision := ev.Annotations[meta.RevisionAnnotation]
	_, at, _ := eventTimes(ev)
	key := kind + "/" + ev.Regarding.Namespace + "/" + ev.Regarding.Name + "@" + revision
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started == nil {
		d.started = map[string]progress{}
	}
	if ev.Type == corev1.EventTypeNormal && ev.Reason == meta.ProgressingReason {
		p := progress{at: at, changes: changeValues(changelist.Parse(ev.Note)), seen: now}
		for i := range d.finished {
			if f := &d.finished[i]; f.key == key && !f.row.StartTime.Before(at) {
				f.row.ObjectsChanged, f.row.Changes, f.row.StartTime = int64(len(p.changes)), p.changes, at
				f.row.DurationMs = float64(f.row.EndTime.Sub(at).Microseconds()) / 1000
				return
			}
		}
		d.boundStarted(now)
		d.started[key] = p
		return
	}
	result := "Succeeded"
	if ev.Type == corev1.EventTypeWarning {
		result = "Failed"
	}
	p, ok := d.started[key]
	delete(d.started, key)
	start := at
	if ok {
		start = p.at
	} else if listed := changeValues(changelist.Parse(ev.Note)); len(listed) > 0 {
		// A successful apply's one event lists its changes itself, and says when
		// they were applied.
		p.changes = listed
		if t, err := time.Parse(time.RFC3339Nano, ev.Annotations[meta.AppliedAtAnnotation]); err == nil && t.Before(at) {
			start = t
		}
	}
	changes := p.changes
	if changes == nil {
		changes = []any{}
	}
	row := store.TugboatReconciliationsRow{TimeGenerated: at, Kind: kind, Name: ev.Regarding.Name, Namespace: ev.Regarding.Namespace,
		Revision: revision, Commit: commitOf(revision), Result: result, Reason: ev.Reason, Message: ev.Note,
		ObjectsChanged: int64(len(changes)), Changes: changes, StartTime: start, EndTime: at,
		DurationMs: float64(at.Sub(start).Microseconds()) / 1000, OperationID: operationID(ev.Annotations)}
	d.finished = append(d.finished, finished{key: key, row: row, arrived: now})
}

// operationID returns the trace id an event names (meta.OperationIDAnnotation) when
// it is one: 32 lowercase hex digits, not all zero. Anyone who may create events can
// write the annotation; nothing else reaches the table.
func operationID(annotations map[string]string) string {
	id := annotations[meta.OperationIDAnnotation]
	if len(id) != 32 || strings.Trim(id, "0") == "" {
		return ""
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return id
}

// changeValues turns the change list of a Kustomization's event into the Changes
// column: [{object, action}].
func changeValues(l changelist.List) []any {
	var out []any
	for _, c := range l {
		out = append(out, map[string]any{"object": c.Object, "action": string(c.Action)})
	}
	return out
}

// commitOf returns the commit of a Flux revision ("main@sha1:abc…" → "abc…"); a
// revision in the older "main/abc…" form keeps what follows the last '/'.
func commitOf(revision string) string {
	if i := strings.LastIndex(revision, ":"); i >= 0 {
		return revision[i+1:]
	}
	if i := strings.LastIndex(revision, "/"); i >= 0 {
		return revision[i+1:]
	}
	return revision
}

// Run flushes buffered rows every second until ctx ends, and once more after.
func (d *DeliveryCollector) Run(ctx context.Context) error {
	_ = every(ctx, time.Second, func(ctx context.Context) {
		if err := d.flush(ctx, time.Now().Add(-settle)); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStoreUnavailable) {
			klog.FromContext(ctx).Error(err, "delivery collection failed; retrying")
		}
	})
	return d.flush(context.WithoutCancel(ctx), time.Now().Add(time.Hour))
}

// flush appends the deploy rows, and the reconcile rows that arrived before settled.
func (d *DeliveryCollector) flush(ctx context.Context, settled time.Time) error {
	d.mu.Lock()
	kept := d.finished[:0]
	for _, f := range d.finished {
		if f.arrived.Before(settled) {
			d.rows = append(d.rows, store.Row(f.row))
		} else {
			kept = append(kept, f)
		}
	}
	d.finished = kept
	rows, deploys, state, unstored := d.rows, d.deploys, d.deployed, d.unstored
	d.rows, d.deploys = nil, nil
	d.mu.Unlock()
	var deployErr error
	if len(deploys) > 0 || unstored {
		err := d.App.Append(ctx, store.TugboatDeployments, deploys)
		kept := errors.Is(err, ErrStoreUnavailable) // the spool keeps them; the checkpoint waits
		d.mu.Lock()
		d.unstored = kept
		if err != nil && !kept {
			d.rows, d.deploys = append(rows, d.rows...), append(deploys, d.deploys...)
		}
		d.mu.Unlock()
		switch {
		case err != nil && !kept:
			return fmt.Errorf("failed to append %d TugboatDeployments rows: %w", len(deploys), err)
		case err != nil:
			deployErr = fmt.Errorf("failed to append %d TugboatDeployments rows: %w", len(deploys), err)
		default:
			if err := (checkpoint[deliveryState]{path: d.Checkpoint}).save(state); err != nil {
				return err
			}
		}
	}
	d.mu.Lock()
	recsUnstored := d.recsUnstored
	d.mu.Unlock()
	if len(rows) == 0 && !recsUnstored {
		return deployErr
	}
	err := d.App.Append(ctx, store.TugboatReconciliations, rows)
	d.mu.Lock()
	d.recsUnstored = errors.Is(err, ErrStoreUnavailable) // the spool keeps them
	if err != nil && !d.recsUnstored {
		d.rows = append(rows, d.rows...)
	}
	d.mu.Unlock()
	if err != nil {
		return errors.Join(deployErr, fmt.Errorf("failed to append %d TugboatReconciliations rows: %w", len(rows), err))
	}
	return deployErr
}
