package build

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

// aliasBomb is a ConfigMap whose data holds levels of lists, each naming the
// one before width times: width^levels scalars of value once expanded, from
// a few hundred bytes.
func aliasBomb(levels, width int, value string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n")
	fmt.Fprintf(&b, "  l0: &l0 [%s]\n", strings.TrimSuffix(strings.Repeat(`"`+value+`",`, width), ","))
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), width), ","))
	}
	return b.String()
}

func TestBuildLimits(t *testing.T) {
	manyObjects := map[string]string{}
	for i := range 6 {
		manyObjects[fmt.Sprintf("app/cm%d.yaml", i)] = configMap(fmt.Sprintf("cm%d", i), "x")
	}
	cases := map[string]struct {
		files  map[string]string
		in     Input
		path   string   // the file the error names
		want   []string // in the message
		builds bool     // within the limits: the build succeeds
	}{
		"an alias bomb is refused before kustomize expands it": {
			// 9^6 scalars of 32 bytes: 17 MB expanded, ~100 MB of kustomize's
			// nodes; one more level is the 1.1 GB.
			files: map[string]string{"app/bomb.yaml": aliasBomb(6, 9, strings.Repeat("x", 32))},
			path:  "app/bomb.yaml",
			want:  []string{"app/bomb.yaml", "aliases", "ManifestBytes"},
		},
		"aliases past a lower limit per manifest are refused": {
			// 70 KB expanded, within 10 times the file but not 32 KiB.
			files: map[string]string{"app/bomb.yaml": aliasBomb(3, 9, "xxxxxxxx")},
			in:    Input{Limits: Limits{ManifestBytes: 32 << 10}},
			path:  "app/bomb.yaml",
			want:  []string{"app/bomb.yaml", "more than 32768 bytes", "ManifestBytes"},
		},
		"aliases past ten times the file are refused": {
			// 631 KB expanded from 300 bytes: within the default 16 MiB.
			files: map[string]string{"app/bomb.yaml": aliasBomb(4, 9, "xxxxxxxx")},
			path:  "app/bomb.yaml",
			want:  []string{"app/bomb.yaml", "more than 65536 bytes", "10 times its size"},
		},
		"aliases within the limits build": {
			// 70 KB expanded from a 40 KB file.
			files:  map[string]string{"app/bomb.yaml": aliasBomb(3, 9, "xxxxxxxx") + "  pad: " + strings.Repeat("p", 40<<10) + "\n"},
			builds: true,
		},
		"an alias bomb in a kustomization file is refused": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\ncommonAnnotations:\n" + strings.TrimPrefix(aliasBomb(6, 9, strings.Repeat("x", 32)), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n"),
				"app/cm.yaml":            configMap("cm", "x"),
			},
			path: "app/kustomization.yaml",
			want: []string{"app/kustomization.yaml", "aliases", "ManifestBytes"},
		},
		"an alias bomb in a patch of the spec is refused": {
			files: map[string]string{"app/cm.yaml": configMap("bomb", "x")},
			in: Input{Spec: kustomizev1.KustomizationSpec{Patches: []kustomizev1.Patch{
				{Patch: aliasBomb(6, 9, strings.Repeat("x", 32))},
			}}},
			path: "spec.patches[0]",
			want: []string{"spec.patches[0]", "aliases", "ManifestBytes"},
		},
		"a manifest larger than the limit is refused": {
			files: map[string]string{"app/big.yaml": configMap("big", strings.Repeat("x", 4096))},
			in:    Input{Limits: Limits{ManifestBytes: 4096}},
			path:  "app/big.yaml",
			want:  []string{"app/big.yaml", "more than the limit of 4096 bytes per manifest (ManifestBytes)"},
		},
		"more objects than the limit are refused": {
			files: manyObjects,
			in:    Input{Limits: Limits{Objects: 5}},
			path:  "app",
			want:  []string{"'app' makes 6 objects", "limit of 5 per build (Objects)"},
		},
		"as many objects as the limit build": {
			files:  manyObjects,
			in:     Input{Limits: Limits{Objects: 6}},
			builds: true,
		},
		"a substitution past the limit per manifest is refused": {
			// 200 references to a 1 KiB variable: 200 KiB from a 2 KiB file.
			files: map[string]string{"app/cm.yaml": configMap("cm", strings.Repeat("${BIG}", 200))},
			in: Input{Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}},
				Vars: map[string]string{"BIG": strings.Repeat("x", 1024)}, Limits: Limits{ManifestBytes: 64 << 10}},
			path: "app",
			want: []string{"post build substitution makes 'ConfigMap/cm' larger than 65536 bytes", "(ManifestBytes)"},
		},
		"the same substitution within the limit builds": {
			files: map[string]string{"app/cm.yaml": configMap("cm", strings.Repeat("${BIG}", 200))},
			in: Input{Spec: kustomizev1.KustomizationSpec{PostBuild: &kustomizev1.PostBuild{}},
				Vars: map[string]string{"BIG": strings.Repeat("x", 1024)}, Limits: Limits{ManifestBytes: 256 << 10}},
			builds: true,
		},
		"a build past its deadline is stopped": {
			files: map[string]string{"app/cm.yaml": configMap("cm", "x")},
			in:    Input{Limits: Limits{Timeout: time.Nanosecond}},
			want:  []string{"limit of 1ns (Timeout)"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			in.Path = "app"
			for _, run := range []string{"Build", "Cache.Build"} {
				var (
					r   *Result
					err error
				)
				if run == "Build" {
					r, err = Build(bytesOf(tc.files), nil, in)
				} else {
					r, err = NewCache(0).Build("tree", bytesOf(tc.files), nil, in)
				}
				if tc.builds {
					if err != nil {
						t.Fatalf("%s: %v", run, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("%s succeeded with %d objects, want it refused", run, len(r.Objects))
				}
				t.Log(err)
				var be *Error
				if !errors.As(err, &be) {
					t.Fatalf("%s: error %T %v is not a *build.Error", run, err, err)
				}
				if be.Reason != meta.LimitExceededReason {
					t.Errorf("%s: reason = %q, want %q", run, be.Reason, meta.LimitExceededReason)
				}
				if tc.path != "" && be.Path != tc.path {
					t.Errorf("%s: path = %q, want %q", run, be.Path, tc.path)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not contain %q", run, err, w)
					}
				}
			}
		})
	}
}

func TestExpandedSize(t *testing.T) {
	cases := map[string]struct {
		yaml string
		max  int64
		want int64
	}{
		"a plain document counts each node once": {
			yaml: "a: b\n", max: 100, want: 1 + 1 + 2 + 2, // document, mapping, "a", "b"
		},
		"an alias counts what it names": {
			yaml: "a: &x [1, 2]\nb: *x\n", max: 100,
			want: 1 + 1 + 2 + (1 + 2 + 2) + 2 + (2 + (1 + 2 + 2)), // the alias node holds its name, "x"
		},
		"the sum saturates past max": {
			yaml: aliasBomb(5, 9, "x"), max: 1000, want: 1001,
		},
		"each node is weighed once": {
			// 2^60 scalars once expanded: weighing each expansion would not end.
			yaml: aliasBomb(60, 2, "x"), max: 1 << 62, want: 1<<62 + 1,
		},
		"documents add up": {
			yaml: "a\n---\nb\n", max: 100, want: (1 + 2) + (1 + 2),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := expandedSize([]byte(tc.yaml), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("expandedSize = %d, want %d", got, tc.want)
			}
		})
	}
}
