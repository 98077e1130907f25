package otlp_test

import (
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// TestEveryStoredRowOfATraceIsInsideItsStoredTimeRange holds the receiver to
// what `tugboat trace` relies on: TugboatOperations ranges every row of an
// operation, its spans and their events, over the requests that brought them.
func TestEveryStoredRowOfATraceIsInsideItsStoredTimeRange(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := func(sec int) pcommon.Timestamp {
		return pcommon.NewTimestampFromTime(t0.Add(time.Duration(sec) * time.Second))
	}
	traceA := pcommon.TraceID{0xa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	traceB := pcommon.TraceID{0xb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	span := func(ss ptrace.SpanSlice, trace pcommon.TraceID, id byte, kind ptrace.SpanKind, start int) ptrace.Span {
		s := ss.AppendEmpty()
		s.SetTraceID(trace)
		s.SetSpanID(pcommon.SpanID{id, 1})
		s.SetKind(kind)
		s.SetName("work")
		s.SetStartTimestamp(at(start))
		s.SetEndTimestamp(at(start + 1))
		return s
	}
	// The first request: both traces, a dependency of A that started
	// before its request, and an exception of B well after its span.
	first := ptrace.NewTraces()
	ss := first.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	span(ss, traceA, 1, ptrace.SpanKindServer, 10)
	span(ss, traceA, 2, ptrace.SpanKindClient, 5)
	b := span(ss, traceB, 3, ptrace.SpanKindServer, 20)
	ev := b.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(at(90))
	ev.Attributes().PutStr("exception.type", "boom")
	// The second, later: more of A, and a span event that lands in AppTraces.
	second := ptrace.NewTraces()
	ss = second.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	a := span(ss, traceA, 4, ptrace.SpanKindInternal, 60)
	ev = a.Events().AppendEmpty()
	ev.SetName("cache miss")
	ev.SetTimestamp(at(70))

	for _, engine := range []string{"duckdb", "clickhouse"} {
		t.Run(engine, func(t *testing.T) {
			e := startOn(t, engine, otlp.Options{}, nil)
			for _, td := range []ptrace.Traces{first, second} {
				body, err := ptraceOTLPProto(td)
				if err != nil {
					t.Fatal(err)
				}
				if res := e.post(t, otlp.PathTraces, "application/x-protobuf", body); res.StatusCode != http.StatusOK {
					t.Fatalf("status %d", res.StatusCode)
				}
			}
			// One row per operation per request, and together they span
			// exactly the rows stored.
			got := e.rows(t, store.TugboatOperations+` | summarize Rows = count(), First = min(StartTime), Last = max(TimeGenerated) by OperationId | order by OperationId asc`)
			want := []string{
				traceA.String() + " 2 " + t0.Add(5*time.Second).String() + " " + t0.Add(70*time.Second).String(),
				traceB.String() + " 1 " + t0.Add(20*time.Second).String() + " " + t0.Add(90*time.Second).String(),
			}
			if len(got) != len(want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("got %q, want %q", got[i], want[i])
				}
			}
			stored := e.rows(t, `union AppRequests, AppDependencies, AppExceptions, AppTraces | summarize First = min(TimeGenerated), Last = max(TimeGenerated) by OperationId | order by OperationId asc`)
			want = []string{
				traceA.String() + " " + t0.Add(5*time.Second).String() + " " + t0.Add(70*time.Second).String(),
				traceB.String() + " " + t0.Add(20*time.Second).String() + " " + t0.Add(90*time.Second).String(),
			}
			if len(stored) != len(want) || stored[0] != want[0] || stored[1] != want[1] {
				t.Errorf("the tables hold %q, want %q", stored, want)
			}
			// The filter tugboat trace adds, fractions of a second included
			// (ClickHouse keeps whole seconds), finds every row of A.
			got = e.rows(t, `union AppRequests, AppDependencies, AppExceptions, AppTraces | where OperationId == "`+traceA.String()+
				`" | where TimeGenerated between (datetime(`+t0.Add(4500*time.Millisecond).Format(time.RFC3339Nano)+
				`) .. datetime(`+t0.Add(70500*time.Millisecond).Format(time.RFC3339Nano)+`)) | count`)
			if len(got) != 1 || got[0] != "4" {
				t.Errorf("A's rows in its range: %q, want 4", got)
			}
		})
	}
}
