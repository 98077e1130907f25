package meta

import (
	"fmt"
	"testing"
	"time"
)

type entry struct {
	digest, status string
	total          int64
}

// succeeded gives one successful entry, counted once, per digest number.
func succeeded(n ...int) []entry {
	var out []entry
	for _, i := range n {
		out = append(out, entry{fmt.Sprintf("sha256:%d", i), "ReconciliationSucceeded", 1})
	}
	return out
}

func TestHistoryUpsert(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cases := map[string]struct {
		upserts []entry // digest and status of each reconcile, one second apart
		want    []entry // newest first
	}{
		"the same outcome is counted in one snapshot": {
			upserts: []entry{{"sha256:a", "ReconciliationSucceeded", 0}, {"sha256:a", "ReconciliationSucceeded", 0}},
			want:    []entry{{"sha256:a", "ReconciliationSucceeded", 2}},
		},
		"a new digest is a new snapshot, newest first": {
			upserts: []entry{{"sha256:a", "ReconciliationSucceeded", 0}, {"sha256:b", "ReconciliationSucceeded", 0}},
			want:    []entry{{"sha256:b", "ReconciliationSucceeded", 1}, {"sha256:a", "ReconciliationSucceeded", 1}},
		},
		"the same digest with another status is a new snapshot": {
			upserts: []entry{{"sha256:a", "ReconciliationSucceeded", 0}, {"sha256:a", "HealthCheckFailed", 0}},
			want:    []entry{{"sha256:a", "HealthCheckFailed", 1}, {"sha256:a", "ReconciliationSucceeded", 1}},
		},
		"only the newest five are kept": {
			upserts: succeeded(0, 1, 2, 3, 4, 5, 6),
			want:    succeeded(6, 5, 4, 3, 2),
		},
		"an outcome seen again moves to the front": {
			upserts: []entry{{"sha256:a", "ReconciliationSucceeded", 0}, {"sha256:b", "ReconciliationSucceeded", 0}, {"sha256:a", "ReconciliationSucceeded", 0}},
			want:    []entry{{"sha256:a", "ReconciliationSucceeded", 2}, {"sha256:b", "ReconciliationSucceeded", 1}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var h History
			for i, u := range tc.upserts {
				h.Upsert(u.digest, at(i), time.Second, u.status, map[string]string{"revision": "main@sha1:x"})
			}
			var got []entry
			for _, s := range h {
				got = append(got, entry{s.Digest, s.LastReconciledStatus, s.TotalReconciliations})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("history %v, want %v", got, tc.want)
			}
			if l := h.Latest(); l == nil || !l.LastReconciled.Time.Equal(at(len(tc.upserts)-1)) {
				t.Errorf("latest snapshot %+v, want the last upsert", l)
			}
		})
	}
}
