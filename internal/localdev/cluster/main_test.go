package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shared is the package's one control plane with workloads, started in TestMain.
var shared *Cluster

func TestMain(m *testing.M) {
	if mode := os.Getenv(orphanModeEnv); mode != "" {
		runOrphanHelper(mode)
		return
	}
	ctx := context.Background()
	c, err := Start(ctx, Options{Workloads: true, Nodes: 2})
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed to start the shared control plane: %v\n", err)
		os.Exit(1)
	}
	shared = c
	code := m.Run()
	pids := c.PIDs()
	dir := c.Dir
	c.Stop()
	// After the suite no component may be left: neither the shared cluster's nor any
	// that a test started in a directory of its own.
	if left := alive(pids); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "components still running after Stop: %v\n", left)
		code = 1
	}
	if left := processesMentioning(dir); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes of %s still running after Stop: %v\n", dir, left)
		code = 1
	}
	if left := processesMentioning("tugboat-cluster-test-"); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "processes of test clusters still running: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

// alive returns those of pids that still exist and are not zombies.
func alive(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if syscall.Kill(pid, 0) != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil && isZombie(string(stat)) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

func isZombie(stat string) bool {
	// The state follows the parenthesised command name: "pid (comm) Z ...".
	i := strings.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// processesMentioning lists live processes whose command line contains s.
func processesMentioning(s string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{fmt.Sprintf("cannot read /proc: %v", err)}
	}
	var out []string
	self := os.Getpid()
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), s) || len(alive([]int{pid})) == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("%d: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return out
}

// testDir returns a directory for a test's own cluster, named so that the suite's final
// check finds any process left in it.
func testDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tugboat-cluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// waitGone waits until none of pids is alive.
func waitGone(t *testing.T, pids []int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if len(alive(pids)) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("processes %v still alive %s after their owner ended", alive(pids), within)
}
