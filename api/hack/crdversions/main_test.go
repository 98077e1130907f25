package main

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const oneVersion = `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com
spec:
  group: example.com
  names: {kind: Thing, plural: things}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {a: {type: string, maxLength: 63}}}}}
`

func TestAddVersions(t *testing.T) {
	out, err := AddVersions([]byte(oneVersion))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), header+"---\n") {
		t.Errorf("want the generated-code header and a document start, got %q", string(out)[:80])
	}
	var crd struct {
		Spec struct {
			Conversion struct{ Strategy string }
			Versions   []map[string]any
		}
	}
	if err := yaml.Unmarshal(out, &crd); err != nil {
		t.Fatal(err)
	}
	if crd.Spec.Conversion.Strategy != "None" {
		t.Errorf("got conversion %q, want None", crd.Spec.Conversion.Strategy)
	}
	want := []struct {
		name                string
		storage, deprecated bool
	}{{"v1", true, false}, {"v1beta2", false, true}, {"v1beta1", false, true}}
	if len(crd.Spec.Versions) != len(want) {
		t.Fatalf("got %d versions, want %d", len(crd.Spec.Versions), len(want))
	}
	for i, w := range want {
		v := crd.Spec.Versions[i]
		if v["name"] != w.name || v["storage"] != w.storage || v["served"] != true || (v["deprecated"] == true) != w.deprecated {
			t.Errorf("version %d: got %v, want %+v", i, v, w)
		}
		if w.deprecated && v["deprecationWarning"] != "example.com/"+w.name+" Thing is deprecated, upgrade to v1" {
			t.Errorf("version %s: got warning %v", w.name, v["deprecationWarning"])
		}
		if got, _ := yaml.Marshal(v["schema"]); !strings.Contains(string(got), "maxLength: 63") {
			t.Errorf("version %s: schema not copied: %s", w.name, got)
		}
	}
}

func TestAddVersionsRejects(t *testing.T) {
	cases := map[string]string{
		"a CRD that already has two versions": strings.Replace(oneVersion, "  versions:\n", "  versions:\n  - {name: v2, served: true, storage: false}\n", 1),
		"a CRD whose version is not v1":       strings.Replace(oneVersion, "name: v1\n", "name: v2\n", 1),
		"a CRD whose v1 is not stored":        strings.Replace(oneVersion, "storage: true", "storage: false", 1),
		"not YAML":                            "{",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := AddVersions([]byte(in)); err == nil {
				t.Error("want an error")
			}
		})
	}
}
