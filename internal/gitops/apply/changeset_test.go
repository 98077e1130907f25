package apply

import (
	"reflect"
	"testing"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

func TestInventory(t *testing.T) {
	deploy := Change{ID: "default_web_apps_Deployment", Version: "v1", Kind: "Deployment", Namespace: "default", Name: "web"}
	ns := Change{ID: "_apps__Namespace", Version: "v1", Kind: "Namespace", Name: "apps"}
	role := Change{ID: "_system__controller_rbac.authorization.k8s.io_ClusterRole", Version: "v1", Kind: "ClusterRole", Name: "system:controller"}
	with := func(c Change, a Action) Change { c.Action = a; return c }
	ref := func(c Change) kustomizev1.ResourceRef { return kustomizev1.ResourceRef{ID: c.ID, Version: c.Version} }

	cases := map[string]struct {
		cs         ChangeSet
		wantString string
		wantInv    []kustomizev1.ResourceRef
		wantKept   []kustomizev1.ResourceRef
	}{
		"an apply's change set lists Flux-like lines and a sorted inventory with skipped objects": {
			cs:         ChangeSet{with(deploy, ActionConfigured), with(ns, ActionSkipped), with(role, ActionUnchanged)},
			wantString: "Deployment/default/web configured\nNamespace/apps skipped\nClusterRole/system:controller unchanged",
			wantInv:    []kustomizev1.ResourceRef{ref(ns), ref(role), ref(deploy)},
		},
		"a prune's failures are retained and its deletions are not": {
			cs:         ChangeSet{with(deploy, ActionFailed), with(ns, ActionDeleted)},
			wantString: "Deployment/default/web failed\nNamespace/apps deleted",
			wantInv:    []kustomizev1.ResourceRef{},
			wantKept:   []kustomizev1.ResourceRef{ref(deploy)},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.cs.String(); got != tc.wantString {
				t.Errorf("String() =\n%s\nwant\n%s", got, tc.wantString)
			}
			if got := InventoryOf(tc.cs); !reflect.DeepEqual(got, tc.wantInv) {
				t.Errorf("InventoryOf = %v, want %v", got, tc.wantInv)
			}
			if got := tc.cs.Retained(); !reflect.DeepEqual(got, tc.wantKept) {
				t.Errorf("Retained = %v, want %v", got, tc.wantKept)
			}
		})
	}
}

func TestStale(t *testing.T) {
	a := kustomizev1.ResourceRef{ID: "default_a__ConfigMap", Version: "v1"}
	b := kustomizev1.ResourceRef{ID: "default_b__ConfigMap", Version: "v1"}
	hpa1 := kustomizev1.ResourceRef{ID: "default_h_autoscaling_HorizontalPodAutoscaler", Version: "v1"}
	hpa2 := kustomizev1.ResourceRef{ID: "default_h_autoscaling_HorizontalPodAutoscaler", Version: "v2"}
	cases := map[string]struct {
		old, new, want []kustomizev1.ResourceRef
	}{
		"an object that left the source is stale": {
			old: []kustomizev1.ResourceRef{a, b}, new: []kustomizev1.ResourceRef{a}, want: []kustomizev1.ResourceRef{b},
		},
		"an object that moved to another API version is not stale": {
			old: []kustomizev1.ResourceRef{hpa1}, new: []kustomizev1.ResourceRef{hpa2}, want: nil,
		},
		"a first inventory has nothing stale": {
			old: nil, new: []kustomizev1.ResourceRef{a}, want: nil,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Stale(tc.old, tc.new); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Stale = %v, want %v", got, tc.want)
			}
		})
	}
}
