package controller

import (
	"context"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

func job(image string) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ` + image + "\n"
}

// A Job's pod template is immutable: a commit changing it fails, naming the Job and
// saying how to get past it, and leaves the Job as it was; with spec.force the Job is
// deleted and created again from the new commit.
func TestForceRecreatesAnObjectWhoseImmutableFieldChanged(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{"app/job.yaml": job("migrate:1")})
	applyYAML(t, ns, syncManifests(ns, url, "./app", true))
	first, _ := wd.Head()
	waitKustomization(t, ns, "app", "applied the first Job", readyAt(first))
	var before batchv1.Job
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "migrate"}, &before); err != nil {
		t.Fatal(err)
	}

	if err := wd.WriteFile("app/job.yaml", []byte(job("migrate:2"))); err != nil {
		t.Fatal(err)
	}
	second, err := wd.CommitAndPush("new migration image")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
	waitKustomization(t, ns, "app", "failed on the immutable field without force",
		notReadyWith(meta.ReconciliationFailedReason, "Job/"+ns+"/migrate", "immutable", "spec.force"))
	var unchanged batchv1.Job
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "migrate"}, &unchanged); err != nil {
		t.Fatal(err)
	}
	if unchanged.UID != before.UID || unchanged.Spec.Template.Spec.Containers[0].Image != "migrate:1" {
		t.Fatalf("without force the Job changed: uid %s→%s, image %s", before.UID, unchanged.UID, unchanged.Spec.Template.Spec.Containers[0].Image)
	}

	patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"force":true}}`))
	if err := k8s.Patch(ctx, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}, patch); err != nil {
		t.Fatal(err)
	}
	waitKustomization(t, ns, "app", "recreated the Job with force", readyAt(second))
	var after batchv1.Job
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "migrate"}, &after); err != nil {
		t.Fatal(err)
	}
	if after.UID == before.UID || after.Spec.Template.Spec.Containers[0].Image != "migrate:2" {
		t.Errorf("with force the Job was not recreated: uid %s→%s, image %s", before.UID, after.UID, after.Spec.Template.Spec.Containers[0].Image)
	}
}
