package config

import (
	"io/fs"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func TestDefaultBuildsWithKustomize(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), "default")
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	want := map[string]bool{
		"CustomResourceDefinition/gitrepositories.source.toolkit.fluxcd.io":   false,
		"CustomResourceDefinition/kustomizations.kustomize.toolkit.fluxcd.io": false,
		"CustomResourceDefinition/receivers.notification.toolkit.fluxcd.io":   false,
		"Namespace/tugboat-system":                                       false,
		"ServiceAccount/tugboat-controller":                              false,
		"ClusterRoleBinding/tugboat-controller":                          false,
		"Deployment/tugboat-controller":                                  false,
		"Service/webhook-receiver":                                       false,
		"NetworkPolicy/tugboat-controller":                               false,
		"MutatingAdmissionPolicy/tugboat-kustomization-finalizer":        false,
		"MutatingAdmissionPolicyBinding/tugboat-kustomization-finalizer": false,
	}
	for _, r := range res.Resources() {
		id := r.GetKind() + "/" + r.GetName()
		if _, ok := want[id]; ok {
			want[id] = true
		}
	}
	for id, found := range want {
		if !found {
			t.Errorf("config/default lacks %s", id)
		}
	}
}

func TestEmbeddedCRDsAreTheBases(t *testing.T) {
	entries, err := fs.ReadDir(CRDs, "crd/bases")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("want 3 embedded CRDs, got %d", len(entries))
	}
	for _, e := range entries {
		data, err := fs.ReadFile(CRDs, "crd/bases/"+e.Name())
		if err != nil || !strings.Contains(string(data), "kind: CustomResourceDefinition") {
			t.Errorf("%s is not a CRD (err %v)", e.Name(), err)
		}
	}
}
