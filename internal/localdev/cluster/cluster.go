package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options say which control plane to start. The zero value starts etcd and an apiserver
// in a temporary directory from the default binary.
type Options struct {
	// Binary is the multi-call component binary; DefaultBinaryPath() when empty.
	Binary string
	// Dir holds the cluster's state: pki, etcd data, logs, kubeconfigs. When empty a
	// temporary directory is used and removed by Stop; when set, the state persists and
	// a later Start in the same Dir resumes the same cluster.
	Dir string
	// Workloads adds kube-controller-manager, kube-scheduler and kwok with Nodes fake
	// nodes, so that Deployments roll out to Ready.
	Workloads bool
	// Nodes is the number of kwok nodes (default 1); used with Workloads.
	Nodes int
	// PodsPerNode is each node's pod capacity (default 2000: benchmarks run one pod per
	// Deployment, a thousand Deployments on one node).
	PodsPerNode int
	// KubeletAPI makes kwok serve the kubelet's HTTP API for its nodes behind the
	// apiserver's node proxy (/api/v1/nodes/<n>/proxy/...): container logs as the
	// KwokConfig's Logs/ClusterLogs say, and /metrics/resource with emulated usage
	// (every container 100m CPU and 64Mi memory unless its pod's annotations
	// kwok.x-k8s.io/usage-cpu and usage-memory say otherwise). Used with Workloads;
	// kwok has one server for all nodes, so /metrics/resource reports node 0.
	KubeletAPI bool
	// KwokConfig holds extra kwok configuration documents (YAML), such as
	// ClusterLogs pointing pods at CRI log files; used with KubeletAPI.
	KwokConfig []string
	// RealNode adds a node that runs containers: containerd, a kubelet and a local
	// registry they pull from (see Registry and PushBinaryImage). It needs root and
	// Debian's containerd, runc, containernetworking-plugins and iptables (CheckRealNode
	// says what is missing), changes the host as docs/dev.md lists and undoes that on
	// Stop. It implies Workloads. The node is tainted RealNodeTaint, so only pods that
	// tolerate it run there. One real node runs per machine at a time.
	RealNode bool
	// RealNodeWait is how long Start waits for the machine's one real node while
	// another cluster holds it (tests of several packages run at once); zero fails at
	// once with ErrRealNodeUnavailable.
	RealNodeWait time.Duration
	// ExtraAPIServerArgs are appended to the apiserver's flags.
	ExtraAPIServerArgs []string
	// StartTimeout bounds the whole start (default 2 minutes).
	StartTimeout time.Duration
	// Progress, when set, receives one line per start step.
	Progress io.Writer
}

// ServiceCIDR is the Service IP range. A /24 runs out after ~250 Services ("range is
// full") at benchmark scale, so it is a /16.
const ServiceCIDR = "10.96.0.0/16"

// Cluster is a running control plane.
type Cluster struct {
	// Dir is the state directory.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig (group system:masters).
	Kubeconfig string
	// RESTConfig is the admin client configuration.
	RESTConfig *rest.Config
	// Server is the apiserver's URL.
	Server string

	opts      Options
	temporary bool
	procs     []*process
	node      *realNode
	nodeLock  *os.File // held from Start to Stop with RealNode
	st        state    // the ports, kept for RestartControlPlane
	nodeIP    string   // the real node's address; empty without one
	failed    chan error
	stopOnce  sync.Once
	stopping  chan struct{}
}

// state is what a persistent cluster remembers between starts.
type state struct {
	EtcdClientPort int `json:"etcdClientPort"`
	EtcdPeerPort   int `json:"etcdPeerPort"`
	APIServerPort  int `json:"apiServerPort"`
	// RegistryPort and Node are the real node's; zero without one.
	RegistryPort int       `json:"registryPort,omitempty"`
	Node         nodePorts `json:"node,omitzero"`
}

// Start starts a control plane and returns once the apiserver reports /readyz (and, with
// Workloads, every node is Ready and the default ServiceAccount exists). On error nothing
// it started is left running.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Binary == "" {
		opts.Binary = DefaultBinaryPath()
	}
	if err := checkBinary(opts.Binary); err != nil {
		return nil, err
	}
	if opts.RealNode {
		opts.Workloads = true
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 1
	}
	if opts.PodsPerNode <= 0 {
		opts.PodsPerNode = 2000
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	c := &Cluster{Dir: opts.Dir, opts: opts, failed: make(chan error, 1), stopping: make(chan struct{})}
	if c.Dir == "" {
		dir, err := os.MkdirTemp("", "tugboat-cluster-")
		if err != nil {
			return nil, fmt.Errorf("failed to create cluster directory: %w", err)
		}
		c.Dir, c.temporary = dir, true
	}
	if opts.RealNode {
		if err := c.checkRealNode(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := c.start(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			c.Stop()
			return nil, err
		}
		// Ports are picked free and bound a moment later by another process; whatever
		// took one in between may hold it for good, so start again on fresh ports.
		c.progress("a port was taken before its component bound it; starting again (%v)", err)
		c.stopComponents()
	}
	c.watchComponents()
	return c, nil
}

// afterPortsPicked lets a test take a port between its pick and its component's bind.
var afterPortsPicked = func(state) {}

// startAttempts bounds how often Start begins again after a component found its port
// taken.
const startAttempts = 3

func (c *Cluster) progress(format string, args ...any) {
	if c.opts.Progress != nil {
		fmt.Fprintf(c.opts.Progress, format+"\n", args...)
	}
}

func (c *Cluster) path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

func (c *Cluster) start(ctx context.Context) error {
	for _, d := range []string{"logs", "etcd"} {
		if err := os.MkdirAll(c.path(d), 0o700); err != nil {
			return fmt.Errorf("failed to create %s: %w", c.path(d), err)
		}
	}
	serviceIP, _, err := net.ParseCIDR(ServiceCIDR)
	if err != nil {
		return fmt.Errorf("failed to parse service CIDR: %w", err)
	}
	serviceIP = serviceIP.To4()
	serviceIP[3]++ // the apiserver's own Service takes the first address
	if err := ensurePKI(c.path("pki"), serviceIP); err != nil {
		return err
	}
	st, err := c.ports(c.opts.RealNode)
	if err != nil {
		return err
	}
	afterPortsPicked(st)
	c.st = st
	c.Server = "https://127.0.0.1:" + strconv.Itoa(st.APIServerPort)
	c.Kubeconfig = c.path("kubeconfig")
	for _, id := range clientIdentities {
		path := c.path(id.file + ".kubeconfig")
		if id.file == adminIdentity.file {
			path = c.Kubeconfig
		}
		if err := writeKubeconfig(path, c.Server, c.path("pki"), id); err != nil {
			return err
		}
	}
	c.RESTConfig, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig %s: %w", c.Kubeconfig, err)
	}
	c.RESTConfig.QPS, c.RESTConfig.Burst = 200, 400

	c.progress("starting etcd on 127.0.0.1:%d", st.EtcdClientPort)
	etcd, err := c.run("etcd", etcdArgs(c.Dir, st, c.temporary))
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, etcd, "etcd /health", func(ctx context.Context) error {
		return etcdHealthy(ctx, st.EtcdClientPort)
	}); err != nil {
		return err
	}
	c.progress("starting kube-apiserver %s on %s", KubernetesVersion, c.Server)
	if c.opts.RealNode {
		if c.nodeIP, err = hostIP(); err != nil {
			return err
		}
	}
	api, err := c.run("kube-apiserver", c.apiServerArgs())
	if err != nil {
		return err
	}
	clients, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return fmt.Errorf("failed to create client: %w", err)
	}
	if err := waitReadyz(ctx, api, clients); err != nil {
		return err
	}
	if c.opts.Workloads {
		if err := c.startWorkloads(ctx, clients); err != nil {
			return err
		}
	}
	if c.opts.RealNode {
		if err := c.startRealNode(ctx, clients, &st); err != nil {
			return err
		}
	}
	c.progress("control plane ready; kubeconfig: %s", c.Kubeconfig)
	return nil
}

// ports loads the ports a persistent cluster used before, keeping each that is still
// free, and saves the result.
func (c *Cluster) ports(realNode bool) (state, error) {
	var st state
	statePath := c.path("state.json")
	if data, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(data, &st); err != nil {
			return st, fmt.Errorf("failed to read %s: %w", statePath, err)
		}
	}
	ports := []*int{&st.EtcdClientPort, &st.EtcdPeerPort, &st.APIServerPort}
	if realNode {
		ports = append(ports, &st.RegistryPort, &st.Node.Kubelet, &st.Node.Healthz, &st.Node.ProxyHealthz, &st.Node.ProxyMetrics,
			&st.Node.DNS, &st.Node.DNSReady)
	}
	for _, p := range ports {
		port, err := keepOrPickPort(*p)
		if err != nil {
			return st, err
		}
		*p = port
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return st, fmt.Errorf("failed to encode cluster state: %w", err)
	}
	if err := os.WriteFile(statePath, data, 0o600); err != nil {
		return st, fmt.Errorf("failed to write %s: %w", statePath, err)
	}
	return st, nil
}

// run starts a component and remembers it for watchComponents and Stop.
func (c *Cluster) run(name string, args []string) (*process, error) {
	p, err := startProcess(c.opts.Binary, name, c.path("logs"), args)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// runExternal starts a program of the host (containerd) as a component.
func (c *Cluster) runExternal(name, program string, args []string) (*process, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRealNodeUnavailable, err)
	}
	p, err := startCommand(path, args, name, c.path("logs"))
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// watchComponents reports the first unexpected exit of a started component on c.failed.
// It runs once the start has succeeded, so that the components of an abandoned start
// attempt, which exited or were stopped on purpose, are never reported.
func (c *Cluster) watchComponents() {
	for _, p := range c.procs {
		c.watch(p)
	}
}

// watch reports the exit of p on c.failed unless the cluster is stopping or p was
// stopped on purpose by RestartControlPlane.
func (c *Cluster) watch(p *process) {
	go func() {
		select {
		case <-p.exited:
			select {
			case <-c.stopping:
			default:
				if p.restarted.Load() {
					return
				}
				select {
				case c.failed <- p.exitError():
				default:
				}
			}
		case <-c.stopping:
		}
	}()
}

// Failed delivers an error when a component exits while the cluster is meant to run.
func (c *Cluster) Failed() <-chan error { return c.failed }

// PIDs returns the process IDs of the components, for callers that check nothing
// outlives its owner.
func (c *Cluster) PIDs() []int {
	pids := make([]int, 0, len(c.procs))
	for _, p := range c.procs {
		pids = append(pids, p.pid())
	}
	return pids
}

// Stop stops every component, newest first so that etcd goes last, and removes a
// temporary state directory. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		close(c.stopping)
		c.stopComponents()
		if c.nodeLock != nil {
			_ = c.nodeLock.Close()
		}
		if c.temporary {
			_ = os.RemoveAll(c.Dir)
		}
	})
}

// stopComponents stops every started component, newest first so that etcd goes last,
// and forgets them.
func (c *Cluster) stopComponents() {
	if c.node != nil {
		// The node goes first, in its own order: its pods must be removed while
		// containerd still runs, and its host changes undone after.
		if err := c.node.stop(); err != nil {
			w := c.opts.Progress
			if w == nil {
				w = os.Stderr
			}
			fmt.Fprintf(w, "real node: %v\n", err)
		}
		c.node = nil
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(15 * time.Second)
	}
	c.procs = nil
}

// LogPath returns the log file of a component.
func (c *Cluster) LogPath(component string) string {
	return c.path("logs", component+".log")
}

// waitUntil polls check until it succeeds, the context ends or p exits; an exit is
// reported with the tail of the component's log.
func waitUntil(ctx context.Context, p *process, what string, check func(context.Context) error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(callCtx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("failed to wait for %s: %w", what, p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("failed to wait for %s: %w (last check: %w); last lines of %s:\n%s",
				what, ctx.Err(), last, p.logPath, tail(p.logPath, 20))
		case <-tick.C:
		}
	}
}

func etcdHealthy(ctx context.Context, port int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Health string `json:"health"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.Health != "true" {
		return errors.New("etcd reports unhealthy")
	}
	return nil
}
