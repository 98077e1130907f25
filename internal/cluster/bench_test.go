package cluster

import (
	"context"
	"testing"
	"time"
)

// BenchmarkStart measures the time from Start to a ready control plane (/readyz, plus
// Ready nodes with workloads), for both option sets.
func BenchmarkStart(b *testing.B) {
	cases := map[string]Options{
		"apiserver+etcd": {},
		"with workloads": {Workloads: true},
	}
	for name, opts := range cases {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				c, err := Start(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				c.Stop()
				b.StartTimer()
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
		})
	}
}
