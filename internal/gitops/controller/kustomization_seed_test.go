package controller

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// seedManifests is ../shared/examples/seed-gitops.yaml, unchanged apart from its URL
// (and the API versions, for the v1beta2 and v1 cases).
const seedManifests = `
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: GitRepository
metadata:
  name: aks-config
spec:
  interval: 1m
  url: URL
  branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata:
  name: apps
spec:
  path: ./apps/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: aks-config
`

var seedApp = map[string]string{
	"apps/prod/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.local/web:1
`,
	"apps/prod/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
`,
	"apps/staging/ignored.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: not-in-prod
`,
}

func TestSeedManifestsConvergeAtEveryAPIVersion(t *testing.T) {
	cases := map[string]struct{ source, kustomize string }{
		"the seed as users wrote it, at v1beta1": {"source.toolkit.fluxcd.io/v1beta1", "kustomize.toolkit.fluxcd.io/v1beta1"},
		"the same manifests at v1beta2":          {"source.toolkit.fluxcd.io/v1beta2", "kustomize.toolkit.fluxcd.io/v1beta2"},
		"the same manifests at v1":               {"source.toolkit.fluxcd.io/v1", "kustomize.toolkit.fluxcd.io/v1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t)
			// The app's manifests name their namespace, as a real repository's do.
			files := map[string]string{}
			for path, content := range seedApp {
				files[path] = strings.Replace(content, "metadata:\n", "metadata:\n  namespace: "+ns+"\n", 1)
			}
			wd, url := newRepo(t, ns, files)
			commit, err := wd.Head()
			if err != nil {
				t.Fatal(err)
			}
			manifests := strings.NewReplacer("URL", url,
				"source.toolkit.fluxcd.io/v1beta1", tc.source,
				"kustomize.toolkit.fluxcd.io/v1beta1", tc.kustomize).Replace(seedManifests)
			applyYAML(t, ns, manifests)

			k := waitKustomization(t, ns, "apps", "became Ready at the pushed commit", readyAt(commit))
			if want := "main@sha1:" + commit; k.Status.LastAppliedRevision != want {
				t.Errorf("lastAppliedRevision %q, want %q", k.Status.LastAppliedRevision, want)
			}
			repo := &sourcev1.GitRepository{}
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "aks-config"}, repo); err != nil {
				t.Fatal(err)
			}
			if repo.Status.Artifact == nil || repo.Status.Artifact.Revision != "main@sha1:"+commit {
				t.Errorf("GitRepository artifact %+v, want revision main@sha1:%s", repo.Status.Artifact, commit)
			}
			var d appsv1.Deployment
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &d); err != nil {
				t.Fatalf("the Deployment from Git is missing: %v", err)
			}
			if d.Labels["kustomize.toolkit.fluxcd.io/name"] != "apps" || d.Labels["kustomize.toolkit.fluxcd.io/namespace"] != ns {
				t.Errorf("owner labels missing: %v", d.Labels)
			}
			var cm corev1.ConfigMap
			if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "not-in-prod"}, &cm); err == nil {
				t.Error("an object outside spec.path was applied")
			}
			if got := len(k.Status.Inventory.Entries); got != 2 {
				t.Errorf("inventory has %d entries, want 2: %+v", got, k.Status.Inventory.Entries)
			}
		})
	}
}
