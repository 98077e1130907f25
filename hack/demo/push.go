package main

import (
	"context"
	"fmt"
	"strings"
)

// devStatus is what the demo reads of `tugboat dev status -o json`.
type devStatus struct {
	Running    bool      `json:"running"`
	RealNode   bool      `json:"realNode"`
	Registry   string    `json:"registry"`
	Kubeconfig string    `json:"kubeconfig"`
	Store      *storeRef `json:"store"`
	Webhooks   string    `json:"webhooks"`
}

// storeRef is where the dev cluster's store serves.
type storeRef struct {
	Query     string `json:"query"`
	TokenFile string `json:"tokenFile"`
	OTLP      string `json:"otlp"`
}

// flags are tugboat query's and tugboat trace's flags that reach the store.
func (s storeRef) flags() string {
	return fmt.Sprintf("--server %s --token-file %s", s.Query, quote(s.TokenFile))
}

// check says what the demo needs of the running dev cluster and it lacks.
func (st devStatus) check() error {
	switch {
	case !st.Running:
		return fmt.Errorf("the local cluster is not running: tugboat dev up --real-node")
	case !st.RealNode || st.Registry == "":
		return fmt.Errorf("the local cluster runs no real node (containers), which the demo needs: tugboat dev down, then make demo (it starts it with --real-node; tugboat dev status says what is missing)")
	case st.Store == nil || st.Webhooks == "":
		return fmt.Errorf("the local cluster has no store (started with --no-controller, or by an older tugboat): tugboat dev down, then make demo")
	}
	return nil
}

// publish builds hack/demo/web at version into the cluster's registry with tugboat
// image publish and returns the digest reference it prints.
func publish(ctx context.Context, sh *shell, registry, version string) (string, error) {
	ref, err := sh.output(ctx, fmt.Sprintf("tugboat image publish ./hack/demo/web --repo %s/demo/web --tag %s --base scratch --user 65532 --ldflags -X=main.version=%s --insecure",
		registry, version, version))
	if err != nil {
		return "", err
	}
	if !strings.Contains(ref, "@sha256:") {
		return "", fmt.Errorf("tugboat image publish printed %q, not a digest reference", ref)
	}
	return ref, nil
}

// push runs the push half: the app built and published as v1, applied and rolled out
// on the real node, then v2 published and set on the Deployment by tugboat deploy
// set-image, which watches its rollout and records the deploy. It returns v2's
// reference.
func push(ctx context.Context, sh *shell, st devStatus, manifest string) (string, error) {
	fmt.Println("\n== Push: build the app into an image, publish it to the cluster's registry, roll it out on the real node")
	if _, err := publish(ctx, sh, st.Registry, "v1"); err != nil {
		return "", err
	}
	if err := sh.run(ctx, fmt.Sprintf("sed 's|REGISTRY|%s|' %s | kubectl apply -f -", st.Registry, manifest)); err != nil {
		return "", err
	}
	if err := sh.run(ctx, "tugboat rollout status deployment/web -n demo --timeout 3m"); err != nil {
		return "", err
	}
	if err := onRealNode(ctx, sh, "v1"); err != nil {
		return "", err
	}

	fmt.Println("\n== Push: a second version, set on the Deployment; tugboat deploy set-image watches the rollout and records the deploy")
	v2, err := publish(ctx, sh, st.Registry, "v2")
	if err != nil {
		return "", err
	}
	if err := sh.run(ctx, "tugboat deploy set-image deployment/web web="+v2+" -n demo --rollback-on-failure --timeout 3m"); err != nil {
		return "", err
	}
	if err := onRealNode(ctx, sh, "v2"); err != nil {
		return "", err
	}
	return v2, nil
}

// onRealNode shows the app's pods and checks that each runs on the real node and
// answers, from its container, with version.
func onRealNode(ctx context.Context, sh *shell, version string) error {
	if err := sh.run(ctx, "kubectl get pods -n demo -l app=web -o wide"); err != nil {
		return err
	}
	out, err := sh.quiet(ctx, `kubectl get pods -n demo -l app=web -o jsonpath='{range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP} {.metadata.deletionTimestamp}{"\n"}{end}'`)
	if err != nil {
		return err
	}
	var ip string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 { // not terminating
			if f[1] != "tugboat-node" {
				return fmt.Errorf("pod %s runs on %s, not on the real node tugboat-node", f[0], f[1])
			}
			ip = f[2]
		}
	}
	if ip == "" {
		return fmt.Errorf("no running pod of deployment demo/web: %s", out)
	}
	answer, err := sh.output(ctx, "curl -sS --max-time 5 http://"+ip+":8080/")
	if err != nil {
		return err
	}
	if !strings.Contains(answer, "web "+version) {
		return fmt.Errorf("the pod at %s answered %q, not version %s", ip, answer, version)
	}
	return nil
}
