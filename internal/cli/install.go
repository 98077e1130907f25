package cli

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/tugboatcd/tugboat/config"
	"github.com/tugboatcd/tugboat/internal/health"
	"github.com/tugboatcd/tugboat/internal/install"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// The installed controller, as config/manager names it.
const (
	controllerNamespace  = "tugboat-system"
	controllerDeployment = "tugboat-controller"
	// partOfLabel marks every installed object, so that uninstall finds them.
	partOfLabel = "app.kubernetes.io/part-of"
)

type installFlags struct {
	export  bool
	observe bool
	timeout time.Duration
	podSpec installPodSpec
}

// installPodSpec is what install's flags change in the pods of config/default's
// Deployments.
type installPodSpec struct {
	// image replaces tugboat's image (the controller's, and the agents' with
	// --observe).
	image string
	// storeImage replaces the store's image (ClickHouse, with --observe).
	storeImage string
	// tolerationKeys become tolerations (operator Exists) of every pod, as flux
	// install's --toleration-keys do, so that tainted nodes take them.
	tolerationKeys []string
	// nodeSelector is added to every pod's nodeSelector.
	nodeSelector map[string]string
}

func newInstallCommand(s streams) *cobra.Command {
	f := &installFlags{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install tugboat's CRDs and controller in a cluster",
		Long: `Applies what ` + "`kustomize build config/default`" + ` gives (the CRDs, the namespace
tugboat-system, RBAC and the controller Deployment), waits until the CRDs are established
and the Deployment is ready, like flux install. Run again to upgrade; --export prints the
YAML instead and touches nothing.

--observe adds the observability part (config/observe), as Container Insights is an
add-on: the agents (a DaemonSet tailing each node's pod logs and metrics, receiving
OTLP; a Deployment for events and delivery history), the store they write to
(ClickHouse, a StatefulSet with a PersistentVolumeClaim) and the controller's own
traces. The controller's query API reads that store: tugboat query --cluster.

On the local dev cluster (tugboat dev) the controller runs as a pod on the real node:
push tugboat's image to its registry (make images) and pass it with --image, with
--toleration-keys tugboat.dev/real-node --node-selector tugboat.dev/real-node=true
(docs/install.md). Without them, kwok marks the Deployment ready without running it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd.Context(), s)
		},
	}
	cmd.Flags().BoolVar(&f.export, "export", false, "print the manifests as YAML instead of applying them")
	cmd.Flags().BoolVar(&f.observe, "observe", false, "also install the agents and the store (ClickHouse) they write to and the query API reads")
	cmd.Flags().StringVar(&f.podSpec.image, "image", "", "tugboat's image, for the controller and the agents (default: "+tugboatImage+")")
	cmd.Flags().StringVar(&f.podSpec.storeImage, "store-image", "", "the store's image, with --observe (default: "+storeImage+"; make clickhouse-image builds it)")
	cmd.Flags().StringSliceVar(&f.podSpec.tolerationKeys, "toleration-keys", nil, "taint keys the pods tolerate (operator Exists), comma-separated")
	cmd.Flags().StringToStringVar(&f.podSpec.nodeSelector, "node-selector", nil, "node labels the pods must run on, KEY=VALUE, comma-separated")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long to wait for the CRDs and the controller")
	return cmd
}

// The images the manifests name, which --image and --store-image replace.
const (
	tugboatImage = "ghcr.io/tugboatcd/tugboat:latest"
	storeImage   = "ghcr.io/tugboatcd/clickhouse:18.16.1"
)

// installManifests builds config/default (config/observe with observe) from the
// copy embedded in the binary, with the pods changed as spec says.
func installManifests(spec installPodSpec, observe bool) ([]*unstructured.Unstructured, error) {
	if observe {
		return buildManifests("observe", spec)
	}
	return buildManifests("default", spec)
}

// buildManifests builds the embedded config/<base>, labels every object for
// uninstall and changes the Deployments' and DaemonSets' pods as spec says.
func buildManifests(base string, spec installPodSpec) ([]*unstructured.Unstructured, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(config.Manifests, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(config.Manifests, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/config", p), data)
	})
	if err != nil {
		return nil, fmt.Errorf("failed to read the embedded manifests: %w", err)
	}
	// kustomize's legacy order puts namespaces and CRDs first, so that applying in
	// order works, as kubectl apply of `kustomize build` output would need.
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	res, err := krusty.MakeKustomizer(opts).Run(mem, "/config/"+base)
	if err != nil {
		return nil, fmt.Errorf("failed to build the embedded config/%s: %w", base, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range res.Resources() {
		// Through JSON, so that numbers are int64 as unstructured objects expect.
		data, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", r.CurId(), err)
		}
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", r.CurId(), err)
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[partOfLabel] = "tugboat"
		u.SetLabels(labels)
		if k := u.GetKind(); k == "Deployment" || k == "DaemonSet" || k == "StatefulSet" {
			if err := spec.apply(u); err != nil {
				return nil, err
			}
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// apply changes the pod template of the Deployment, DaemonSet or StatefulSet u.
func (spec installPodSpec) apply(u *unstructured.Unstructured) error {
	pod, _, _ := unstructured.NestedMap(u.Object, "spec", "template", "spec")
	if pod == nil {
		return fmt.Errorf("%s has no pod template", subjectOf(u))
	}
	containers, _ := pod["containers"].([]any)
	for _, c := range containers {
		c := c.(map[string]any)
		switch {
		case spec.image != "" && c["image"] == tugboatImage:
			c["image"] = spec.image
		case spec.storeImage != "" && c["image"] == storeImage:
			c["image"] = spec.storeImage
		}
	}
	if len(spec.tolerationKeys) > 0 {
		tolerations, _ := pod["tolerations"].([]any)
		for _, key := range spec.tolerationKeys {
			tolerations = append(tolerations, map[string]any{"key": key, "operator": "Exists"})
		}
		pod["tolerations"] = tolerations
	}
	if len(spec.nodeSelector) > 0 {
		selector, _ := pod["nodeSelector"].(map[string]any)
		if selector == nil {
			selector = map[string]any{}
		}
		for k, v := range spec.nodeSelector {
			selector[k] = v
		}
		pod["nodeSelector"] = selector
	}
	if err := unstructured.SetNestedMap(u.Object, pod, "spec", "template", "spec"); err != nil {
		return fmt.Errorf("failed to change the pods of %s: %w", subjectOf(u), err)
	}
	return nil
}

func (f *installFlags) run(ctx context.Context, s streams) error {
	if f.podSpec.storeImage != "" && !f.observe {
		return usageErrorf("--store-image needs --observe: without it no store is installed")
	}
	objs, err := installManifests(f.podSpec, f.observe)
	if err != nil {
		return err
	}
	if f.export {
		for _, o := range objs {
			fmt.Fprintln(s.out, "---")
			if err := writeDoc(s.out, outputYAML, o.Object); err != nil {
				return err
			}
		}
		return nil
	}
	cfg, err := s.kube.restConfig()
	if err != nil {
		return err
	}
	k, err := newDynamic(cfg)
	if err != nil {
		return err
	}
	p := newProgress(s, false)
	p.applying("installing components in %s namespace", controllerNamespace)
	var crds []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o)
		}
	}
	// CRDs and the namespace first (kustomize orders them first), then the rest once the
	// CRDs are served, as kubectl apply of the same YAML would need.
	policies := false
	for _, o := range objs {
		if o.GetAnnotations()[config.OptionalAnnotation] == "true" && !k.Serves(o) {
			p.step("-", "%s skipped: the cluster does not serve %s", subjectOf(o), o.GetAPIVersion())
			continue
		}
		if err := k.apply(ctx, o); err != nil {
			return err
		}
		policies = policies || o.GetKind() == "MutatingAdmissionPolicy"
		p.step("✔", "%s applied", subjectOf(o))
	}
	p.waiting("verifying installation")
	for _, crd := range crds {
		if err := k.waitCurrent(ctx, crd, f.timeout); err != nil {
			return err
		}
		if err := k.waitServed(ctx, crd, f.timeout); err != nil {
			return err
		}
	}
	if policies {
		if err := install.WaitAdmission(ctx, k.Client, f.timeout); err != nil {
			return err
		}
	}
	p.success("CustomResourceDefinitions established")
	for _, o := range objs {
		if k := o.GetKind(); k != "Deployment" && k != "DaemonSet" && k != "StatefulSet" {
			continue
		}
		if err := k.waitCurrent(ctx, o, f.timeout); err != nil {
			// A Deployment's own status says only "not available"; its pods say
			// why (an image that cannot be pulled, a crashing container).
			if why := podProblems(ctx, cfg, o); why != "" {
				return fmt.Errorf("%w; its pods: %s", err, why)
			}
			return err
		}
		p.success("%s ready", subjectOf(o))
	}
	p.success("install finished")
	return nil
}

// subjectOf names an object as Flux's change lines do: Kind/namespace/name.
func subjectOf(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// dynamicClient is the CLI's client of objects of any kind, with its install steps.
type dynamicClient struct {
	*kube.Dynamic
}

func newDynamic(cfg *rest.Config) (*dynamicClient, error) {
	k, err := kube.NewDynamic(cfg)
	if err != nil {
		return nil, err
	}
	return &dynamicClient{Dynamic: k}, nil
}

func (k *dynamicClient) apply(ctx context.Context, u *unstructured.Unstructured) error {
	ri, err := k.Resource(u)
	if err != nil {
		return err
	}
	if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: cliFieldManager, Force: true}); err != nil {
		return fmt.Errorf("failed to apply %s: %w", subjectOf(u), err)
	}
	return nil
}

// waitServed waits until discovery serves the kinds of an established CRD, so that
// `kubectl get` of a kind, or a create right after install, does not fail with "no
// matches for kind".
func (k *dynamicClient) waitServed(ctx context.Context, crd *unstructured.Unstructured, timeout time.Duration) error {
	if err := kube.WaitServed(ctx, timeout, rediscovering{k.Mapper}, crd); err != nil {
		return fmt.Errorf("%s is established, but: %w", subjectOf(crd), err)
	}
	return nil
}

// rediscovering maps after dropping the discovery cache: the deferred mapper trusts a
// cache it read in this process, and a kind served a moment ago is not in it.
type rediscovering struct {
	*restmapper.DeferredDiscoveryRESTMapper
}

func (r rediscovering) RESTMapping(gk schema.GroupKind, versions ...string) (*apimeta.RESTMapping, error) {
	r.Reset()
	return r.DeferredDiscoveryRESTMapper.RESTMapping(gk, versions...)
}

// waitCurrent waits until kstatus says the object is Current (a CRD established, a
// Deployment rolled out).
func (k *dynamicClient) waitCurrent(ctx context.Context, u *unstructured.Unstructured, timeout time.Duration) error {
	ri, err := k.Resource(u)
	if err != nil {
		return err
	}
	last, err := kube.WaitFor(ctx, timeout, nil, func(ctx context.Context) (*unstructured.Unstructured, error) {
		live, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return nil, nil //nolint:nilerr // not there yet: keep waiting until the timeout
		}
		return live, nil
	}, kube.Current)
	if err != nil {
		msg := "not found"
		if last != nil {
			if res, serr := status.Compute(last); serr == nil {
				msg = fmt.Sprintf("%s: %s", res.Status, res.Message)
			}
		}
		return fmt.Errorf("%s is not ready after %s (%s): %w", subjectOf(u), timeout, msg, err)
	}
	return nil
}

// podProblems describes why the pods of workload u are not ready (health.PodProblem:
// ErrImagePull with the registry's answer, CrashLoopBackOff, a last exit, the
// scheduler's refusal); "" when nothing says.
func podProblems(ctx context.Context, cfg *rest.Config, u *unstructured.Unstructured) string {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return ""
	}
	labels, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
	pods, err := cs.CoreV1().Pods(u.GetNamespace()).List(context.WithoutCancel(ctx), metav1.ListOptions{LabelSelector: k8slabels.SelectorFromSet(labels).String()})
	if err != nil {
		return ""
	}
	var problems []string
	for i := range pods.Items {
		if p := health.PodProblem(&pods.Items[i]); p != "" {
			problems = append(problems, p)
		}
	}
	return strings.Join(problems, "; ")
}
