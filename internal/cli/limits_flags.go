package cli

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// bytesValue is a flag holding a byte count, given as a Kubernetes quantity
// (256Mi, 1Gi, 1048576) as in a pod's resources, so that the same words size
// the process and its limits.
type bytesValue struct{ n *int64 }

func (b bytesValue) String() string {
	if b.n == nil {
		return "0"
	}
	return resource.NewQuantity(*b.n, resource.BinarySI).String()
}

func (b bytesValue) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("want a byte count such as 256Mi or 1Gi: %w", err)
	}
	v, ok := q.AsInt64()
	if !ok || v < 0 {
		return fmt.Errorf("want a byte count such as 256Mi or 1Gi, not %s", s)
	}
	*b.n = v
	return nil
}

func (bytesValue) Type() string { return "bytes" }

// bytesVar defines a byte-count flag with a default.
func bytesVar(f *pflag.FlagSet, p *int64, name string, def int64, usage string) {
	*p = def
	f.Var(bytesValue{p}, name, usage)
}

// registerQueryLimits adds the flags that bound the HTTP API's queries
// (checked by queryapi.Limits.Validate when the controller starts).
func registerQueryLimits(f *pflag.FlagSet, l *queryapi.Limits) {
	f.DurationVar(&l.Timeout, "query-timeout", queryapi.DefaultQueryTimeout, "longest a query of the HTTP API may run (answered 504 past it)")
	f.IntVar(&l.Concurrent, "query-concurrency", queryapi.DefaultMaxConcurrentQueries, "queries the HTTP API runs at once (more are answered 429)")
	bytesVar(f, &l.BodyBytes, "query-max-body-bytes", queryapi.MaxBodyBytes, "largest request body of the HTTP API (answered 413 past it)")
	f.IntVar(&l.Rows, "query-max-rows", store.DefaultMaxRows, `rows of a query's answer (more are cut, "truncated": true)`)
	bytesVar(f, &l.Store.MemoryBytes, "query-memory-limit", store.DefaultMemoryLimit, "memory of the query engine: DuckDB's memory_limit, ClickHouse's max_memory_usage per query")
	bytesVar(f, &l.Store.TempBytes, "query-temp-limit", store.DefaultTempLimit, "what DuckDB may spill to disk for a query that outgrows memory")
	f.IntVar(&l.Store.Threads, "query-threads", store.DefaultMaxThreads, "threads of the query engine (DuckDB's threads, ClickHouse's max_threads)")
}
