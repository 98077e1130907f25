package cli

import (
	"context"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// cm is a ConfigMap manifest.
func cm(name, color string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  color: " + color + "\n"
}

// TestGitOpsVerbs drives a user's day with the CLI against the real controllers: create
// a source and a Kustomization, list them, look at the tree, push and reconcile,
// suspend and resume, and delete. Each step's output is a golden file.
func TestGitOpsVerbs(t *testing.T) {
	ns := newNamespace(t)
	other := newNamespace(t)
	wd, url := newRepo(t, "flow-"+ns, map[string]string{
		"app/kustomization.yaml":   "namespace: " + ns + "\nresources: [web.yaml, nested.yaml]\n",
		"app/web.yaml":             cm("web", "blue"),
		"app/nested.yaml":          nestedKustomization("inner", ns),
		"inner/kustomization.yaml": "namespace: " + ns + "\nresources: [db.yaml]\n",
		"inner/db.yaml":            cm("db", "green"),
	})
	norm := func(s string) string {
		return normalise(s, ns, "NS", other, "OTHER", url, "URL")
	}

	r := mustRun(t, ExitOK, ns, "create", "source", "git", "flow", "--url", url, "--branch", "main", "--interval", "10m")
	golden(t, "create", "source-git", norm(r.stdout))
	r = mustRun(t, ExitOK, ns, "create", "kustomization", "app", "--source", "GitRepository/flow", "--path", "./app", "--prune", "--interval", "10m", "--timeout", "2m")
	golden(t, "create", "kustomization", norm(r.stdout))
	// The nested Kustomization the first one applied becomes Ready on its own.
	mustRun(t, ExitOK, ns, "reconcile", "kustomization", "inner")

	r = mustRun(t, ExitOK, ns, "get", "sources", "git")
	golden(t, "get", "sources-git", norm(r.stdout))
	if all := mustRun(t, ExitOK, ns, "get", "sources", "all"); norm(all.stdout) != norm(r.stdout) {
		t.Errorf("get sources all differs from get sources git:\n%s", all.stdout)
	}
	r = mustRun(t, ExitOK, ns, "get", "kustomizations")
	golden(t, "get", "kustomizations", norm(r.stdout))
	r = mustRun(t, ExitOK, ns, "get", "kustomizations", "app")
	golden(t, "get", "kustomization-by-name", norm(r.stdout))
	r = mustRun(t, ExitOK, ns, "get", "all")
	golden(t, "get", "all", norm(r.stdout))
	r = mustRun(t, ExitOK, other, "get", "kustomizations")
	if r.stdout != "" || !strings.Contains(r.stderr, "no Kustomization objects found in "+other+" namespace") {
		t.Errorf("get in an empty namespace printed %q / %q", r.stdout, r.stderr)
	}
	r = mustRun(t, ExitOK, other, "get", "kustomizations", "-A")
	if !strings.HasPrefix(r.stdout, "NAMESPACE") || !regexp.MustCompile(`(?m)^`+ns+`\s+app\s`).MatchString(r.stdout) {
		t.Errorf("get -A lacks the NAMESPACE column or the object:\n%s", r.stdout)
	}
	r = mustRun(t, ExitOK, ns, "get", "kustomizations", "app", "-o", "yaml")
	if !strings.Contains(r.stdout, "kind: Kustomization\n") || !strings.Contains(r.stdout, "lastAppliedRevision: main@sha1:") || strings.Contains(r.stdout, "managedFields") {
		t.Errorf("get -o yaml printed:\n%s", r.stdout)
	}
	r = mustRun(t, ExitOK, ns, "get", "sources", "git", "-o", "json")
	if !strings.Contains(r.stdout, `"kind": "GitRepository"`) {
		t.Errorf("get -o json printed:\n%s", r.stdout)
	}

	r = mustRun(t, ExitOK, ns, "tree", "kustomization", "app")
	golden(t, "tree", "nested", norm(r.stdout))
	r = mustRun(t, ExitOK, ns, "tree", "kustomization", "app", "-o", "json")
	golden(t, "tree", "nested-json", strings.ReplaceAll(r.stdout, ns, "NS"))

	if err := wd.WriteFiles(map[string]string{"app/web.yaml": cm("web", "red")}); err != nil {
		t.Fatal(err)
	}
	commit, err := wd.CommitAndPush("red")
	if err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, ExitOK, ns, "reconcile", "kustomization", "app", "--with-source")
	golden(t, "reconcile", "with-source", norm(r.stdout))
	if !strings.Contains(r.stdout, "applied revision main@sha1:"+commit) {
		t.Errorf("reconcile did not report the pushed commit %s:\n%s", commit, r.stdout)
	}
	var web corev1.ConfigMap
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &web); err != nil || web.Data["color"] != "red" {
		t.Errorf("after reconcile the ConfigMap is %v (err %v), want color red", web.Data, err)
	}
	r = mustRun(t, ExitOK, ns, "reconcile", "source", "git", "flow")
	golden(t, "reconcile", "source-git", norm(r.stdout))

	r = mustRun(t, ExitOK, ns, "suspend", "kustomization", "app")
	golden(t, "suspend", "kustomization", norm(r.stdout))
	ks := &kustomizev1.Kustomization{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "app"}, ks); err != nil || !ks.Spec.Suspend {
		t.Fatalf("suspend did not set spec.suspend (err %v)", err)
	}
	r = mustRun(t, ExitOK, ns, "get", "kustomizations", "app")
	if !strings.Contains(r.stdout, "   true   ") {
		t.Errorf("get does not show the suspension:\n%s", r.stdout)
	}
	r = mustRun(t, ExitError, ns, "reconcile", "kustomization", "app")
	if !strings.Contains(r.stderr, "Kustomization '"+ns+"/app' is suspended") {
		t.Errorf("reconcile of a suspended object said %q", r.stderr)
	}
	r = mustRun(t, ExitOK, ns, "resume", "kustomization", "app")
	golden(t, "resume", "kustomization", norm(r.stdout))

	// delete asks first; without a yes nothing is deleted.
	if _, _, err := tugboatAnswering(t, ns, "n\n", "delete", "source", "git", "flow"); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("delete answered no returned %v, want cancelled", err)
	}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "flow"}, &sourcev1.GitRepository{}); err != nil {
		t.Fatalf("delete answered no removed the GitRepository: %v", err)
	}
	if _, _, err := tugboatAnswering(t, ns, "y\n", "delete", "source", "git", "flow"); err != nil {
		t.Errorf("delete answered yes failed: %v", err)
	}
	r = mustRun(t, ExitOK, ns, "delete", "kustomization", "app", "--silent")
	golden(t, "delete", "kustomization", norm(r.stdout))
	for name, obj := range map[string]client.Object{"flow": &sourcev1.GitRepository{}, "app": &kustomizev1.Kustomization{}} {
		waitGone(t, ns, name, obj)
	}
}

func nestedKustomization(name, ns string) string {
	return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  interval: 10m
  prune: true
  path: ./` + name + `
  sourceRef:
    kind: GitRepository
    name: flow
`
}

// waitGone waits until the object is deleted (finalizers done).
func waitGone(t *testing.T, ns, name string, obj client.Object) {
	t.Helper()
	if err := pollUntil(func() bool {
		return apierrors.IsNotFound(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj))
	}); err != nil {
		t.Errorf("%T %s/%s was not deleted", obj, ns, name)
	}
}
