package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

func deployment(name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels:
    app: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
        - name: app
          image: ghcr.io/stefanprodan/podinfo:6.5.3
`, name)
}

func service(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector:
    app: %[1]s
  ports:
    - port: 80
`, name)
}

func configMap(name, value string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  value: "%s"
`, name, value)
}

// seedTree is the shape of the repository the seed's Kustomization
// (path ./apps/prod) points at: a base and a prod overlay over it, plus an
// unrelated app that must not be read.
func seedTree() map[string]string {
	return map[string]string{
		"apps/base/kustomization.yaml": "resources:\n  - deployment.yaml\n  - service.yaml\n",
		"apps/base/deployment.yaml":    deployment("web"),
		"apps/base/service.yaml":       service("web"),
		"apps/prod/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
resources:
  - ../base
patches:
  - target:
      kind: Deployment
      name: web
    patch: |
      - op: replace
        path: /spec/replicas
        value: 3
`,
		"apps/other/deployment.yaml": deployment("other"),
		"README.md":                  "# aks-config\n",
	}
}

func podinfoTree(t testing.TB) map[string]string {
	data, err := os.ReadFile("testdata/podinfo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"apps/podinfo/podinfo.yaml": string(data)}
}

func bytesOf(files map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for k, v := range files {
		out[k] = []byte(v)
	}
	return out
}

func with(base map[string]string, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// ids renders objects as "Kind/namespace/name" in output order.
func ids(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	return out
}

func find(t *testing.T, r *Result, id string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range r.Objects {
		if o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName() == id {
			return o
		}
	}
	t.Fatalf("no object %s in %v", id, ids(r.Objects))
	return nil
}

func field(t *testing.T, o *unstructured.Unstructured, path ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, path...)
	if err != nil || !ok {
		t.Fatalf("%s/%s has no field %v (err %v)", o.GetKind(), o.GetName(), path, err)
	}
	return v
}

func rawJSON(s string) apiextensionsv1.JSON { return apiextensionsv1.JSON{Raw: []byte(s)} }

// buildCase is a build that succeeds.
type buildCase struct {
	files    map[string]string
	symlinks map[string]string
	in       Input
	want     []string // object ids in output order
	check    func(t *testing.T, r *Result)
}

func TestBuild(t *testing.T) {
	for name, tc := range buildCases(t) {
		t.Run(name, func(t *testing.T) {
			r, err := Build(bytesOf(tc.files), tc.symlinks, tc.in)
			if err != nil {
				t.Fatalf("build failed: %v", err)
			}
			if tc.want != nil && !reflect.DeepEqual(ids(r.Objects), tc.want) {
				t.Errorf("objects = %v, want %v", ids(r.Objects), tc.want)
			}
			if !strings.HasPrefix(r.Digest, "sha256:") || len(r.Digest) != len("sha256:")+64 {
				t.Errorf("digest = %q", r.Digest)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// buildCases are TestBuild's cases, which the cache's tests run too.
func buildCases(t testing.TB) map[string]buildCase {
	podinfoVars := map[string]string{"INDEX": "1app", "PODS": "1", "MCPU": "1m"}
	cases := map[string]buildCase{
		"the seed's prod overlay builds its base into the prod namespace and patches it": {
			files: seedTree(),
			in:    Input{Path: "./apps/prod"},
			want:  []string{"Deployment/prod/web", "Service/prod/web"},
			check: func(t *testing.T, r *Result) {
				if got := field(t, find(t, r, "Deployment/prod/web"), "spec", "replicas"); got != int64(3) {
					t.Errorf("replicas = %v, want 3 from the overlay's patch", got)
				}
			},
		},
		"the podinfo benchmark app gets its postBuild variables": {
			files: podinfoTree(t),
			in:    Input{Path: "apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: podinfoVars},
			want: []string{"ServiceAccount//podinfo-1app", "Service//podinfo-1app",
				"Deployment//podinfo-1app", "Ingress//podinfo-1app"},
			check: func(t *testing.T, r *Result) {
				d := find(t, r, "Deployment//podinfo-1app")
				if got := field(t, d, "spec", "replicas"); got != int64(1) {
					t.Errorf("replicas = %#v, want the integer 1 from PODS", got)
				}
				c := field(t, d, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
				if got := c["resources"].(map[string]any)["requests"].(map[string]any)["cpu"]; got != "1m" {
					t.Errorf("cpu request = %v, want 1m from MCPU", got)
				}
				if got := field(t, d, "spec", "template", "spec", "serviceAccountName"); got != "podinfo-1app" {
					t.Errorf("serviceAccountName = %v", got)
				}
				host := field(t, find(t, r, "Ingress//podinfo-1app"), "spec", "rules").([]any)[0].(map[string]any)["host"]
				if host != "podinfo-1app.local" {
					t.Errorf("ingress host = %v", host)
				}
			},
		},
		"a variable that is not set takes its ${var:=default}": {
			files: podinfoTree(t),
			in: Input{Path: "apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}},
				Vars: map[string]string{"INDEX": "2app", "MCPU": "2m"}},
			want: []string{"ServiceAccount//podinfo-2app", "Service//podinfo-2app",
				"Deployment//podinfo-2app", "Ingress//podinfo-2app"},
			check: func(t *testing.T, r *Result) {
				if got := field(t, find(t, r, "Deployment//podinfo-2app"), "spec", "replicas"); got != int64(0) {
					t.Errorf("replicas = %#v, want 0 from ${PODS:=0}", got)
				}
			},
		},
		"without postBuild nothing is substituted": {
			files: podinfoTree(t),
			in:    Input{Path: "apps/podinfo", Vars: podinfoVars},
			want: []string{"ServiceAccount//podinfo-${INDEX}", "Service//podinfo-${INDEX}",
				"Deployment//podinfo-${INDEX}", "Ingress//podinfo-${INDEX}"},
		},
		"postBuild without variables substitutes nothing, not even defaults, as in Flux": {
			files: podinfoTree(t),
			in:    Input{Path: "apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}},
			check: func(t *testing.T, r *Result) {
				if got := field(t, find(t, r, "Deployment//podinfo-${INDEX}"), "spec", "replicas"); got != "${PODS:=0}" {
					t.Errorf("replicas = %#v, want the literal", got)
				}
			},
		},
		"an object annotated substitute: disabled keeps its ${var}, a variable without default becomes empty": {
			files: map[string]string{
				"app/on.yaml": configMap("on", "${A}-${UNSET}"),
				"app/off.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: off
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  value: "${A}"
`,
			},
			in:   Input{Path: "app", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: map[string]string{"A": "a\n"}},
			want: []string{"ConfigMap//off", "ConfigMap//on"},
			check: func(t *testing.T, r *Result) {
				if got := field(t, find(t, r, "ConfigMap//on"), "data", "value"); got != "a-" {
					t.Errorf("on = %q, want %q (newline dropped, unset var empty)", got, "a-")
				}
				if got := field(t, find(t, r, "ConfigMap//off"), "data", "value"); got != "${A}" {
					t.Errorf("off = %q, want it untouched", got)
				}
			},
		},
		"a directory without a kustomization file gets every YAML file under it": {
			files: map[string]string{
				"clusters/dev/a.yaml":                        configMap("a", "1"),
				"clusters/dev/nested/deeper/b.yml":           configMap("b", "2"),
				"clusters/dev/nested/c.yaml":                 configMap("c", "3") + "---\n" + configMap("c2", "3"),
				"clusters/dev/notes.txt":                     "not yaml",
				"clusters/dev/kustomized/kustomization.yaml": "resources: [d.yaml]\nnamePrefix: k-\n",
				"clusters/dev/kustomized/d.yaml":             configMap("d", "4"),
				"clusters/dev/kustomized/unlisted.yaml":      configMap("unlisted", "5"),
				"clusters/prod/e.yaml":                       configMap("e", "6"),
			},
			in: Input{Path: "clusters/dev/"},
			// Flux's walk order: names sorted per directory, so the
			// kustomized/ directory comes before nested/.
			want: []string{"ConfigMap//a", "ConfigMap//k-d", "ConfigMap//c", "ConfigMap//c2", "ConfigMap//b"},
			check: func(t *testing.T, r *Result) {
				want := []string{"clusters/dev/a.yaml", "clusters/dev/kustomized/d.yaml",
					"clusters/dev/kustomized/kustomization.yaml", "clusters/dev/kustomized/unlisted.yaml",
					"clusters/dev/nested/c.yaml", "clusters/dev/nested/deeper/b.yml", "clusters/dev/notes.txt"}
				if !reflect.DeepEqual(r.Inputs, want) {
					t.Errorf("inputs = %v, want %v", r.Inputs, want)
				}
			},
		},
		"the repository root builds when the path is empty": {
			files: map[string]string{"a.yaml": configMap("a", "1"), "sub/b.yaml": configMap("b", "1")},
			in:    Input{Path: ""},
			want:  []string{"ConfigMap//a", "ConfigMap//b"},
		},
		"an empty directory builds to nothing": {
			files: map[string]string{"empty/README.md": "nothing here"},
			in:    Input{Path: "./empty"},
			want:  []string{},
		},
		"targetNamespace, namePrefix and nameSuffix rename every object and its references": {
			files: map[string]string{"app/d.yaml": deployment("web"), "app/s.yaml": service("web")},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{
				TargetNamespace: "team", NamePrefix: "pre-", NameSuffix: "-suf"}},
			want: []string{"Deployment/team/pre-web-suf", "Service/team/pre-web-suf"},
		},
		"images replace names, tags and digests and merge with the kustomization's own": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [d.yaml, o.yaml]\nimages:\n  - name: ghcr.io/stefanprodan/podinfo\n    newTag: 6.0.0\n",
				"app/d.yaml":             deployment("web"),
				"app/o.yaml":             strings.ReplaceAll(deployment("other"), "ghcr.io/stefanprodan/podinfo:6.5.3", "nginx:1.0"),
			},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{Images: []kustomizev1.Image{
				{Name: "ghcr.io/stefanprodan/podinfo", NewName: "registry.local/podinfo"},
				{Name: "nginx", Digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
			}}},
			check: func(t *testing.T, r *Result) {
				image := func(id string) any {
					return field(t, find(t, r, id), "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"]
				}
				if got := image("Deployment//web"); got != "registry.local/podinfo:6.0.0" {
					t.Errorf("web image = %v, want the spec's name with the kustomization's tag", got)
				}
				if got := image("Deployment//other"); got != "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" {
					t.Errorf("other image = %v, want the digest", got)
				}
			},
		},
		"patches apply to the objects their target selects": {
			files: map[string]string{
				"app/web.yaml":   deployment("web"),
				"app/api.yaml":   strings.ReplaceAll(deployment("api"), "app: api\nspec:", "app: api\n    tier: backend\nspec:"),
				"app/other.yaml": configMap("cfg", "x"),
			},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{Patches: []kustomizev1.Patch{
				{ // strategic merge, selected by kind: every Deployment
					Patch:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  replicas: 5\n",
					Target: &kustomizev1.Selector{Kind: "Deployment"},
				},
				{ // JSON 6902, selected by label
					Patch:  `[{"op": "replace", "path": "/spec/replicas", "value": 2}]`,
					Target: &kustomizev1.Selector{Kind: "Deployment", LabelSelector: "tier=backend"},
				},
				{ // strategic merge without target: patches the object it names
					Patch: configMap("cfg", "patched"),
				},
			}}},
			check: func(t *testing.T, r *Result) {
				if got := field(t, find(t, r, "Deployment//web"), "spec", "replicas"); got != int64(5) {
					t.Errorf("web replicas = %v, want 5", got)
				}
				if got := field(t, find(t, r, "Deployment//api"), "spec", "replicas"); got != int64(2) {
					t.Errorf("api replicas = %v, want 2", got)
				}
				if got := field(t, find(t, r, "ConfigMap//cfg"), "data", "value"); got != "patched" {
					t.Errorf("cfg = %v, want patched", got)
				}
			},
		},
		"the deprecated patchesStrategicMerge and patchesJson6902 still apply": {
			files: map[string]string{"app/web.yaml": deployment("web"), "app/api.yaml": deployment("api")},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{
				PatchesStrategicMerge: []apiextensionsv1.JSON{rawJSON(
					`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":7}}`)},
				PatchesJSON6902: []kustomizev1.JSON6902Patch{{
					Target: kustomizev1.Selector{Kind: "Deployment", Name: "api"},
					Patch:  []kustomizev1.JSON6902{{Op: "add", Path: "/metadata/annotations", Value: &apiextensionsv1.JSON{Raw: []byte(`{"patched":"yes"}`)}}},
				}},
			}},
			check: func(t *testing.T, r *Result) {
				if got := field(t, find(t, r, "Deployment//web"), "spec", "replicas"); got != int64(7) {
					t.Errorf("web replicas = %v, want 7", got)
				}
				if got := find(t, r, "Deployment//api").GetAnnotations()["patched"]; got != "yes" {
					t.Errorf("api annotation = %q, want yes", got)
				}
			},
		},
		"components are added, and a missing one is dropped when asked": {
			files: map[string]string{
				"app/kustomization.yaml":              "resources: [cm.yaml]\n",
				"app/cm.yaml":                         configMap("cfg", "x"),
				"components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n",
				"components/extra/extra.yaml":         configMap("extra", "y"),
			},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{
				Components: []string{"../components/extra", "../components/missing"}, IgnoreMissingComponents: true}},
			want: []string{"ConfigMap//cfg", "ConfigMap//extra"},
		},
		"commonMetadata goes on top-level metadata only": {
			files: map[string]string{"app/d.yaml": deployment("web")},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{CommonMetadata: &kustomizev1.CommonMetadata{
				Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"owner": "b"}}}},
			check: func(t *testing.T, r *Result) {
				d := find(t, r, "Deployment//web")
				if d.GetLabels()["team"] != "a" || d.GetAnnotations()["owner"] != "b" {
					t.Errorf("metadata = %v %v, want team=a and owner=b", d.GetLabels(), d.GetAnnotations())
				}
				tpl := field(t, d, "spec", "template", "metadata", "labels").(map[string]any)
				sel := field(t, d, "spec", "selector", "matchLabels").(map[string]any)
				if _, ok := tpl["team"]; ok {
					t.Errorf("pod template labels %v got the common label", tpl)
				}
				if _, ok := sel["team"]; ok {
					t.Errorf("selector %v got the common label", sel)
				}
			},
		},
		"a path and a base reached through symlinks inside the repository build": {
			files: map[string]string{
				"real/overlay/kustomization.yaml": "resources: [../base]\n",
				"real/base/cm.yaml":               configMap("cfg", "x"),
			},
			symlinks: map[string]string{"current": "real/overlay", "real/base/kustomization.yaml": "../../shared/k.yaml"},
			in:       Input{Path: "./current"},
			want:     []string{"ConfigMap//cfg"},
		},
		"the inputs are what the build read, including a base reached by ../base": {
			files: seedTree(),
			in:    Input{Path: "apps/prod"},
			check: func(t *testing.T, r *Result) {
				want := []string{"apps/base/deployment.yaml", "apps/base/kustomization.yaml",
					"apps/base/service.yaml", "apps/prod/kustomization.yaml"}
				if !reflect.DeepEqual(r.Inputs, want) {
					t.Errorf("inputs = %v, want %v", r.Inputs, want)
				}
			},
		},
	}
	// The symlinked kustomization of the base above points at a file that
	// must exist.
	cases["a path and a base reached through symlinks inside the repository build"].files["shared/k.yaml"] = "resources: [cm.yaml]\n"
	return cases
}

// buildErrorCase is a build that fails.
type buildErrorCase struct {
	files    map[string]string
	symlinks map[string]string
	in       Input
	reason   string
	path     string
	want     []string // substrings of the message
}

// buildErrorCases are TestBuildErrors' cases, which the cache's tests run
// too.
func buildErrorCases() map[string]buildErrorCase {
	return map[string]buildErrorCase{
		"invalid YAML in a generated kustomization names the file and line": {
			files:  map[string]string{"app/good.yaml": configMap("a", "1"), "app/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n"},
			in:     Input{Path: "app"},
			reason: meta.BuildFailedReason,
			path:   "app/bad.yaml",
			want:   []string{"app/bad.yaml", "line 4"},
		},
		"invalid YAML in a listed resource names the file and line": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [bad.yaml]\n",
				"app/bad.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n",
			},
			in:     Input{Path: "app"},
			reason: meta.BuildFailedReason,
			path:   "app/bad.yaml",
			want:   []string{"app/bad.yaml", "line 4"},
		},
		"two objects with the same id name the object": {
			files:  map[string]string{"app/a.yaml": configMap("same", "1"), "app/b.yaml": configMap("same", "2")},
			in:     Input{Path: "app"},
			reason: meta.BuildFailedReason,
			path:   "app/b.yaml",
			want:   []string{"app/b.yaml", "may not add resource with an already registered id", "ConfigMap", "same"},
		},
		"a path climbing out of the repository is refused": {
			files:  seedTree(),
			in:     Input{Path: "apps/../../etc"},
			reason: meta.ArtifactFailedReason,
			path:   "apps/../../etc",
			want:   []string{"kustomization path 'apps/../../etc' is outside the repository"},
		},
		"a path through a symlink that leaves the repository is refused": {
			files:    seedTree(),
			symlinks: map[string]string{"apps/escape": "../../etc"},
			in:       Input{Path: "apps/escape/x"},
			reason:   meta.ArtifactFailedReason,
			want:     []string{"apps/escape", "../../etc", "leaves the repository"},
		},
		"a resource through a symlink that leaves the repository is refused": {
			files:    map[string]string{"app/kustomization.yaml": "resources: [passwd.yaml]\n"},
			symlinks: map[string]string{"app/passwd.yaml": "/etc/passwd"},
			in:       Input{Path: "app"},
			reason:   meta.BuildFailedReason,
			want:     []string{"app/passwd.yaml", "/etc/passwd", "leaves the repository"},
		},
		"a missing path says so": {
			files:  seedTree(),
			in:     Input{Path: "./apps/nope"},
			reason: meta.ArtifactFailedReason,
			path:   "./apps/nope",
			want:   []string{"kustomization path not found: ./apps/nope"},
		},
		"a patch that is neither YAML nor JSON fails the build": {
			files: map[string]string{"app/d.yaml": deployment("web")},
			in: Input{Path: "app", Spec: kustomizev1.KustomizationSpec{Patches: []kustomizev1.Patch{
				{Patch: "- op: replace\n  path: /spec/nope/deeper\n  value: 1\n", Target: &kustomizev1.Selector{Kind: "Deployment"}},
			}}},
			reason: meta.BuildFailedReason,
			want:   []string{"kustomize build failed", "/spec/nope/deeper"},
		},
		"a remote base is refused because builds are offline": {
			files:  map[string]string{"app/kustomization.yaml": "resources:\n  - https://github.com/stefanprodan/podinfo//kustomize?ref=6.5.3\n"},
			in:     Input{Path: "app"},
			reason: meta.BuildFailedReason,
			path:   "app/kustomization.yaml",
			want:   []string{"app/kustomization.yaml", "https://github.com/stefanprodan/podinfo//kustomize?ref=6.5.3", "builds are offline"},
		},
		"a missing component fails unless asked to ignore it": {
			files:  map[string]string{"app/cm.yaml": configMap("cfg", "x")},
			in:     Input{Path: "app", Spec: kustomizev1.KustomizationSpec{Components: []string{"../components/missing"}}},
			reason: meta.BuildFailedReason,
			want:   []string{"components/missing"},
		},
		"a strict build fails on a variable without value or default": {
			files:  map[string]string{"app/cm.yaml": configMap("cfg", "${UNSET}")},
			in:     Input{Path: "app", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: map[string]string{"A": "1"}, StrictSubstitution: true},
			reason: meta.BuildFailedReason,
			want:   []string{"post build failed for 'ConfigMap/cfg'", "UNSET"},
		},
		"an invalid variable name fails the build": {
			files:  map[string]string{"app/cm.yaml": configMap("cfg", "${A}")},
			in:     Input{Path: "app", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: map[string]string{"1A": "1"}},
			reason: meta.BuildFailedReason,
			want:   []string{"'1A' var name is invalid"},
		},
	}
}

func TestBuildErrors(t *testing.T) {
	for name, tc := range buildErrorCases() {
		t.Run(name, func(t *testing.T) {
			r, err := Build(bytesOf(tc.files), tc.symlinks, tc.in)
			if err == nil {
				t.Fatalf("build succeeded with %v, want an error", ids(r.Objects))
			}
			t.Log(err)
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("error %T %v is not a *build.Error", err, err)
			}
			if be.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", be.Reason, tc.reason)
			}
			if tc.path != "" && be.Path != tc.path {
				t.Errorf("path = %q, want %q", be.Path, tc.path)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not contain %q", err.Error(), w)
				}
			}
		})
	}
}

// TestBuildConcurrently runs builds of different inputs on one shared tree
// in parallel; run with -race it proves builds share no unguarded state
// (Flux serialises them with one mutex).
func TestBuildConcurrently(t *testing.T) {
	tree := bytesOf(with(with(seedTree(), podinfoTree(t)), map[string]string{
		"gen/a.yaml": configMap("a", "1"), "gen/sub/b.yaml": configMap("b", "2"),
		// A custom OpenAPI schema replaces kustomize's global one: this
		// build must run alone and leave the others unaffected.
		"custom/kustomization.yaml": "resources: [cm.yaml]\nopenapi:\n  path: schema.json\n",
		"custom/schema.json":        `{"definitions": {}}`,
		"custom/cm.yaml":            configMap("custom", "1"),
	}))
	inputs := []Input{
		{Path: "apps/prod"},
		{Path: "gen", Spec: kustomizev1.KustomizationSpec{TargetNamespace: "x", NamePrefix: "p-"}},
		{Path: "custom"},
	}
	for i := range 5 {
		inputs = append(inputs, Input{Path: "apps/podinfo", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}},
			Vars: map[string]string{"INDEX": fmt.Sprintf("%dapp", i), "PODS": "1", "MCPU": "1m"}})
	}
	want := make([]*Result, len(inputs))
	for i, in := range inputs {
		r, err := Build(tree, nil, in)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(inputs)*4)
	for i, in := range inputs {
		wg.Go(func() {
			for range 4 {
				r, err := Build(tree, nil, in)
				if err != nil {
					errs <- err
					return
				}
				if r.Digest != want[i].Digest || !reflect.DeepEqual(r.Inputs, want[i].Inputs) ||
					!reflect.DeepEqual(ids(r.Objects), ids(want[i].Objects)) {
					errs <- fmt.Errorf("build of %s differs when run concurrently", in.Path)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := ids(want[2].Objects); !reflect.DeepEqual(got, []string{"ConfigMap//custom"}) {
		t.Errorf("the build with a custom schema made %v", got)
	}
	if want[3].Digest == want[4].Digest {
		t.Error("builds with different variables have the same digest")
	}
}

// TestSubstituteSkipIsExact checks the premise of skipping objects without
// a '$': Flux's substitution round trip leaves such objects as they were.
func TestSubstituteSkipIsExact(t *testing.T) {
	s := newSnapshotFS(bytesOf(seedTree()), nil)
	m, err := kustomize(s, "apps/prod")
	if err != nil {
		t.Fatal(err)
	}
	before, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	ks := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"postBuild": map[string]any{"substitute": map[string]any{"A": "1"}}}}}
	for _, r := range m.Resources() {
		if hasDollar(r.YNode()) {
			t.Fatalf("%s has a $", r.GetName())
		}
		if _, err := fluxkustomize.SubstituteVariables(context.Background(), nil, ks, r, fluxkustomize.SubstituteWithDryRun(true)); err != nil {
			t.Fatal(err)
		}
	}
	after, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Errorf("substitution changed an object without variables:\n%s\n---\n%s", before, after)
	}
}
