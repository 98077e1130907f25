package build

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tugboatcd/tugboat/api/meta"
)

// recorder is an HTTP server on loopback that answers every request with a
// valid ConfigMap (so that a build which fetched would succeed and apply it)
// and remembers each request.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.String())
		rec.mu.Unlock()
		_, _ = w.Write([]byte(configMap("fetched", "169.254.169.254-credentials")))
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

// TestBuildIsOffline names a URL of a real server in every place kustomize
// loads a location from, and wants no request to reach it and an error that
// names the location.
func TestBuildIsOffline(t *testing.T) {
	rec := newRecorder(t)
	u := rec.URL + "/meta-data"
	cases := map[string]struct {
		files    map[string]string
		symlinks map[string]string
		path     string // the file the error names
	}{
		"a configMapGenerator file with a key": {
			files: map[string]string{"app/kustomization.yaml": "configMapGenerator:\n- name: c\n  files:\n  - creds=" + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a configMapGenerator file without a key": {
			files: map[string]string{"app/kustomization.yaml": "configMapGenerator:\n- name: c\n  files:\n  - " + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a secretGenerator envs file": {
			files: map[string]string{"app/kustomization.yaml": "secretGenerator:\n- name: s\n  envs:\n  - " + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a configMapGenerator env file": {
			files: map[string]string{"app/kustomization.yaml": "configMapGenerator:\n- name: c\n  env: " + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a patch path": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\npatches:\n- path: " + u + "\n",
				"app/cm.yaml":            configMap("fetched", "x"),
			},
			path: "app/kustomization.yaml",
		},
		"the path of a patch transformer config": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\ntransformers: [patch.yaml]\n",
				"app/cm.yaml":            configMap("fetched", "x"),
				"app/patch.yaml":         "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: " + u + "\n",
			},
			path: "app/patch.yaml",
		},
		"the files of a generator config": {
			files: map[string]string{
				"app/kustomization.yaml": "generators: [gen.yaml]\n",
				"app/gen.yaml":           "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: c\nfiles:\n- creds=" + u + "\n",
			},
			path: "app/gen.yaml",
		},
		"a replacement path": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\nreplacements:\n- path: " + u + "\n",
				"app/cm.yaml":            configMap("fetched", "x"),
			},
			path: "app/kustomization.yaml",
		},
		"an openapi path": {
			files: map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\nopenapi:\n  path: " + u + "\n",
				"app/cm.yaml":            configMap("fetched", "x"),
			},
			path: "app/kustomization.yaml",
		},
		"a resource file": {
			files: map[string]string{"app/kustomization.yaml": "resources:\n- " + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a git resource": {
			files: map[string]string{"app/kustomization.yaml": "resources:\n- git::" + rec.URL + "/repo.git//app?ref=main\n"},
			path:  "app/kustomization.yaml",
		},
		"a git component": {
			files: map[string]string{"app/kustomization.yaml": "components:\n- " + rec.URL + "/repo.git//app?ref=main\n"},
			path:  "app/kustomization.yaml",
		},
		"a crd file": {
			files: map[string]string{"app/kustomization.yaml": "crds:\n- " + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a configurations file": {
			files: map[string]string{"app/kustomization.yaml": "configurations:\n- " + u + "\n"},
			path:  "app/kustomization.yaml",
		},
		"a kustomization.yaml that is a symlink to another name": {
			files:    map[string]string{"app/settings.txt": "configMapGenerator:\n- name: c\n  files:\n  - creds=" + u + "\n"},
			symlinks: map[string]string{"app/kustomization.yaml": "settings.txt"},
			path:     "app/settings.txt",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := Input{Path: "app"}
			before := len(rec.requests())
			r, err := Build(bytesOf(tc.files), tc.symlinks, in)
			if got := rec.requests()[before:]; len(got) > 0 {
				t.Fatalf("the build sent %d requests: %v", len(got), got)
			}
			if err == nil {
				t.Fatalf("build succeeded with %v, want it refused", ids(r.Objects))
			}
			t.Log(err)
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("error %T %v is not a *build.Error", err, err)
			}
			if be.Reason != meta.BuildFailedReason {
				t.Errorf("reason = %q, want %q", be.Reason, meta.BuildFailedReason)
			}
			if be.Path != tc.path {
				t.Errorf("path = %q, want %q", be.Path, tc.path)
			}
			for _, w := range []string{"builds are offline", rec.URL, tc.path} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
