package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// TestPatchStatusWritesTheStatusAndIgnoresAGoneObject checks the status write every
// reconcile ends with: the change reaches the apiserver, the object learns its new
// resourceVersion (events refer to it) though only metadata is read back, and an
// object deleted meanwhile is no error.
func TestPatchStatusWritesTheStatusAndIgnoresAGoneObject(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	obj := &kustomizev1.Kustomization{
		// The shard label keeps the suite's controller away from it.
		ObjectMeta: metav1.ObjectMeta{Name: "status", Namespace: ns, Labels: map[string]string{shardLabel: "none"}},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./",
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "none"}},
	}
	if err := k8s.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	before := obj.DeepCopy()
	obj.Status.LastAttemptedRevision = "main@sha1:0123456789abcdef0123456789abcdef01234567"
	if err := reconcile.PatchStatus(ctx, k8s, before, obj); err != nil {
		t.Fatalf("patchStatus: %v", err)
	}
	var live kustomizev1.Kustomization
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), &live); err != nil {
		t.Fatal(err)
	}
	if live.Status.LastAttemptedRevision != obj.Status.LastAttemptedRevision {
		t.Errorf("status.lastAttemptedRevision = %q, want %q", live.Status.LastAttemptedRevision, obj.Status.LastAttemptedRevision)
	}
	if obj.ResourceVersion != live.ResourceVersion || obj.ResourceVersion == before.ResourceVersion {
		t.Errorf("resourceVersion after the patch %s, want the server's %s (was %s)", obj.ResourceVersion, live.ResourceVersion, before.ResourceVersion)
	}

	if err := k8s.Delete(ctx, &live); err != nil {
		t.Fatal(err)
	}
	before = obj.DeepCopy()
	obj.Status.LastAttemptedRevision = "main@sha1:1123456789abcdef0123456789abcdef01234567"
	if err := reconcile.PatchStatus(ctx, k8s, before, obj); err != nil {
		t.Errorf("patchStatus of a deleted object: %v, want no error", err)
	}
}
