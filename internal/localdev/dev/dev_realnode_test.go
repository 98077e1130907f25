package dev

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// On a machine without the real node's packages (a PATH without them), up with the
// real node required fails before starting anything and names what to install; up in
// the default mode goes on kwok-only with a note that says why.
func TestUpWithoutTheRealNodesPackages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "dev")
	o := testOptions(t, dataDir, cluster.DefaultBinaryPath())
	t.Setenv("PATH", t.TempDir())

	o.RealNode = RealNodeRequired
	_, err := Up(ctx, o)
	if !errors.Is(err, cluster.ErrRealNodeUnavailable) {
		t.Fatalf("up with the real node required and no containerd: %v, want ErrRealNodeUnavailable", err)
	}
	for _, want := range []string{"containerd", "runc", "iptables", cluster.PrerequisitesCommand} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
	if st := Get(ctx, o); st.Running || st.PID != 0 {
		t.Errorf("a failed up left a supervisor: %+v", st)
	}

	cases := map[string]struct {
		mode     RealNodeMode
		start    bool
		noteHas  string
		noteNone bool
	}{
		"auto goes on kwok-only and says why": {mode: RealNodeAuto, noteHas: "containerd"},
		"kwok-only says nothing":              {mode: RealNodeOff, noteNone: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			start, note, err := decideRealNode(tc.mode)
			if err != nil || start != tc.start {
				t.Fatalf("decideRealNode = %v, %q, %v; want start %v and no error", start, note, err, tc.start)
			}
			if tc.noteNone && note != "" {
				t.Errorf("note %q, want none", note)
			}
			if tc.noteHas != "" && (!strings.Contains(note, tc.noteHas) || !strings.Contains(note, "--kwok-only")) {
				t.Errorf("note %q does not name %q and --kwok-only", note, tc.noteHas)
			}
		})
	}
}
