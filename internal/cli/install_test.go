package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// TestInstallExportIsConfigDefault: --export prints config/default's objects, labelled
// for uninstall, with the image of --image, and talks to no cluster.
func TestInstallExportIsConfigDefault(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), []string{"install", "--export", "--image", "registry.example/tugboat:v9", "--kubeconfig", "/nonexistent"}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var ids []string
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(out.String()), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		if obj == nil {
			continue
		}
		md := obj["metadata"].(map[string]any)
		labels, _ := md["labels"].(map[string]any)
		if labels[partOfLabel] != "tugboat" {
			t.Errorf("%s/%s lacks the %s label", obj["kind"], md["name"], partOfLabel)
		}
		ids = append(ids, obj["kind"].(string)+"/"+md["name"].(string))
	}
	golden(t, "install", "export-objects", strings.Join(ids, "\n")+"\n")
	if !strings.Contains(out.String(), "image: registry.example/tugboat:v9") {
		t.Errorf("--image did not set the controller image")
	}
}

// TestInstallVersionUninstall runs on a cluster of its own, since uninstall deletes
// the CRDs the rest of the suite needs: install waits for the CRDs and the Deployment
// (kwok makes it ready), version reports it, uninstall asks, --dry-run deletes nothing,
// and uninstall removes the controller and CRDs but leaves what Kustomizations applied.
func TestInstallVersionUninstall(t *testing.T) {
	ctx := context.Background()
	c2, err := cluster.Start(ctx, cluster.Options{Workloads: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	run := func(code int, args ...string) result {
		t.Helper()
		var out, errOut bytes.Buffer
		got := Execute(ctx, append([]string{"--kubeconfig", c2.Kubeconfig}, args...), &out, &errOut)
		if got != code {
			t.Fatalf("tugboat %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out.String(), errOut.String())
		}
		return result{stdout: out.String(), stderr: errOut.String(), code: got}
	}
	version := regexp.MustCompile(`v1\.\d+\.\d+[^\s"]*`)
	norm := func(s string) string { return version.ReplaceAllString(s, "vX.Y.Z") }

	r := run(ExitOK, "version")
	golden(t, "version", "not-installed", norm(r.stdout))

	// Before install the GitOps verbs say what to do.
	for _, args := range [][]string{
		{"get", "kustomizations"},
		{"create", "source", "git", "x", "--url", "https://example.com/r", "-n", "default"},
	} {
		r = run(ExitError, args...)
		if !strings.Contains(r.stderr, "(run `tugboat install` first)") {
			t.Errorf("tugboat %s on a cluster without tugboat said %q", strings.Join(args, " "), r.stderr)
		}
	}

	r = run(ExitOK, "install", "--timeout", "3m")
	golden(t, "install", "install", r.stdout)

	r = run(ExitOK, "version")
	golden(t, "version", "installed", norm(r.stdout))
	r = run(ExitOK, "version", "-o", "json")
	golden(t, "version", "installed-json", norm(r.stdout))
	r = run(ExitOK, "version", "--client", "--kubeconfig", "/nonexistent")
	golden(t, "version", "client-only", r.stdout)

	scheme := kube.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	k2, err := client.New(c2.RESTConfig, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// What a Kustomization applied, and the Kustomization with its finalizer (no
	// controller runs on this cluster to remove it).
	applied := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "applied", Namespace: "default",
		Labels: map[string]string{meta.KustomizeNameLabel: "apps", meta.KustomizeNamespaceLabel: "default"}}}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: "default", Finalizers: []string{kustomizev1.KustomizationFinalizer}},
		Spec:       kustomizev1.KustomizationSpec{SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "repo"}, Prune: true},
	}
	for _, o := range []client.Object{applied, ks} {
		if err := k2.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	r = run(ExitError, "uninstall")
	if !strings.Contains(r.stderr, "Are you sure") || !strings.Contains(r.stderr, "uninstall cancelled") {
		t.Errorf("uninstall without --silent did not ask: %q", r.stderr)
	}
	r = run(ExitOK, "uninstall", "--dry-run")
	golden(t, "uninstall", "dry-run", r.stdout)
	if err := k2.Get(ctx, client.ObjectKey{Namespace: "tugboat-system", Name: "tugboat-controller"}, &appsv1.Deployment{}); err != nil {
		t.Fatalf("uninstall --dry-run deleted the controller: %v", err)
	}
	if err := k2.Get(ctx, client.ObjectKeyFromObject(ks), ks); err != nil || len(ks.Finalizers) == 0 {
		t.Fatalf("uninstall --dry-run removed the finalizer (err %v)", err)
	}

	r = run(ExitOK, "uninstall", "--silent")
	golden(t, "uninstall", "silent", r.stdout)
	for name, obj := range map[string]client.Object{
		"gitrepositories.source.toolkit.fluxcd.io":   &apiextensionsv1.CustomResourceDefinition{},
		"kustomizations.kustomize.toolkit.fluxcd.io": &apiextensionsv1.CustomResourceDefinition{},
	} {
		if err := pollUntil(func() bool { return apierrors.IsNotFound(k2.Get(ctx, client.ObjectKey{Name: name}, obj)) }); err != nil {
			t.Errorf("CRD %s is still there", name)
		}
	}
	if err := k2.Get(ctx, client.ObjectKeyFromObject(applied), &corev1.ConfigMap{}); err != nil {
		t.Errorf("uninstall deleted what a Kustomization applied: %v", err)
	}
	r = run(ExitOK, "version")
	if !strings.Contains(r.stdout, "controller: not installed") {
		t.Errorf("version after uninstall: %q", r.stdout)
	}
}

// TestInstallWhereAdmissionPoliciesAreNotServed: on a cluster before Kubernetes 1.36,
// which serves no MutatingAdmissionPolicy, install skips the optional finalizer policy
// and installs the rest (the controller adds the finalizer itself there), and
// uninstall skips it too.
func TestInstallWhereAdmissionPoliciesAreNotServed(t *testing.T) {
	ctx := context.Background()
	c2, err := cluster.Start(ctx, cluster.Options{Workloads: true, ExtraAPIServerArgs: []string{"--runtime-config=" +
		"admissionregistration.k8s.io/v1/mutatingadmissionpolicies=false," +
		"admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings=false",
		"--disable-admission-plugins=MutatingAdmissionPolicy"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	resources, err := discovery.NewDiscoveryClientForConfigOrDie(c2.RESTConfig).ServerResourcesForGroupVersion("admissionregistration.k8s.io/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resources.APIResources {
		if r.Name == "mutatingadmissionpolicies" {
			t.Fatal("the test cluster serves MutatingAdmissionPolicy despite --runtime-config")
		}
	}
	for _, args := range [][]string{{"install", "--timeout", "3m"}, {"uninstall", "--silent"}} {
		var out, errOut bytes.Buffer
		if code := Execute(ctx, append([]string{"--kubeconfig", c2.Kubeconfig}, args...), &out, &errOut); code != ExitOK {
			t.Fatalf("tugboat %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
		}
		if args[0] == "install" {
			golden(t, "install", "install", out.String())
		}
	}
}
