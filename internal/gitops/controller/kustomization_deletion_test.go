package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// holdFinalizer keeps a deleted test object terminating until the test lets it go.
const holdFinalizer = "test.tugboat.dev/hold"

// Deleting a Kustomization does to its objects what its deletionPolicy says, as in
// Flux. Each case's Git holds a plain ConfigMap and one held by a finalizer of its own,
// so that WaitForTermination is seen to wait for it where Delete does not.
func TestDeletionPolicyDecidesTheFateOfTheObjects(t *testing.T) {
	cases := map[string]struct {
		policy      string
		prune       bool
		wantDeleted bool
		wantWait    bool // the Kustomization stays until the held object is gone
	}{
		"MirrorPrune, the default, with prune deletes":  {policy: "", prune: true, wantDeleted: true},
		"MirrorPrune, the default, without prune keeps": {policy: "", prune: false, wantDeleted: false},
		"Delete deletes even without prune":             {policy: "Delete", prune: false, wantDeleted: true},
		"Orphan keeps even with prune":                  {policy: "Orphan", prune: true, wantDeleted: false},
		"WaitForTermination deletes and waits":          {policy: "WaitForTermination", prune: false, wantDeleted: true, wantWait: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			held := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [" + holdFinalizer + "]\n"
			wd, url := newRepo(t, ns, map[string]string{"app/plain.yaml": configMap("plain", "1"), "app/held.yaml": held})
			t.Cleanup(func() { release(t, ns, "held") })
			manifests := syncManifests(ns, url, "./app", tc.prune)
			if tc.policy != "" {
				manifests += "  deletionPolicy: " + tc.policy + "\n"
			}
			applyYAML(t, ns, manifests)
			commit, _ := wd.Head()
			waitKustomization(t, ns, "app", "applied", readyAt(commit))

			k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}
			if err := k8s.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
			if tc.wantWait {
				waitFor(t, "the held ConfigMap to be terminating", func(ctx context.Context) bool {
					var cm corev1.ConfigMap
					return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "held"}, &cm) == nil && cm.DeletionTimestamp != nil
				})
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(k), k); err != nil {
					t.Fatalf("the Kustomization went before the objects it deleted terminated: %v", err)
				}
				release(t, ns, "held")
			}
			waitFor(t, "the Kustomization to be gone", func(ctx context.Context) bool {
				return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(k), k))
			})

			var plain, heldCM corev1.ConfigMap
			err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "plain"}, &plain)
			if deleted := apierrors.IsNotFound(err); deleted != tc.wantDeleted {
				t.Errorf("plain ConfigMap deleted = %v (err %v), want %v", deleted, err, tc.wantDeleted)
			}
			err = k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "held"}, &heldCM)
			deleting := apierrors.IsNotFound(err) || (err == nil && heldCM.DeletionTimestamp != nil)
			if deleting != tc.wantDeleted {
				t.Errorf("held ConfigMap deleted = %v (err %v), want %v", deleting, err, tc.wantDeleted)
			}
		})
	}
}

// release removes the hold finalizer from a ConfigMap, if it is still there.
func release(t *testing.T, ns, name string) {
	t.Helper()
	patch := client.RawPatch("application/json-patch+json", []byte(`[{"op":"remove","path":"/metadata/finalizers"}]`))
	err := k8s.Patch(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, patch)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
		t.Errorf("failed to release ConfigMap %s: %v", name, err)
	}
}

// waitFor polls done until it holds, failing the test after a generous timeout.
func waitFor(t *testing.T, what string, done func(ctx context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		return done(ctx), nil
	})
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}
