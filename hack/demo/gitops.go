package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

var (
	gitRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	kustomizations  = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	configMaps      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	appsDeployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// demoApp is the sample repository: the app the seed's Kustomization syncs, the push
// half's image, on the real node.
func demoApp(replicas int, image string) map[string]string {
	return map[string]string{
		"apps/prod/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: gitops-demo
spec:
  replicas: %d
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      nodeSelector: {tugboat.dev/real-node: "true"}
      tolerations: [{key: tugboat.dev/real-node, operator: Exists, effect: NoSchedule}]
      terminationGracePeriodSeconds: 5
      securityContext: {runAsNonRoot: true}
      containers:
        - name: shop
          image: %s
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 1
          securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
          resources:
            limits: {cpu: 200m, memory: 32Mi}
`, replicas, image),
		"apps/prod/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: gitops-demo\n",
		"apps/prod/banner.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: banner\n  namespace: gitops-demo\ndata:\n  text: welcome\n",
	}
}

// gitops runs the pull half of the demo: a local Git smart-HTTP server with a sample
// repository, the seed's v1beta1 manifests (only the URL changed) syncing it, then a
// pushed commit changing replicas, reconciled at once with tugboat reconcile, and a
// deleted file pruned, announced by a call to a Receiver's webhook as a Git server
// would make it. It returns the last commit.
func gitops(ctx context.Context, sh *shell, dyn dynamic.Interface, seedPath, image, webhooks string) (string, error) {
	root, err := os.MkdirTemp("", "tugboat-demo-git-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(root)
	srv := gitserver.New(root)
	if _, err := srv.Start(); err != nil {
		return "", err
	}
	defer srv.Close()
	if err := srv.InitRepo("aks-config", "main"); err != nil {
		return "", err
	}
	wd, err := srv.Workdir("aks-config")
	if err != nil {
		return "", err
	}
	defer wd.Close()
	if err := wd.WriteFiles(demoApp(2, image)); err != nil {
		return "", err
	}
	commit, err := wd.CommitAndPush("shop: first release")
	if err != nil {
		return "", err
	}
	fmt.Printf("\n== GitOps: serving %s (commit %s)\n", srv.RepoURL("aks-config"), commit[:8])

	// The seed is v1beta1, applied unchanged apart from its url; the apiserver serves it.
	if err := sh.run(ctx, fmt.Sprintf("sed 's|https://github.com/contoso/aks-config|%s|' %s | kubectl apply -n default -f -", srv.RepoURL("aks-config"), seedPath)); err != nil {
		return "", err
	}
	// A previous demo on this cluster left the source suspended (see the end): resume it.
	resume := []byte(`{"spec":{"suspend":null}}`)
	if _, err := dyn.Resource(gitRepositories).Namespace("default").Patch(ctx, "aks-config", types.MergePatchType, resume, metav1.PatchOptions{}); err != nil {
		return "", fmt.Errorf("failed to resume GitRepository aks-config: %w", err)
	}
	if err := waitApplied(ctx, dyn, commit); err != nil {
		return "", err
	}
	if err := waitReplicas(ctx, dyn, 2); err != nil {
		return "", err
	}

	fmt.Println("\n== GitOps: push a commit that scales shop to 3 replicas")
	if err := wd.WriteFiles(demoApp(3, image)); err != nil {
		return "", err
	}
	if commit, err = wd.CommitAndPush("shop: scale to 3"); err != nil {
		return "", err
	}
	if err := sh.run(ctx, "tugboat reconcile kustomization apps --with-source -n default"); err != nil {
		return "", err
	}
	if err := waitApplied(ctx, dyn, commit); err != nil {
		return "", err
	}
	if err := waitReplicas(ctx, dyn, 3); err != nil {
		return "", err
	}

	fmt.Println("\n== GitOps: a Receiver, whose webhook a Git server calls on every push")
	hook, err := receiver(ctx, sh, webhooks)
	if err != nil {
		return "", err
	}
	fmt.Println("\n== GitOps: delete banner.yaml from Git and call the webhook; prune removes the ConfigMap")
	if err := wd.Remove("apps/prod/banner.yaml"); err != nil {
		return "", err
	}
	if commit, err = wd.CommitAndPush("shop: drop the banner"); err != nil {
		return "", err
	}
	if err := sh.run(ctx, "curl -sS --fail-with-body -X POST "+hook); err != nil {
		return "", err
	}
	if err := waitApplied(ctx, dyn, commit); err != nil {
		return "", err
	}
	if err := waitGone(ctx, dyn.Resource(configMaps).Namespace("gitops-demo"), "banner"); err != nil {
		return "", err
	}
	// The Git server stops with the demo: suspend the source so it does not report the
	// server unreachable every minute afterwards.
	if err := sh.run(ctx, "tugboat suspend source git aks-config -n default"); err != nil {
		return "", err
	}
	fmt.Println("(suspended: its Git server stops with the demo)")
	return commit, nil
}

// waitApplied polls the seed's Kustomization until it applied commit, printing each
// new Ready message.
func waitApplied(ctx context.Context, dyn dynamic.Interface, commit string) error {
	last := ""
	start := time.Now()
	for {
		k, err := dyn.Resource(kustomizations).Namespace("default").Get(ctx, "apps", metav1.GetOptions{})
		if err == nil {
			applied, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
			msg := readyMessage(k)
			if msg != last && msg != "" {
				fmt.Printf("  %6.2fs  Kustomization default/apps: %s\n", time.Since(start).Seconds(), msg)
				last = msg
			}
			if strings.HasSuffix(applied, "sha1:"+commit) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("commit %s was not applied: %w (last: %s)", commit[:8], ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func readyMessage(k *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(k.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			return fmt.Sprintf("Ready=%v %v", m["status"], m["message"])
		}
	}
	return ""
}

func waitReplicas(ctx context.Context, dyn dynamic.Interface, want int64) error {
	for {
		d, err := dyn.Resource(appsDeployments).Namespace("gitops-demo").Get(ctx, "shop", metav1.GetOptions{})
		if err == nil {
			avail, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
			if avail == want {
				fmt.Printf("  deployment gitops-demo/shop: %d/%d available\n", avail, want)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deployment shop never had %d available replicas: %w", want, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func waitGone(ctx context.Context, client dynamic.ResourceInterface, name string) error {
	for {
		_, err := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			fmt.Printf("  configmap gitops-demo/%s pruned\n", name)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("configmap %s was not pruned: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// receiver creates a generic Receiver for the seed's GitRepository and returns its
// webhook's URL once the webhook server answers it.
func receiver(ctx context.Context, sh *shell, webhooks string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := sh.run(ctx, "kubectl create secret generic webhook-token -n default --from-literal=token="+token+" --dry-run=client -o yaml | kubectl apply -f -"); err != nil {
		return "", err
	}
	if err := sh.run(ctx, "tugboat create receiver aks-config --type generic --secret-ref webhook-token --resource GitRepository/aks-config -n default"); err != nil {
		return "", err
	}
	out, err := sh.quiet(ctx, "kubectl get receiver aks-config -n default -o jsonpath='{.status.webhookPath}'")
	path := strings.TrimSpace(string(out))
	if err != nil {
		return "", fmt.Errorf("failed to read the Receiver aks-config's webhook path: %w", err)
	}
	if !strings.HasPrefix(path, "/hook/") {
		return "", fmt.Errorf("the Receiver aks-config has no webhook path (status.webhookPath %q)", path)
	}
	hook := webhooks + path
	// The webhook server reads Receivers from its cache, which sees the new path a
	// moment after the apiserver (404 until then). A call with nothing new pushed
	// fetches the unchanged head and applies nothing.
	err = sh.waitFor(ctx, "the webhook server to serve "+path, func(ctx context.Context) (bool, string) {
		out, err := sh.quiet(ctx, "curl -sS -o /dev/null -w '%{http_code}' -X POST "+hook)
		return err == nil && string(out) == "200", fmt.Sprintf("%s %v", out, err)
	})
	return hook, err
}
