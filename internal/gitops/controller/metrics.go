package controller

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tugboatcd/tugboat/internal/gitops/apply"
)

// Metrics of the reconcilers, registered with controller-runtime's registry and served
// on --metrics-bind-address beside controller-runtime's own.
var (
	reconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tugboat_reconcile_duration_seconds",
		Help:    "Duration of a reconcile, by kind.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"kind"})
	reconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tugboat_reconcile_total",
		Help: "Reconciles, by kind and result (ready, not_ready, progressing).",
	}, []string{"kind", "result"})
)

func init() {
	// controller-runtime's metrics registry is a package global that its metrics server
	// serves; registering there at init is that library's contract.
	metrics.Registry.MustRegister(reconcileDuration, reconcileTotal)
}

func observeReconcile(kind string, o outcome, d time.Duration) {
	reconcileDuration.WithLabelValues(kind).Observe(d.Seconds())
	result := "progressing"
	switch o.ready {
	case metav1.ConditionTrue:
		result = "ready"
	case metav1.ConditionFalse:
		result = "not_ready"
	}
	reconcileTotal.WithLabelValues(kind, result).Inc()
}

// jitter spreads periodic reconciles of many objects over ±10% of their interval.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// applyRequests exports the apiserver requests the apply managers sent, by type
// (apply, dryrun, patch, delete, get): the figure that shows an idle cluster costs
// nothing. The managers keep the counts; this collector reads them at scrape time.
type applyRequestsCollector struct {
	desc    *prometheus.Desc
	mu      sync.Mutex
	sources []func() apply.Stats
}

var applyRequests = &applyRequestsCollector{
	desc: prometheus.NewDesc("tugboat_apply_requests_total",
		"Requests the apply managers sent to the apiserver, by type.", []string{"type"}, nil),
}

func init() {
	metrics.Registry.MustRegister(applyRequests)
}

func (c *applyRequestsCollector) add(source func() apply.Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sources = append(c.sources, source)
}

func (c *applyRequestsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *applyRequestsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	var total apply.Stats
	for _, s := range c.sources {
		st := s()
		total.Applies += st.Applies
		total.DryRuns += st.DryRuns
		total.Patches += st.Patches
		total.Deletes += st.Deletes
		total.Gets += st.Gets
	}
	c.mu.Unlock()
	for typ, v := range map[string]int64{"apply": total.Applies, "dryrun": total.DryRuns, "patch": total.Patches, "delete": total.Deletes, "get": total.Gets} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v), typ)
	}
}
