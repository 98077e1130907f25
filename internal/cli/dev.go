package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

// devFlags are the flags every `tugboat dev` verb shares.
type devFlags struct {
	dataDir string
	binary  string
	output  string
	timeout time.Duration
}

func newDevCommand(s streams) *cobra.Command {
	f := &devFlags{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local Kubernetes cluster (real apiserver, a real node, kwok nodes) to try tugboat on",
		Long: `tugboat dev runs a persistent local cluster: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok fake nodes, as processes of this machine.
Pods on kwok's nodes are simulated (no containers run), so Deployments roll out to Ready.
Where this machine allows it (root; containerd, runc, containernetworking-plugins and
iptables installed) a real node runs containers too: containerd and a kubelet, pulling
from a local registry. It is tainted tugboat.dev/real-node:NoSchedule; see docs/dev.md.

  tugboat dev up
  KUBECONFIG=$(tugboat dev kubeconfig) kubectl get nodes
  tugboat dev down [--purge]`,
	}
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", dev.DefaultDataDir(), "directory holding the cluster's state")
	cmd.PersistentFlags().StringVar(&f.binary, "components", cluster.DefaultBinaryPath(), "the Kubernetes component binary built by `make cluster`")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	cmd.PersistentFlags().DurationVar(&f.timeout, "timeout", 3*time.Minute, "how long to wait for the cluster to start or stop")
	cmd.AddCommand(newDevUpCommand(s, f), newDevDownCommand(s, f), newDevStatusCommand(s, f),
		newDevKubeconfigCommand(s, f), newDevServeCommand(s, f))
	return cmd
}

func (f *devFlags) options() (dev.Options, error) {
	if f.output != "table" && f.output != "json" {
		return dev.Options{}, &exitError{code: ExitUsage, err: fmt.Errorf("--output must be table or json, not %q", f.output)}
	}
	exe, err := os.Executable()
	if err != nil {
		return dev.Options{}, fmt.Errorf("failed to find the tugboat executable: %w", err)
	}
	return dev.Options{
		DataDir:    f.dataDir,
		Binary:     f.binary,
		Executable: exe,
		ServeArgs:  []string{"dev", "serve", "--data-dir", f.dataDir, "--components", f.binary, "--timeout", f.timeout.String()},
		Timeout:    f.timeout,
	}, nil
}

// printStatus prints the dev cluster's status as a short table or as JSON.
func printStatus(w io.Writer, output string, st dev.Status) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if !st.Running {
		fmt.Fprintf(w, "dev cluster: %s (data: %s)\n", st.Message, st.DataDir)
		return nil
	}
	fmt.Fprintf(w, "dev cluster: running")
	if st.Message != "" {
		fmt.Fprintf(w, " (%s)", st.Message)
	}
	realNode := "none (kwok nodes only)"
	if st.RealNode {
		realNode = cluster.RealNodeName + " (runs containers; pods must tolerate " + cluster.RealNodeTaint + ")"
	}
	fmt.Fprintf(w, "\n  server:     %s (Kubernetes %s)\n  nodes:      %d/%d Ready\n  real node:  %s\n  kubeconfig: %s\n  data:       %s\n",
		st.Server, st.Version, st.ReadyNodes, st.Nodes, realNode, st.Kubeconfig, st.DataDir)
	if st.Registry != "" {
		fmt.Fprintf(w, "  registry:   %s (plain HTTP; the real node pulls from it)\n", st.Registry)
	}
	if st.Controller != nil {
		fmt.Fprintf(w, "  controller: %s\n", describeController(st.Controller))
	}
	if st.Store != nil {
		fmt.Fprintf(w, "  store:      tugboat query --server %s --token-file %s\n", st.Store.Query, st.Store.TokenFile)
		fmt.Fprintf(w, "  otlp:       %s (OTEL_EXPORTER_OTLP_ENDPOINT; the controllers trace there)\n", st.Store.OTLP)
	}
	if st.Webhooks != "" {
		fmt.Fprintf(w, "  webhooks:   %s (a Receiver's status.webhookPath is served under it)\n", st.Webhooks)
	}
	if st.Note != "" {
		fmt.Fprintf(w, "  note:       %s\n", st.Note)
	}
	return nil
}

// describeController says where the dev cluster's GitOps controllers run: the holder of
// their leader lease.
func describeController(c *dev.ControllerStatus) string {
	switch {
	case c.Holder == "" && c.SupervisorRunsNone:
		return "none: the supervisor runs none (--no-controller) and nobody holds the lease " + c.Lease + "; run `tugboat install` or `tugboat controller`"
	case c.Holder == "":
		return "starting in the supervisor (the lease " + c.Lease + " is not taken yet)"
	case c.Expired:
		return kube.DescribeLeaseHolder(c.Holder) + " held the lease " + c.Lease + " but stopped renewing it; the next controller takes it over"
	case c.InSupervisor:
		return "in the supervisor (" + kube.DescribeLeaseHolder(c.Holder) + ", lease " + c.Lease + ")"
	case c.SupervisorRunsNone:
		return kube.DescribeLeaseHolder(c.Holder) + " (the lease " + c.Lease + "; the supervisor runs none: --no-controller)"
	default:
		return kube.DescribeLeaseHolder(c.Holder) + " holds the lease " + c.Lease + "; the supervisor's controllers wait"
	}
}
