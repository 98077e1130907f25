package apply

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultConcurrency bounds the requests one Apply or Prune has in flight.
const DefaultConcurrency = 8

// DefaultWaitForStages bounds the wait for CRDs and Namespaces, as Flux's
// default 60s apply wait timeout does.
const DefaultWaitForStages = 60 * time.Second

// Options tune one Apply.
type Options struct {
	// Force recreates an object whose change the server rejects because it
	// touches an immutable field (spec.force). Objects annotated
	// kustomize.toolkit.fluxcd.io/force: Enabled are recreated regardless.
	Force bool
	// WaitForStages bounds the wait for CRDs to be Established and
	// Namespaces Active before the next stage (DefaultWaitForStages when 0).
	WaitForStages time.Duration
}

// Stats counts the requests a Manager sent, so that tests can prove that an
// unchanged set costs none and the controller can export them as metrics.
type Stats struct {
	// Applies are server-side apply requests.
	Applies int64
	// DryRuns are server-side dry-run requests. Apply never sends one; the
	// counter exists to show it.
	DryRuns int64
	// Patches are JSON patches that hand over managedFields when adopting
	// objects from kubectl or kustomize-controller.
	Patches int64
	// Deletes are deletions by Prune and by forced recreation.
	Deletes int64
	// Gets are reads: ssa IfNotPresent checks, stage waits and Prune.
	Gets int64
}

// Requests is the total number of requests.
func (s Stats) Requests() int64 {
	return s.Applies + s.DryRuns + s.Patches + s.Deletes + s.Gets
}

// Manager applies and prunes objects for any number of Kustomizations. It is
// safe for concurrent use and is meant to live as long as the controller: it
// remembers, per object, what it last applied, and skips objects whose
// desired state is the same and whose live state was not seen to drift.
//
// That memory is only as good as what the controller tells it. The contract:
// feed every watch event of a managed object to Observe (or call Invalidate
// when you judge a change yourself), and call Invalidate for deletions. A
// Manager that is never told applies each object again only when its desired
// state changes.
type Manager struct {
	client       client.Client
	fieldManager string
	concurrency  int
	// keepApplied keeps what was applied, for Observe (see KeepApplied).
	keepApplied bool

	mu   sync.Mutex
	seen map[string]*record

	applies, dryRuns, patches, deletes, gets atomic.Int64
}

// record is what the Manager knows of one object, by inventory id.
type record struct {
	// hash is the hash of the desired object last applied, and sent says it
	// was; applied is that object as JSON (a tenth of the memory of its map
	// form), kept only for Observe (see KeepApplied). All are zero when the
	// object was only observed.
	hash    [sha256.Size]byte
	sent    bool
	applied []byte
	// rv is the newest resourceVersion seen: from the apply response or a
	// watch event. An apply that returns it again changed nothing. uid tells
	// a recreated object from the one seen.
	rv  string
	uid types.UID
	// stale means the live object drifted: send it again.
	stale bool
	// exists is set once the object is known to exist (ssa IfNotPresent).
	exists bool
	// liveExcluded is set when the live object is annotated ssa: Ignore or
	// reconcile: disabled, by a user pausing reconciliation of it.
	liveExcluded bool
}

// NewManager returns a Manager that applies with c as fieldManager (tugboat
// uses "tugboat"). c should not rate-limit below the apiserver's own flow
// control: Apply sends up to DefaultConcurrency requests at once.
func NewManager(c client.Client, fieldManager string) *Manager {
	return &Manager{
		client:       c,
		fieldManager: fieldManager,
		concurrency:  DefaultConcurrency,
		keepApplied:  true,
		seen:         map[string]*record{},
	}
}

// KeepApplied sets whether the Manager keeps a copy of each object it applied,
// which Observe needs to judge drift (on by default). An owner that judges drift
// itself, from its own copy of the desired objects, and calls Invalidate, turns it
// off: the controller's watcher does, and the copies were a second copy of every
// managed object, growing with the fleet. Without them Observe takes any change of an
// applied object's resourceVersion for drift.
func (m *Manager) KeepApplied(keep bool) {
	m.keepApplied = keep
}

// SetConcurrency sets how many requests one Apply or Prune has in flight.
func (m *Manager) SetConcurrency(n int) {
	m.concurrency = max(n, 1)
}

// Stats returns the requests sent so far.
func (m *Manager) Stats() Stats {
	return Stats{
		Applies: m.applies.Load(),
		DryRuns: m.dryRuns.Load(),
		Patches: m.patches.Load(),
		Deletes: m.deletes.Load(),
		Gets:    m.gets.Load(),
	}
}

// Invalidate makes the next Apply send the object with this inventory id
// even if its desired state is unchanged. Call it when a watch sees the object
// deleted, or changed in a way Drifted reports (Observe does that itself).
func (m *Manager) Invalidate(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.seen[id]; r != nil {
		r.stale = true
		r.exists = false
	}
}

// forget drops all the Manager knows of an object: after a failed apply,
// whose outcome is unknown, and after a prune.
func (m *Manager) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.seen, id)
}

// Observe tells the Manager what a watch saw of a live object. If the Manager
// applied the object and live no longer holds what it applied, the next Apply
// sends it again; Observe returns whether that is so and the first differing
// field. It also notes a user's ssa: Ignore or reconcile: disabled annotation
// on the live object, which makes Apply skip it. Observe sends no request.
func (m *Manager) Observe(live *unstructured.Unstructured) (drifted bool, path string) {
	id := IDOf(live)
	m.mu.Lock()
	r := m.seen[id]
	if r == nil {
		// First sight, e.g. from the informer's initial list after a
		// restart: remember it so that the next Apply can tell exactly
		// whether it changed anything.
		m.seen[id] = &record{liveExcluded: excluded(live), exists: true, rv: live.GetResourceVersion(), uid: live.GetUID(), stale: true}
		m.mu.Unlock()
		return false, ""
	}
	r.liveExcluded = excluded(live)
	r.exists = true
	sent, applied, unchanged := r.sent, r.applied, r.rv == live.GetResourceVersion() && r.uid == live.GetUID()
	if !sent {
		r.rv, r.uid = live.GetResourceVersion(), live.GetUID()
	}
	m.mu.Unlock()

	if !sent || unchanged {
		return false, ""
	}
	desired := &unstructured.Unstructured{}
	if applied == nil {
		// Not kept (KeepApplied): only sending it again is sure.
		drifted, path = true, ""
	} else if err := desired.UnmarshalJSON(applied); err != nil {
		// Encoded by Apply from a valid object; if it cannot be read back,
		// sending the object again is the safe answer.
		drifted, path = true, ""
	} else {
		drifted, path = Drifted(desired, live)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	// The record may have been replaced by an apply in the meantime (store
	// puts a new one); only mark the one that was compared.
	if m.seen[id] == r {
		r.rv, r.uid = live.GetResourceVersion(), live.GetUID()
		r.stale = r.stale || drifted
	}
	return drifted, path
}

// lookup returns a copy of the record of id, if any.
func (m *Manager) lookup(id string) (record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.seen[id]; r != nil {
		return *r, true
	}
	return record{}, false
}

func (m *Manager) store(id string, r record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen[id] = &r
}

// each runs f for 0..n-1 with at most m.concurrency calls at once.
func (m *Manager) each(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, m.concurrency)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}
