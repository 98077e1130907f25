package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/tugboatcd/tugboat/internal/gitops/apply"
)

// applyRequests exports the apiserver requests the apply managers sent, by type
// (apply, dryrun, patch, delete, get): the figure that shows an idle cluster costs
// nothing. The managers keep the counts; this collector reads them at scrape time.
type applyRequestsCollector struct {
	desc    *prometheus.Desc
	mu      sync.Mutex
	sources []func() apply.Stats
}

// It is registered with controller-runtime's registry, served on
// --metrics-bind-address beside the reconcile metrics (see reconcile).
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
