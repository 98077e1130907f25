package controller

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// A Kustomization meant for a remote cluster (spec.kubeConfig) is Stalled with a
// reason naming the field, and nothing is applied to this cluster: before, it was
// applied here as if the field were absent.
func TestAKustomizationWithKubeConfigAppliesNothingHere(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/cm.yaml": configMap("remote-only", "1")})
	applyYAML(t, ns, gitRepository(url)+"---"+kustomization(ns, "app", "./app", "  kubeConfig:\n    secretRef:\n      name: remote-cluster\n"))
	k := waitKustomization(t, ns, "app", "was refused for spec.kubeConfig",
		notReadyWith(meta.KubeConfigNotSupportedReason, "spec.kubeConfig", "nothing is applied to this cluster"))
	if s := apimeta.FindStatusCondition(k.Status.Conditions, meta.StalledCondition); s == nil || s.Status != metav1.ConditionTrue {
		t.Errorf("not Stalled: %s", statusString(k))
	}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "remote-only"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the remote cluster's ConfigMap was applied to this cluster (err %v)", err)
	}
	if k.Status.Inventory != nil && len(k.Status.Inventory.Entries) > 0 {
		t.Errorf("inventory %v; want none", k.Status.Inventory.Entries)
	}
}

// A GitRepository asking for signature verification is Stalled with a reason naming
// spec.verify and is not fetched, so its Kustomization applies nothing unverified.
func TestAGitRepositoryWithVerifyIsNotFetched(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/cm.yaml": configMap("unverified", "1")})
	repo := strings.TrimSuffix(gitRepository(url), "\n") + "\n  verify:\n    mode: HEAD\n    secretRef:\n      name: trusted-keys\n"
	applyYAML(t, ns, repo+"---"+kustomization(ns, "app", "./app", ""))
	g := waitGitRepositoryStatus(t, ns, "repo", "was refused for spec.verify", func(g *sourcev1.GitRepository) bool {
		c := readyCondition(g)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == meta.VerifyNotSupportedReason && strings.Contains(c.Message, "spec.verify")
	})
	if s := apimeta.FindStatusCondition(g.Status.Conditions, meta.StalledCondition); s == nil || s.Status != metav1.ConditionTrue {
		t.Errorf("not Stalled: %+v", g.Status.Conditions)
	}
	if g.Status.Artifact != nil {
		t.Errorf("an artifact was stored: %+v", g.Status.Artifact)
	}
	waitKustomization(t, ns, "app", "waited for the source", notReadyWith(meta.ArtifactFailedReason, "repo"))
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "unverified"}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("the unverified ConfigMap was applied (err %v)", err)
	}
}
