package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

// syncManifests is the usual pair: GitRepository "repo" and Kustomization "app".
func syncManifests(ns, url, path string, prune bool) string {
	ks := strings.Replace(kustomization(ns, "app", path, ""), "prune: true", fmt.Sprintf("prune: %t", prune), 1)
	return gitRepository(url) + "---" + ks
}

func TestChangesAreAppliedAndRemovedFilesPruned(t *testing.T) {
	cases := map[string]struct {
		prune       bool
		wantDeleted bool
	}{
		"with prune, an object removed from Git is deleted":  {prune: true, wantDeleted: true},
		"with prune false, an object removed from Git stays": {prune: false, wantDeleted: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			other := newNamespace(t)
			wd, url := newRepo(t, ns, map[string]string{
				"app/a.yaml": configMap("a", "1"),
				"app/b.yaml": configMap("b", "1"),
			})
			// An object of the same name that tugboat does not own, elsewhere.
			if err := k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: other}}); err != nil {
				t.Fatal(err)
			}
			applyYAML(t, ns, syncManifests(ns, url, "./app", tc.prune))
			first, _ := wd.Head()
			waitKustomization(t, ns, "app", "applied the first commit", readyAt(first))

			if err := wd.WriteFile("app/a.yaml", []byte(configMap("a", "2"))); err != nil {
				t.Fatal(err)
			}
			if err := wd.Remove("app/b.yaml"); err != nil {
				t.Fatal(err)
			}
			second, err := wd.CommitAndPush("change a, remove b")
			if err != nil {
				t.Fatal(err)
			}
			requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
			k := waitKustomization(t, ns, "app", "applied the second commit", readyAt(second))

			var a corev1.ConfigMap
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &a); err != nil || a.Data["value"] != "2" {
				t.Errorf("ConfigMap a = %v (err %v), want value 2", a.Data, err)
			}
			// Prune runs before the status says Ready, and a ConfigMap has no finalizer
			// to wait for: by now b is gone or it stays.
			err = k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b"}, &corev1.ConfigMap{})
			if gone := apierrors.IsNotFound(err); gone != tc.wantDeleted {
				t.Errorf("ConfigMap b deleted = %v, want %v", gone, tc.wantDeleted)
			}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: other, Name: "b"}, &corev1.ConfigMap{}); err != nil {
				t.Errorf("the unowned ConfigMap b in another namespace was touched: %v", err)
			}
			// The inventory lists what Git holds; without prune b is kept but unmanaged.
			if len(k.Status.Inventory.Entries) != 1 {
				t.Errorf("inventory %+v, want only a", k.Status.Inventory.Entries)
			}
		})
	}
}
