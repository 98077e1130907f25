package config

import (
	"fmt"
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
		"Service/tugboat-controller":                                     false,
		"ClusterRole/tugboat-query":                                      false,
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

// config/observe is config/default plus the agents and the store, and the names
// they use for one another agree: the agents' and the controller's DSN name the
// store's Service and port, and the controller's OTLP endpoint the agents'.
func TestObserveBuildsAndItsPartsNameEachOther(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), "observe")
	if err != nil {
		t.Fatalf("kustomize build config/observe: %v", err)
	}
	objs := map[string]map[string]any{}
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		objs[r.GetKind()+"/"+r.GetName()] = m
		if r.GetNamespace() != "tugboat-system" && r.GetKind() != "Namespace" && r.GetKind() != "CustomResourceDefinition" &&
			!strings.HasPrefix(r.GetKind(), "Cluster") && !strings.HasPrefix(r.GetKind(), "MutatingAdmission") {
			t.Errorf("%s/%s is in namespace %q, want tugboat-system", r.GetKind(), r.GetName(), r.GetNamespace())
		}
	}
	for _, id := range []string{"Deployment/tugboat-controller", "Service/tugboat-controller", "DaemonSet/tugboat-agent",
		"Deployment/tugboat-agent-cluster", "Service/tugboat-agent-otlp", "StatefulSet/clickhouse", "Service/clickhouse",
		"NetworkPolicy/clickhouse", "NetworkPolicy/tugboat-controller"} {
		if objs[id] == nil {
			t.Fatalf("config/observe lacks %s", id)
		}
	}
	servicePort := func(svc, port string) string {
		for _, p := range dig(objs["Service/"+svc], "spec", "ports").([]any) {
			if p := p.(map[string]any); p["name"] == port {
				return svc + ".tugboat-system.svc:" + fmt.Sprint(p["port"])
			}
		}
		t.Fatalf("Service %s has no port %s", svc, port)
		return ""
	}
	store := servicePort("clickhouse", "native")
	otlp := servicePort("tugboat-agent-otlp", "otlp-http")
	args := func(id string) string {
		c := dig(objs[id], "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
		return fmt.Sprint(c["args"])
	}
	for _, id := range []string{"DaemonSet/tugboat-agent", "Deployment/tugboat-agent-cluster", "Deployment/tugboat-controller"} {
		if a := args(id); !strings.Contains(a, "clickhouse://"+store+"/default") {
			t.Errorf("%s does not write to or read the store %s: %s", id, store, a)
		}
	}
	if a := args("Deployment/tugboat-controller"); !strings.Contains(a, "--otlp-endpoint=http://"+otlp) {
		t.Errorf("the controller does not send its traces to the agents' OTLP Service %s: %s", otlp, a)
	}
	// Without --observe the controller sends no traces to an agent that is not there.
	def, err := k.Run(filesys.MakeFsOnDisk(), "default")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range def.Resources() {
		if r.GetKind() == "Deployment" && r.GetName() == "tugboat-controller" {
			m, _ := r.Map()
			if c := fmt.Sprint(dig(m, "spec", "template", "spec", "containers")); strings.Contains(c, "--otlp-endpoint") {
				t.Errorf("config/default's controller exports traces: %s", c)
			}
		}
	}
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}
