package controller

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// Each kind of GitRepository ref picks the commit Flux would, names it in the
// artifact revision as Flux does, and the Kustomization applies that commit's
// content; spec.ignore keeps files out of the snapshot.
func TestGitRepositoryRefKindsSelectTheCommit(t *testing.T) {
	repoNS := newNamespace(t)
	wd, url := newRepo(t, repoNS, map[string]string{"app/cm.yaml": configMap("version", "v1.0.0")})
	commits := map[string]string{}
	for _, v := range []string{"v1.0.0", "v1.1.0", "v2.0.0"} {
		if v != "v1.0.0" {
			if err := wd.WriteFile("app/cm.yaml", []byte(configMap("version", v))); err != nil {
				t.Fatal(err)
			}
			if _, err := wd.CommitAndPush(v); err != nil {
				t.Fatal(err)
			}
		}
		commits[v], _ = wd.Head()
		if err := wd.Tag(v, "release "+v); err != nil { // annotated: the ref names a tag object
			t.Fatal(err)
		}
	}
	if err := wd.WriteFiles(map[string]string{"app/cm.yaml": configMap("version", "main"), "app/skip.yaml": configMap("skip", "x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := wd.CommitAndPush("work in progress"); err != nil {
		t.Fatal(err)
	}
	commits["main"], _ = wd.Head()
	if err := wd.PushRef("refs/pull/7/head"); err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		ref          string // the GitRepository's ref (and ignore) lines
		wantRevision string
		wantValue    string
		wantSkip     bool
	}{
		"a branch follows its head":                {"  ref:\n    branch: main\n", "main@sha1:" + commits["main"], "main", true},
		"a tag is its peeled commit":               {"  ref:\n    tag: v1.0.0\n", "v1.0.0@sha1:" + commits["v1.0.0"], "v1.0.0", false},
		"semver picks the highest matching tag":    {"  ref:\n    semver: \">=1.0.0 <2.0.0\"\n", "v1.1.0@sha1:" + commits["v1.1.0"], "v1.1.0", false},
		"a commit alone is named by its sha":       {"  ref:\n    commit: " + commits["v1.1.0"] + "\n", "sha1:" + commits["v1.1.0"], "v1.1.0", false},
		"a name keeps the absolute ref":            {"  ref:\n    name: refs/tags/v2.0.0\n", "refs/tags/v2.0.0@sha1:" + commits["v2.0.0"], "v2.0.0", false},
		"a pull request ref is fetched by name":    {"  ref:\n    name: refs/pull/7/head\n", "refs/pull/7/head@sha1:" + commits["main"], "main", true},
		"ignore keeps matching files out of reach": {"  ref:\n    branch: main\n  ignore: |\n    app/skip.yaml\n", "main@sha1:" + commits["main"], "main", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			repo := strings.Replace(gitRepository(url), "  ref:\n    branch: main\n", tc.ref, 1)
			applyYAML(t, ns, repo+"---"+kustomization(ns, "app", "./app", ""))
			src := waitGitRepositoryStatus(t, ns, "repo", "stored an artifact", func(r *sourcev1.GitRepository) bool {
				return r.Status.Artifact != nil
			})
			if src.Status.Artifact.Revision != tc.wantRevision {
				t.Fatalf("artifact revision %q, want %q", src.Status.Artifact.Revision, tc.wantRevision)
			}
			waitKustomization(t, ns, "app", "applied the commit", func(k *kustomizev1.Kustomization) bool {
				return meta.IsReady(k) && k.Status.LastAppliedRevision == tc.wantRevision
			})
			var cm corev1.ConfigMap
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "version"}, &cm); err != nil || cm.Data["value"] != tc.wantValue {
				t.Errorf("ConfigMap version = %v (err %v), want value %q", cm.Data, err, tc.wantValue)
			}
			err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "skip"}, &corev1.ConfigMap{})
			if applied := err == nil; applied != tc.wantSkip || (err != nil && !apierrors.IsNotFound(err)) {
				t.Errorf("ConfigMap skip applied = %v (err %v), want %v", applied, err, tc.wantSkip)
			}
		})
	}
}
