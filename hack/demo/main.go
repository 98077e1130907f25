// Command demo is what `make demo` runs once `tugboat dev up --real-node` has started
// the local cluster. It shows the three parts of tugboat on the real node's
// containers, each step a command printed as a user types it and run as printed (tugboat,
// the cluster's kubectl, curl), then checked:
//
//   - push (push.go): the app hack/demo/web built by tugboat image publish into the
//     cluster's registry, rolled out on the real node, then a second version set by
//     tugboat deploy set-image, which watches the rollout;
//   - pull (gitops.go): the seed's Flux manifests sync a repository on a local Git
//     server, a pushed commit scales the app and a file deleted from Git is pruned;
//   - what happened (observe.go): tugboat query over the dev cluster's store (the
//     app's container logs, CPU and memory, the deploy and the reconciles) and tugboat
//     trace of the controller's own trace of the last commit.
//
// Last, Application Insights: a traced two-service app sends its traces to a tugboat
// agent, and tugboat query and tugboat trace show them (app.go); -only app runs that
// part alone, without a cluster.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	manifest := flag.String("f", "docs/examples/demo/web.yaml", "the app's manifest (REGISTRY stands for the cluster's registry)")
	seed := flag.String("seed", "docs/examples/demo/seed-gitops.yaml", "the GitOps manifests users bring (their url is pointed at a local Git server)")
	timeout := flag.Duration("timeout", 8*time.Minute, "how long each part may take (the cluster's; the app)")
	tugboat := flag.String("tugboat", "bin/tugboat", "the tugboat binary")
	only := flag.String("only", "", `run one part: "app" (the traced two-service app; no cluster needed)`)
	requests := flag.Int("requests", 40, "requests the app part sends to the shop's frontend")
	flag.Parse()
	// Each part has the whole timeout: the app part builds the shop first.
	withTimeout := func(f func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		return f(ctx)
	}
	var store *storeRef
	cluster := func(ctx context.Context) (err error) {
		store, err = run(ctx, *tugboat, *manifest, *seed)
		return err
	}
	app := func(ctx context.Context) error { return appInsights(ctx, *tugboat, *requests, store) }
	var err error
	switch *only {
	case "":
		if err = withTimeout(cluster); err == nil {
			err = withTimeout(app)
		}
		if err == nil {
			fmt.Println("\nThe local cluster keeps running: try the commands above (tugboat dev status names the store).")
			fmt.Println("tugboat dev down stops it and undoes what its real node changed on this machine; --purge also deletes its data.")
		}
	case "app":
		err = withTimeout(app)
	default:
		err = fmt.Errorf("unknown -only %q: use app", *only)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "\ndemo failed:", err)
		os.Exit(1)
	}
}

// run shows the three parts on the running dev cluster and returns its store.
func run(ctx context.Context, tugboat, manifest, seed string) (*storeRef, error) {
	out, err := (&shell{env: os.Environ()}).quiet(ctx, quote(tugboat)+" dev status -o json")
	var st devStatus
	if jerr := json.Unmarshal(out, &st); jerr != nil {
		return nil, fmt.Errorf("failed to read tugboat dev status: %w", errors.Join(err, jerr))
	}
	if err := st.check(); err != nil {
		return nil, err
	}
	sh, cleanup, err := newShell(tugboat, st.Kubeconfig)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := sh.run(ctx, "tugboat dev status"); err != nil {
		return nil, err
	}
	fmt.Printf("\n(the commands below run with KUBECONFIG=%s and kubectl the cluster's own: tugboat-k8s kubectl)\n", st.Kubeconfig)
	image, err := push(ctx, sh, st, manifest)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	commit, err := gitops(ctx, sh, dyn, seed, image, st.Webhooks)
	if err != nil {
		return nil, err
	}
	if err := whatHappened(ctx, sh, st, image, commit); err != nil {
		return nil, err
	}
	return st.Store, nil
}
