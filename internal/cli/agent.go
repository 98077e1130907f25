package cli

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/observe/collect"
	"github.com/tugboatcd/tugboat/internal/observe/otlp"
)

// agentFlags are `tugboat agent`'s flags.
type agentFlags struct {
	node, logDir, dataDir, clickhouse, clusterName string
	interval, inventoryInterval                    time.Duration
	collect, eventTypes, eventReasons              []string
	otlpGRPC, otlpHTTP                             string
	// Limits an operator may tune (see docs/security.md).
	bufferBytes, otlpMaxRequest, otlpMaxInFlight int64
	maxMessageBytes                              int64
	appendTimeout                                time.Duration
	metricsAddr                                  string
}

func newAgentCommand(s streams) *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Collect logs, metrics, events, inventory and delivery history into the tables",
		Long: `Runs the collectors that fill the Container Insights tables (ContainerLogV2, Perf,
InsightsMetrics, KubeEvents, KubePodInventory, KubeNodeInventory) and tugboat's
delivery tables (TugboatReconciliations, TugboatDeployments), and receives
OpenTelemetry traces and logs over OTLP (gRPC on 4317, HTTP on 4318) into the
Application Insights tables (AppRequests, AppDependencies, AppExceptions,
AppTraces; see docs/traces.md).

With --node it runs in node mode, as the DaemonSet in config/agent does: it tails the
CRI log files under --log-dir and collects that node's metrics and inventory (by
default: logs,metrics,inventory). Without --node it runs out of cluster through the
API: logs from the pods/log stream, every node's metrics, and all collectors by
default. Metrics come from each kubelet's /metrics/resource through the apiserver's
node proxy. Checkpoints kept in the data directory let a restart resume without losing
or repeating log lines, events or deploy records. See docs/telemetry.md.`,
		Example: `  # out of cluster, into a DuckDB file under ./data
  tugboat agent --data-dir ./data

  # on a node, into ClickHouse
  tugboat agent --node "$NODE_NAME" --clickhouse clickhouse://clickhouse:9000/tugboat`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			grpcAddr, httpAddr := f.otlpAddrs()
			if len(o.Collect) == 0 && grpcAddr == "-" && httpAddr == "-" {
				return usageErrorf("--collect none with both OTLP receivers off leaves nothing to do")
			}
			if err := (app.AgentOptions{OTLPMaxRequestBytes: f.otlpMaxRequest, OTLPMaxInFlightBytes: f.otlpMaxInFlight}).Validate(); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			var cfg *rest.Config
			if len(o.Collect) > 0 {
				if cfg, err = s.kube.restConfig(); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			agent := &app.Agent{Options: app.AgentOptions{Collect: o, DataDir: f.dataDir, ClickHouseDSN: f.clickhouse,
				OTLPGRPCAddr: offToEmpty(grpcAddr), OTLPHTTPAddr: offToEmpty(httpAddr),
				OTLPMaxRequestBytes: f.otlpMaxRequest, OTLPMaxInFlightBytes: f.otlpMaxInFlight, MetricsAddr: f.metricsAddr}}
			if interactive(s.out) {
				agent.Options.Listening = func(where string) { go showAgentProgress(ctx, s, agent, o, where) }
			}
			err = agent.Run(ctx, cfg)
			if interactive(s.out) {
				fmt.Fprintf(s.out, "\nstopped; stored %s\n", countsLine(agent.Counts()))
			}
			return err
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func (f *agentFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.node, "node", "", "node mode: this node's name (tail its CRI log files; its metrics and inventory only)")
	fl.StringVar(&f.logDir, "log-dir", "/var/log/pods", "the kubelet's pod log directory (node mode)")
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory of the embedded DuckDB store and the checkpoints")
	fl.StringVar(&f.clickhouse, "clickhouse", "", "store into this ClickHouse DSN instead of the embedded DuckDB (checkpoints stay in --data-dir)")
	fl.DurationVar(&f.interval, "interval", 30*time.Second, "metrics scrape interval")
	fl.DurationVar(&f.inventoryInterval, "inventory-interval", time.Minute, "pod and node inventory snapshot interval")
	fl.StringSliceVar(&f.collect, "collect", nil, "collectors to run: "+strings.Join(collect.AllCollectors, ",")+
		" (default: logs,metrics,inventory in node mode, all out of cluster); none: only the OTLP receivers, no cluster needed")
	fl.StringVar(&f.clusterName, "cluster-name", "kubernetes", "the ClusterName column")
	fl.StringSliceVar(&f.eventTypes, "event-types", nil, "keep only events of these types, e.g. Warning (default: all)")
	fl.StringSliceVar(&f.eventReasons, "event-reasons", nil, "keep only events with these reasons (default: all)")
	fl.StringVar(&f.otlpGRPC, "otlp-grpc-addr", "", `OTLP/gRPC receiver address, "off" to disable (default: `+
		otlp.DefaultGRPCAddr+` out of cluster, :4317 in node mode)`)
	fl.StringVar(&f.otlpHTTP, "otlp-http-addr", "", `OTLP/HTTP receiver address, "off" to disable (default: `+
		otlp.DefaultHTTPAddr+` out of cluster, :4318 in node mode)`)
	fl.StringVar(&f.metricsAddr, "metrics-bind-address", "0", `address of the agent's Prometheus /metrics, e.g. :8080 ("0" disables)`)
	bytesVar(fl, &f.bufferBytes, "buffer-bytes", collect.DefaultBufferBytes,
		"rows held per table while the store cannot take them; past it the oldest are dropped, counted and reported (node-mode logs are re-read from their files instead)")
	fl.DurationVar(&f.appendTimeout, "append-timeout", collect.DefaultAppendTimeout, "longest one write to the store may take before it is retried")
	bytesVar(fl, &f.maxMessageBytes, "max-message-bytes", collect.DefaultMaxMessageBytes, "longest log message kept; a longer one is stored cut and flagged")
	bytesVar(fl, &f.otlpMaxRequest, "otlp-max-request-bytes", otlp.DefaultMaxRequestBytes, "largest OTLP request, after decompression (refused past it)")
	bytesVar(fl, &f.otlpMaxInFlight, "otlp-max-inflight-bytes", otlp.DefaultMaxInFlightBytes, "memory of the OTLP requests being handled at once (senders are told to retry past it)")
}

// otlpAddrs resolves the receivers' addresses: loopback out of cluster,
// where the agent runs beside the apps it serves; every interface in node
// mode, where pods send to their node.
func (f agentFlags) otlpAddrs() (grpcAddr, httpAddr string) {
	pick := func(set, local, node string) string {
		switch {
		case set == "off":
			return "-"
		case set != "":
			return set
		case f.node != "":
			return node
		}
		return local
	}
	return pick(f.otlpGRPC, otlp.DefaultGRPCAddr, ":4317"), pick(f.otlpHTTP, otlp.DefaultHTTPAddr, ":4318")
}

func (f agentFlags) options() (collect.Options, error) {
	if len(f.collect) == 1 && f.collect[0] == "none" {
		// The OTLP receivers alone: no cluster needed.
		if f.dataDir == "" {
			return collect.Options{}, errors.New("--data-dir is empty; the agent keeps its checkpoints there")
		}
		return collect.Options{}, nil
	}
	collectors := f.collect
	if len(collectors) == 0 {
		collectors = collect.AllCollectors
		if f.node != "" {
			collectors = []string{collect.CollectLogs, collect.CollectMetrics, collect.CollectInventory}
		}
	}
	o := collect.Options{
		Node: f.node, LogDir: f.logDir, StateDir: filepath.Join(f.dataDir, "agent"),
		Interval: f.interval, InventoryInterval: f.inventoryInterval, Collect: collectors,
		ClusterName: f.clusterName, EventTypes: f.eventTypes, EventReasons: f.eventReasons,
		BufferBytes: f.bufferBytes, AppendTimeout: f.appendTimeout, MaxMessageBytes: int(min(f.maxMessageBytes, 1<<40)),
	}
	if f.dataDir == "" {
		return o, errors.New("--data-dir is empty; the agent keeps its checkpoints there")
	}
	return o, o.Validate()
}

func showAgentProgress(ctx context.Context, s streams, agent *app.Agent, o collect.Options, otlpListening string) {
	mode := "out of cluster"
	if o.Node != "" {
		mode = "node " + o.Node
	}
	collecting := strings.Join(o.Collect, ",")
	if collecting == "" {
		mode, collecting = "no cluster", "nothing"
	}
	fmt.Fprintf(s.out, "agent (%s) collecting %s; Ctrl-C to stop\n", mode, collecting)
	if otlpListening != "" {
		fmt.Fprintf(s.out, "receiving OTLP traces and logs on %s\n", otlpListening)
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			line := "stored " + countsLine(agent.Counts())
			if d := agent.Dropped(); len(d) > 0 {
				line += "; dropped (store unavailable, buffer full) " + droppedLine(d)
			}
			fmt.Fprintf(s.out, "\r\033[K%s", line)
		}
	}
}

func countsLine(counts map[string]int) string {
	if len(counts) == 0 {
		return "nothing yet"
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, counts[n]))
	}
	return strings.Join(parts, ", ")
}

func droppedLine(d map[string]int64) string {
	counts := make(map[string]int, len(d))
	for t, n := range d {
		counts[t] = int(n)
	}
	return countsLine(counts)
}

// offToEmpty turns otlpAddrs' "-" (off) into app.AgentOptions' "".
func offToEmpty(addr string) string {
	if addr == "-" {
		return ""
	}
	return addr
}
