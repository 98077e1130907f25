package dev

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

func TestUpStatusDownKeepsStateUntilPurged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "dev")
	o := testOptions(t, dataDir, cluster.DefaultBinaryPath())
	t.Cleanup(func() { _, _ = Down(context.Background(), o, true) })

	if st := Get(ctx, o); st.Running {
		t.Fatalf("a fresh data dir reports a running cluster: %+v", st)
	}
	st, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if !st.Running || st.ReadyNodes != 1 || st.Version != cluster.KubernetesVersion {
		t.Fatalf("after up: %+v", st)
	}

	// up is idempotent: the same supervisor keeps running.
	again, err := Up(ctx, o)
	if err != nil || again.PID != st.PID || again.Message != "already running" {
		t.Fatalf("second up: %+v, %v; want the running supervisor %d", again, err, st.PID)
	}

	// The printed kubeconfig works for kubectl, whose version parsing needs the
	// component version set at link time.
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, cluster.DefaultBinaryPath(), append([]string{"kubectl"}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+KubeconfigPath(dataDir))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := kubectl("get", "nodes", "-o", "name"); strings.TrimSpace(out) != "node/"+cluster.NodeName(0) {
		t.Errorf("kubectl get nodes = %q", out)
	}
	var version struct {
		ServerVersion struct{ GitVersion, Major, Minor string }
	}
	if err := json.Unmarshal([]byte(kubectl("version", "-o", "json")), &version); err != nil {
		t.Fatalf("kubectl version output does not parse: %v", err)
	}
	if version.ServerVersion.GitVersion != cluster.KubernetesVersion || version.ServerVersion.Major != "1" || version.ServerVersion.Minor != "37" {
		t.Errorf("server version = %+v", version.ServerVersion)
	}

	clients := clientsFor(t, dataDir)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "survives-down"}}
	if _, err := clients.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("failed to create namespace: %v", err)
	}

	wasRunning, err := Down(ctx, o, false)
	if err != nil || !wasRunning {
		t.Fatalf("down: running=%v err=%v", wasRunning, err)
	}
	if st := Get(ctx, o); st.Running {
		t.Fatalf("still running after down: %+v", st)
	}
	if left := processesMentioning(dataDir); len(left) > 0 {
		t.Fatalf("processes left after down: %v", left)
	}
	if _, err := os.Stat(KubeconfigPath(dataDir)); err != nil {
		t.Fatalf("down removed state without --purge: %v", err)
	}

	// A second up resumes the same cluster.
	if _, err := Up(ctx, o); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	if _, err := clientsFor(t, dataDir).CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace lost across down/up: %v", err)
	}

	if _, err := Down(ctx, o, true); err != nil {
		t.Fatalf("down --purge: %v", err)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir still there after --purge: %v", err)
	}
	if left := processesMentioning(dataDir); len(left) > 0 {
		t.Fatalf("processes left after down --purge: %v", left)
	}
}

func TestUpWithoutComponentsNamesTheBuildCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "dev")
	o := testOptions(t, dataDir, filepath.Join(t.TempDir(), "not-built", cluster.BinaryName))
	_, err := Up(ctx, o)
	if err == nil {
		_, _ = Down(ctx, o, true)
		t.Fatal("up succeeded without components")
	}
	if !strings.Contains(err.Error(), "make cluster") {
		t.Errorf("error does not name the build command:\n%v", err)
	}
	if st := Get(ctx, o); st.Running || st.PID != 0 && processAlive(st.PID) {
		t.Errorf("a supervisor is left after a failed up: %+v", st)
	}
}

func TestDownWhenNothingRunsIsANoOp(t *testing.T) {
	dataDir := t.TempDir()
	wasRunning, err := Down(context.Background(), Options{DataDir: dataDir}, false)
	if err != nil || wasRunning {
		t.Fatalf("down on an empty data dir: running=%v err=%v", wasRunning, err)
	}
	if _, err := os.Stat(dataDir); err != nil {
		t.Fatalf("down without --purge removed the data dir: %v", err)
	}
}

func clientsFor(t *testing.T, dataDir string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", KubeconfigPath(dataDir))
	if err != nil {
		t.Fatalf("failed to load kubeconfig: %v", err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

// processesMentioning lists live processes whose command line contains s.
func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil && pid != os.Getpid() && processAlive(pid) {
			out = append(out, strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}
