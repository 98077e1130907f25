package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// TestDiffKustomization diffs a local work tree against what the controller applied:
// no changes exit 0 (which needs postBuild substitution and the controller's field
// manager to match), changes exit 1 with a unified diff, created and deleted objects
// listed, Secret values masked, and neither the directory nor the cluster touched.
func TestDiffKustomization(t *testing.T) {
	ns := newNamespace(t)
	wd, url := newRepo(t, "diff-"+ns, map[string]string{
		"deploy/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml, old.yaml, creds.yaml, app.yaml]\n",
		"deploy/app.yaml":           appManifest,
		"deploy/web.yaml":           cm("web", "${COLOR}"),
		"deploy/old.yaml":           cm("old", "grey"),
		"deploy/creds.yaml":         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: s3cret-one\n  user: admin\n",
	})
	ctx := context.Background()
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns},
		Spec:       sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: 10 * time.Minute}, Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo"},
			Path:      "./deploy", Prune: true, Interval: metav1.Duration{Duration: 10 * time.Minute},
			PostBuild: &kustomizev1.PostBuild{Substitute: map[string]string{"COLOR": "blue"}},
		},
	}
	for _, o := range []client.Object{repo, ks} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, ExitOK, ns, "reconcile", "kustomization", "web", "--with-source")
	dir := filepath.Join(wd.Dir, "deploy")

	r := mustRun(t, ExitOK, ns, "diff", "kustomization", "web", "--path", dir)
	if r.stdout != "" {
		t.Errorf("diff of the applied tree printed changes:\n%s", r.stdout)
	}

	if err := wd.WriteFiles(map[string]string{
		"deploy/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml, new.yaml, creds.yaml, app.yaml]\n",
		"deploy/web.yaml":           strings.Replace(cm("web", "${COLOR}"), "\ndata:\n", "\ndata:\n  size: large\n", 1),
		"deploy/new.yaml":           cm("new", "white"),
		"deploy/creds.yaml":         "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: s3cret-two\n  user: admin\n",
	}); err != nil {
		t.Fatal(err)
	}
	if err := wd.Remove("deploy/old.yaml"); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, wd.Dir)
	r = mustRun(t, ExitError, ns, "diff", "kustomization", "web", "--path", dir)
	golden(t, "diff", "changes", strings.ReplaceAll(r.stdout, ns, "NS"))
	if r.stderr != "" {
		t.Errorf("differences printed an error: %q", r.stderr)
	}
	for _, secret := range []string{"s3cret", base64.StdEncoding.EncodeToString([]byte("s3cret-one")), base64.StdEncoding.EncodeToString([]byte("s3cret-two"))} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("diff shows a Secret value %q:\n%s", secret, r.stdout)
		}
	}
	if after := treeDigest(t, wd.Dir); after != before {
		t.Errorf("diff changed the work tree")
	}
	var live corev1.ConfigMap
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &live); err != nil || live.Data["size"] != "" {
		t.Errorf("diff changed the cluster: %v (err %v)", live.Data, err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "new"}, &corev1.ConfigMap{}); err == nil {
		t.Errorf("diff created ConfigMap new")
	}

	cases := map[string]struct {
		args   []string
		code   int
		stderr string
	}{
		"no path is a usage error": {
			args: []string{"diff", "kustomization", "web"}, code: ExitUsage, stderr: "--path is required",
		},
		"a path that is no directory is a usage error": {
			args: []string{"diff", "kustomization", "web", "--path", filepath.Join(dir, "nope")}, code: ExitUsage, stderr: "is not a directory",
		},
		"a missing Kustomization is named": {
			args: []string{"diff", "kustomization", "nope", "--path", dir}, code: ExitError, stderr: "Kustomization '" + ns + "/nope' not found",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := tugboat(t, ns, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}

	// A build error names the file and exits 1.
	if err := os.WriteFile(filepath.Join(dir, "new.yaml"), []byte("kind: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, ExitError, ns, "diff", "kustomization", "web", "--path", dir)
	if !strings.Contains(r.stderr, "new.yaml") {
		t.Errorf("build error does not name the file: %q", r.stderr)
	}

	// A build is offline: a generator's URL, read through a kustomization.yaml
	// that is a symlink to another name, is refused without a request.
	var requests atomic.Int64
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte("AWS_SECRET_ACCESS_KEY=stolen\n"))
	}))
	defer metadata.Close()
	if err := os.WriteFile(filepath.Join(dir, "settings.txt"), []byte("namespace: "+ns+"\nresources: [web.yaml]\n"+
		"configMapGenerator:\n- name: stolen\n  envs:\n  - "+metadata.URL+"/latest/meta-data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("settings.txt", filepath.Join(dir, "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, ExitError, ns, "diff", "kustomization", "web", "--path", dir)
	if !strings.Contains(r.stderr, "builds are offline") || !strings.Contains(r.stderr, "settings.txt") {
		t.Errorf("a remote generator file is not refused by name: %q", r.stderr)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("diff sent %d requests to the metadata server", n)
	}
}

// appManifest is a Deployment and a Service whose ports leave the protocol to the
// server's default, which the diff must send as the controller does.
const appManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: registry.example/app:1
          ports:
            - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: app
spec:
  selector: {app: app}
  ports:
    - port: 80
      targetPort: 8080
`

// treeDigest hashes every path, mode and content under dir (the .git directory too).
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h.Write([]byte(p + info.Mode().String() + info.ModTime().String()))
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
