package controller

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
	"github.com/tugboatcd/tugboat/internal/gitops/source"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// Options configure the manager of the GitOps reconcilers.
type Options struct {
	// Concurrent is the number of reconciles run at once per kind.
	Concurrent int
	// WatchLabelSelector restricts the GitRepositories and Kustomizations this instance
	// reconciles, for sharding across several controllers.
	WatchLabelSelector string
	// MetricsAddr serves Prometheus /metrics ("0" disables it).
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz ("0" disables it).
	HealthAddr string
	// PprofAddr serves Go's /debug/pprof ("" or "0" disables it), for profiling the
	// benchmark and slow clusters.
	PprofAddr string
	// LeaderElection makes only one replica reconcile at a time. Every route that
	// starts the controllers for users turns it on (`tugboat controller`'s
	// --leader-elect defaults to true); the zero value is for tests that run a
	// single in-process manager and must not wait for a lease.
	LeaderElection bool
	// LeaderElectionNamespace holds the lease: the pod's namespace when empty in a
	// cluster, kube.ControllerLeaseNamespace out of cluster (created if missing).
	LeaderElectionNamespace string
	// LeaderElectionID names the lease; shards need one each.
	LeaderElectionID string
	// Restartable lets the process build a manager again after the last one stopped
	// (the dev supervisor restarts its controllers after a lost lease): controller
	// names are then not checked for uniqueness within the process.
	Restartable bool
	// APICompression asks the apiserver for gzip-compressed responses. Off by
	// default: beside the apiserver, compressing every watch event costs the
	// apiserver CPU, and us the decompression, to save bandwidth nobody lacks.
	APICompression bool
	// Tenancy locks tenants in (Flux's --default-service-account and
	// --no-cross-namespace-refs).
	Tenancy Tenancy
	// MinRetryDelay and MaxRetryDelay bound the backoff of a reconcile that failed on
	// something that may pass by itself (the apiserver or a Git server unreachable):
	// it is retried after MinRetryDelay, doubling per failure up to MaxRetryDelay.
	// Flux's --min-retry-delay and --max-retry-delay, with its defaults (750ms, 15m).
	MinRetryDelay, MaxRetryDelay time.Duration
	// TracerProvider records the reconciles as OpenTelemetry spans (see trace.go);
	// nil records nothing, at no cost.
	TracerProvider trace.TracerProvider
}

// Flux's defaults for the retry backoff (runtime/controller in fluxcd/pkg).
const (
	DefaultMinRetryDelay = 750 * time.Millisecond
	DefaultMaxRetryDelay = 15 * time.Minute
)

// controllerOptions are the workqueue settings every GitOps controller shares: o's
// concurrency, and a per-object exponential backoff between o's retry delays in place
// of controller-runtime's (5 ms doubling to 1000 s, beside a 10/s bucket for all).
func controllerOptions(o Options) controller.Options {
	return controller.Options{
		MaxConcurrentReconciles: o.Concurrent,
		RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[crreconcile.Request](o.MinRetryDelay, o.MaxRetryDelay),
	}
}

// NewManager builds the controller-runtime manager with the GitRepository and
// Kustomization reconcilers registered, and the cache and client settings they need.
// The process adds the rest (internal/app).
func NewManager(ctx context.Context, cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if o.Concurrent <= 0 {
		o.Concurrent = 4
	}
	if o.LeaderElectionID == "" {
		o.LeaderElectionID = kube.ControllerLeaseName
	}
	if o.MinRetryDelay <= 0 {
		o.MinRetryDelay = DefaultMinRetryDelay
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	if o.MaxRetryDelay < o.MinRetryDelay {
		return nil, fmt.Errorf("--max-retry-delay %s is shorter than --min-retry-delay %s", o.MaxRetryDelay, o.MinRetryDelay)
	}
	byObject := map[client.Object]cache.ByObject{}
	if o.WatchLabelSelector != "" {
		sel, err := labels.Parse(o.WatchLabelSelector)
		if err != nil {
			return nil, fmt.Errorf("invalid --watch-label-selector %q: %w", o.WatchLabelSelector, err)
		}
		byObject[&sourcev1.GitRepository{}] = cache.ByObject{Label: sel}
		byObject[&kustomizev1.Kustomization{}] = cache.ByObject{Label: sel}
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// Applies are the work; the client-side limiter must not be the bottleneck.
		cfg.QPS, cfg.Burst = 500, 1000
	}
	cfg.DisableCompression = !o.APICompression
	renew := 10 * time.Second
	var lock resourcelock.Interface
	if o.LeaderElection {
		var err error
		if lock, err = newLeaderLock(ctx, cfg, o, renew); err != nil {
			return nil, err
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:         kube.NewScheme(),
		MapperProvider: newMapper,
		// Nothing reads the managedFields of cached objects (GitRepositories,
		// Kustomizations, Receivers); kept, every GC cycle would mark them.
		Cache: cache.Options{ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()},
		// Secrets and ConfigMaps (credentials, postBuild.substituteFrom) are read live,
		// as Flux does by default: caching them would watch every Secret in the
		// cluster, and a reconcile requested right after an edit must see the edit.
		Client:                  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}},
		Controller:              config.Controller{SkipNameValidation: &o.Restartable},
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.HealthAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        o.LeaderElectionID,
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		// Names the holder (host and pid) and says who holds the lease while waiting.
		LeaderElectionResourceLockInterface: lock,
		RenewDeadline:                       &renew,
		// A replica that stops gives the lease up at once, so the next takes over
		// without waiting for the lease to expire.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create controller manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	store := source.NewStore()
	// Buffered so a burst of new snapshots never blocks a GitRepository reconcile on
	// the Kustomization controller's intake.
	artifacts := make(chan event.GenericEvent, 4096)
	git := &GitRepositoryReconciler{Client: mgr.GetClient(), Git: source.NewClient(), Store: store}
	ks := &KustomizationReconciler{Client: mgr.GetClient(), RESTConfig: cfg, Store: store, Tenancy: o.Tenancy}
	if o.TracerProvider != nil {
		tracer := o.TracerProvider.Tracer(reconcile.TracerName)
		origins := &traceOrigins{}
		git.Tracer, git.origins, ks.Tracer, ks.origins = tracer, origins, tracer, origins
	}
	if err := git.SetupWithManager(mgr, controllerOptions(o), artifacts); err != nil {
		return nil, fmt.Errorf("failed to set up the GitRepository controller: %w", err)
	}
	if err := ks.SetupWithManager(ctx, mgr, controllerOptions(o), artifacts); err != nil {
		return nil, fmt.Errorf("failed to set up the Kustomization controller: %w", err)
	}
	return mgr, nil
}
