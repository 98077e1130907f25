// Command demo is what `make demo` runs on the local cluster once `tugboat dev up` has
// started it: it applies docs/examples/demo/web.yaml and follows the Deployment's rollout
// to Ready, printing each step as kubectl rollout status would (each run stamps the pod
// template, so every run shows a fresh rollout). Then GitOps: the seed's Flux manifests
// sync a repository on a local Git server, a pushed commit scales the app, and a file
// deleted from Git is pruned. Last, Application Insights: a two-service app sends its
// traces to a tugboat agent, and tugboat query and tugboat trace show them (app.go);
// -only app runs that part alone, without a cluster.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tugboatcd/tugboat/internal/health"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster to demo on")
	manifest := flag.String("f", "docs/examples/demo/web.yaml", "manifest to apply")
	seed := flag.String("seed", "docs/examples/demo/seed-gitops.yaml", "the GitOps manifests users bring (their url is pointed at a local Git server)")
	timeout := flag.Duration("timeout", 4*time.Minute, "how long each part may take (the rollout and GitOps; the app)")
	tugboat := flag.String("tugboat", "bin/tugboat", "the tugboat binary (the agent, query and trace)")
	only := flag.String("only", "", `run one part: "app" (the traced two-service app; no cluster needed)`)
	requests := flag.Int("requests", 40, "requests the app part sends to the shop's frontend")
	flag.Parse()
	// Each part has the whole timeout: the app part builds the shop first.
	withTimeout := func(f func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		return f(ctx)
	}
	cluster := func(ctx context.Context) error { return run(ctx, *kubeconfig, *manifest, *seed) }
	app := func(ctx context.Context) error { return appInsights(ctx, *tugboat, *requests) }
	var err error
	switch *only {
	case "":
		if err = withTimeout(cluster); err == nil {
			err = withTimeout(app)
		}
	case "app":
		err = withTimeout(app)
	default:
		err = fmt.Errorf("unknown -only %q: use app", *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, manifest, seed string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))

	data, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	objs, err := parseManifest(manifest, data)
	if err != nil {
		return err
	}
	var deployment *unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetKind() == "Deployment" {
			// A new stamp on every run makes a new ReplicaSet, so there is a rollout to see.
			_ = unstructured.SetNestedField(obj.Object, time.Now().UTC().Format(time.RFC3339),
				"spec", "template", "metadata", "annotations", "demo.tugboat.dev/run")
			deployment = obj
		}
		mapping, err := mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
		if err != nil {
			return fmt.Errorf("%s: unknown kind %s: %w", manifest, obj.GroupVersionKind(), err)
		}
		client := dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		if _, err := client.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "tugboat-demo", Force: true}); err != nil {
			return fmt.Errorf("failed to apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		fmt.Printf("applied %s/%s\n", obj.GetKind(), obj.GetName())
	}
	if deployment == nil {
		return fmt.Errorf("%s holds no Deployment to roll out", manifest)
	}
	if err := follow(ctx, dyn, deployment); err != nil {
		return err
	}
	return gitops(ctx, dyn, seed)
}

// follow watches the Deployment and prints each new rollout step until it is done.
func follow(ctx context.Context, dyn dynamic.Interface, d *unstructured.Unstructured) error {
	gvr := appsDeployments
	w, err := dyn.Resource(gvr).Namespace(d.GetNamespace()).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", d.GetName()).String(),
	})
	if err != nil {
		return fmt.Errorf("failed to watch deployment %s: %w", d.GetName(), err)
	}
	defer w.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("deployment %s did not finish rolling out: %w (last: %s)", d.GetName(), ctx.Err(), last)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return errors.New("watch closed before the rollout finished")
			}
			obj, isObj := ev.Object.(*unstructured.Unstructured)
			if !isObj {
				continue
			}
			st, err := health.Rollout(obj)
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%-70s desired %d, updated %d, ready %d, available %d", st.Message, st.Desired, st.Updated, st.Ready, st.Available)
			if line != last {
				fmt.Printf("%s  %s\n", time.Now().Format("15:04:05.000"), line)
				last = line
			}
			if st.Done {
				return nil
			}
		}
	}
}

func parseManifest(path string, data []byte) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("failed to parse %s: %w", path, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, &obj)
		}
	}
}
