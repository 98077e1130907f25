package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/provider"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// postBuild is a spec with postBuild set.
var postBuild = kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}

// substitutionCases are builds whose substitution goes through the corners
// of Flux's path: numbers and strings that YAML reads in more than one way,
// objects that substitution renames, turns into a list or into a kustomize
// config, and values JSON cannot carry. Each either builds or fails; the
// tests only ask that the cache does what Flux does.
func substitutionCases(t testing.TB) map[string]struct {
	files map[string]string
	in    Input
} {
	tricky := `apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
  labels:
    at: "${A}"
spec:
  int: 1000000
  negative: -1000000
  beyond53: 9007199254740993
  beyond64: 12345678901234567890
  huge: 1e21
  float: 1.5
  tiny: 1e-7
  integralFloat: 2.0
  hex: 0x1F
  octal: 0o17
  leadingZero: 012
  underscore: 1_000
  bool: true
  yes11: yes
  on11: on
  nullValue: null
  tilde: ~
  date: 2024-01-01
  strings: ["on", "yes", "0x1F", "1e3", "012", "~", "null", "1_000", "true", "", " x "]
  empty: {}
  emptyList: []
  block: |
    line one
      indented ${A}
    ---
    after a document marker
  folded: >
    folded
    text
  unicode: "żółw ✓ \t tab"
  substituted: ${NUM}
  substitutedBig: ${BIG}
  substitutedFloat: ${FLOAT}
  substitutedString: "${NUM}"
  escaped: $${A} and $$A
  withDefault: ${UNSET:=dflt}
  unsetNoDefault: x${UNSET}y
`
	vars := map[string]string{"A": "a", "NUM": "42", "BIG": "9223372036854775807", "FLOAT": "2.50", "N": "one", "K": "ConfigMapList"}
	return map[string]struct {
		files map[string]string
		in    Input
	}{
		"numbers and strings that YAML reads in more than one way": {
			files: map[string]string{"app/tricky.yaml": tricky},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"the same object without postBuild": {
			files: map[string]string{"app/tricky.yaml": tricky},
			in:    Input{Path: "app", Vars: vars},
		},
		"substitution renames an object to a new name": {
			files: map[string]string{"app/a.yaml": configMap("${N}", "x"), "app/b.yaml": configMap("two", "${N}")},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"substitution renames an object to the name of another": {
			files: map[string]string{"app/a.yaml": configMap("one", "x"), "app/b.yaml": configMap("${N}", "y")},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"substitution renames an object to another in the default namespace": {
			files: map[string]string{
				"app/a.yaml": strings.Replace(configMap("one", "x"), "  name: one\n", "  name: one\n  namespace: default\n", 1),
				"app/b.yaml": configMap("${N}", "y"),
			},
			in: Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"substitution renames a cluster-scoped object to the name of another": {
			files: map[string]string{
				"app/a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: one\n",
				"app/b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${N}\n",
			},
			in: Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"two objects swap names through substitution": {
			files: map[string]string{"app/a.yaml": configMap("${X}", "a"), "app/b.yaml": configMap("${Y}", "b")},
			in:    Input{Path: "app", Spec: postBuild, Vars: map[string]string{"X": "b", "Y": "a"}},
		},
		"substitution makes an object a list": {
			files: map[string]string{"app/l.yaml": "apiVersion: v1\nkind: ${K}\nmetadata:\n  name: list\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: item\n    data:\n      n: '1'\n    spec:\n      big: 9007199254740993\n      small: 12\n"},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"substitution makes an object a kustomize config": {
			files: map[string]string{"app/k.yaml": "apiVersion: ${G}/v1beta1\nkind: Kustomization\nmetadata:\n  name: k\n"},
			in:    Input{Path: "app", Spec: postBuild, Vars: map[string]string{"G": "kustomize.config.k8s.io"}},
		},
		"a value JSON cannot carry in an object with a variable": {
			files: map[string]string{"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    x: ${A}\nspec:\n  v: .inf\n"},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"a value JSON cannot carry in an object without a variable": {
			files: map[string]string{
				"app/a.yaml": configMap("a", "${A}"),
				"app/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\nspec:\n  v: .nan\n",
			},
			in: Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"a value that breaks the YAML": {
			files: map[string]string{"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  v: ${V}\n"},
			in:    Input{Path: "app", Spec: postBuild, Vars: map[string]string{"V": "[unclosed"}},
		},
		"a value that adds keys": {
			files: map[string]string{"app/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: ${V}\n"},
			in:    Input{Path: "app", Spec: postBuild, Vars: map[string]string{"V": "{x: '1', y: '2'}"}},
		},
		"an unclosed variable": {
			files: map[string]string{"app/a.yaml": configMap("a", "${A")},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"a strict build with defaults and set variables": {
			files: map[string]string{"app/a.yaml": configMap("a", "${A}-${UNSET:=d}-${UNSET2:-e}")},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars, StrictSubstitution: true},
		},
		"a strict build with an unset variable": {
			files: map[string]string{"app/a.yaml": configMap("a", "${A}-${UNSET}")},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars, StrictSubstitution: true},
		},
		"a value with newlines": {
			files: map[string]string{"app/a.yaml": configMap("a", "${A}")},
			in:    Input{Path: "app", Spec: postBuild, Vars: map[string]string{"A": "x\ny\n"}},
		},
		"a label disables substitution": {
			files: map[string]string{"app/a.yaml": strings.Replace(configMap("a-${A}", "${A}"), "metadata:\n", "metadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n", 1)},
			in:    Input{Path: "app", Spec: postBuild, Vars: vars},
		},
		"postBuild and commonMetadata together": {
			files: podinfoTree(t),
			in: Input{Path: "apps/podinfo", Vars: map[string]string{"INDEX": "7", "PODS": "3", "MCPU": "5m"}, Spec: kustomizev1.KustomizationSpec{
				PostBuild:      &kustomizev1.PostBuild{},
				CommonMetadata: &kustomizev1.CommonMetadata{Labels: map[string]string{"team": "${INDEX}"}, Annotations: map[string]string{"a": "b"}},
			}},
		},
	}
}

// sameResult fails unless a build got what the reference got: equal
// objects and inputs, or equal errors.
func sameResult(t *testing.T, what string, got *Result, gotErr error, want *Result, wantErr error) {
	t.Helper()
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%s: error = %v, want %v", what, gotErr, wantErr)
	}
	if wantErr != nil {
		var g, w *Error
		if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) {
			t.Fatalf("%s: errors %T and %T are not both *Error", what, gotErr, wantErr)
		}
		if g.Reason != w.Reason || g.Path != w.Path || g.Message != w.Message {
			t.Errorf("%s: error = %q %q %q, want %q %q %q", what, g.Reason, g.Path, g.Message, w.Reason, w.Path, w.Message)
		}
		if (g.Err == nil) != (w.Err == nil) || g.Err != nil && g.Err.Error() != w.Err.Error() {
			t.Errorf("%s: wrapped error = %v, want %v", what, g.Err, w.Err)
		}
		return
	}
	if !reflect.DeepEqual(got.Objects, want.Objects) {
		for i := range min(len(got.Objects), len(want.Objects)) {
			if !reflect.DeepEqual(got.Objects[i].Object, want.Objects[i].Object) {
				g, _ := json.Marshal(got.Objects[i].Object)
				w, _ := json.Marshal(want.Objects[i].Object)
				t.Errorf("%s: object %d differs:\n got %s\nwant %s\n got %#v\nwant %#v", what, i, g, w, got.Objects[i].Object, want.Objects[i].Object)
			}
		}
		t.Fatalf("%s: objects = %v, want %v", what, ids(got.Objects), ids(want.Objects))
	}
	if !reflect.DeepEqual(got.Inputs, want.Inputs) {
		t.Errorf("%s: inputs = %v, want %v", what, got.Inputs, want.Inputs)
	}
}

// TestCacheIsFlux runs every build of this package's tests through the
// reference (Flux's own substitution and round trips), Build, and a Cache
// twice, the second time from the cache, and wants the same objects,
// inputs and errors from all of them.
func TestCacheIsFlux(t *testing.T) {
	type run struct {
		files    map[string]string
		symlinks map[string]string
		in       Input
	}
	runs := map[string]run{}
	for name, tc := range buildCases(t) {
		runs[name] = run{tc.files, tc.symlinks, tc.in}
	}
	for name, tc := range buildErrorCases() {
		runs[name] = run{tc.files, tc.symlinks, tc.in}
	}
	for name, tc := range substitutionCases(t) {
		runs[name] = run{files: tc.files, in: tc.in}
	}
	runs["a kustomization with its own OpenAPI schema"] = run{files: map[string]string{
		"custom/kustomization.yaml": "resources: [cm.yaml]\nopenapi:\n  path: schema.json\n",
		"custom/schema.json":        `{"definitions": {}}`,
		"custom/cm.yaml":            configMap("custom", "${A}"),
	}, in: Input{Path: "custom", Spec: postBuild, Vars: map[string]string{"A": "a"}}}

	for name, tc := range runs {
		t.Run(name, func(t *testing.T) {
			files := bytesOf(tc.files)
			want, wantErr := referenceBuild(files, tc.symlinks, tc.in)
			if wantErr != nil {
				t.Log(wantErr)
			}
			got, err := Build(files, tc.symlinks, tc.in)
			sameResult(t, "Build", got, err, want, wantErr)
			c := NewCache(0)
			first, err := c.Build("tree", files, tc.symlinks, tc.in)
			sameResult(t, "the first cached build", first, err, want, wantErr)
			second, err := c.Build("tree", files, tc.symlinks, tc.in)
			sameResult(t, "the second cached build", second, err, want, wantErr)
			if wantErr == nil {
				if first.Digest != got.Digest || second.Digest != got.Digest {
					t.Errorf("digests %s and %s, want Build's %s", first.Digest, second.Digest, got.Digest)
				}
				cacheable := !strings.Contains(name, "OpenAPI")
				if wantBuilds := map[bool]int64{true: 1, false: 2}[cacheable]; c.builds != wantBuilds {
					t.Errorf("kustomize ran %d times, want %d", c.builds, wantBuilds)
				}
				if wantLen := map[bool]int{true: 1, false: 0}[cacheable]; c.Len() != wantLen {
					t.Errorf("cache holds %d builds, want %d", c.Len(), wantLen)
				}
			} else {
				// A build that fails after kustomize keeps kustomize's part.
				var be *Error
				errors.As(wantErr, &be)
				afterKustomize := strings.HasPrefix(be.Message, "post build failed") || strings.HasPrefix(be.Message, "failed to encode the build")
				if wantLen := map[bool]int{true: 1, false: 0}[afterKustomize]; c.Len() != wantLen {
					t.Errorf("cache holds %d builds after failures, want %d", c.Len(), wantLen)
				}
			}
		})
	}
}

// TestCacheHitsShareNothing changes every object a cached build returned
// and builds again: the next caller must not see the change.
func TestCacheHitsShareNothing(t *testing.T) {
	files := bytesOf(with(podinfoTree(t), map[string]string{"apps/podinfo/plain.yaml": configMap("plain", "x")}))
	for name, in := range map[string]Input{
		"with substitution":    {Path: "apps/podinfo", Spec: postBuild, Vars: map[string]string{"INDEX": "1", "PODS": "2", "MCPU": "3m"}},
		"without substitution": {Path: "apps/podinfo"},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := Build(files, nil, in)
			if err != nil {
				t.Fatal(err)
			}
			c := NewCache(0)
			for range 3 {
				r, err := c.Build("tree", files, nil, in)
				if err != nil {
					t.Fatal(err)
				}
				sameResult(t, "cached build", r, nil, want, nil)
				for _, o := range r.Objects {
					o.SetName("changed")
					o.SetLabels(map[string]string{"changed": "yes"})
					if err := unstructured.SetNestedField(o.Object, "changed", "data", "value"); err != nil {
						t.Fatal(err)
					}
				}
				r.Inputs[0] = "changed"
			}
			if c.builds != 1 {
				t.Errorf("kustomize ran %d times, want once", c.builds)
			}
		})
	}
}

// TestCacheVariables builds the benchmark's app with different variables
// from one cache entry.
func TestCacheVariables(t *testing.T) {
	files := bytesOf(podinfoTree(t))
	c := NewCache(0)
	for i := range 20 {
		vars := map[string]string{"INDEX": fmt.Sprintf("%dapp", i), "PODS": fmt.Sprint(i), "MCPU": fmt.Sprintf("%dm", i)}
		r, err := c.Build("tree", files, nil, Input{Path: "./apps/podinfo", Spec: postBuild, Vars: vars})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"ServiceAccount//podinfo-" + vars["INDEX"], "Service//podinfo-" + vars["INDEX"],
			"Deployment//podinfo-" + vars["INDEX"], "Ingress//podinfo-" + vars["INDEX"]}
		if !reflect.DeepEqual(ids(r.Objects), want) {
			t.Fatalf("objects = %v, want %v", ids(r.Objects), want)
		}
		d := r.Objects[2]
		if got := field(t, d, "spec", "replicas"); got != int64(i) {
			t.Errorf("replicas = %#v, want the integer %d from ${PODS}", got, i)
		}
		c := field(t, d, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
		if got := c["resources"].(map[string]any)["requests"].(map[string]any)["cpu"]; got != vars["MCPU"] {
			t.Errorf("cpu = %v, want %s", got, vars["MCPU"])
		}
	}
	if c.builds != 1 {
		t.Errorf("kustomize ran %d times for 20 variable sets, want once", c.builds)
	}
}

// TestCacheKey changes one thing at a time after a first build and checks
// whether kustomize runs again.
func TestCacheKey(t *testing.T) {
	files := map[string]string{
		"app/d.yaml":                          deployment("web"),
		"other/cm.yaml":                       configMap("other", "1"),
		"components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n",
		"components/extra/extra.yaml":         configMap("extra", "y"),
	}
	patch := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"
	base := Input{Path: "app", Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}}, Vars: map[string]string{"A": "1"}}
	cases := map[string]struct {
		tree   string
		change func(in *Input)
		hit    bool
	}{
		"the same build hits":               {hit: true},
		"another spelling of the path hits": {change: func(in *Input) { in.Path = "./app/" }, hit: true},
		"other variables hit":               {change: func(in *Input) { in.Vars = map[string]string{"A": "2"} }, hit: true},
		"strict substitution hits":          {change: func(in *Input) { in.StrictSubstitution = true }, hit: true},
		"no postBuild hits":                 {change: func(in *Input) { in.Spec.PostBuild = nil }, hit: true},
		"commonMetadata hits": {change: func(in *Input) {
			in.Spec.CommonMetadata = &kustomizev1.CommonMetadata{Labels: map[string]string{"a": "b"}}
		}, hit: true},
		"another name and namespace hit":     {change: func(in *Input) { in.Name, in.Namespace = "other", "ns" }, hit: true},
		"fields kustomize does not read hit": {change: func(in *Input) { in.Spec.Prune, in.Spec.Force, in.Spec.Wait = true, true, true }, hit: true},
		"another tree misses":                {tree: "other"},
		"another path misses":                {change: func(in *Input) { in.Path = "other" }},
		"a namePrefix misses":                {change: func(in *Input) { in.Spec.NamePrefix = "p-" }},
		"a nameSuffix misses":                {change: func(in *Input) { in.Spec.NameSuffix = "-s" }},
		"a targetNamespace misses":           {change: func(in *Input) { in.Spec.TargetNamespace = "t" }},
		"a patch misses":                     {change: func(in *Input) { in.Spec.Patches = []kustomizev1.Patch{{Patch: patch}} }},
		"a patch target misses": {change: func(in *Input) {
			in.Spec.Patches = []kustomizev1.Patch{{Patch: configMap("x", "y"), Target: &kustomizev1.Selector{Kind: "ConfigMap"}}}
		}},
		"an image misses":                {change: func(in *Input) { in.Spec.Images = []kustomizev1.Image{{Name: "nginx", NewTag: "1"}} }},
		"a component misses":             {change: func(in *Input) { in.Spec.Components = []string{"../components/extra"} }},
		"ignoreMissingComponents misses": {change: func(in *Input) { in.Spec.IgnoreMissingComponents = true }},
		"a deprecated strategic merge patch misses": {change: func(in *Input) {
			in.Spec.PatchesStrategicMerge = []apiextensionsv1.JSON{rawJSON(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2}}`)}
		}},
		"a deprecated JSON 6902 patch misses": {change: func(in *Input) {
			in.Spec.PatchesJSON6902 = []kustomizev1.JSON6902Patch{{Target: kustomizev1.Selector{Kind: "Deployment", Name: "web"},
				Patch: []kustomizev1.JSON6902{{Op: "add", Path: "/metadata/annotations", Value: &apiextensionsv1.JSON{Raw: []byte(`{"a":"b"}`)}}}}}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := NewCache(0)
			if _, err := c.Build("tree", bytesOf(files), nil, base); err != nil {
				t.Fatal(err)
			}
			in := base
			in.Spec = *base.Spec.DeepCopy()
			if tc.change != nil {
				tc.change(&in)
			}
			tree := "tree"
			if tc.tree != "" {
				tree = tc.tree
			}
			got, err := c.Build(tree, bytesOf(files), nil, in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := referenceBuild(bytesOf(files), nil, in)
			if err != nil {
				t.Fatal(err)
			}
			sameResult(t, "second build", got, nil, want, nil)
			if hit := c.builds == 1; hit != tc.hit {
				t.Errorf("hit = %v (kustomize ran %d times), want %v", hit, c.builds, tc.hit)
			}
		})
	}
}

// TestCacheBoundsBytes fills a cache bounded by the YAML it holds: the least
// recently used build leaves to make room, a build larger than the bound is
// not kept, and a key put twice counts once.
func TestCacheBoundsBytes(t *testing.T) {
	files := bytesOf(map[string]string{
		"a/cm.yaml":   configMap("a", strings.Repeat("a", 400)),
		"b/cm.yaml":   configMap("b", strings.Repeat("b", 400)),
		"c/cm.yaml":   configMap("c", strings.Repeat("c", 400)),
		"big/cm.yaml": configMap("big", strings.Repeat("x", 2000)),
	})
	one, _, err := prepare(files, nil, Input{Path: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if one.size < 400 || one.size > 600 {
		t.Fatalf("a build of 400 bytes of data counts %d bytes of YAML", one.size)
	}
	c := NewCache(2*one.size + one.size/2) // room for two
	build := func(p string) {
		t.Helper()
		if _, err := c.Build("tree", files, nil, Input{Path: p}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"a", "b", "a", "c"} {
		build(p)
	}
	if c.Len() != 2 || c.Bytes() != 2*one.size || c.builds != 3 {
		t.Fatalf("%d builds holding %d bytes after %d kustomize runs, want 2 holding %d after 3", c.Len(), c.Bytes(), c.builds, 2*one.size)
	}
	// a was used after b, so b went.
	build("a")
	build("c")
	if c.builds != 3 {
		t.Errorf("a or c was dropped: kustomize ran %d times, want 3", c.builds)
	}
	build("b")
	if c.builds != 4 {
		t.Errorf("b was kept: kustomize ran %d times, want 4", c.builds)
	}

	// Larger than the bound: built every time, and nothing else leaves for it.
	build("big")
	build("big")
	if c.builds != 6 || c.Len() != 2 || c.Bytes() != 2*one.size {
		t.Errorf("after two builds of big: %d kustomize runs, %d builds holding %d bytes; want 6 runs, 2 builds holding %d",
			c.builds, c.Len(), c.Bytes(), 2*one.size)
	}

	// Two flights of one key put it twice; its bytes count once.
	key, err := cacheKey("tree", Input{Path: "a"})
	if err != nil {
		t.Fatal(err)
	}
	c.put(key, one)
	c.put(key, one)
	if c.Len() != 2 || c.Bytes() != 2*one.size {
		t.Errorf("a key put twice: %d builds holding %d bytes, want 2 holding %d", c.Len(), c.Bytes(), 2*one.size)
	}
}

// TestCacheConcurrentMisses starts many builds of one key on an empty
// cache: kustomize runs once, and every caller gets its own objects.
func TestCacheConcurrentMisses(t *testing.T) {
	files := bytesOf(podinfoTree(t))
	c := NewCache(0)
	const n = 16
	results := make([]*Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := c.Build("tree", files, nil, Input{Path: "apps/podinfo", Spec: postBuild,
				Vars: map[string]string{"INDEX": fmt.Sprint(i), "PODS": "1", "MCPU": "1m"}})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = r
		})
	}
	wg.Wait()
	if c.builds != 1 {
		t.Errorf("kustomize ran %d times for %d concurrent misses, want once", c.builds, n)
	}
	for i, r := range results {
		if r == nil {
			continue
		}
		if got, want := r.Objects[0].GetName(), fmt.Sprintf("podinfo-%d", i); got != want {
			t.Errorf("build %d made %s, want %s", i, got, want)
		}
	}
}

// TestVarSubstitutionIsFlux holds the copy of Flux's varSubstitution to
// Flux's SubstituteVariables, which calls the original.
func TestVarSubstitutionIsFlux(t *testing.T) {
	const doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: %s\n"
	cases := map[string]struct {
		value  string
		vars   map[string]string
		strict bool
	}{
		"a set variable":                        {value: "${A}", vars: map[string]string{"A": "a"}},
		"a variable without braces":             {value: "x-$A-y", vars: map[string]string{"A": "a"}},
		"a default for an unset variable":       {value: "${X:=d}", vars: map[string]string{"A": "a"}},
		"a default for an empty variable":       {value: "${X:-d}", vars: map[string]string{"X": ""}},
		"a default ignored for a set one":       {value: "${A:=d}", vars: map[string]string{"A": "a"}},
		"an unset variable becomes empty":       {value: "x${MISSING}y", vars: map[string]string{"A": "a"}},
		"an unset variable fails when strict":   {value: "x${MISSING}y", vars: map[string]string{"A": "a"}, strict: true},
		"a default satisfies strict":            {value: "${MISSING:=d}", vars: map[string]string{"A": "a"}, strict: true},
		"escaped dollars stay":                  {value: "'$${A} $$A $$'", vars: map[string]string{"A": "a"}},
		"an invalid variable name":              {value: "${A}", vars: map[string]string{"1A": "a"}},
		"a variable name with a dash":           {value: "${A}", vars: map[string]string{"A-B": "a"}},
		"an unclosed brace":                     {value: "${A", vars: map[string]string{"A": "a"}},
		"a value that is a number":              {value: "${A}", vars: map[string]string{"A": "12"}},
		"a value that breaks YAML":              {value: "${A}", vars: map[string]string{"A": "{x"}},
		"string functions":                      {value: "${A/a/b}-${A^^}-${#A}", vars: map[string]string{"A": "aaa"}},
		"a quoted variable stays a string":      {value: `"${A}"`, vars: map[string]string{"A": "12"}},
		"a nested default":                      {value: "${X:=${A}}", vars: map[string]string{"A": "a"}},
		"a substitution inside a longer string": {value: "prefix-${A}-suffix", vars: map[string]string{"A": "a", "B": "b"}},
	}
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := rf.FromBytes([]byte(fmt.Sprintf(doc, tc.value)))
			if err != nil {
				t.Fatal(err)
			}
			text, err := res.AsYAML()
			if err != nil {
				t.Fatal(err)
			}
			substitute := map[string]any{}
			for k, v := range tc.vars {
				substitute[k] = v
			}
			ks := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"postBuild": map[string]any{"substitute": substitute}}}}
			_, fluxErr := fluxkustomize.SubstituteVariables(context.Background(), nil, ks, res,
				fluxkustomize.SubstituteWithDryRun(true), fluxkustomize.SubstituteWithStrict(tc.strict))
			got, err := varSubstitution(text, tc.vars, tc.strict)
			if fluxErr != nil || err != nil {
				if fluxErr == nil || err == nil || fluxErr.Error() != "envsubst error: "+err.Error() {
					t.Fatalf("error = %v, Flux's = %v", err, fluxErr)
				}
				t.Log(err)
				return
			}
			want, err := res.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("got %s, Flux made %s", got, want)
			}
		})
	}
}
