package meta

import (
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HistoryLimit is how many snapshots a History keeps, as Flux does.
const HistoryLimit = 5

// History is the record of a Kustomization's last reconciliations, newest first,
// one snapshot per distinct outcome (digest of the built manifests and the Ready
// reason), in the shape of Flux 2.6's status.history.
type History []Snapshot

// Snapshot is one distinct outcome of reconciling and how often it happened.
type Snapshot struct {
	// Digest is the checksum of the built manifests, '<algorithm>:<hex>'.
	Digest string `json:"digest"`
	// FirstReconciled is when this outcome was first recorded.
	FirstReconciled metav1.Time `json:"firstReconciled"`
	// LastReconciled is when this outcome was last recorded.
	LastReconciled metav1.Time `json:"lastReconciled"`
	// LastReconciledDuration is how long the last such reconcile took.
	LastReconciledDuration metav1.Duration `json:"lastReconciledDuration"`
	// LastReconciledStatus is the Ready reason of the last such reconcile.
	LastReconciledStatus string `json:"lastReconciledStatus"`
	// TotalReconciliations counts the reconciles with this outcome.
	TotalReconciliations int64 `json:"totalReconciliations"`
	// Metadata holds more about the outcome, e.g. the source "revision".
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Upsert records a reconcile that ended at timestamp after duration with the Ready
// reason status, for manifests of digest: a snapshot of the same digest and status
// is updated and counted, otherwise a new one is added. The newest HistoryLimit
// snapshots are kept, newest first.
func (h *History) Upsert(digest string, timestamp time.Time, duration time.Duration, status string, metadata map[string]string) {
	now := metav1.NewTime(timestamp)
	found := false
	for i := range *h {
		s := &(*h)[i]
		if s.Digest == digest && s.LastReconciledStatus == status {
			s.LastReconciled = now
			s.LastReconciledDuration = metav1.Duration{Duration: duration}
			s.TotalReconciliations++
			if metadata != nil {
				s.Metadata = metadata
			}
			found = true
			break
		}
	}
	if !found {
		*h = append(*h, Snapshot{Digest: digest, FirstReconciled: now, LastReconciled: now,
			LastReconciledDuration: metav1.Duration{Duration: duration}, LastReconciledStatus: status,
			TotalReconciliations: 1, Metadata: metadata})
	}
	sort.SliceStable(*h, func(i, j int) bool { return (*h)[j].LastReconciled.Before(&(*h)[i].LastReconciled) })
	if len(*h) > HistoryLimit {
		*h = (*h)[:HistoryLimit]
	}
}

// Latest returns the newest snapshot, or nil.
func (h History) Latest() *Snapshot {
	if len(h) == 0 {
		return nil
	}
	return &h[0]
}
