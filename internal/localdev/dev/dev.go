package dev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// Files in the data directory.
const (
	pidFile   = "supervisor.pid"
	lockFile  = "supervisor.lock"
	logFile   = "supervisor.log"
	readyFile = "ready.json"
	stateDir  = "cluster"
)

// Options configure the dev cluster. Executable and ServeArgs say how Up starts the
// supervisor: the tugboat binary and the arguments that make it run Serve.
type Options struct {
	DataDir    string
	Binary     string // component binary; cluster.DefaultBinaryPath() when empty
	Nodes      int
	Executable string
	ServeArgs  []string
	// Progress receives the supervisor's start-up lines while Up waits; nil is quiet.
	Progress io.Writer
	// Timeout bounds Up and Down (default 3 minutes).
	Timeout time.Duration
	// RealNode is how Up decides on a node that runs containers (cluster.Options.RealNode);
	// Up resolves RealNodeAuto, and Serve starts the node only with RealNodeRequired.
	RealNode RealNodeMode
	// Controllers, when set, prepares the cluster for what Serve runs beside the
	// control plane and starts it (the process wiring passes the GitOps controllers
	// and the dev store: internal/app); it returns once they serve.
	Controllers func(ctx context.Context, env Env) (Services, error)
}

// Env is what the supervisor hands to the services it runs beside the control plane.
type Env struct {
	Config *rest.Config
	// DataDir is the dev cluster's data directory; the services keep their state in
	// it, so that `dev down --purge` removes it with the rest.
	DataDir string
	// RealNode is the name of the node that runs containers, "" when there is none.
	RealNode string
	// Log is the supervisor's log.
	Log io.Writer
}

// Services is what runs beside the control plane.
type Services struct {
	// Stopped receives their error when they stop; nil when nothing runs.
	Stopped <-chan error
	// Store says where the dev cluster's store serves; nil when it has none.
	Store *StoreEndpoints
	// Webhooks is the base URL of the Receivers' webhook server ("" when none runs):
	// a Receiver's status.webhookPath is served under it.
	Webhooks string
}

// StoreEndpoints say where the dev cluster's store is reached.
type StoreEndpoints struct {
	// Query is the base URL of its HTTP query API (tugboat query --server).
	Query string `json:"query"`
	// TokenFile holds the bearer token the query API asks for (tugboat query --token-file).
	TokenFile string `json:"tokenFile"`
	// OTLP is its OTLP/HTTP receiver (OTEL_EXPORTER_OTLP_ENDPOINT).
	OTLP string `json:"otlp"`
}

// RealNodeMode says whether the dev cluster gets a real node beside kwok's.
type RealNodeMode int

const (
	// RealNodeAuto adds the real node where the machine allows it and says why not
	// where it does not.
	RealNodeAuto RealNodeMode = iota
	// RealNodeRequired fails Up, naming what is missing, where the machine cannot.
	RealNodeRequired
	// RealNodeOff keeps the cluster kwok-only.
	RealNodeOff
)

// RealNodeServeArg is the supervisor's flag that turns the real node on.
const RealNodeServeArg = "--real-node"

// NoControllerArg is the supervisor's flag that keeps the GitOps controllers out of it.
const NoControllerArg = "--no-controller"

// decideRealNode resolves the mode on this machine: whether to start the real node,
// and when not, a note saying why.
func decideRealNode(mode RealNodeMode) (bool, string, error) {
	if mode == RealNodeOff {
		return false, "", nil
	}
	if err := cluster.CheckRealNode(); err != nil {
		if mode == RealNodeRequired {
			return false, "", err
		}
		return false, fmt.Sprintf("kwok nodes only, no container runs: %v (pass --kwok-only to stay so without this note)", err), nil
	}
	return true, "", nil
}

func (o Options) path(elem ...string) string {
	return filepath.Join(append([]string{o.DataDir}, elem...)...)
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 3 * time.Minute
	}
	return o.Timeout
}

// DefaultDataDir is $XDG_DATA_HOME/tugboat/dev, or ~/.local/share/tugboat/dev.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tugboat", "dev")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "tugboat", "dev")
	}
	return filepath.Join(home, ".local", "share", "tugboat", "dev")
}

// KubeconfigPath is where the dev cluster's admin kubeconfig lives.
func KubeconfigPath(dataDir string) string {
	return filepath.Join(dataDir, stateDir, "kubeconfig")
}

// Status describes the dev cluster.
type Status struct {
	Running    bool   `json:"running"`
	PID        int    `json:"pid,omitempty"`
	Server     string `json:"server,omitempty"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Version    string `json:"version,omitempty"`
	Nodes      int    `json:"nodes"`
	ReadyNodes int    `json:"readyNodes"`
	// RealNode says whether the node that runs containers is registered and Ready.
	RealNode bool `json:"realNode"`
	// Registry is the real node's image registry (host:port, plain HTTP), from which
	// its containerd pulls.
	Registry string `json:"registry,omitempty"`
	// Store is where the dev cluster's store (what `tugboat query` reads) serves.
	Store *StoreEndpoints `json:"store,omitempty"`
	// Webhooks is the base URL of the Receivers' webhook server.
	Webhooks string `json:"webhooks,omitempty"`
	Note     string `json:"note,omitempty"`
	// Controller says which process runs the GitOps controllers: the holder of their
	// leader lease.
	Controller *ControllerStatus `json:"controller,omitempty"`
	DataDir    string            `json:"dataDir"`
	Message    string            `json:"message,omitempty"`
}

// ControllerStatus is the GitOps controllers' leader lease as `dev status` shows it.
type ControllerStatus struct {
	// Lease is namespace/name of the lease.
	Lease string `json:"lease"`
	// Holder is the identity of the process that holds it ("" when none does).
	Holder string `json:"holder,omitempty"`
	// InSupervisor is true when the holder is this dev cluster's supervisor.
	InSupervisor bool `json:"inSupervisor"`
	// SupervisorRunsNone is true when the supervisor was started with --no-controller.
	SupervisorRunsNone bool `json:"supervisorRunsNone,omitempty"`
	// Expired is true when the holder stopped renewing the lease (it was killed, or
	// it cannot reach the apiserver); another controller takes it over.
	Expired bool `json:"expired,omitempty"`
}

// controllerStatus reads the controllers' leader lease.
func controllerStatus(ctx context.Context, clients kubernetes.Interface, supervisor int) *ControllerStatus {
	st := &ControllerStatus{Lease: kube.ControllerLeaseNamespace + "/" + kube.ControllerLeaseName}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", supervisor)); err == nil {
		st.SupervisorRunsNone = slices.Contains(strings.Split(string(cmdline), "\x00"), NoControllerArg)
	}
	lease, err := clients.CoordinationV1().Leases(kube.ControllerLeaseNamespace).Get(ctx, kube.ControllerLeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return st
	}
	st.Holder = *lease.Spec.HolderIdentity
	host, pid, ok := kube.ParseLeaseHolder(st.Holder)
	me, _ := os.Hostname()
	st.InSupervisor = ok && pid == supervisor && host == me
	if lease.Spec.RenewTime != nil && lease.Spec.LeaseDurationSeconds != nil {
		st.Expired = time.Since(lease.Spec.RenewTime.Time) > time.Duration(*lease.Spec.LeaseDurationSeconds)*time.Second
	}
	return st
}

// ready is what the supervisor writes once the cluster serves.
type ready struct {
	PID      int             `json:"pid"`
	Server   string          `json:"server"`
	Registry string          `json:"registry,omitempty"`
	Store    *StoreEndpoints `json:"store,omitempty"`
	Webhooks string          `json:"webhooks,omitempty"`
}

// Up starts the dev cluster unless it already runs, and returns once it is ready.
func Up(ctx context.Context, o Options) (Status, error) {
	if st := Get(ctx, o); st.Running {
		st.Message = "already running"
		return st, nil
	}
	realNode, note, err := decideRealNode(o.RealNode)
	if err != nil {
		return Status{}, err
	}
	args := o.ServeArgs
	if realNode {
		args = append(append([]string(nil), args...), RealNodeServeArg)
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return Status{}, fmt.Errorf("failed to create data directory: %w", err)
	}
	_ = os.Remove(o.path(readyFile))
	logf, err := os.OpenFile(o.path(logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Status{}, fmt.Errorf("failed to open supervisor log: %w", err)
	}
	defer logf.Close()
	offset, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(o.Executable, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// A session of its own: the supervisor must survive this command and the terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Status{}, fmt.Errorf("failed to start the dev cluster supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	follow := &logFollower{path: o.path(logFile), offset: offset, out: o.Progress}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		follow.flush()
		if _, err := readReady(o); err == nil {
			st := Get(ctx, o)
			if st.Running {
				st.Note = note
				return st, nil
			}
		}
		select {
		case err := <-exited:
			follow.flush()
			return Status{}, fmt.Errorf("the dev cluster failed to start (%w); last lines of %s:\n%s",
				err, o.path(logFile), tailFile(o.path(logFile), offset, 15))
		case <-ctx.Done():
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
			return Status{}, fmt.Errorf("the dev cluster was not ready in %s; see %s", o.timeout(), o.path(logFile))
		case <-tick.C:
		}
	}
}

// Down stops the dev cluster and waits until its supervisor is gone. With purge it also
// removes the data directory.
func Down(ctx context.Context, o Options, purge bool) (bool, error) {
	pid, running := supervisorPID(o)
	if running {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return false, fmt.Errorf("failed to signal supervisor %d: %w", pid, err)
		}
		deadline := time.Now().Add(o.timeout())
		for processAlive(pid) {
			if time.Now().After(deadline) {
				// Its components die with it (parent-death signal).
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			select {
			case <-ctx.Done():
				return running, fmt.Errorf("failed to wait for supervisor %d to stop: %w", pid, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	_ = os.Remove(o.path(pidFile))
	_ = os.Remove(o.path(readyFile))
	// A supervisor that stopped cleanly undid the real node's host changes itself; one
	// that was killed or crashed left them, with their record.
	if err := cluster.CleanupRealNode(o.path(stateDir)); err != nil {
		return running, err
	}
	if purge {
		if err := cluster.PurgeRealNodeLogs(o.path(stateDir)); err != nil {
			return running, err
		}
		if err := os.RemoveAll(o.DataDir); err != nil {
			return running, fmt.Errorf("failed to remove %s: %w", o.DataDir, err)
		}
	}
	return running, nil
}

// Get reports whether the dev cluster runs and how it is doing.
func Get(ctx context.Context, o Options) Status {
	st := Status{DataDir: o.DataDir}
	pid, alive := supervisorPID(o)
	if !alive {
		st.Message = "not running"
		return st
	}
	st.PID = pid
	r, err := readReady(o)
	if err != nil || r.PID != pid {
		st.Message = "starting"
		return st
	}
	st.Server, st.Kubeconfig, st.Registry, st.Store, st.Webhooks = r.Server, KubeconfigPath(o.DataDir), r.Registry, r.Store, r.Webhooks
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		st.Message = err.Error()
		return st
	}
	cfg.Timeout = 5 * time.Second
	clients, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		st.Message = err.Error()
		return st
	}
	if _, err := clients.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		st.Message = fmt.Sprintf("apiserver not ready: %v", err)
		return st
	}
	if v, err := clients.Discovery().ServerVersion(); err == nil {
		st.Version = v.GitVersion
	}
	nodes, err := clients.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err == nil {
		st.Nodes = len(nodes.Items)
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					st.ReadyNodes++
					st.RealNode = st.RealNode || n.Name == cluster.RealNodeName
				}
			}
		}
	}
	st.Controller = controllerStatus(ctx, clients, pid)
	st.Running = true
	return st
}

func readReady(o Options) (ready, error) {
	var r ready
	data, err := os.ReadFile(o.path(readyFile))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

// supervisorPID returns the recorded supervisor PID and whether that process is alive
// and still a supervisor of this data directory (PIDs get reused).
func supervisorPID(o Options) (int, bool) {
	data, err := os.ReadFile(o.path(pidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || !processAlive(pid) {
		return pid, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return pid, false
	}
	return pid, strings.Contains(string(cmdline), o.DataDir)
}

func processAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
