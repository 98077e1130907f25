package reconcile

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
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

func observe(kind string, o Outcome, d time.Duration) {
	reconcileDuration.WithLabelValues(kind).Observe(d.Seconds())
	reconcileTotal.WithLabelValues(kind, resultLabel(o)).Inc()
}

// resultLabel is the result label of tugboat_reconcile_total.
func resultLabel(o Outcome) string {
	switch o.Ready {
	case metav1.ConditionTrue:
		return "ready"
	case metav1.ConditionFalse:
		return "not_ready"
	}
	return "progressing"
}
