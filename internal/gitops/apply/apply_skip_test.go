package apply

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestApplySendsOnlyChanges applies three ConfigMaps, then does something and
// applies them again: the second Apply must send only what changed or drifted.
func TestApplySendsOnlyChanges(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	owner := Owner{Name: "app", Namespace: "flux-system"}
	cases := map[string]struct {
		// between runs after the first Apply and may change the desired
		// objects, the live ones, or the Manager (a new one is a restart).
		between      func(t *testing.T, m *Manager, ns string, objs []*unstructured.Unstructured) *Manager
		want         map[string]Action // by name; unlisted ones are unchanged
		wantRequests int64
		wantA        string // live data.a of cm-1 afterwards
	}{
		"applying the same objects again sends no request": {
			between:      func(*testing.T, *Manager, string, []*unstructured.Unstructured) *Manager { return nil },
			wantRequests: 0,
			wantA:        "1",
		},
		"a changed object is configured with one request": {
			between: func(_ *testing.T, _ *Manager, _ string, objs []*unstructured.Unstructured) *Manager {
				objs[0].Object["data"] = map[string]any{"a": "2"}
				return nil
			},
			want:         map[string]Action{"cm-1": ActionConfigured},
			wantRequests: 1,
			wantA:        "2",
		},
		"an invalidated object is sent again and found unchanged": {
			between: func(_ *testing.T, m *Manager, _ string, objs []*unstructured.Unstructured) *Manager {
				m.Invalidate(IDOf(objs[0]))
				return nil
			},
			wantRequests: 1,
			wantA:        "1",
		},
		"an observed drift is reverted by the next apply": {
			between: func(t *testing.T, m *Manager, ns string, _ []*unstructured.Unstructured) *Manager {
				live := get(t, c, "v1", "ConfigMap", ns, "cm-1")
				live.Object["data"] = map[string]any{"a": "edited"}
				if err := c.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
					t.Fatal(err)
				}
				if drifted, path := m.Observe(live); !drifted || path != "data.a" {
					t.Fatalf("Observe = %v, %q; want drift at data.a", drifted, path)
				}
				return nil
			},
			want:         map[string]Action{"cm-1": ActionConfigured},
			wantRequests: 1,
			wantA:        "1",
		},
		"an observed change that keeps what was applied sends nothing": {
			between: func(t *testing.T, m *Manager, ns string, _ []*unstructured.Unstructured) *Manager {
				live := get(t, c, "v1", "ConfigMap", ns, "cm-1")
				labels := live.GetLabels()
				labels["team"] = "other"
				live.SetLabels(labels)
				live.Object["data"].(map[string]any)["extra"] = "x"
				if err := c.Update(ctx, live, client.FieldOwner("someone")); err != nil {
					t.Fatal(err)
				}
				if drifted, path := m.Observe(live); drifted {
					t.Fatalf("Observe reports drift at %q", path)
				}
				return nil
			},
			wantRequests: 0,
			wantA:        "1",
		},
		"a restarted Manager that observed the live objects applies each once and reports them unchanged": {
			between: func(t *testing.T, _ *Manager, ns string, objs []*unstructured.Unstructured) *Manager {
				m := NewManager(c, "tugboat")
				for _, o := range objs {
					m.Observe(get(t, c, "v1", "ConfigMap", ns, o.GetName()))
				}
				return m
			},
			wantRequests: 3,
			wantA:        "1",
		},
		"a restarted Manager that saw nothing applies each once and reports them unchanged": {
			between: func(*testing.T, *Manager, string, []*unstructured.Unstructured) *Manager {
				// The first apply must lie outside the clock-skew allowance
				// of classify.
				time.Sleep(entryTimeSkew + time.Second)
				return NewManager(c, "tugboat")
			},
			wantRequests: 3,
			wantA:        "1",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := testNamespace(t, c)
			objs := []*unstructured.Unstructured{
				configMap(ns, "cm-1", map[string]string{"a": "1"}),
				configMap(ns, "cm-2", map[string]string{"b": "1"}),
				configMap(ns, "cm-3", nil),
			}
			m := NewManager(c, "tugboat")
			cs, err := m.Apply(ctx, owner, objs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range cs {
				if ch.Action != ActionCreated {
					t.Fatalf("first apply:\n%s\nwant all created", cs)
				}
			}
			if next := tc.between(t, m, ns, objs); next != nil {
				m = next
			}
			before := m.Stats()
			cs, err = m.Apply(ctx, owner, objs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			after := m.Stats()
			if got := after.Requests() - before.Requests(); got != tc.wantRequests {
				t.Errorf("second apply sent %d requests (%+v → %+v), want %d", got, before, after, tc.wantRequests)
			}
			if after.DryRuns != 0 {
				t.Errorf("Apply sent %d dry-runs", after.DryRuns)
			}
			for _, ch := range cs {
				want := tc.want[ch.Name]
				if want == "" {
					want = ActionUnchanged
				}
				if ch.Action != want {
					t.Errorf("%s: %s, want %s", ch.Subject(), ch.Action, want)
				}
			}
			live := get(t, c, "v1", "ConfigMap", ns, "cm-1")
			if got, _, _ := unstructured.NestedString(live.Object, "data", "a"); got != tc.wantA {
				t.Errorf("live cm-1 data.a = %q, want %q", got, tc.wantA)
			}
		})
	}
}

// A Manager that keeps no copies of what it applied (the controller's, whose watcher
// judges drift) still skips unchanged objects, and Observe takes any change of an
// applied object for drift, so the next Apply sends it again.
func TestAManagerWithoutAppliedCopiesSkipsUnchangedAndResendsChanged(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	ns := testNamespace(t, c)
	owner := Owner{Name: "app", Namespace: "flux-system"}
	objs := []*unstructured.Unstructured{configMap(ns, "cm-1", map[string]string{"a": "1"})}
	m := NewManager(c, "tugboat")
	m.KeepApplied(false)
	if _, err := m.Apply(ctx, owner, objs, Options{}); err != nil {
		t.Fatal(err)
	}
	before := m.Stats().Applies
	if _, err := m.Apply(ctx, owner, objs, Options{}); err != nil {
		t.Fatal(err)
	}
	if sent := m.Stats().Applies - before; sent != 0 {
		t.Errorf("applying the same object again sent %d applies, want 0", sent)
	}
	live := get(t, c, "v1", "ConfigMap", ns, "cm-1")
	if drifted, path := m.Observe(live); drifted {
		t.Errorf("Observe of the object as applied reports drift at %q", path)
	}
	live.Object["data"] = map[string]any{"a": "edited"}
	if err := c.Update(ctx, live, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	if drifted, _ := m.Observe(live); !drifted {
		t.Fatal("Observe of the edited object reports no drift")
	}
	cs, err := m.Apply(ctx, owner, objs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Action != ActionConfigured {
		t.Errorf("after the edit Apply reported\n%s\nwant cm-1 configured", cs)
	}
	if got := get(t, c, "v1", "ConfigMap", ns, "cm-1").Object["data"].(map[string]any)["a"]; got != "1" {
		t.Errorf("data.a = %v after Apply, want 1 from the desired object", got)
	}
}
