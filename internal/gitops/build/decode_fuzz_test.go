package build

import (
	"errors"
	"os"
	"strings"
	"testing"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// FuzzBuildManifests feeds any manifest file, kustomization file and postBuild
// variable value to Build, the YAML → objects path of every Kustomization: the
// files come from a Git repository, so a build must succeed or fail with an *Error,
// and must not panic — neither out of Build nor into the recover that guards against
// kustomize's own panics (a recovered panic is counted as a crash here). A build that
// succeeds must give one encoding per object and a digest.
// The seed corpus runs in `make test`; `make fuzz` runs it for a fixed budget.
func FuzzBuildManifests(f *testing.F) {
	podinfo, err := os.ReadFile("testdata/podinfo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(podinfo), "", "1")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-${A}\ndata:\n  x: ${A:=3}\n", "", "01")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", "resources: [objects.yaml]\nnamePrefix: p-\n", "x")
	f.Add("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n", "", "")
	f.Add("- a\n- b\n", "", "")
	f.Add("a: &a [*a]\n", "", "")
	f.Add("kind: ConfigMap\n", "patches: [{patch: 'x'}]\n", "\n")
	f.Add("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: '${A}'}\n", "", "${A}")
	f.Fuzz(func(t *testing.T, manifest, kustomization, value string) {
		files := map[string][]byte{"app/objects.yaml": []byte(manifest)}
		if kustomization != "" {
			files["app/kustomization.yaml"] = []byte(kustomization)
		}
		in := Input{Path: "app", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}},
			Vars: map[string]string{"A": value}}
		res, err := Build(files, nil, in)
		if err != nil {
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("Build failed with %T, not *Error: %v", err, err)
			}
			if strings.Contains(be.Message, "panicked") {
				t.Fatalf("Build recovered a panic: %v", err)
			}
			if be.Reason == "" {
				t.Fatalf("Build failed without a reason: %v", err)
			}
			return
		}
		if len(res.Encoded) != len(res.Objects) {
			t.Fatalf("Build returned %d objects but %d encodings", len(res.Objects), len(res.Encoded))
		}
		if !strings.HasPrefix(res.Digest, "sha256:") {
			t.Fatalf("Build returned digest %q", res.Digest)
		}
		for _, o := range res.Objects {
			if o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("Build returned an object without kind or apiVersion: %v", o.Object)
			}
		}
	})
}
