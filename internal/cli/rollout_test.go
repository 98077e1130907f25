package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// TestRolloutVerbs walks one Deployment through three revisions and back with the
// rollout verbs, checking each output against its golden file.
func TestRolloutVerbs(t *testing.T) {
	noCIEnv(t)
	ns := newNamespace(t)
	newWebDeployment(t, ns, "registry.example/web:1", 600, nil)
	for _, tag := range []string{"2", "3"} {
		mustRun(t, ExitOK, ns, "deploy", "set-image", "deployment/web", "app=registry.example/web:"+tag, "--actor", "alice", "--commit", "c0ffee")
	}
	steps := []struct {
		name  string
		args  []string
		code  int
		image string
	}{
		{name: "status-complete", args: []string{"rollout", "status", "deployment/web"}},
		{name: "status-once", args: []string{"rollout", "status", "deploy/web", "--watch=false"}},
		{name: "history", args: []string{"rollout", "history", "deployment/web"}},
		{name: "history-revision", args: []string{"rollout", "history", "deployment/web", "--revision", "2"}},
		{name: "history-missing-revision", args: []string{"rollout", "history", "deployment/web", "--revision", "9"}, code: ExitError},
		{name: "undo", args: []string{"rollout", "undo", "deployment/web"}, image: "registry.example/web:2"},
		{name: "undo-to-revision", args: []string{"rollout", "undo", "deployment/web", "--to-revision", "1"}, image: "registry.example/web:1"},
		{name: "undo-to-current", args: []string{"rollout", "undo", "deployment/web", "--to-revision", "5"}, image: "registry.example/web:1"},
		{name: "undo-missing-revision", args: []string{"rollout", "undo", "deployment/web", "--to-revision", "42"}, code: ExitError, image: "registry.example/web:1"},
		{name: "history-after-undo", args: []string{"rollout", "history", "deployment/web"}},
		{name: "status-missing", args: []string{"rollout", "status", "deployment/nope"}, code: ExitError},
		{name: "status-bad-ref", args: []string{"rollout", "status", "pod/web"}, code: ExitUsage},
	}
	for _, st := range steps {
		r := mustRun(t, st.code, ns, st.args...)
		golden(t, "rollout", st.name, "stdout:\n"+deployOutput(r.stdout, ns)+"stderr:\n"+deployOutput(r.stderr, ns))
		if st.image != "" {
			if img, _ := webImage(t, ns); img != st.image {
				t.Errorf("%s: image %s, want %s", strings.Join(st.args, " "), img, st.image)
			}
			mustRun(t, ExitOK, ns, "rollout", "status", "deployment/web", "--timeout", "2m")
		}
	}
}

// TestRolloutOutputIsKubectls runs kubectl (the cluster's own version, from the
// component binary) and tugboat on the same Deployment and compares what they print.
func TestRolloutOutputIsKubectls(t *testing.T) {
	noCIEnv(t)
	ns := newNamespace(t)
	newWebDeployment(t, ns, "registry.example/web:1", 600, nil)
	mustRun(t, ExitOK, ns, "deploy", "set-image", "deployment/web", "app=registry.example/web:2", "--actor", "alice", "--commit", "c0ffee")
	for _, args := range [][]string{
		{"rollout", "status", "deployment/web"},
		{"rollout", "status", "deployment/web", "--watch=false"},
		{"rollout", "history", "deployment/web"},
		{"rollout", "history", "deployment/web", "--revision", "1"},
	} {
		ours := mustRun(t, ExitOK, ns, args...)
		cmd := exec.Command(cluster.DefaultBinaryPath(), append([]string{"kubectl", "--kubeconfig", env.Kubeconfig, "-n", ns}, args...)...)
		theirs, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
		}
		if ours.stdout != string(theirs) {
			t.Errorf("%s differs from kubectl's:\n--- kubectl\n%q\n--- tugboat\n%q", strings.Join(args, " "), theirs, ours.stdout)
		}
	}
}
