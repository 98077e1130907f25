package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
)

// selfImageFlags publish tugboat's own image as `make images` does (keep the two
// alike): no DuckDB and so no cgo, stripped, no base image (no shell), a numeric
// non-root user.
var selfImageFlags = []string{"--base", "scratch", "--build-tags", "noduckdb", "--ldflags", "-s -w", "--user", "65532", "--insecure"}

// TestInstallRunsTheControllerOnTheRealNode installs tugboat into a cluster with a
// real node, as a user of `tugboat dev` would: tugboat's image built by `tugboat image
// publish` into the cluster's registry, `tugboat install --image` with the real node's
// toleration. An image that does not exist fails the install within its timeout,
// naming the pull error. The controller then runs as a pod, pulls a repository from a
// Git server the pod reaches, and applies a Deployment whose container answers HTTP;
// a new commit changes the answer; uninstall leaves the Deployment running.
func TestInstallRunsTheControllerOnTheRealNode(t *testing.T) {
	ctx, c, clients := realNode(t, 25*time.Minute)
	run := runAgainst(ctx, t, c)
	onRealNode := []string{"--toleration-keys", cluster.RealNodeTaint, "--node-selector", cluster.RealNodeLabel + "=true"}

	// A missing image: the install fails within its timeout, naming the pull error.
	missing := c.Registry() + "/tugboat/controller:missing"
	start := time.Now()
	r := run(ExitError, append([]string{"install", "--image", missing, "--timeout", "40s"}, onRealNode...)...)
	if took := time.Since(start); took > 2*time.Minute {
		t.Errorf("install of a missing image took %s with --timeout 40s", took)
	}
	pullError := strings.Contains(r.stderr, "ErrImagePull") || strings.Contains(r.stderr, "ImagePullBackOff")
	if !strings.Contains(r.stderr, "Deployment/tugboat-system/tugboat-controller is not ready") || !strings.Contains(r.stderr, missing) || !pullError {
		t.Errorf("install of a missing image says:\n%s\nwant the Deployment, the image and the pull error named", r.stderr)
	}

	// tugboat's image, and the app's, by the same flow a user's CI runs.
	image := strings.TrimSpace(run(ExitOK, append([]string{"image", "publish", "../../cmd/tugboat", "--repo", c.Registry() + "/tugboat"}, selfImageFlags...)...).stdout)
	appImage := strings.TrimSpace(run(ExitOK, "image", "publish", "../localdev/cluster/testdata/hello", "--repo", c.Registry()+"/demo/hello", "--base", "scratch", "--user", "65532", "--insecure").stdout)

	logImageSize(ctx, t, image)
	run(ExitOK, append([]string{"install", "--image", image, "--timeout", "3m"}, onRealNode...)...)
	pods, err := clients.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tugboat-controller"})
	if err != nil {
		t.Fatal(err)
	}
	var controllerPod *corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; p.Spec.Containers[0].Image == image && p.Status.Phase == corev1.PodRunning {
			controllerPod = p
		}
	}
	if controllerPod == nil || controllerPod.Spec.NodeName != cluster.RealNodeName {
		t.Fatalf("no running controller pod of image %s on %s: %+v", image, cluster.RealNodeName, pods.Items)
	}

	// A Git server the controller's pod reaches: on the address the pods reach the host at.
	git := gitserver.New(t.TempDir()).WithHost(c.HostIP())
	if _, err := git.Start(); err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	wd, url := testenv.Repo(t, git, "app.git", map[string]string{"app/web.yaml": webApp(appImage, "v1")})
	run(ExitOK, "create", "source", "git", "app", "--url", url, "--branch", "main", "--interval", "1m", "-n", "default", "--timeout", "2m")
	run(ExitOK, "create", "kustomization", "app", "--source", "GitRepository/app", "--path", "./app", "--prune", "--wait", "-n", "default", "--timeout", "3m")

	svc, err := clients.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"
	waitAnswer(ctx, t, c, addr, "v1")

	// A new commit changes the answer once the controller reconciles it.
	if err := wd.WriteFiles(map[string]string{"app/web.yaml": webApp(appImage, "v2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := wd.CommitAndPush("v2"); err != nil {
		t.Fatal(err)
	}
	run(ExitOK, "reconcile", "kustomization", "app", "--with-source", "-n", "default", "--timeout", "2m")
	waitAnswer(ctx, t, c, addr, "v2")
	logPodMemory(ctx, t, clients, controllerPod)

	// Uninstall removes tugboat and leaves what the Kustomization applied running.
	run(ExitOK, "uninstall", "--silent")
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := clients.CoreV1().Namespaces().Get(ctx, "tugboat-system", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Errorf("namespace tugboat-system is still there after uninstall: %v", err)
	}
	if _, err := clients.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("uninstall deleted what the Kustomization applied: %v", err)
	}
	waitAnswer(ctx, t, c, addr, "v2")
}

// startRealNodeCluster starts a temporary cluster with the machine's one real node,
// waiting while another test (of this or another package) holds it.
func startRealNodeCluster(ctx context.Context, t testing.TB) *cluster.Cluster {
	t.Helper()
	c, err := cluster.Start(ctx, cluster.Options{RealNode: true, RealNodeWait: realNodeWait, StartTimeout: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// realNodeWait is how long a test waits for the real node that another package's
// test holds (go test runs packages at once).
const realNodeWait = 15 * time.Minute

// webApp is the repository's app: a Deployment on the real node answering message,
// and a Service in front of it.
func webApp(image, message string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      nodeSelector: {%[3]s: "true"}
      tolerations: [{key: %[3]s, operator: Exists}]
      terminationGracePeriodSeconds: 0
      securityContext: {runAsNonRoot: true}
      containers:
        - name: web
          image: %[1]s
          args: [-message, %[2]s]
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /, port: 8080}
            periodSeconds: 1
          securityContext:
            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
          resources:
            limits: {cpu: 200m, memory: 32Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`, image, message, cluster.RealNodeLabel)
}

// freshConn opens a new connection for every request and uses no proxy of the
// environment. A kept-alive connection opened before kube-proxy programmed a new
// ClusterIP left the machine (conntrack keeps it un-NATed) and would go on asking
// whatever answered there — this sandbox's egress proxy, 404 — after the rules exist.
var freshConn = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// waitAnswer polls url until it answers want.
func waitAnswer(ctx context.Context, t *testing.T, c *cluster.Cluster, url, want string) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := freshConn.Do(req)
		if err != nil {
			if ctx.Err() == nil { // not the poll's own deadline cutting the last try
				last = err.Error()
			}
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		got := strings.TrimSpace(string(body))
		last = fmt.Sprintf("%q (HTTP %d, server %q)", got, resp.StatusCode, resp.Header.Get("Server"))
		return got == want, nil
	})
	if err != nil {
		// Who answered instead: without kube-proxy's rules for the ClusterIP the request
		// leaves the machine, and whatever is on the way may answer.
		nat, _ := exec.CommandContext(ctx, "iptables-save", "-t", "nat").Output()
		var rules []string
		for line := range strings.Lines(string(nat)) {
			if strings.Contains(line, "default/web") {
				rules = append(rules, strings.TrimSpace(line))
			}
		}
		proxyLog, _ := os.ReadFile(c.LogPath("kube-proxy"))
		lines := strings.Split(strings.TrimSpace(string(proxyLog)), "\n")
		t.Fatalf("%s answers %s, want %q\nkube-proxy's NAT rules for default/web:\n%s\nkube-proxy's log, last lines:\n%s",
			url, last, want, strings.Join(rules, "\n"), strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}

// logPodMemory logs the pod's memory as the kubelet measures it (working set and
// RSS), for docs/benchmarks.md; a figure, not an assertion.
func logPodMemory(ctx context.Context, t *testing.T, clients kubernetes.Interface, pod *corev1.Pod) {
	t.Helper()
	raw, err := clients.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", pod.Spec.NodeName, "proxy/stats/summary").DoRaw(ctx)
	if err != nil {
		t.Logf("no stats summary: %v", err)
		return
	}
	var summary struct {
		Pods []struct {
			PodRef     struct{ Name string } `json:"podRef"`
			Containers []struct {
				Memory struct {
					WorkingSetBytes *uint64 `json:"workingSetBytes"`
					RSSBytes        *uint64 `json:"rssBytes"`
				} `json:"memory"`
			} `json:"containers"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(raw, &summary); err != nil {
		t.Logf("unreadable stats summary: %v", err)
		return
	}
	for _, p := range summary.Pods {
		for _, c := range p.Containers {
			if p.PodRef.Name == pod.Name && c.Memory.WorkingSetBytes != nil && c.Memory.RSSBytes != nil {
				t.Logf("pod %s: working set %d MiB, RSS %d MiB", pod.Name, *c.Memory.WorkingSetBytes>>20, *c.Memory.RSSBytes>>20)
			}
		}
	}
}

// logImageSize logs the image's size as pushed (compressed layers) and unpacked, for
// docs/design/2026-12-06-images.md; a figure, not an assertion.
func logImageSize(ctx context.Context, t *testing.T, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("failed to read image %s: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var compressed, unpacked int64
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			t.Fatal(err)
		}
		compressed += size
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		unpacked += n
	}
	t.Logf("image %s: %d layer(s), %.1f MB pushed, %.1f MB unpacked", ref, len(layers), float64(compressed)/1e6, float64(unpacked)/1e6)
}
