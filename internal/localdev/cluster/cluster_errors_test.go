package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestStartFailsClearly(t *testing.T) {
	cases := map[string]struct {
		opts     func(dir string) Options
		wantIs   error
		contains []string
	}{
		"components that are not built name the command that builds them": {
			opts:     func(dir string) Options { return Options{Dir: dir, Binary: filepath.Join(dir, "missing", BinaryName)} },
			wantIs:   ErrNotBuilt,
			contains: []string{"make cluster", CacheEnv, filepath.Join("missing", BinaryName)},
		},
		"an apiserver that refuses its flags is reported with the tail of its log": {
			opts: func(dir string) Options {
				return Options{Dir: dir, ExtraAPIServerArgs: []string{"--no-such-flag=1"}}
			},
			contains: []string{"kube-apiserver exited", "unknown flag: --no-such-flag", "kube-apiserver.log"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := testDir(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := Start(ctx, tc.opts(dir))
			if err == nil {
				c.Stop()
				t.Fatal("Start succeeded, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q is not %v", err, tc.wantIs)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
			// A failed start leaves nothing running: etcd, started first, was stopped too.
			if left := processesMentioning(dir); len(left) > 0 {
				t.Errorf("a failed start left processes running: %v", left)
			}
		})
	}
}

func TestRestartKeepsStateAndAvoidsATakenPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := testDir(t)
	first, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatalf("failed to start: %v", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}
	if _, err := kubernetes.NewForConfigOrDie(first.RESTConfig).CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		first.Stop()
		t.Fatalf("failed to create namespace: %v", err)
	}
	oldServer := first.Server
	first.Stop()

	// Someone else takes the apiserver's port while the cluster is down.
	port, err := strconv.Atoi(oldServer[strings.LastIndexByte(oldServer, ':')+1:])
	if err != nil {
		t.Fatalf("bad server URL %q: %v", oldServer, err)
	}
	squatter, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("failed to take port %d: %v", port, err)
	}
	defer squatter.Close()

	second, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatalf("failed to restart with the old port taken: %v", err)
	}
	defer second.Stop()
	if second.Server == oldServer {
		t.Fatalf("restarted on the taken address %s", oldServer)
	}
	// The kubeconfig on disk follows the new address, and etcd's data survived.
	clients := kubernetes.NewForConfigOrDie(second.RESTConfig)
	if _, err := clients.CoreV1().Namespaces().Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace created before the restart is gone: %v", err)
	}
}

// squatPorts makes afterPortsPicked take etcd's client port in the first `times` start
// attempts, as an unrelated process might between the pick and etcd's bind. It returns
// the ports it took.
func squatPorts(t *testing.T, times int) *[]int {
	t.Helper()
	var taken []int
	var squatters []net.Listener
	afterPortsPicked = func(st state) {
		if len(taken) == times {
			return
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(st.EtcdClientPort)))
		if err != nil {
			t.Errorf("failed to take etcd's port %d: %v", st.EtcdClientPort, err)
			return
		}
		taken = append(taken, st.EtcdClientPort)
		squatters = append(squatters, l)
	}
	t.Cleanup(func() {
		afterPortsPicked = func(state) {}
		for _, l := range squatters {
			_ = l.Close()
		}
	})
	return &taken
}

func TestStartBeginsAgainWhenAPortIsTakenBeforeItsComponentBindsIt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	taken := squatPorts(t, 1)
	var progress strings.Builder
	c, err := Start(ctx, Options{Dir: testDir(t), Progress: &progress})
	if err != nil {
		t.Fatalf("failed to start after etcd's port was taken: %v", err)
	}
	defer c.Stop()
	if len(*taken) != 1 {
		t.Fatalf("took %d ports, want 1", len(*taken))
	}
	if !strings.Contains(progress.String(), "starting again") {
		t.Errorf("progress does not say the start began again:\n%s", progress.String())
	}
	st, err := c.ports(false)
	if err != nil {
		t.Fatal(err)
	}
	if st.EtcdClientPort == (*taken)[0] {
		t.Errorf("etcd runs on the port that was taken, %d", st.EtcdClientPort)
	}
	if _, err := kubernetes.NewForConfigOrDie(c.RESTConfig).CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("the cluster does not answer: %v", err)
	}
	// The etcd of the abandoned attempt exited; that must not be reported as a failure
	// of the running cluster.
	select {
	case err := <-c.Failed():
		t.Fatalf("the running cluster reports a failure: %v", err)
	case <-time.After(2 * time.Second):
	}
}

func TestStartGivesUpWhenPortsKeepBeingTaken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	taken := squatPorts(t, startAttempts)
	dir := testDir(t)
	c, err := Start(ctx, Options{Dir: dir})
	if err == nil {
		c.Stop()
		t.Fatal("started although etcd's port was taken in every attempt")
	}
	if !errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error does not say the port was taken: %v", err)
	}
	if len(*taken) != startAttempts {
		t.Errorf("took %d ports, want one per attempt (%d)", len(*taken), startAttempts)
	}
	if left := processesMentioning(dir); len(left) > 0 {
		t.Errorf("a failed start left processes running: %v", left)
	}
}

// kwok marks its nodes Ready and binds its kubelet port concurrently, and exits when
// the bind fails. A port taken between its pick and kwok's bind must make the start
// begin again and never leave a cluster whose kwok exits after Start returned. Here
// kwok usually fails before its node is Ready; TestKwokServes covers the check that
// holds Start back when the node is Ready first.
func TestStartBeginsAgainWhenKwoksKubeletPortIsTaken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var taken []string
	var squatters []net.Listener
	afterKubeletPortPicked = func(ip string, port int) {
		if len(taken) > 0 {
			return
		}
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("failed to take kwok's kubelet port %s: %v", addr, err)
			return
		}
		taken = append(taken, addr)
		squatters = append(squatters, l)
	}
	t.Cleanup(func() {
		afterKubeletPortPicked = func(string, int) {}
		for _, l := range squatters {
			_ = l.Close()
		}
	})
	var progress strings.Builder
	c, err := Start(ctx, Options{Dir: testDir(t), Workloads: true, KubeletAPI: true, Progress: &progress})
	if err != nil {
		t.Fatalf("failed to start after kwok's kubelet port was taken: %v", err)
	}
	defer c.Stop()
	if len(taken) != 1 {
		t.Fatalf("took %d ports, want 1", len(taken))
	}
	if !strings.Contains(progress.String(), "starting again") || !strings.Contains(progress.String(), "address already in use") {
		t.Errorf("progress does not say the start began again because the port was taken:\n%s", progress.String())
	}
	// The running kwok serves the kubelet API behind the apiserver's node proxy.
	body, err := kubernetes.NewForConfigOrDie(c.RESTConfig).CoreV1().RESTClient().Get().
		AbsPath("/api/v1/nodes", NodeName(0), "proxy", "healthz").DoRaw(ctx)
	if err != nil || string(body) != "ok" {
		t.Fatalf("kwok's kubelet API behind the node proxy answers %q, %v; want ok", body, err)
	}
	select {
	case err := <-c.Failed():
		t.Fatalf("the running cluster reports a failure: %v", err)
	case <-time.After(2 * time.Second):
	}
}

// kwokServes tells kwok's server from anything else that holds its port: a listener
// that never answers, or a server with another answer.
func TestKwokServes(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not found", http.StatusNotFound)
	}))
	defer other.Close()
	kwok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer kwok.Close()

	for name, addr := range map[string]string{"a listener that never answers": silent.Addr().String(), "another server": other.Listener.Addr().String()} {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := kwokServes(ctx, addr)
		cancel()
		if err == nil {
			t.Errorf("%s at %s passed for kwok", name, addr)
		}
	}
	if err := kwokServes(context.Background(), kwok.Listener.Addr().String()); err != nil {
		t.Errorf("kwok's health check failed: %v", err)
	}
}

// kwok draws a new identity at every start, and an earlier kwok's node lease holds its
// node for the lease's 40 s: a restarted cluster must not return before its own kwok
// holds its nodes, or pods created in those seconds would not run.
func TestRestartedKwokHoldsItsNodesWhenStartReturns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := testDir(t)
	first, err := Start(ctx, Options{Dir: dir, Workloads: true})
	if err != nil {
		t.Fatalf("failed to start: %v", err)
	}
	before, err := nodeLeaseHolder(ctx, kubernetes.NewForConfigOrDie(first.RESTConfig))
	first.Stop()
	if err != nil {
		t.Fatal(err)
	}

	second, err := Start(ctx, Options{Dir: dir, Workloads: true})
	if err != nil {
		t.Fatalf("failed to restart: %v", err)
	}
	defer second.Stop()
	after, err := nodeLeaseHolder(ctx, kubernetes.NewForConfigOrDie(second.RESTConfig))
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Fatalf("after the restart, node %s's lease is still held by the stopped kwok (%s)", NodeName(0), before)
	}
}

func nodeLeaseHolder(ctx context.Context, clients kubernetes.Interface) (string, error) {
	lease, err := clients.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, NodeName(0), metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to read node %s's lease: %w", NodeName(0), err)
	}
	if lease.Spec.HolderIdentity == nil {
		return "", fmt.Errorf("node %s's lease has no holder", NodeName(0))
	}
	return *lease.Spec.HolderIdentity, nil
}
