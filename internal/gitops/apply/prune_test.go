package apply

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

func TestPrune(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	owner := Owner{Name: "app", Namespace: "flux-system"}
	cases := map[string]struct {
		// setup makes the live object (or not) and returns the inventory
		// entry to prune.
		setup      func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef
		wantAction Action
		wantLive   bool
	}{
		"an object the owner applied is deleted": {
			setup: func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef {
				return applied(t, m, owner, configMap(ns, "cm", nil))
			},
			wantAction: ActionDeleted,
		},
		"an object annotated prune disabled stays": {
			setup: func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef {
				cm := configMap(ns, "cm", nil)
				cm.SetAnnotations(map[string]string{meta.PruneAnnotation: "disabled"})
				return applied(t, m, owner, cm)
			},
			wantAction: ActionSkipped, wantLive: true,
		},
		"an unowned object of the same name stays": {
			setup: func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef {
				cm := configMap(ns, "cm", nil)
				if err := c.Create(ctx, cm); err != nil {
					t.Fatal(err)
				}
				return kustomizev1.ResourceRef{ID: IDOf(cm), Version: "v1"}
			},
			wantAction: ActionSkipped, wantLive: true,
		},
		"an object another Kustomization took over stays": {
			setup: func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef {
				applied(t, m, owner, configMap(ns, "cm", nil))
				return applied(t, m, Owner{Name: "other", Namespace: "flux-system"}, configMap(ns, "cm", nil))
			},
			wantAction: ActionSkipped, wantLive: true,
		},
		"an object already gone counts as deleted": {
			setup: func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef {
				return kustomizev1.ResourceRef{ID: ns + "_gone__ConfigMap", Version: "v1"}
			},
			wantAction: ActionDeleted,
		},
		"an object whose kind the cluster no longer serves counts as deleted": {
			setup: func(t *testing.T, m *Manager, ns string) kustomizev1.ResourceRef {
				return kustomizev1.ResourceRef{ID: ns + "_w_removed.example.com_Widget", Version: "v1"}
			},
			wantAction: ActionDeleted,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			m := NewManager(c, "tugboat")
			ref := tc.setup(t, m, ns)
			cs, err := m.Prune(ctx, owner, []kustomizev1.ResourceRef{ref})
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			if len(cs) != 1 || cs[0].Action != tc.wantAction || cs[0].ID != ref.ID {
				t.Fatalf("changes:\n%s\nwant %s %s", cs, ref.ID, tc.wantAction)
			}
			if len(cs.Retained()) != 0 {
				t.Errorf("retained %v", cs.Retained())
			}
			live := get(t, c, "v1", "ConfigMap", ns, "cm")
			// Background deletion of a ConfigMap is immediate: no finalizers.
			if (live != nil) != tc.wantLive {
				t.Errorf("live object exists: %v, want %v", live != nil, tc.wantLive)
			}
		})
	}
}

// applied applies one object for owner and returns its inventory entry.
func applied(t *testing.T, m *Manager, owner Owner, u *unstructured.Unstructured) kustomizev1.ResourceRef {
	t.Helper()
	cs, err := m.Apply(context.Background(), owner, []*unstructured.Unstructured{u}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return InventoryOf(cs)[0]
}
