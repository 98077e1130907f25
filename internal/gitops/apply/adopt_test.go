package apply

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
)

// TestApplyAdopts creates a ConfigMap with keys a and b the way another tool
// would, then applies ours with only a: b must go unless ssa is Merge, and no
// conflict may stop the apply.
func TestApplyAdopts(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	cases := map[string]struct {
		create   func(t *testing.T, cm *unstructured.Unstructured)
		ssa      string
		wantB    bool
		wantGone []string // managers that must no longer appear
	}{
		"fields applied by Flux's kustomize-controller are taken over": {
			create: func(t *testing.T, cm *unstructured.Unstructured) {
				if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(cm), client.FieldOwner("kustomize-controller")); err != nil {
					t.Fatal(err)
				}
			},
			wantGone: []string{"kustomize-controller"},
		},
		"fields set by kubectl's client-side apply are taken over": {
			create: func(t *testing.T, cm *unstructured.Unstructured) {
				cm.SetAnnotations(map[string]string{corev1.LastAppliedConfigAnnotation: `{"data":{"a":"1","b":"1"}}`})
				if err := c.Create(ctx, cm, client.FieldOwner("kubectl-client-side-apply")); err != nil {
					t.Fatal(err)
				}
			},
			wantGone: []string{"kubectl-client-side-apply"},
		},
		"fields applied by kubectl server-side are taken over": {
			create: func(t *testing.T, cm *unstructured.Unstructured) {
				if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(cm), client.FieldOwner("kubectl")); err != nil {
					t.Fatal(err)
				}
			},
			wantGone: []string{"kubectl"},
		},
		"fields of another tool are kept under ssa Merge": {
			create: func(t *testing.T, cm *unstructured.Unstructured) {
				if err := c.Create(ctx, cm, client.FieldOwner("kubectl-client-side-apply")); err != nil {
					t.Fatal(err)
				}
			},
			ssa:   meta.SSAMerge,
			wantB: true,
		},
		"fields of a manager that is not adopted are kept": {
			create: func(t *testing.T, cm *unstructured.Unstructured) {
				if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(cm), client.FieldOwner("helm")); err != nil {
					t.Fatal(err)
				}
			},
			wantB: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			tc.create(t, configMap(ns, "cm", map[string]string{"a": "1", "b": "1"}))

			desired := configMap(ns, "cm", map[string]string{"a": "2"})
			if tc.ssa != "" {
				desired.SetAnnotations(map[string]string{meta.SSAAnnotation: tc.ssa})
			}
			m := NewManager(c, "tugboat")
			cs, err := m.Apply(ctx, Owner{Name: "app", Namespace: "flux-system"}, []*unstructured.Unstructured{desired}, Options{})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if cs[0].Action != ActionConfigured {
				t.Errorf("action %s, want configured", cs[0].Action)
			}
			live := get(t, c, "v1", "ConfigMap", ns, "cm")
			data, _, _ := unstructured.NestedStringMap(live.Object, "data")
			if data["a"] != "2" {
				t.Errorf("data.a = %q, want 2", data["a"])
			}
			if _, hasB := data["b"]; hasB != tc.wantB {
				t.Errorf("data has b: %v, want %v (data %v)", hasB, tc.wantB, data)
			}
			if _, ok := live.GetAnnotations()[corev1.LastAppliedConfigAnnotation]; ok && !tc.wantB {
				t.Errorf("last-applied-configuration annotation kept")
			}
			for _, e := range live.GetManagedFields() {
				for _, gone := range tc.wantGone {
					if e.Manager == gone {
						t.Errorf("managedFields still has %s (%s)", gone, e.Operation)
					}
				}
			}
		})
	}
}

// TestMayAdoptSparesOnlyObjectsWithNothingToAdopt checks the guard in front of adopt:
// every object with an adopted manager (by fluxcd/pkg/ssa's exact or prefix match)
// or annotation must reach adopt; only objects without any may skip it.
func TestMayAdoptSparesOnlyObjectsWithNothingToAdopt(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op}
	}
	cases := map[string]struct {
		managers    []metav1.ManagedFieldsEntry
		annotations map[string]string
		want        bool
	}{
		"applied by this manager alone": {managers: []metav1.ManagedFieldsEntry{entry("tugboat", metav1.ManagedFieldsOperationApply)}},
		"and status written by a controller": {managers: []metav1.ManagedFieldsEntry{
			entry("tugboat", metav1.ManagedFieldsOperationApply), entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate)}},
		"kustomize-controller's apply":   {managers: []metav1.ManagedFieldsEntry{entry("kustomize-controller", metav1.ManagedFieldsOperationApply)}, want: true},
		"kubectl edit (a prefix match)":  {managers: []metav1.ManagedFieldsEntry{entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate)}, want: true},
		"kubectl's client-side apply":    {managers: []metav1.ManagedFieldsEntry{entry("kubectl-client-side-apply", metav1.ManagedFieldsOperationUpdate)}, want: true},
		"before-first-apply":             {managers: []metav1.ManagedFieldsEntry{entry("before-first-apply", metav1.ManagedFieldsOperationUpdate)}, want: true},
		"only kubectl's last-applied":    {annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}, want: true},
		"only an old Flux checksum":      {annotations: map[string]string{"kustomize.toolkit.fluxcd.io/checksum": "x"}, want: true},
		"an annotation that is not ours": {annotations: map[string]string{"example.com/x": "1"}},
	}
	for name, tc := range cases {
		live := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ManagedFields: tc.managers, Annotations: tc.annotations}}
		if got := mayAdopt(live); got != tc.want {
			t.Errorf("%s: mayAdopt = %v, want %v", name, got, tc.want)
		}
	}
}
