package otlp_test

import (
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
)

func TestATraceWhoseSpansArriveOutOfOrderInTwoBatchesIsWhole(t *testing.T) {
	e := start(t, otlp.Options{}, nil)
	trace := pcommon.TraceID{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	root, call, query := pcommon.SpanID{0xa, 1}, pcommon.SpanID{0xa, 2}, pcommon.SpanID{0xa, 3}
	t0 := pcommon.Timestamp(1_700_000_000_000_000_000)
	add := func(td ptrace.Traces, id, parent pcommon.SpanID, kind ptrace.SpanKind, name string, startMs, endMs int) {
		s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
		s.SetTraceID(trace)
		s.SetSpanID(id)
		s.SetParentSpanID(parent)
		s.SetKind(kind)
		s.SetName(name)
		s.SetStartTimestamp(t0 + pcommon.Timestamp(startMs)*1_000_000)
		s.SetEndTimestamp(t0 + pcommon.Timestamp(endMs)*1_000_000)
	}
	batch := func(service string) ptrace.Traces {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.ScopeSpans().AppendEmpty()
		return td
	}
	// The children come first, the query (the deepest) before its parent, as
	// separate exporters flushing at different times send them.
	first := batch("backend")
	add(first, query, call, ptrace.SpanKindClient, "SELECT", 30, 80)
	add(first, call, root, ptrace.SpanKindServer, "GET /api", 20, 90)
	second := batch("frontend")
	add(second, root, pcommon.SpanID{}, ptrace.SpanKindServer, "GET /", 0, 100)
	for _, td := range []ptrace.Traces{first, second} {
		if res := e.post(t, otlp.PathTraces, "application/x-protobuf", protoBody(t, td)); res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	checkRows(t, e, `union AppRequests, AppDependencies | where OperationId == "`+trace.String()+`" | sort by TimeGenerated asc | project AppRoleName, Name, Id, ParentId, DurationMs`,
		"frontend GET / "+root.String()+"  100",
		"backend GET /api "+call.String()+" "+root.String()+" 70",
		"backend SELECT "+query.String()+" "+call.String()+" 50")
}
