package apply

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
