package otlp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// benchBatch is the load: 512 spans with 10 attributes each, a
// request with its dependencies, as an SDK's batch processor sends them.
func benchBatch(n int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench")
	rs.Resource().Attributes().PutStr("k8s.pod.name", "bench-0")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 512 {
		s := ss.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), byte(i / 8), 1})
		s.SetSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 1})
		if i%8 != 0 {
			s.SetParentSpanID(pcommon.SpanID{byte((i - i%8) >> 8), byte(i - i%8), 1})
			s.SetKind(ptrace.SpanKindClient)
		} else {
			s.SetKind(ptrace.SpanKindServer)
		}
		s.SetName("GET /items/{id}")
		s.SetStartTimestamp(pcommon.Timestamp(1_796_000_000_000_000_000 + int64(i)*1000))
		s.SetEndTimestamp(pcommon.Timestamp(1_796_000_000_005_000_000 + int64(i)*1000))
		a := s.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", "/items/{id}")
		a.PutStr("url.full", fmt.Sprintf("http://backend:8080/items/%d", i))
		a.PutStr("server.address", "backend")
		a.PutInt("server.port", 8080)
		a.PutInt("http.response.status_code", 200)
		a.PutStr("user_agent.original", "bench/1.0")
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("tenant", "acme")
		a.PutInt("items", int64(i))
	}
	b, err := ptraceOTLPProto(td)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkIngestOTLPHTTPIntoDuckDB measures spans per second through the
// OTLP/HTTP handler (decode, map, append) into a DuckDB file.
func BenchmarkIngestOTLPHTTPIntoDuckDB(b *testing.B) {
	st, err := store.OpenDuckDB(context.Background(), b.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := otlp.New(st, otlp.Options{}).Handler()
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBatch(i)
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, otlp.PathTraces, bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Content-Type", "application/x-protobuf")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	spans := float64(b.N * 512)
	b.ReportMetric(spans/time.Since(start).Seconds(), "spans/s")
	// Per core: spans per second of CPU the process used (Go and DuckDB's
	// threads), as the store's benchmarks count, so a disk flush does not count.
	b.ReportMetric(spans/(cpuTime()-cpu0).Seconds(), "spans/cpu-s")
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestOTLPHTTPIntoDuckDBFromEightSenders is the same load from
// eight concurrent senders, whose requests share appends.
func BenchmarkIngestOTLPHTTPIntoDuckDBFromEightSenders(b *testing.B) {
	st, err := store.OpenDuckDB(context.Background(), b.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := otlp.New(st, otlp.Options{}).Handler()
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBatch(i)
	}
	b.SetParallelism(4) // 4 × GOMAXPROCS (2 here) = 8 senders
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			req := httptest.NewRequest(http.MethodPost, otlp.PathTraces, bytes.NewReader(bodies[i%int64(len(bodies))]))
			req.Header.Set("Content-Type", "application/x-protobuf")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	spans := float64(b.N * 512)
	b.ReportMetric(spans/time.Since(start).Seconds(), "spans/s")
	b.ReportMetric(spans/(cpuTime()-cpu0).Seconds(), "spans/cpu-s")
}
