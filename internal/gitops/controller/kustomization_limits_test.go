package controller

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// TestHostileCommitsAreRefused pushes each attack of issue 21's "Builds from Git" in
// one commit with a change to a second Kustomization's path of the same repository:
// the attacked Kustomization (or the GitRepository, for an attack on the snapshot)
// reports the limit and the file, nothing it applied before is deleted, nothing
// new is applied, and the other Kustomization applies its change.
func TestHostileCommitsAreRefused(t *testing.T) {
	// A server that stands for a cloud metadata endpoint: it answers with
	// credentials and counts the requests that reach it.
	var requests atomic.Int64
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte("AWS_SECRET_ACCESS_KEY=stolen\n"))
	}))
	t.Cleanup(metadata.Close)

	doubling := map[string]string{}
	for i := 1; i <= 29; i++ { // 58 links, 2^29 copies of a file
		doubling[fmt.Sprintf("app/d%02d/a", i)] = fmt.Sprintf("../d%02d", i-1)
		doubling[fmt.Sprintf("app/d%02d/b", i)] = fmt.Sprintf("../d%02d", i-1)
	}
	bomb := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  l0: &l0 [\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\",\"xxxxxxxx\"]\n"
	for i := 1; i <= 9; i++ { // 9^9 scalars once expanded: the 1.1 GB
		bomb += fmt.Sprintf("  l%d: &l%d [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}

	cases := map[string]struct {
		files     map[string]string
		links     map[string]string
		onRepo    bool // the snapshot is refused: the GitRepository reports it
		reason    string
		fragments []string
	}{
		"a generator file from a URL is not fetched": {
			files:  map[string]string{"app/kustomization.yaml": "resources: [keep.yaml]\nconfigMapGenerator:\n- name: stolen\n  envs:\n  - " + metadata.URL + "/latest/meta-data\n"},
			reason: meta.BuildFailedReason, fragments: []string{"builds are offline", "app/kustomization.yaml", metadata.URL},
		},
		"a transformer config's path from a URL through a symlinked kustomization is not fetched": {
			files: map[string]string{
				"app/settings.txt": "resources: [keep.yaml]\ntransformers: [t.yaml]\n",
				"app/t.yaml":       "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + metadata.URL + "/patch\n",
			},
			links:  map[string]string{"app/kustomization.yaml": "settings.txt"},
			reason: meta.BuildFailedReason, fragments: []string{"builds are offline", "app/t.yaml", metadata.URL},
		},
		"an alias bomb is refused before it is expanded": {
			files:  map[string]string{"app/bomb.yaml": bomb},
			reason: meta.LimitExceededReason, fragments: []string{"app/bomb.yaml", "aliases", "ManifestBytes"},
		},
		"directory symlinks doubling per level stop at the snapshot's limit": {
			files:  map[string]string{"app/d00/f.txt": strings.Repeat("x", 1024)},
			links:  doubling,
			onRepo: true, reason: meta.LimitExceededReason, fragments: []string{"limit per snapshot (Files)", "app/d"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			wd, url := newRepo(t, ns, map[string]string{"app/keep.yaml": configMap("keep", "1"), "other/o.yaml": configMap("other", "1")})
			applyYAML(t, ns, gitRepository(url)+"---"+kustomization(ns, "app", "./app", "")+"---"+kustomization(ns, "other", "./other", ""))
			good, _ := wd.Head()
			waitKustomization(t, ns, "app", "applied the good commit", readyAt(good))
			waitKustomization(t, ns, "other", "applied the good commit", readyAt(good))

			tc.files["other/o.yaml"] = configMap("other", "2")
			if err := wd.WriteFiles(tc.files); err != nil {
				t.Fatal(err)
			}
			for p, target := range tc.links {
				if err := wd.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			hostile, err := wd.CommitAndPush("attack")
			if err != nil {
				t.Fatal(err)
			}
			before := requests.Load()
			requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})

			if tc.onRepo {
				waitGitRepository(t, ns, "repo", tc.reason, tc.fragments...)
			} else {
				waitKustomization(t, ns, "app", "reported "+tc.reason, notReadyWith(tc.reason, tc.fragments...))
				// The same commit's change to another path is applied.
				waitKustomization(t, ns, "other", "applied the hostile commit's other change", readyAt(hostile))
				var o corev1.ConfigMap
				if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "other"}, &o); err != nil || o.Data["value"] != "2" {
					t.Errorf("the other Kustomization's change was not applied: %v %v", o.Data, err)
				}
			}
			if n := requests.Load() - before; n != 0 {
				t.Errorf("the build sent %d requests to the metadata server", n)
			}
			// Nothing applied before is deleted, nothing new is applied.
			var cm corev1.ConfigMap
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keep"}, &cm); err != nil || !cm.DeletionTimestamp.IsZero() {
				t.Errorf("the object applied before is gone or going: %v", err)
			}
			var all corev1.ConfigMapList
			if err := k8s.List(ctx, &all, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			for _, c := range all.Items {
				if c.Name != "keep" && c.Name != "other" && c.Name != "kube-root-ca.crt" {
					t.Errorf("ConfigMap %s was applied: %v", c.Name, c.Data)
				}
			}
			var k kustomizev1.Kustomization
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &k); err != nil {
				t.Fatal(err)
			}
			if k.Status.Inventory == nil || len(k.Status.Inventory.Entries) != 1 {
				t.Errorf("inventory changed: %+v", k.Status.Inventory)
			}
			if !strings.HasSuffix(k.Status.LastAppliedRevision, good) {
				t.Errorf("last applied revision %s, want the good commit %s", k.Status.LastAppliedRevision, good)
			}
		})
	}
}
