package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// realNode is the cluster's one node that runs containers: containerd, the kubelet,
// and the local registry they pull from.
type realNode struct {
	layout     nodeLayout
	registry   *localRegistry
	containerd *process
	kubelet    *process
	proxy      *process
	temporary  bool
}

// realNodeLock makes the real node one per machine: its bridge, the CRI socket link,
// the kubepods cgroups and the kernel parameters are the machine's, not the cluster's.
const realNodeLock = "/run/tugboat-real-node.lock"

func takeRealNodeLock() (*os.File, error) {
	f, err := os.OpenFile(realNodeLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", realNodeLock, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(realNodeLock)
		_ = f.Close()
		return nil, fmt.Errorf("%w: another local cluster's real node runs on this machine (its owner, pid %s, holds %s); stop it or start this cluster with kwok nodes only",
			ErrRealNodeUnavailable, strings.TrimSpace(string(owner)), realNodeLock)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// checkRealNode runs before anything starts, so that a cluster that cannot have its
// real node fails at once: the machine's prerequisites, the pause program, and the
// machine's one real node, whose lock the cluster holds until Stop.
func (c *Cluster) checkRealNode() error {
	if err := CheckRealNode(); err != nil {
		return err
	}
	if _, err := pauseBinary(c.opts.Binary); err != nil {
		return err
	}
	lock, err := takeRealNodeLock()
	for deadline := time.Now().Add(c.opts.RealNodeWait); errors.Is(err, ErrRealNodeUnavailable) && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		lock, err = takeRealNodeLock()
	}
	if err != nil {
		return err
	}
	c.nodeLock = lock
	return nil
}

// startRealNode starts the registry, pushes the pause image, starts containerd and the
// kubelet, and waits until the node is Ready.
func (c *Cluster) startRealNode(ctx context.Context, clients kubernetes.Interface, st *state) error {
	pause, err := pauseBinary(c.opts.Binary)
	if err != nil {
		return err
	}
	nodeIP, err := hostIP()
	if err != nil {
		return err
	}
	n := &realNode{layout: nodeLayout{dir: c.path("node")}, temporary: c.temporary}
	c.node = n
	l := n.layout
	for _, d := range []string{l.path("containerd"), l.cniConfDir(), l.kubeletDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("failed to create %s: %w", d, err)
		}
	}
	// Leftovers of a node that did not stop cleanly go before anything new is made.
	if err := cleanupNode(l); err != nil {
		return err
	}
	rec, err := recordHost(l, c.opts.Binary)
	if err != nil {
		return err
	}

	n.registry, err = startRegistry(l.path("registry"), st.RegistryPort)
	if err != nil {
		return err
	}
	pauseRef := n.registry.host + "/" + pauseImageRepo + ":" + pauseImageTag
	c.progress("pushing the pause image to the local registry %s", n.registry.host)
	if _, err := PushBinaryImage(ctx, pauseRef, pause); err != nil {
		return err
	}
	hostsDir := filepath.Join(l.registryHosts(), n.registry.host)
	if err := os.MkdirAll(hostsDir, 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %w", hostsDir, err)
	}
	files := map[string][]byte{
		filepath.Join(hostsDir, "hosts.toml"): []byte(registryHostsTOML(n.registry.host)),
		l.containerdConfig():                  []byte(containerdConfig(l, pauseRef)),
		l.kubeletConfig():                     []byte(kubeletConfig(l, c.path("pki"), nodeIP, st.Node)),
		l.proxyConfig():                       []byte(kubeProxyConfig(c.Dir, st.Node)),
		l.corefile():                          []byte(corefile(c.Dir, nodeIP, st.Node)),
	}
	cni, err := cniConfig(l)
	if err != nil {
		return err
	}
	files[filepath.Join(l.cniConfDir(), "10-tugboat.conflist")] = cni
	for path, data := range files {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("failed to write %s: %w", path, err)
		}
	}
	if err := linkCRISocket(l, &rec); err != nil {
		return err
	}

	c.progress("starting containerd (real node)")
	n.containerd, err = c.runExternal("containerd", "containerd", []string{"--config", l.containerdConfig()})
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, n.containerd, "containerd's CRI", func(ctx context.Context) error {
		return criReady(ctx, l.containerdSocket())
	}); err != nil {
		return err
	}
	// The apiserver reaches the kubelet (logs, exec, stats) as
	// kube-apiserver-kubelet-client; this is kubeadm's binding for that name.
	if err := ensureKubeletAPIBinding(ctx, clients); err != nil {
		return err
	}
	if err := ensureClusterDNS(ctx, clients, nodeIP, st.Node.DNS); err != nil {
		return err
	}
	if err := ensureLocalVolumes(ctx, clients, l); err != nil {
		return err
	}
	c.progress("starting CoreDNS (cluster DNS %s, %s)", ClusterDNSIP, ClusterDomain)
	dns, err := c.run("coredns", []string{"-conf", l.corefile(), "-quiet"})
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, dns, "CoreDNS's /ready", func(ctx context.Context) error {
		return httpOK(ctx, "http://127.0.0.1:"+strconv.Itoa(st.Node.DNSReady)+"/ready")
	}); err != nil {
		return err
	}
	c.progress("starting kubelet %s as node %s (%s)", KubernetesVersion, RealNodeName, nodeIP)
	n.kubelet, err = c.run("kubelet", kubeletArgs(l, c.Dir, nodeIP))
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, n.kubelet, "the kubelet's /healthz", func(ctx context.Context) error {
		return httpOK(ctx, healthzURL(st.Node))
	}); err != nil {
		return err
	}
	c.progress("starting kube-proxy (ClusterIP Services for the real node and this machine)")
	n.proxy, err = c.run("kube-proxy", []string{"--config=" + l.proxyConfig()})
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, n.proxy, "kube-proxy's /healthz", func(ctx context.Context) error {
		return httpOK(ctx, "http://127.0.0.1:"+strconv.Itoa(st.Node.ProxyHealthz)+"/healthz")
	}); err != nil {
		return err
	}
	return waitUntil(ctx, n.kubelet, "node "+RealNodeName+" to be Ready", func(ctx context.Context) error {
		node, err := clients.CoreV1().Nodes().Get(ctx, RealNodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !nodeReady(node) {
			return fmt.Errorf("node %s is not Ready: %s", RealNodeName, readyMessage(node))
		}
		return nil
	})
}

func readyMessage(node *corev1.Node) string {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Reason + ": " + cond.Message
		}
	}
	return "no Ready condition yet"
}

func ensureKubeletAPIBinding(ctx context.Context, clients kubernetes.Interface) error {
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tugboat:kube-apiserver-kubelet-client"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:kubelet-api-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: apiserverKubeletClientIdentity.user}},
	}
	_, err := clients.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create ClusterRoleBinding %s: %w", binding.Name, err)
	}
	return nil
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := direct.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answers %s", url, resp.Status)
	}
	return nil
}

// criClient dials containerd's CRI on its socket.
func criClient(socket string) (runtimeapi.RuntimeServiceClient, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("failed to dial containerd at %s: %w", socket, err)
	}
	return runtimeapi.NewRuntimeServiceClient(conn), conn, nil
}

func criReady(ctx context.Context, socket string) error {
	rt, conn, err := criClient(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := rt.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return err
	}
	for _, cond := range st.GetStatus().GetConditions() {
		if cond.GetType() == runtimeapi.RuntimeReady && !cond.GetStatus() {
			return fmt.Errorf("containerd's runtime is not ready: %s", cond.GetMessage())
		}
	}
	return nil
}

// stop stops the kubelet, removes every pod sandbox through containerd's CRI (which
// stops the containers, tears down their network and unmounts their filesystems; a
// container left running would outlive the cluster, as containerd's shims are not its
// children), stops containerd and the registry, and undoes the host changes. It returns
// what it could not undo.
func (n *realNode) stop() error {
	var errs []error
	if n.proxy != nil {
		n.proxy.stop(15 * time.Second)
	}
	if n.kubelet != nil {
		n.kubelet.stop(15 * time.Second)
	}
	if n.containerd != nil && n.containerd.running() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		errs = append(errs, removeSandboxes(ctx, n.layout.containerdSocket(), n.temporary))
		cancel()
		n.containerd.stop(15 * time.Second)
	}
	if n.registry != nil {
		n.registry.close()
	}
	errs = append(errs, cleanupNode(n.layout))
	return errors.Join(errs...)
}

// CleanupRealNode removes what a real node of the cluster in dir left on this machine
// when its owner did not stop it (killed, crashed): its containers and their shims,
// mounts, bridge, iptables chains and changed kernel parameters. It does nothing when
// the node stopped cleanly or never ran, and must not be called while the cluster runs.
func CleanupRealNode(dir string) error {
	l := nodeLayout{dir: filepath.Join(dir, "node")}
	if _, err := os.Stat(l.hostState()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return cleanupNode(l)
}

// PurgeRealNodeLogs removes the log directories under /var/log/pods of the pods that
// the real node of the cluster in dir ran, and the kubelet's links to them in
// /var/log/containers; for a cluster whose state is being deleted.
func PurgeRealNodeLogs(dir string) error {
	pods, err := os.ReadDir(filepath.Join(dir, "node", "kubelet", "pods"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to list the real node's pods: %w", err)
	}
	var errs []error
	for _, p := range pods {
		// The kubelet's layout: /var/log/pods/<namespace>_<name>_<uid>.
		dirs, _ := filepath.Glob(filepath.Join("/var/log/pods", "*_"+p.Name()))
		for _, d := range dirs {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, fmt.Errorf("failed to remove %s: %w", d, err))
			}
		}
	}
	removeDanglingLinks("/var/log/containers")
	return errors.Join(errs...)
}

// cleanupNode kills what of the node outlived containerd, then undoes the host changes.
// containerd's shims are not its children and the containers are the shims' children:
// both outlive a containerd that was killed.
func cleanupNode(l nodeLayout) error {
	killShims(l.containerdSocket())
	err := killContainers(l.path("containerd", "runc", "k8s.io"))
	return errors.Join(err, undoHostChanges(l))
}

// killContainers kills and deletes every container runc knows under root.
func killContainers(root string) error {
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	out, err := exec.Command("runc", "--root", root, "list", "-q").Output()
	if err != nil {
		return fmt.Errorf("failed to list the real node's containers in %s: %w", root, err)
	}
	var errs []error
	for _, id := range strings.Fields(string(out)) {
		_ = exec.Command("runc", "--root", root, "kill", id, "KILL").Run()
		if out, err := exec.Command("runc", "--root", root, "delete", "--force", id).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("failed to delete container %s: %w: %s", id, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// removeSandboxes stops and removes every pod sandbox of the node's containerd; with
// dropLogs it also removes their log directories under /var/log/pods.
func removeSandboxes(ctx context.Context, socket string, dropLogs bool) error {
	rt, conn, err := criClient(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("failed to list the real node's pod sandboxes: %w", err)
	}
	var errs []error
	for _, sb := range list.GetItems() {
		md := sb.GetMetadata()
		// The kubelet's layout (kubelet/kuberuntime BuildPodLogsDirectory).
		logDir := filepath.Join("/var/log/pods", md.GetNamespace()+"_"+md.GetName()+"_"+md.GetUid())
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.GetId()}); err != nil {
			errs = append(errs, fmt.Errorf("failed to stop pod sandbox %s (%s/%s): %w", sb.GetId(), sb.GetMetadata().GetNamespace(), sb.GetMetadata().GetName(), err))
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.GetId()}); err != nil {
			errs = append(errs, fmt.Errorf("failed to remove pod sandbox %s (%s/%s): %w", sb.GetId(), sb.GetMetadata().GetNamespace(), sb.GetMetadata().GetName(), err))
			continue
		}
		if dropLogs && md.GetUid() != "" {
			_ = os.RemoveAll(logDir)
		}
	}
	if dropLogs {
		removeDanglingLinks("/var/log/containers")
	}
	return errors.Join(errs...)
}

// removeDanglingLinks removes the kubelet's symbolic links in dir whose target is gone.
func removeDanglingLinks(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Type()&os.ModeSymlink == 0 {
			continue
		}
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(p)
		}
	}
}

// killShims kills any containerd shim of this node's containerd still alive (its
// containerd was killed before it could shut them down). Shims name their containerd's
// socket on their command line.
func killShims(socket string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for _, a := range args {
			if a == socket {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
