package cli

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// TestCreateExportRoundTrips: --export prints YAML and creates nothing; that YAML,
// applied as a user would with kubectl apply, converges to Ready under the controllers.
func TestCreateExportRoundTrips(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, "export-"+ns, map[string]string{
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml]\n",
		"app/web.yaml":           cm("web", "blue"),
	})
	norm := func(s string) string { return normalise(s, ns, "NS", url, "URL") }
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook-token", Namespace: ns},
		StringData: map[string]string{"token": "t0ken"}}); err != nil {
		t.Fatal(err)
	}

	exports := map[string][]string{
		"source-git":            {"create", "source", "git", "repo", "--url", url, "--branch", "main", "--interval", "5m", "--export"},
		"kustomization":         {"create", "kustomization", "app", "--source", "GitRepository/repo", "--path", "./app", "--prune", "--interval", "5m", "--target-namespace", ns, "--export"},
		"kustomization-depends": {"create", "kustomization", "late", "--source", "GitRepository/repo.elsewhere", "--depends-on", "app", "--depends-on", "infra/base", "--wait", "--export"},
		"receiver":              {"create", "receiver", "hook", "--type", "github", "--event", "push", "--secret-ref", "hook-token", "--resource", "GitRepository/repo", "--export"},
	}
	docs := map[string]string{}
	for name, args := range exports {
		r := mustRun(t, ExitOK, ns, args...)
		// YAML keeps its indentation: only the namespace and the address are replaced.
		golden(t, "export", name, strings.NewReplacer(ns, "NS", url, "URL").Replace(r.stdout))
		docs[name] = r.stdout
	}
	for _, list := range []client.ObjectList{&sourcev1.GitRepositoryList{}, &kustomizev1.KustomizationList{}, &notificationv1.ReceiverList{}} {
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if n := apimeta.LenList(list); n != 0 {
			t.Fatalf("--export created %d %T objects", n, list)
		}
	}

	for _, name := range []string{"source-git", "kustomization", "receiver"} { // not kustomization-depends: its dependencies do not exist
		applyExport(t, docs[name])
	}
	checks := map[string]fluxObject{"repo": &sourcev1.GitRepository{}, "app": &kustomizev1.Kustomization{}, "hook": &notificationv1.Receiver{}}
	for name, obj := range checks {
		if err := pollUntil(func() bool {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj) == nil && meta.IsReady(obj.(interface {
				meta.ObjectWithConditions
				GetGeneration() int64
			}))
		}); err != nil {
			status, msg := readyStatus(obj)
			t.Errorf("%T %s applied from --export never became Ready: %s %s", obj, name, status, msg)
		}
	}

	// A Receiver created by the CLI waits for Ready and prints its webhook path.
	r := mustRun(t, ExitOK, ns, "create", "receiver", "hook2", "--type", "generic", "--secret-ref", "hook-token", "--resource", "Kustomization/app", "--timeout", "2m")
	golden(t, "create", "receiver", norm(regexpHook.ReplaceAllString(r.stdout, "/hook/HASH")))
	mustRun(t, ExitOK, ns, "suspend", "receiver", "hook2")
	r = mustRun(t, ExitOK, ns, "resume", "receiver", "hook2", "--timeout", "2m")
	if !strings.Contains(r.stdout, "Receiver '"+ns+"/hook2' is ready") {
		t.Errorf("resume of a Receiver printed %q", r.stdout)
	}
	r = mustRun(t, ExitOK, ns, "reconcile", "receiver", "hook2", "--timeout", "2m")
	if r.stdout != "Receiver '"+ns+"/hook2' annotated\nReceiver '"+ns+"/hook2' reconciled\n" {
		t.Errorf("reconcile of a Receiver printed %q", r.stdout)
	}
	r = mustRun(t, ExitOK, ns, "get", "receivers")
	golden(t, "get", "receivers", norm(regexpHook.ReplaceAllString(r.stdout, "/hook/HASH")))
}

// regexpHook matches a Receiver's webhook path, a hash of its token.
var regexpHook = regexp.MustCompile(`/hook/[0-9a-f]+`)

// applyExport server-side applies every document of an --export, as kubectl apply -f.
func applyExport(t *testing.T, doc string) {
	t.Helper()
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(doc), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			t.Fatalf("--export printed bad YAML: %v\n%s", err, doc)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := k8s.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
			t.Fatalf("failed to apply the export of %s: %v", u.GetName(), err)
		}
	}
}
