package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

// Each case breaks a working sync in one way. The object applied before must survive,
// and the failing object's Ready condition must say what is wrong.
func TestBadInputIsReportedAndDeletesNothing(t *testing.T) {
	cases := map[string]struct {
		commit    map[string]string                    // files to add in a new commit
		symlink   [2]string                            // target, path
		ksPath    string                               // a new spec.path for the Kustomization
		repoPatch func(t *testing.T, ns string) string // returns a new GitRepository spec.url or "" to keep
		branch    string
		onRepo    bool // the failure shows on the GitRepository, not the Kustomization
		reason    string
		fragments []string
	}{
		"invalid YAML names the file": {
			commit: map[string]string{"app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata: [unclosed\n"},
			reason: meta.BuildFailedReason, fragments: []string{"bad.yaml"},
		},
		"an unknown kind names the object": {
			commit: map[string]string{"app/foo.yaml": "apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: foo\n"},
			reason: meta.ReconciliationFailedReason, fragments: []string{"Foo", "foo"},
		},
		"duplicate objects name the object": {
			commit: map[string]string{"app/dup.yaml": configMap("keep", "again")},
			reason: meta.BuildFailedReason, fragments: []string{"keep"},
		},
		"a path leaving the repository is refused": {
			ksPath: "../outside", reason: meta.BuildFailedReason, fragments: []string{"../outside"},
		},
		"a symlink out of the repository is refused": {
			symlink: [2]string{"/etc/passwd", "app/link.yaml"},
			reason:  meta.BuildFailedReason, fragments: []string{"link.yaml"},
		},
		"a missing path is named": {
			ksPath: "./nope", reason: meta.BuildFailedReason, fragments: []string{"nope"},
		},
		"a missing branch is named": {
			branch: "nope", onRepo: true, reason: meta.GitOperationFailedReason, fragments: []string{"nope"},
		},
		"wrong credentials fail authentication": {
			repoPatch: func(t *testing.T, ns string) string { return privateRepo(t, ns, true) },
			onRepo:    true, reason: meta.AuthenticationFailedReason,
		},
		"credentials over plain http are refused before they are sent": {
			repoPatch: func(t *testing.T, ns string) string { return privateRepo(t, ns, false) },
			onRepo:    true, reason: meta.InvalidSpecReason, fragments: []string{"credentials are never sent over plain http"},
		},
		"an unreachable server is a Git operation failure": {
			repoPatch: func(*testing.T, string) string { return "http://127.0.0.1:1/nowhere.git" },
			onRepo:    true, reason: meta.GitOperationFailedReason, fragments: []string{"127.0.0.1:1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			wd, url := newRepo(t, ns, map[string]string{"app/keep.yaml": configMap("keep", "1")})
			applyYAML(t, ns, syncManifests(ns, url, "./app", true))
			good, _ := wd.Head()
			waitKustomization(t, ns, "app", "applied the good commit", readyAt(good))

			switch {
			case tc.commit != nil || tc.symlink[1] != "":
				if tc.commit != nil {
					if err := wd.WriteFiles(tc.commit); err != nil {
						t.Fatal(err)
					}
				}
				if tc.symlink[1] != "" {
					if err := wd.Symlink(tc.symlink[0], tc.symlink[1]); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := wd.CommitAndPush("break it"); err != nil {
					t.Fatal(err)
				}
				requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
			case tc.ksPath != "":
				patchSpec(t, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}}, `{"spec":{"path":"`+tc.ksPath+`"}}`)
			case tc.branch != "":
				patchSpec(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}}, `{"spec":{"ref":{"branch":"`+tc.branch+`"}}}`)
			case tc.repoPatch != nil:
				newURL := tc.repoPatch(t, ns)
				secret := ""
				if strings.Contains(name, "credentials") {
					secret = `,"secretRef":{"name":"creds"}`
				}
				patchSpec(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}}, `{"spec":{"url":"`+newURL+`"`+secret+`}}`)
			}

			if tc.onRepo {
				waitGitRepository(t, ns, "repo", tc.reason, tc.fragments...)
			} else {
				waitKustomization(t, ns, "app", "reported "+tc.reason, notReadyWith(tc.reason, tc.fragments...))
			}
			// Nothing applied before is deleted, and the inventory still holds it.
			var cm corev1.ConfigMap
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keep"}, &cm); err != nil || !cm.DeletionTimestamp.IsZero() {
				t.Errorf("the object applied before is gone or going: %v", err)
			}
			var k kustomizev1.Kustomization
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "app"}, &k); err != nil {
				t.Fatal(err)
			}
			if k.Status.Inventory == nil || len(k.Status.Inventory.Entries) != 1 {
				t.Errorf("inventory changed: %+v", k.Status.Inventory)
			}
			if strings.Contains(statusString(&k), "wrong") {
				t.Errorf("a secret leaked into the status: %s", statusString(&k))
			}
		})
	}
}

// privateRepo serves a repository behind basic auth, over HTTPS when tls, and
// creates the Secret "creds" with a wrong password (and the server's CA).
func privateRepo(t *testing.T, ns string, tls bool) string {
	t.Helper()
	srv := gitserver.New(t.TempDir()).WithBasicAuth("git", "right")
	if tls {
		srv.WithTLS()
	}
	if _, err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.InitRepo("private", "main"); err != nil {
		t.Fatal(err)
	}
	data := map[string]string{"username": "git", "password": "wrong"}
	if tls {
		data["ca.crt"] = string(srv.CACert())
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns}, StringData: data}
	if err := k8s.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	return srv.RepoURL("private")
}

func patchSpec(t *testing.T, obj client.Object, patch string) {
	t.Helper()
	if err := k8s.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatalf("failed to patch %s: %v", obj.GetName(), err)
	}
}

func waitGitRepository(t *testing.T, ns, name, reason string, fragments ...string) {
	t.Helper()
	var repo sourcev1.GitRepository
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &repo); err != nil {
			return false, nil
		}
		c := readyCondition(&repo)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason {
			return false, nil
		}
		for _, f := range fragments {
			if !strings.Contains(c.Message, f) {
				return false, nil
			}
		}
		return !strings.Contains(c.Message, "wrong"), nil
	})
	if err != nil {
		t.Fatalf("GitRepository %s/%s never reported %s %v: %+v", ns, name, reason, fragments, repo.Status.Conditions)
	}
}
