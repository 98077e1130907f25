package install

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// startWithCRDs starts a control plane of its own for the test, with tugboat's CRDs.
func startWithCRDs(t *testing.T, opts cluster.Options) (context.Context, *cluster.Cluster) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a control plane; run without -short")
	}
	ctx := context.Background()
	env, err := cluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Stop)
	if err := CRDs(ctx, env.RESTConfig); err != nil {
		t.Fatal(err)
	}
	return ctx, env
}

// kustomizations is the client of the default namespace's Kustomizations.
func kustomizations(env *cluster.Cluster) dynamic.ResourceInterface {
	return dynamic.NewForConfigOrDie(env.RESTConfig).Resource(schema.GroupVersionResource{
		Group: kustomizev1.GroupVersion.Group, Version: "v1", Resource: "kustomizations"}).Namespace("default")
}

// kustomization is a Kustomization named name, as a user creates it.
func kustomization(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kustomizev1.GroupVersion.String(), "kind": "Kustomization",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"interval": "1m", "prune": true, "sourceRef": map[string]any{"kind": "GitRepository", "name": "repo"}},
	}}
}

// With the admission policy installed, a new Kustomization carries the controller's
// finalizer from its creation, beside any the user gave it, so the controller sends no
// PATCH to add it.
func TestPoliciesGiveNewKustomizationsTheFinalizer(t *testing.T) {
	ctx, env := startWithCRDs(t, cluster.Options{})
	served, err := Policies(ctx, env.RESTConfig)
	if err != nil || !served {
		t.Fatalf("Policies: served %v, err %v", served, err)
	}
	ks := kustomizations(env)
	// Policies returns once admission takes Kustomizations with the policy in force: the
	// first create right after it succeeds (before WaitAdmission it could fail with 503
	// for some seconds) and gets the finalizer (a dry run that passed before the plugin
	// had loaded the policy once let Policies return early, and the 503s came after).
	first, err := ks.Create(ctx, kustomization("first"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the first Kustomization after Policies: %v", err)
	}
	if !slices.Contains(first.GetFinalizers(), kustomizev1.KustomizationFinalizer) {
		t.Errorf("the first Kustomization after Policies has finalizers %v, without %s", first.GetFinalizers(), kustomizev1.KustomizationFinalizer)
	}
	// Installing again changes nothing and succeeds (tugboat dev up runs it each start).
	if _, err := Policies(ctx, env.RESTConfig); err != nil {
		t.Fatal(err)
	}
	for name, given := range map[string][]string{"plain": nil, "with-own-finalizer": {"example.com/keep"}} {
		k := kustomization(name)
		if given != nil {
			k.SetFinalizers(given)
		}
		// The CRD is served, and the policy in force, a moment after they are applied:
		// a Kustomization created before that is deleted and created again.
		var created *unstructured.Unstructured
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			c, err := ks.Create(ctx, k.DeepCopy(), metav1.CreateOptions{})
			if err != nil {
				return false, nil
			}
			created = c
			if slices.Contains(c.GetFinalizers(), kustomizev1.KustomizationFinalizer) {
				return true, nil
			}
			c.SetFinalizers(nil)
			if _, err := ks.Update(ctx, c, metav1.UpdateOptions{}); err != nil {
				return false, err
			}
			return false, ks.Delete(ctx, name, metav1.DeleteOptions{})
		})
		if created == nil {
			t.Fatalf("%s: never created: %v", name, err)
		}
		got := created.GetFinalizers()
		if !slices.Contains(got, kustomizev1.KustomizationFinalizer) {
			t.Errorf("%s: finalizers %v lack %s", name, got, kustomizev1.KustomizationFinalizer)
		}
		for _, f := range given {
			if !slices.Contains(got, f) {
				t.Errorf("%s: finalizers %v lost the user's %s", name, got, f)
			}
		}
		// Let the test cluster go without a controller to remove the finalizers.
		created.SetFinalizers(nil)
		if _, err := ks.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// withoutAdmissionPolicies is a cluster as before Kubernetes 1.36: it serves no
// MutatingAdmissionPolicy.
var withoutAdmissionPolicies = []string{"--runtime-config=" +
	"admissionregistration.k8s.io/v1/mutatingadmissionpolicies=false," +
	"admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings=false",
	// Without its resources the plugin would never be ready, and admission would
	// refuse every request.
	"--disable-admission-plugins=MutatingAdmissionPolicy"}

// On a cluster that serves no MutatingAdmissionPolicy, Policies installs nothing and
// says so, without an error: Kustomizations are created without the finalizer, and
// the controller adds it on its first reconcile.
func TestPoliciesAreSkippedWhereTheClusterServesNone(t *testing.T) {
	ctx, env := startWithCRDs(t, cluster.Options{ExtraAPIServerArgs: withoutAdmissionPolicies})
	served, err := Policies(ctx, env.RESTConfig)
	if err != nil || served {
		t.Fatalf("Policies on a cluster without MutatingAdmissionPolicy: served %v, err %v; want false, nil", served, err)
	}
	ks := kustomizations(env)
	k := kustomization("apps")
	var created *unstructured.Unstructured
	// The CRD is served a moment after it is established.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		created, err = ks.Create(ctx, k.DeepCopy(), metav1.CreateOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("creating a Kustomization: %v", err)
	}
	if f := created.GetFinalizers(); len(f) != 0 {
		t.Errorf("a Kustomization got finalizers %v on a cluster without the policy", f)
	}
}
