package receiver

import (
	"crypto/subtle"
	"sync"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"
)

// tokens holds each Ready Receiver's token and the webhook path derived from it, in
// memory, so that a webhook call is authenticated before any request to the
// apiserver: an unauthenticated caller cannot make the controller read Secrets. The
// reconciler fills it as it reads the token; the server's informer handler fills it
// on replicas that are not the leader (where the reconciler does not run).
type tokens struct {
	mu sync.RWMutex
	m  map[types.NamespacedName]tokenEntry
}

type tokenEntry struct {
	path  string
	token []byte
}

func newTokens() *tokens { return &tokens{m: map[types.NamespacedName]tokenEntry{}} }

func (t *tokens) set(key types.NamespacedName, path string, token []byte) {
	t.mu.Lock()
	t.m[key] = tokenEntry{path: path, token: token}
	t.mu.Unlock()
}

// get returns the token of key when it was read for path.
func (t *tokens) get(key types.NamespacedName, path string) ([]byte, bool) {
	t.mu.RLock()
	e, ok := t.m[key]
	t.mu.RUnlock()
	if !ok || subtle.ConstantTimeCompare([]byte(e.path), []byte(path)) != 1 {
		return nil, false
	}
	return e.token, true
}

func (t *tokens) forget(key types.NamespacedName) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

// Per-Receiver rate limit of authenticated calls: a burst of callLimitBurst, then
// callLimitPerSecond. A Git host sends one call per push; a burst of 30 covers a
// merge train, and 2 a second is more than any team pushes. What it stops is a
// leaked token (or a replayed signed body) turning into a stream of annotation
// patches against the apiserver. Unauthenticated calls are not counted, so a
// stranger cannot use up a Receiver's budget and silence its real sender.
const (
	callLimitBurst     = 30
	callLimitPerSecond = 2
)

// limiters holds one token bucket per Receiver.
type limiters struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*rate.Limiter
}

func (l *limiters) allow(key types.NamespacedName) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[types.NamespacedName]*rate.Limiter{}
	}
	lim, ok := l.m[key]
	if !ok {
		lim = rate.NewLimiter(callLimitPerSecond, callLimitBurst)
		l.m[key] = lim
	}
	return lim.Allow()
}

// forget drops a deleted Receiver's bucket, so the map holds only live Receivers.
func (l *limiters) forget(key types.NamespacedName) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}
