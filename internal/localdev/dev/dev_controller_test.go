package dev

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// The dev cluster's controllers run in its supervisor and hold the controllers' leader
// lease, which `dev status` reports. A supervisor killed with the lease held leaves it
// behind; the next one releases it, as its holder is a process of this machine that is
// gone, and takes it, rather than waiting for it to expire.
func TestTheSupervisorHoldsTheLeaseAndTheNextReleasesAKilledOnes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "dev")
	o := testOptions(t, dataDir, cluster.DefaultBinaryPath())
	o.RealNode = RealNodeOff
	t.Cleanup(func() { _, _ = Down(context.Background(), o, true) })

	st, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	first := waitLeaseInSupervisor(ctx, t, o, st.PID)

	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return len(processesMentioning(dataDir)) == 0, nil
	})
	if err != nil {
		t.Fatalf("processes left after the supervisor was killed: %v", processesMentioning(dataDir))
	}

	again, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("up after the supervisor was killed: %v", err)
	}
	second := waitLeaseInSupervisor(ctx, t, o, again.PID)
	if second.Holder == first.Holder {
		t.Fatalf("the lease holder is still the killed supervisor: %q", second.Holder)
	}
	log, err := os.ReadFile(filepath.Join(dataDir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("released the controllers' lease held by process %d, which is gone", st.PID); !strings.Contains(string(log), want) {
		t.Errorf("the supervisor log does not say %q:\n%s", want, tailFile(filepath.Join(dataDir, logFile), 0, 30))
	}
}

// waitLeaseInSupervisor waits until `dev status` says the supervisor pid holds the
// controllers' lease.
func waitLeaseInSupervisor(ctx context.Context, t *testing.T, o Options, pid int) ControllerStatus {
	t.Helper()
	var last *ControllerStatus
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = Get(ctx, o).Controller
		return last != nil && last.InSupervisor, nil
	})
	if err != nil {
		t.Fatalf("the supervisor %d never held the lease %s/%s: %+v", pid, kube.ControllerLeaseNamespace, kube.ControllerLeaseName, last)
	}
	if _, holder, _ := kube.ParseLeaseHolder(last.Holder); holder != pid {
		t.Fatalf("lease holder %q, want the supervisor %d", last.Holder, pid)
	}
	return *last
}
