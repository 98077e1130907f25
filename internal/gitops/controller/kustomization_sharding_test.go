package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// A controller started with --watch-label-selector reconciles only the objects the
// selector matches: a Kustomization of another shard, reading the same source, is
// left untouched (no finalizer, no status, nothing applied) until it is relabelled.
func TestAShardReconcilesOnlyObjectsMatchingItsSelector(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	startController(t, "--watch-label-selector", shardLabel+"=shard-a")
	wd, url := newRepo(t, ns, map[string]string{"a/cm.yaml": configMap("a", "1"), "b/cm.yaml": configMap("b", "1")})
	commit, _ := wd.Head()
	// The other shard's Kustomization exists first, so a shard that wrongly took it
	// would have reconciled it before its own is Ready.
	applyYAML(t, ns, sharded("shard-b", kustomization(ns, "b", "./b", "")))
	applyYAML(t, ns, sharded("shard-a", gitRepository(url)+"---"+kustomization(ns, "a", "./a", "")))
	waitKustomization(t, ns, "a", "was reconciled by its shard", readyAt(commit))

	b := &kustomizev1.Kustomization{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b"}, b); err != nil {
		t.Fatal(err)
	}
	if len(b.Finalizers) != 0 || len(b.Status.Conditions) != 0 || b.Status.LastAttemptedRevision != "" {
		t.Errorf("the other shard's Kustomization was reconciled: finalizers %v, status %s", b.Finalizers, statusString(b))
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the other shard's ConfigMap exists (err %v)", err)
	}

	// Moved into the shard, it is reconciled: the selector was all that kept it out.
	applyYAML(t, ns, sharded("shard-a", kustomization(ns, "b", "./b", "")))
	waitKustomization(t, ns, "b", "was reconciled once relabelled into the shard", readyAt(commit))
}
