package cli

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// storeTrace sends a two-service trace through the OTLP receiver into a
// DuckDB store in dir, in two batches and out of order: the backend's spans
// (the deepest first) before the frontend's request that caused them.
func storeTrace(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDuckDB(ctx, dir, store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(otlp.New(st, otlp.Options{}).Handler())
	defer srv.Close()

	var tid pcommon.TraceID
	copy(tid[:], mustHex(t, traceID))
	t0 := pcommon.Timestamp(1_796_000_000_000_000_000)
	at := func(msec float64) pcommon.Timestamp { return t0 + pcommon.Timestamp(msec*1e6) }
	batch := func(service string) (ptrace.Traces, ptrace.SpanSlice) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.Resource().Attributes().PutStr("k8s.pod.name", service+"-0")
		return td, rs.ScopeSpans().AppendEmpty().Spans()
	}
	span := func(ss ptrace.SpanSlice, id, parent byte, kind ptrace.SpanKind, name string, from, to float64, attrs map[string]any) ptrace.Span {
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, parent})
		}
		s.SetKind(kind)
		s.SetName(name)
		s.SetStartTimestamp(at(from))
		s.SetEndTimestamp(at(to))
		_ = s.Attributes().FromRaw(attrs)
		return s
	}
	backend, bs := batch("backend")
	q := span(bs, 4, 3, ptrace.SpanKindClient, "SELECT users", 31, 182, map[string]any{
		"db.system.name": "postgresql", "db.namespace": "shop", "server.address": "db", "db.query.text": "SELECT * FROM users"})
	q.Status().SetCode(ptrace.StatusCodeError)
	ev := q.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(at(181))
	_ = ev.Attributes().FromRaw(map[string]any{"exception.type": "*pgconn.PgError", "exception.message": "canceling statement due to statement timeout"})
	api := span(bs, 3, 2, ptrace.SpanKindServer, "GET /api/users", 25, 190, map[string]any{
		"http.request.method": "GET", "http.route": "/api/users", "http.response.status_code": int64(500)})
	api.Status().SetCode(ptrace.StatusCodeError)
	frontend, fs := batch("frontend")
	span(fs, 1, 0, ptrace.SpanKindServer, "GET /", 0, 200, map[string]any{
		"http.request.method": "GET", "http.route": "/", "http.response.status_code": int64(502)})
	span(fs, 2, 1, ptrace.SpanKindClient, "GET", 20, 195, map[string]any{
		"http.request.method": "GET", "url.full": "http://backend:8081/api/users", "http.response.status_code": int64(500)}).
		Status().SetCode(ptrace.StatusCodeError)
	span(fs, 5, 1, ptrace.SpanKindInternal, "render error page", 196, 199.5, nil)

	for _, td := range []ptrace.Traces{backend, frontend} {
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Post(srv.URL+otlp.PathTraces, "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("OTLP status %d", res.StatusCode)
		}
	}
}

func TestTraceShowsTheWaterfallOfAnOperation(t *testing.T) {
	dir := t.TempDir()
	storeTrace(t, dir)
	tests := map[string]struct {
		args []string
		code int
	}{
		"a trace received out of order, as a waterfall": {args: []string{traceID}},
		"the same trace as JSON":                        {args: []string{"-o", "json", traceID}},
		"an operation id in capitals is the same id":    {args: []string{strings.ToUpper(traceID)}},
		"an id that is not a trace id":                  {args: []string{`x" or 1 == 1`}, code: ExitUsage},
		"an operation with no spans":                    {args: []string{"00000000000000000000000000000001"}, code: ExitError},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, tc.code, "", append([]string{"trace", "--data-dir", dir}, tc.args...)...)
			got := r.stdout
			if tc.code != ExitOK {
				got = r.stderr
			}
			file := strings.ReplaceAll(name, " ", "_")
			if name == "an operation id in capitals is the same id" {
				file = "a_trace_received_out_of_order,_as_a_waterfall"
			}
			golden(t, "trace", file, got)
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const ksTraceID = "0af7651916cd43dd8448eb211c80319c"

// storeControllerTrace stores the controller's trace of one commit reaching two
// Kustomizations of one GitRepository, and the TugboatReconciliations rows that name
// it: an older traced reconcile of apps/web, then the one of this trace.
func storeControllerTrace(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenDuckDB(ctx, dir, store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tid pcommon.TraceID
	copy(tid[:], mustHex(t, ksTraceID))
	t0 := pcommon.Timestamp(1_796_000_000_000_000_000)
	at := func(msec float64) pcommon.Timestamp { return t0 + pcommon.Timestamp(msec*1e6) }
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "tugboat-controller")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	span := func(id, parent byte, kind ptrace.SpanKind, name string, from, to float64, attrs map[string]any) {
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, id})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, parent})
		}
		s.SetKind(kind)
		s.SetName(name)
		s.SetStartTimestamp(at(from))
		s.SetEndTimestamp(at(to))
		_ = s.Attributes().FromRaw(attrs)
	}
	git := map[string]any{"rpc.system": "git", "server.address": "git.example.com"}
	span(1, 0, ptrace.SpanKindServer, "POST /hook/{digest}", 0, 20, map[string]any{"http.request.method": "POST", "http.route": "/hook/{digest}", "http.response.status_code": int64(200)})
	span(2, 1, ptrace.SpanKindConsumer, "reconcile GitRepository apps/repo", 25, 400, nil)
	span(3, 2, ptrace.SpanKindClient, "git ls-remote", 30, 130, git)
	span(4, 2, ptrace.SpanKindClient, "git clone", 140, 390, git)
	span(5, 2, ptrace.SpanKindConsumer, "reconcile Kustomization apps/web", 410, 3000, nil)
	span(6, 5, ptrace.SpanKindInternal, "kustomize build", 410, 500, nil)
	span(7, 5, ptrace.SpanKindInternal, "apply", 500, 700, nil)
	span(8, 7, ptrace.SpanKindInternal, "apply objects", 500, 700, nil)
	span(9, 5, ptrace.SpanKindInternal, "health wait", 700, 2990, nil)
	span(10, 5, ptrace.SpanKindInternal, "status Ready=True", 2990, 3000, nil)
	span(11, 2, ptrace.SpanKindConsumer, "reconcile Kustomization apps/db", 410, 900, nil)
	span(12, 11, ptrace.SpanKindInternal, "kustomize build", 410, 480, nil)
	srv := httptest.NewServer(otlp.New(st, otlp.Options{}).Handler())
	defer srv.Close()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(srv.URL+otlp.PathTraces, "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("OTLP status %d", res.StatusCode)
	}
	end := time.Unix(0, int64(at(3000))).UTC()
	row := func(opID string, when time.Time) []any {
		return store.Row(store.TugboatReconciliationsRow{TimeGenerated: when, Kind: "Kustomization", Name: "web", Namespace: "apps",
			Revision: "main@sha1:abc", Commit: "abc", Result: "Succeeded", Reason: "ReconciliationSucceeded", Changes: []any{},
			StartTime: when, EndTime: when, OperationID: opID})
	}
	if err := st.Append(ctx, store.TugboatReconciliations, [][]any{
		row("11111111111111111111111111111111", end.Add(-time.Hour)), row(ksTraceID, end), row("", end.Add(time.Minute)),
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTraceOfAKustomizationShowsItsLatestTracedReconcile(t *testing.T) {
	dir := t.TempDir()
	storeControllerTrace(t, dir)
	tests := map[string]struct {
		args []string
		code int
	}{
		"the latest traced reconcile, without the other Kustomization of the commit": {args: []string{"kustomization", "web", "-n", "apps"}},
		"a Kustomization never traced":         {args: []string{"ks", "db", "-n", "apps"}, code: ExitError},
		"a name that is not a Kubernetes name": {args: []string{"kustomization", `web" or 1 == 1`, "-n", "apps"}, code: ExitUsage},
		"a kind tugboat does not reconcile":    {args: []string{"deployment", "web", "-n", "apps"}, code: ExitUsage},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, tc.code, "", append([]string{"trace", "--data-dir", dir}, tc.args...)...)
			got := r.stdout
			if tc.code != ExitOK {
				got = r.stderr
			}
			golden(t, "trace", strings.ReplaceAll(name, " ", "_"), got)
		})
	}
}

func TestTraceReadsOnlyTheTimeRangeOfItsOperation(t *testing.T) {
	dir := t.TempDir()
	storeTrace(t, dir)
	ctx := context.Background()
	st, err := store.OpenDuckDB(ctx, dir, store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := func(q string) (*store.JSONResult, error) {
		res, err := st.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		return store.ToJSON(res), nil
	}
	t0 := time.Unix(0, 1_796_000_000_000_000_000).UTC()
	for name, tc := range map[string]struct {
		run  querier
		id   string
		want string
	}{
		"the range of the stored rows, a second wider either side": {
			run: run, id: traceID,
			want: " | where TimeGenerated between (datetime(" + t0.Add(-time.Second).Format(time.RFC3339Nano) +
				") .. datetime(" + t0.Add(196*time.Millisecond+time.Second).Format(time.RFC3339Nano) + "))",
		},
		"an operation without a range is read everywhere": {run: run, id: "00000000000000000000000000000001"},
		"a server without the table is read everywhere": {
			run: func(string) (*store.JSONResult, error) { return nil, errors.New("no such table") }, id: traceID,
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := operationRange(tc.run, tc.id); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
