package cli

import (
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
)

// controllerGCPercent is the controller's GOGC when the environment sets none.
const controllerGCPercent = 50

func newControllerCommand(s streams) *cobra.Command {
	var o app.ControllerOptions
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the GitOps controllers (GitRepository, Kustomization) against a cluster",
		Long: `Runs tugboat's GitRepository and Kustomization controllers, compatible with Flux's
source.toolkit.fluxcd.io and kustomize.toolkit.fluxcd.io APIs. In a cluster it uses its
service account; out of cluster, the kubeconfig. Only one controller per cluster
reconciles: they elect a leader on a Lease (tugboat-system/tugboat-controller-leader out
of cluster), and the others wait, logging which process holds it. It collects garbage at GOGC=50 unless
the GOGC environment variable says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.WriteTo(s.errOut)))
			if os.Getenv("GOGC") == "" {
				// The controller's live heap is small and it mostly makes garbage
				// (decoded watch events, builds): collecting at +50 % instead of Go's
				// +100 % lowers its peak memory for little CPU (measured in
				// docs/design/2026-11-26-gitops-cpu-budget.md).
				debug.SetGCPercent(controllerGCPercent)
			}
			cfg, err := s.kube.restConfig()
			if err != nil {
				return err
			}
			o.Tracing.Env, o.Tracing.Version = os.Getenv, clientVersion()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return app.RunController(ctx, cfg, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Controller.Concurrent, "concurrent", 20, "reconciles run at once, per kind")
	f.StringVar(&o.Controller.WatchLabelSelector, "watch-label-selector", "", "only reconcile objects with these labels (sharding)")
	f.StringVar(&o.Controller.MetricsAddr, "metrics-bind-address", ":8080", `address of Prometheus /metrics ("0" disables)`)
	f.StringVar(&o.Controller.HealthAddr, "health-probe-bind-address", ":8081", `address of /healthz and /readyz ("0" disables)`)
	f.StringVar(&o.Controller.PprofAddr, "pprof-bind-address", "", `address of Go's /debug/pprof (default: off)`)
	f.BoolVar(&o.Controller.LeaderElection, "leader-elect", true,
		"elect a leader so only one controller per cluster reconciles; the others wait and say who holds the lease (--leader-elect=false only for a deliberately single process)")
	f.StringVar(&o.Controller.LeaderElectionNamespace, "leader-election-namespace", "",
		"namespace of the leader lease (default: the pod's in a cluster, "+kube.ControllerLeaseNamespace+" out of cluster, created if missing)")
	f.StringVar(&o.Controller.LeaderElectionID, "leader-election-id", kube.ControllerLeaseName, "name of the leader lease; one per shard")
	f.BoolVar(&o.Controller.APICompression, "api-compression", false, "ask the apiserver for gzip-compressed responses (for a slow link to it)")
	f.StringVar(&o.Controller.Tenancy.DefaultServiceAccount, "default-service-account", "",
		"ServiceAccount (in the Kustomization's namespace) a Kustomization without serviceAccountName applies and prunes as (default: the controller's own identity)")
	f.BoolVar(&o.Controller.Tenancy.NoCrossNamespaceRefs, "no-cross-namespace-refs", false,
		"refuse sourceRef and dependsOn that name another namespace (Ready=False, reason AccessDenied)")
	f.DurationVar(&o.Controller.MinRetryDelay, "min-retry-delay", controller.DefaultMinRetryDelay,
		"first wait before retrying a reconcile that failed on an unreachable apiserver or Git server; doubles per failure")
	f.DurationVar(&o.Controller.MaxRetryDelay, "max-retry-delay", controller.DefaultMaxRetryDelay, "longest wait between such retries")
	f.StringVar(&o.ReceiverAddr, "receiver-bind-address", ":9292", `address of the Receivers' webhooks, /hook/... ("0" disables)`)
	f.StringVar(&o.HTTP.Addr, "http-bind-address", queryapi.DefaultAddr, `address of the HTTP API, /api/v1/query ("0" disables)`)
	f.StringSliceVar(&o.HTTP.AllowedHosts, "http-allowed-hosts", nil, "host names the HTTP API answers for besides localhost and IP addresses (e.g. its Service's DNS names)")
	f.StringVar(&o.HTTP.DataDir, "data-dir", defaultDataDir(), "directory of the DuckDB store the HTTP API queries")
	f.StringVar(&o.HTTP.ClickHouseDSN, "clickhouse-dsn", "", "query this ClickHouse server instead of DuckDB (clickhouse://host:9000/db)")
	f.StringVar(&o.Tracing.Endpoint, "otlp-endpoint", "",
		"send the controller's own traces to this OTLP endpoint, e.g. http://127.0.0.1:4318 (a tugboat agent); the OTEL_EXPORTER_OTLP_* variables work too (default: no traces)")
	f.StringVar(&o.Tracing.Protocol, "otlp-protocol", "", "protocol of --otlp-endpoint: http/protobuf or grpc (default: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)")
	registerQueryLimits(f, &o.HTTP.Limits)
	return cmd
}
