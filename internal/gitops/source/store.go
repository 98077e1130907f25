package source

import "sync"

// Store holds the latest Snapshot of each GitRepository, keyed by
// "namespace/name", so the Kustomization controller reads trees in memory
// (no tarball, no HTTP). It is safe for concurrent use.
type Store struct {
	mu    sync.RWMutex
	snaps map[string]*Snapshot
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{snaps: map[string]*Snapshot{}}
}

// Put records s as the latest snapshot of key, replacing the previous one.
func (st *Store) Put(key string, s *Snapshot) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.snaps == nil {
		st.snaps = map[string]*Snapshot{}
	}
	st.snaps[key] = s
}

// Get returns the latest snapshot of key.
func (st *Store) Get(key string) (*Snapshot, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	s, ok := st.snaps[key]
	return s, ok
}

// Delete forgets key, for a deleted GitRepository.
func (st *Store) Delete(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.snaps, key)
}
