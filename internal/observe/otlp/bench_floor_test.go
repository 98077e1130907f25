package otlp_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The floors under BenchmarkIngestOTLPHTTPIntoDuckDB: what two of its steps
// cost when nothing else runs, on the same requests (512 spans with 10
// attributes). A receiver that decodes with pdata and stores into DuckDB
// spends at least the sum of the two per span, whatever it does between.

// BenchmarkFloorDecodeOTLPProtobuf is decoding a request with pdata (as the
// OpenTelemetry Collector does), without HTTP, mapping or storing.
func BenchmarkFloorDecodeOTLPProtobuf(b *testing.B) {
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBatch(i)
	}
	spans := 0
	start, cpu0 := time.Now(), cpuTime()
	i := 0
	for b.Loop() {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
		spans += req.Traces().SpanCount()
		i++
	}
	b.ReportMetric(float64(spans)/time.Since(start).Seconds(), "spans/s")
	b.ReportMetric(float64(spans)/(cpuTime()-cpu0).Seconds(), "spans/cpu-s")
}

// floorRequests is how many requests' rows one iteration of
// BenchmarkFloorDuckDBStoresSpanRows inserts: 131,072 spans, more than a
// DuckDB row group, in one statement per table, the cheapest way DuckDB
// takes rows.
const floorRequests = 256

// BenchmarkFloorDuckDBStoresSpanRows is DuckDB storing the rows the
// receiver makes of the benchmark's spans, with no Go in the way: the rows
// of 256 requests, received through the handler beforehand, are copied into
// in-memory temporary tables, and each iteration inserts them into
// AppDependencies and AppRequests with INSERT … SELECT, DuckDB's own
// vectorised path (no Appender, no cgo call per value, no commit per
// request). The time ends with a CHECKPOINT, as in BenchmarkDuckDBAppend:
// compressing the rows into the file is part of storing them.
func BenchmarkFloorDuckDBStoresSpanRows(b *testing.B) {
	ctx := context.Background()
	st, err := store.OpenDuckDB(ctx, b.TempDir(), store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := otlp.New(st, otlp.Options{}).Handler()
	for i := range floorRequests {
		req := httptest.NewRequest(http.MethodPost, otlp.PathTraces, bytes.NewReader(benchBatch(i)))
		req.Header.Set("Content-Type", "application/x-protobuf")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	db := st.DB()
	for _, q := range []string{
		`CREATE TEMP TABLE deps AS SELECT * FROM "AppDependencies"`,
		`CREATE TEMP TABLE reqs AS SELECT * FROM "AppRequests"`,
		`CHECKPOINT`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	var spans int64
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM deps) + (SELECT count(*) FROM reqs)`).Scan(&spans); err != nil {
		b.Fatal(err)
	}
	if spans != floorRequests*512 {
		b.Fatalf("the receiver stored %d spans, want %d", spans, floorRequests*512)
	}
	start, cpu0 := time.Now(), cpuTime()
	n := 0
	for b.Loop() {
		for _, q := range []string{`INSERT INTO "AppDependencies" SELECT * FROM deps`, `INSERT INTO "AppRequests" SELECT * FROM reqs`} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
	stored := float64(n) * float64(spans)
	b.ReportMetric(stored/time.Since(start).Seconds(), "spans/s")
	b.ReportMetric(stored/(cpuTime()-cpu0).Seconds(), "spans/cpu-s")
}
