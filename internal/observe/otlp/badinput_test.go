package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
)

// oneSpan is a request with one server span; edit changes it.
func oneSpan(edit func(ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	s.SetName("op")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000))
	s.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_250_000_000))
	if edit != nil {
		edit(s)
	}
	return td
}

func protoBody(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonBody(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func TestBadOTLPHTTPRequestsAreRefusedWithAClearStatusAndStoreNothing(t *testing.T) {
	e := start(t, otlp.Options{}, nil)
	big := oneSpan(func(s ptrace.Span) { s.Attributes().PutStr("blob", strings.Repeat("x", 10<<20)) })
	zeroTrace := oneSpan(func(s ptrace.Span) { s.SetTraceID(pcommon.TraceID{}) })
	zeroSpan := oneSpan(func(s ptrace.Span) { s.SetSpanID(pcommon.SpanID{}) })
	deep := oneSpan(func(s ptrace.Span) {
		m := s.Attributes().PutEmptyMap("deep")
		for range 20 {
			m = m.PutEmptyMap("d")
		}
	})
	deeper := oneSpan(func(s ptrace.Span) {
		m := s.Attributes().PutEmptyMap("deep")
		for range 200 {
			m = m.PutEmptyMap("d")
		}
	})
	tests := map[string]struct {
		contentType string
		body        []byte
		header      []string
		wantCode    int
		wantMsg     string
	}{
		"malformed protobuf": {
			contentType: "application/x-protobuf", body: []byte("\x0a\xff\xff\xff\xff\x0fnot a message"),
			wantCode: http.StatusBadRequest, wantMsg: "failed to decode application/x-protobuf body",
		},
		"malformed JSON": {
			contentType: "application/json", body: []byte(`{"resourceSpans": [{"scopeSpans": [`),
			wantCode: http.StatusBadRequest, wantMsg: "failed to decode application/json body",
		},
		"a 10 MB request": {
			contentType: "application/x-protobuf", body: protoBody(t, big),
			wantCode: http.StatusRequestEntityTooLarge, wantMsg: "larger than the limit of 4194304 bytes",
		},
		"a 10 MB request gzipped to a few KB": {
			contentType: "application/x-protobuf", body: gzipped(protoBody(t, big)), header: []string{"Content-Encoding", "gzip"},
			wantCode: http.StatusRequestEntityTooLarge, wantMsg: "larger than the limit of 4194304 bytes",
		},
		"a content type that is not OTLP's": {
			contentType: "text/plain", body: protoBody(t, oneSpan(nil)),
			wantCode: http.StatusUnsupportedMediaType, wantMsg: `Content-Type "text/plain" is not supported`,
		},
		"an unknown content encoding": {
			contentType: "application/x-protobuf", body: protoBody(t, oneSpan(nil)), header: []string{"Content-Encoding", "br"},
			wantCode: http.StatusUnsupportedMediaType, wantMsg: `Content-Encoding "br" is not supported`,
		},
		"an all-zero trace id": {
			contentType: "application/x-protobuf", body: protoBody(t, zeroTrace),
			wantCode: http.StatusBadRequest, wantMsg: "resource_spans[0].scope_spans[0].spans[0]: trace_id is missing or all zeros",
		},
		"an all-zero span id in JSON": {
			contentType: "application/json", body: jsonBody(t, zeroSpan),
			wantCode: http.StatusBadRequest, wantMsg: "span_id is missing or all zeros",
		},
		"a trace id of the wrong length": {
			contentType: "application/json",
			body:        []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708","name":"x"}]}]}]}`),
			wantCode:    http.StatusBadRequest, wantMsg: "failed to decode application/json body",
		},
		"an attribute nested 20 levels deep": {
			contentType: "application/x-protobuf", body: protoBody(t, deep),
			wantCode: http.StatusBadRequest, wantMsg: `attribute "deep": nested deeper than 16 levels`,
		},
		"an attribute nested 200 levels deep": {
			contentType: "application/x-protobuf", body: protoBody(t, deeper),
			wantCode: http.StatusBadRequest, wantMsg: "exceeded max recursion depth",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := e.post(t, otlp.PathTraces, tc.contentType, tc.body, tc.header...)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.wantCode, body)
			}
			// The answer is a google.rpc.Status, in JSON unless the request was protobuf.
			var st spb.Status
			if res.Header.Get("Content-Type") == "application/json" {
				if err := protojson.Unmarshal(body, &st); err != nil {
					t.Fatalf("answer is not a JSON google.rpc.Status: %v: %s", err, body)
				}
			} else if err := (protoUnmarshal(body, &st)); err != nil {
				t.Fatalf("answer is not a protobuf google.rpc.Status: %v", err)
			}
			if !strings.Contains(st.GetMessage(), tc.wantMsg) {
				t.Errorf("message %q does not say %q", st.GetMessage(), tc.wantMsg)
			}
			if n := e.stored(t); n != 0 {
				t.Errorf("%d rows stored", n)
			}
		})
	}
	// The receiver still serves: a good request after all of the above is stored.
	if res := e.post(t, otlp.PathTraces, "application/json", jsonBody(t, oneSpan(nil))); res.StatusCode != http.StatusOK {
		t.Fatalf("good request after bad ones: status %d", res.StatusCode)
	}
	checkRows(t, e, `AppRequests | project Name, DurationMs, AppRoleName`, "op 250 svc")
}

func TestBadOTLPGRPCRequestsAreRefusedWithAClearStatusAndStoreNothing(t *testing.T) {
	e := start(t, otlp.Options{}, nil)
	conn, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := context.Background()
	tests := map[string]struct {
		send     func() error
		wantCode codes.Code
		wantMsg  string
	}{
		"malformed protobuf": {
			send: func() error {
				return conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
					[]byte("\x0a\xff\xff\xff\xff\x0fnot a message"), new([]byte), grpc.ForceCodecV2(rawCodec{}))
			},
			// grpc-go decodes before the handler runs and answers INTERNAL itself.
			wantCode: codes.Internal, wantMsg: "failed to unmarshal the received message",
		},
		"a 10 MB request": {
			send: func() error {
				_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(oneSpan(func(s ptrace.Span) {
					s.Attributes().PutStr("blob", strings.Repeat("x", 10<<20))
				})))
				return err
			},
			wantCode: codes.ResourceExhausted, wantMsg: "larger than max",
		},
		"an all-zero trace id": {
			send: func() error {
				_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(oneSpan(func(s ptrace.Span) { s.SetTraceID(pcommon.TraceID{}) })))
				return err
			},
			wantCode: codes.InvalidArgument, wantMsg: "trace_id is missing or all zeros",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := status.Convert(tc.send())
			if st.Code() != tc.wantCode || !strings.Contains(st.Message(), tc.wantMsg) {
				t.Errorf("got %v %q, want %v with %q", st.Code(), st.Message(), tc.wantCode, tc.wantMsg)
			}
			if n := e.stored(t); n != 0 {
				t.Errorf("%d rows stored", n)
			}
		})
	}
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(oneSpan(nil))); err != nil {
		t.Fatalf("good request after bad ones: %v", err)
	}
	checkRows(t, e, `AppRequests | project Name`, "op")
}

func TestHostileValuesThatDecodeAreStoredSafely(t *testing.T) {
	e := start(t, otlp.Options{}, nil)
	td := oneSpan(func(s ptrace.Span) {
		s.SetName("bad \xff\xfe name\x00 \x1b[31mred")
		s.Attributes().PutDouble("nan", math.NaN())
		s.Attributes().PutDouble("inf", math.Inf(1))
		s.Attributes().PutStr("bad\xff key", "v\x00")
		s.Attributes().PutEmptyBytes("raw").FromRaw([]byte{0, 1, 2})
		s.SetEndTimestamp(s.StartTimestamp() - 5) // ends before it starts
	})
	for _, engine := range []string{"duckdb", "clickhouse"} {
		t.Run(engine, func(t *testing.T) {
			e := e
			if engine == "clickhouse" {
				e = startOn(t, engine, otlp.Options{}, nil)
			}
			if res := e.post(t, otlp.PathTraces, "application/x-protobuf", protoBody(t, td)); res.StatusCode != http.StatusOK {
				body, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			checkRows(t, e, `AppRequests | project Name, DurationMs, Nan = tostring(Properties.nan), Inf = tostring(Properties.inf), Raw = tostring(Properties.raw), M = tostring(Measurements)`,
				"bad \uFFFD name\uFFFD \x1b[31mred 0 NaN +Inf AAEC ")
		})
	}
}
