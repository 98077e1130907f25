package otlp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The OpenTelemetry Collector's OTLP receiver beside ours, on the same load
// (requests of 512 spans with 10 attributes, one sender, OTLP/HTTP
// protobuf over loopback), in spans per CPU-second of the whole process
// (the sender included, the same for both). The collector's receiver hands
// the decoded spans to a consumer that only counts them: it is the cost of
// receiving and decoding, the floor any receiver that stores spans is
// above. Ours decodes, maps and stores them in DuckDB.

// BenchmarkCollectorOTLPReceiverHTTP is the collector's receiver (v0.165.0,
// the release of the pdata module we decode with).
func BenchmarkCollectorOTLPReceiverHTTP(b *testing.B) {
	ctx := context.Background()
	port, err := localport.Pick()
	if err != nil {
		b.Fatal(err)
	}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
	var spans atomic.Int64
	count, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		spans.Add(int64(td.SpanCount()))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	r, err := f.CreateTraces(ctx, receivertest.NewNopSettings(f.Type()), cfg, count)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := r.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	}()
	postLoop(b, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port))
	if got := spans.Load(); got != int64(b.N)*512 {
		b.Fatalf("the collector received %d spans, want %d", got, b.N*512)
	}
}

// BenchmarkIngestOTLPHTTPLoopbackIntoDuckDB is ours on the same load.
func BenchmarkIngestOTLPHTTPLoopbackIntoDuckDB(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.OpenDuckDB(ctx, b.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	r := otlp.New(st, otlp.Options{GRPCAddr: "-", HTTPAddr: "127.0.0.1:0"})
	if err := r.Listen(); err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			b.Error(err)
		}
	}()
	postLoop(b, "http://"+r.HTTPAddr().String()+otlp.PathTraces)
}

// postLoop sends b.N requests of 512 spans, one at a time, and reports
// spans per second and per CPU-second.
func postLoop(b *testing.B, url string) {
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBatch(i)
	}
	c := &http.Client{Timeout: time.Minute}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		res, err := c.Post(url, "application/x-protobuf", bytes.NewReader(bodies[i%len(bodies)]))
		if err != nil {
			b.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	spans := float64(b.N * 512)
	b.ReportMetric(spans/time.Since(start).Seconds(), "spans/s")
	b.ReportMetric(spans/(cpuTime()-cpu0).Seconds(), "spans/cpu-s")
}
