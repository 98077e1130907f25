package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanModeEnv makes the test binary act as a cluster owner that dies in the way the
// variable names, so that a test can check the components die with it.
const orphanModeEnv = "TUGBOAT_CLUSTER_TEST_OWNER_DIES_BY"

// runOrphanHelper starts a control plane, records its component PIDs in the state
// directory and then ends the way mode says, skipping every deferred Stop.
func runOrphanHelper(mode string) {
	dir := os.Getenv("TUGBOAT_CLUSTER_TEST_DIR")
	c, err := Start(context.Background(), Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer c.Stop() // must not run in any of the modes below
	pids := strings.Trim(fmt.Sprint(c.PIDs()), "[]")
	if err := os.WriteFile(filepath.Join(dir, "pids"), []byte(pids), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch mode {
	case "panic":
		panic("owner panics")
	case "SIGKILL":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "SIGINT":
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}
	time.Sleep(time.Minute) // a signal ends us before this does
	os.Exit(3)
}

func TestComponentsDieWithTheirOwner(t *testing.T) {
	for _, mode := range []string{"panic", "SIGKILL", "SIGINT"} {
		t.Run("owner ends by "+mode, func(t *testing.T) {
			dir := testDir(t)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), orphanModeEnv+"="+mode, "TUGBOAT_CLUSTER_TEST_DIR="+dir)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("owner exited cleanly, want it to die by %s:\n%s", mode, out)
			}
			data, readErr := os.ReadFile(filepath.Join(dir, "pids"))
			if readErr != nil {
				t.Fatalf("owner recorded no PIDs (%v):\n%s", readErr, out)
			}
			var pids []int
			for _, f := range strings.Fields(string(data)) {
				var pid int
				if _, err := fmt.Sscan(f, &pid); err != nil {
					t.Fatalf("bad pid %q", f)
				}
				pids = append(pids, pid)
			}
			if len(pids) != 2 {
				t.Fatalf("want etcd and apiserver PIDs, got %v", pids)
			}
			waitGone(t, pids, 10*time.Second)
			if left := processesMentioning(dir); len(left) > 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}
