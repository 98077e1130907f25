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
	first := waitLeaseInSupervisor(ctx, t, o, st.PID, "")

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
	waitLeaseInSupervisor(ctx, t, o, again.PID, first.Holder)
	log, err := os.ReadFile(filepath.Join(dataDir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("released the controllers' lease held by process %d, which is gone", st.PID); !strings.Contains(string(log), want) {
		t.Errorf("the supervisor log does not say %q:\n%s", want, tailFile(filepath.Join(dataDir, logFile), 0, 30))
	}
}

// waitLeaseInSupervisor waits until `dev status` says the supervisor pid holds the
// controllers' lease under another identity than previous.
func waitLeaseInSupervisor(ctx context.Context, t *testing.T, o Options, pid int, previous string) ControllerStatus {
	t.Helper()
	var last *ControllerStatus
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = Get(ctx, o).Controller
		return last != nil && last.InSupervisor && !last.Expired && last.Holder != previous, nil
	})
	if err != nil {
		t.Fatalf("the supervisor %d never held the lease %s/%s: %+v", pid, kube.ControllerLeaseNamespace, kube.ControllerLeaseName, last)
	}
	if _, holder, _ := kube.ParseLeaseHolder(last.Holder); holder != pid {
		t.Fatalf("lease holder %q, want the supervisor %d", last.Holder, pid)
	}
	return *last
}

// An apiserver that stops answering for longer than the lease's renew deadline costs
// the supervisor's controllers their lease; they stop, as controller-runtime does, and
// the supervisor starts them again instead of taking the local cluster down.
func TestTheSupervisorRestartsControllersThatLostTheLease(t *testing.T) {
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
	first := waitLeaseInSupervisor(ctx, t, o, st.PID, "")

	// Frozen, not killed: a dead apiserver is a dead cluster, a stalled one is not.
	apiserver := pidMentioning(t, dataDir, "kube-apiserver")
	if err := syscall.Kill(apiserver, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(apiserver, syscall.SIGCONT)
		}
	}
	defer resume()
	logPath := filepath.Join(dataDir, logFile)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		data, err := os.ReadFile(logPath)
		return err == nil && strings.Contains(string(data), "the GitOps controllers stopped after"), nil
	})
	resume()
	if err != nil {
		t.Fatalf("the controllers never said they stopped while the apiserver was frozen:\n%s", tailFile(logPath, 0, 30))
	}

	// A new manager elects with a new identity.
	waitLeaseInSupervisor(ctx, t, o, st.PID, first.Holder)
	if now := Get(ctx, o); !now.Running || now.PID != st.PID {
		t.Fatalf("the supervisor did not survive: %+v (was pid %d)", now, st.PID)
	}
}

// pidMentioning returns the pid of the one live process whose command line holds every
// fragment.
func pidMentioning(t *testing.T, fragments ...string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var found []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		match := true
		for _, f := range fragments {
			match = match && strings.Contains(string(cmdline), f)
		}
		if match && pid != os.Getpid() && processAlive(pid) {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d processes mention %q: %v", len(found), fragments, found)
	}
	return found[0]
}
