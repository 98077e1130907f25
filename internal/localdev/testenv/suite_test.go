package testenv

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// A suite whose cluster cannot start reports why, keeps that answer for every later
// caller (Need from several tests, Run), and stops without anything to stop.
func TestSuiteThatCannotStartSaysWhyOnceAndForAll(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-binary")
	s := New(Options{Cluster: cluster.Options{Binary: missing}, CRDs: true, Git: true})
	err := s.start()
	if err == nil || !strings.Contains(err.Error(), "failed to start the local cluster") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("start = %v, want an error naming the cluster and %s", err, missing)
	}
	if again := s.start(); !errors.Is(again, err) {
		t.Fatalf("second start = %v, want the first answer %v", again, err)
	}
	if s.Cluster != nil || s.Git != nil || s.Manager != nil {
		t.Fatalf("a suite that failed to start holds parts: %+v", s)
	}
	s.Stop()
	s.Stop() // twice, as TestMain and a deferred cleanup might
}
