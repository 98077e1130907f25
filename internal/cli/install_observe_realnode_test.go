package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
)

// agentStateDir is the agent DaemonSet's hostPath (config/agent).
const agentStateDir = "/var/lib/tugboat-agent"

// TestInstallObserveQueriesTheClusterStore installs tugboat with its observability
// part on the real node, as a user would: tugboat's image and the store's (built from
// the installed clickhouse-server) pushed to the cluster's registry, `tugboat install
// --observe`. Before the install `tugboat query --cluster` says there is no query
// API. Then a pod's log lines reach the ClickHouse StatefulSet through the agent, and
// `tugboat query --cluster` reads them back through the apiserver's service proxy
// with a ServiceAccount's token; the controller's own spans of a GitRepository's
// reconcile are in AppDependencies of the same store; a caller without RBAC is told
// it is forbidden, one without a token that it needs one; with ClickHouse stopped the
// query says the store is unavailable while the controller stays up, and answers
// again once it is back.
func TestInstallObserveQueriesTheClusterStore(t *testing.T) {
	// The agent's hostPath is this machine's: leave none behind that was not there.
	if _, err := os.Stat(agentStateDir); os.IsNotExist(err) {
		t.Cleanup(func() { _ = os.RemoveAll(agentStateDir) })
	}
	ctx, c, clients := realNode(t, 30*time.Minute)
	run := runAgainst(ctx, t, c)
	// Before any install there is nothing to ask.
	if r := run(ExitError, "query", "--cluster", "KubeEvents | count"); !strings.Contains(r.stderr, "no query API in this cluster") {
		t.Errorf("query --cluster before install says:\n%s\nwant: no query API in this cluster", r.stderr)
	}

	image := strings.TrimSpace(run(ExitOK, append([]string{"image", "publish", "../../cmd/tugboat", "--repo", c.Registry() + "/tugboat"}, selfImageFlags...)...).stdout)
	storeImage := publishStoreImage(t, run, c.Registry()+"/clickhouse")
	logImageSize(ctx, t, storeImage)
	appImage := strings.TrimSpace(run(ExitOK, "image", "publish", "../localdev/cluster/testdata/hello", "--repo", c.Registry()+"/demo/hello", "--base", "scratch", "--user", "65532", "--insecure").stdout)

	start := time.Now()
	run(ExitOK, "install", "--observe", "--image", image, "--store-image", storeImage, "--timeout", "5m",
		"--toleration-keys", cluster.RealNodeTaint, "--node-selector", cluster.RealNodeLabel+"=true")
	t.Logf("install --observe took %s", time.Since(start).Round(time.Second))

	// Callers: one who may use the API and read every pod's logs, one with no rights.
	reader := serviceAccountToken(ctx, t, clients, "reader", []rbacv1.RoleRef{{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "tugboat-query"}},
		[]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}}})
	nobody := serviceAccountToken(ctx, t, clients, "nobody", nil, nil)

	// A container's lines, through the agent, in the store, read through the proxy.
	message := fmt.Sprintf("observe test %d", time.Now().UnixNano())
	if _, err := clients.CoreV1().Pods("default").Create(ctx, loggingPod(appImage, message), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	query := `ContainerLogV2 | where PodName == "logger" and PodNamespace == "default" | project LogSource, LogMessage`
	var last result
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = queryClusterAs(ctx, t, c.Kubeconfig, "--token-file", reader, "-o", "csv", query)
		// CSV doubles the quotes around the message: look for the message alone.
		return last.code == ExitOK && strings.Contains(last.stdout, "stderr,") && strings.Contains(last.stdout, message), nil
	})
	if err != nil {
		t.Fatalf("query --cluster never showed the pod's stderr line %q; last exit %d:\n%s%s\n%s", message, last.code, last.stdout, last.stderr, observeState(clients))
	}

	// The controller's own spans, from a GitRepository's reconcile, in the same store.
	git := gitserver.New(t.TempDir()).WithHost(c.HostIP())
	if _, err := git.Start(); err != nil {
		t.Fatal(err)
	}
	defer git.Close()
	_, url := testenv.Repo(t, git, "app.git", map[string]string{"README": "traced\n"})
	run(ExitOK, "create", "source", "git", "app", "--url", url, "--branch", "main", "--interval", "1m", "-n", "default", "--timeout", "2m")
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = queryClusterAs(ctx, t, c.Kubeconfig, "--token-file", reader, "-o", "csv",
			`AppDependencies | where AppRoleName == "tugboat-controller" | summarize n = count()`)
		lines := strings.Split(strings.TrimSpace(last.stdout), "\n")
		return last.code == ExitOK && len(lines) == 2 && lines[1] != "0", nil
	})
	if err != nil {
		t.Errorf("AppDependencies has no span of the controller; last exit %d:\n%s%s\n%s", last.code, last.stdout, last.stderr, observeState(clients))
	}

	// Who may not: forbidden by the apiserver; no token at all (the admin's
	// kubeconfig holds a client certificate).
	if r := run(ExitError, "query", "--cluster", "--token-file", nobody, query); !strings.Contains(r.stderr, "forbidden") || !strings.Contains(r.stderr, "tugboat-query") {
		t.Errorf("query --cluster without RBAC says:\n%s\nwant it forbidden, naming ClusterRole tugboat-query", r.stderr)
	}
	if r := run(ExitError, "query", "--cluster", query); !strings.Contains(r.stderr, "needs a bearer token") {
		t.Errorf("query --cluster with a client certificate says:\n%s\nwant: needs a bearer token", r.stderr)
	}

	// ClickHouse down: the query says so, the controller stays up; back: it answers.
	controller := controllerPod(ctx, t, clients)
	scaleStore(ctx, t, clients, 0)
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = queryClusterAs(ctx, t, c.Kubeconfig, "--token-file", reader, query)
		return last.code == ExitError && strings.Contains(last.stderr, queryapi.StoreUnavailableMessage), nil
	})
	if err != nil {
		t.Errorf("with ClickHouse stopped, query --cluster exits %d:\n%s%s\nwant: %s", last.code, last.stdout, last.stderr, queryapi.StoreUnavailableMessage)
	}
	if now := controllerPod(ctx, t, clients); now.Name != controller.Name || restarts(now) != restarts(controller) || !podutils.IsPodReady(now) {
		t.Errorf("the controller did not stay up while ClickHouse was down: pod %s (was %s), restarts %d (were %d), ready %v",
			now.Name, controller.Name, restarts(now), restarts(controller), podutils.IsPodReady(now))
	}
	scaleStore(ctx, t, clients, 1)
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		last = queryClusterAs(ctx, t, c.Kubeconfig, "--token-file", reader, query)
		// The volume kept the rows of before.
		return last.code == ExitOK && strings.Contains(last.stdout, message), nil
	})
	if err != nil {
		t.Errorf("with ClickHouse back, query --cluster exits %d:\n%s%s", last.code, last.stdout, last.stderr)
	}
	logAgentMemory(ctx, t, clients)
	logPodMemory(ctx, t, clients, controllerPod(ctx, t, clients))
}

// queryClusterAs runs `tugboat query --cluster` with args; a query that takes more
// than 20 s logs the goroutines of the CLI, to show where it waits.
func queryClusterAs(ctx context.Context, t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			var waiting []string
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "queryCluster") {
					waiting = append(waiting, g)
				}
			}
			t.Logf("query --cluster runs for 20 s; it waits in:\n%s", strings.Join(waiting, "\n\n"))
		}
	}()
	code := Execute(ctx, append([]string{"--kubeconfig", kubeconfig, "query", "--cluster"}, args...), &out, &errOut)
	close(done)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// observeState describes tugboat-system's pods and the last lines of their logs,
// for a failure's message.
func observeState(clients kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, err := clients.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Sprintf("no pods of tugboat-system: %v", err)
	}
	var b strings.Builder
	tail := int64(25)
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: %s, ready %v, restarts %d\n", p.Name, p.Status.Phase, podutils.IsPodReady(&p), restarts(&p))
		for _, c := range p.Spec.Containers {
			logs, err := clients.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name, TailLines: &tail}).DoRaw(ctx)
			fmt.Fprintf(&b, "  %s's log (%v):\n%s\n", c.Name, err, logs)
		}
	}
	return b.String()
}

// publishStoreImage builds the store's image as `make clickhouse-image` does and
// returns its digest reference.
func publishStoreImage(t *testing.T, run func(int, ...string) result, repo string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("bash", "../../hack/clickhouse/rootfs.sh", root).CombinedOutput(); err != nil {
		t.Fatalf("hack/clickhouse/rootfs.sh: %v\n%s", err, out)
	}
	return strings.TrimSpace(run(ExitOK, "image", "publish", "--from-dir", root, "--entrypoint", "/usr/sbin/clickhouse-server",
		"--base", "scratch", "--user", "101:101", "--repo", repo, "--insecure").stdout)
}

// serviceAccountToken creates ServiceAccount name in default, binds it in
// tugboat-system to the roles and cluster-wide to the rules, and writes a token of
// it to a file, whose path it returns.
func serviceAccountToken(ctx context.Context, t *testing.T, clients kubernetes.Interface, name string, roles []rbacv1.RoleRef, rules []rbacv1.PolicyRule) string {
	t.Helper()
	if _, err := clients.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "default"}}
	for _, ref := range roles {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name + "-" + ref.Name}, Subjects: subjects, RoleRef: ref}
		if _, err := clients.RbacV1().RoleBindings("tugboat-system").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rules) > 0 {
		if _, err := clients.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}
		if _, err := clients.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	expires := int64(3600)
	tr, err := clients.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expires}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name+".token")
	if err := os.WriteFile(path, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loggingPod runs hello on the real node: one line on stdout when it starts, one
// with message on stderr.
func loggingPod(image, message string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "logger", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{cluster.RealNodeLabel: "true"},
			Tolerations:                   []corev1.Toleration{{Key: cluster.RealNodeTaint, Operator: corev1.TolerationOpExists}},
			TerminationGracePeriodSeconds: new(int64),
			Containers:                    []corev1.Container{{Name: "logger", Image: image, Args: []string{"-message", message}}},
		},
	}
}

func controllerPod(ctx context.Context, t *testing.T, clients kubernetes.Interface) *corev1.Pod {
	t.Helper()
	pods, err := clients.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tugboat-controller"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		if pods.Items[i].DeletionTimestamp == nil {
			return &pods.Items[i]
		}
	}
	t.Fatalf("no controller pod")
	return nil
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.Status.ContainerStatuses {
		n += s.RestartCount
	}
	return n
}

// scaleStore sets the ClickHouse StatefulSet's replicas and waits until its pods
// are gone (0) or one is ready.
func scaleStore(ctx context.Context, t *testing.T, clients kubernetes.Interface, replicas int32) {
	t.Helper()
	sts := clients.AppsV1().StatefulSets("tugboat-system")
	scale, err := sts.GetScale(ctx, "clickhouse", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scale.Spec.Replicas = replicas
	if _, err := sts.UpdateScale(ctx, "clickhouse", scale, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := clients.CoreV1().Pods("tugboat-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=clickhouse"})
		if err != nil {
			return false, nil //nolint:nilerr // the apiserver may be busy; ask again
		}
		if replicas == 0 {
			return len(pods.Items) == 0, nil
		}
		return len(pods.Items) == 1 && podutils.IsPodReady(&pods.Items[0]), nil
	})
	if err != nil {
		t.Fatalf("StatefulSet clickhouse did not get to %d ready replicas: %v", replicas, err)
	}
}
