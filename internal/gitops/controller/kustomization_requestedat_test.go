package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// With a 1h interval, nothing reconciles a Kustomization whose inputs changed outside
// Git (a substituteFrom ConfigMap is not watched) until reconcile.fluxcd.io/requestedAt
// is set: then it reconciles at once and records the token in lastHandledReconcileAt.
// The GitRepository honours the annotation the same way.
func TestRequestedAtAnnotationReconcilesAtOnce(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: ns}, Data: map[string]string{"greeting": "hi"}}
	if err := k8s.Create(ctx, vars); err != nil {
		t.Fatal(err)
	}
	wd, url := newRepo(t, ns, map[string]string{"app/greeting.yaml": greetingTemplate})
	commit, _ := wd.Head()
	applyYAML(t, ns, gitRepository(url)+"---"+kustomization(ns, "app", "./app",
		"  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: vars\n"))
	waitKustomization(t, ns, "app", "applied the first value", readyAt(commit))

	vars.Data["greeting"] = "hey"
	if err := k8s.Update(ctx, vars); err != nil {
		t.Fatal(err)
	}
	// Give a wrongly triggered reconcile time to happen: none must.
	time.Sleep(time.Second)
	if got := greetingValue(t, ns); got != "hi world" {
		t.Fatalf("the value changed to %q without a reconcile request", got)
	}

	k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}
	requestReconcile(t, k)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(k), k); err != nil {
		t.Fatal(err)
	}
	token := k.Annotations[meta.ReconcileRequestAnnotation]
	waitKustomization(t, ns, "app", "handled the request", func(k *kustomizev1.Kustomization) bool {
		return k.Status.LastHandledReconcileAt == token
	})
	if got := greetingValue(t, ns); got != "hey world" {
		t.Errorf("after the request the value is %q, want %q", got, "hey world")
	}

	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}}
	requestReconcile(t, repo)
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
		t.Fatal(err)
	}
	token = repo.Annotations[meta.ReconcileRequestAnnotation]
	waitGitRepositoryStatus(t, ns, "repo", "handled the request", func(r *sourcev1.GitRepository) bool {
		return r.Status.LastHandledReconcileAt == token
	})
}

func greetingValue(t *testing.T, ns string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data["value"]
}
