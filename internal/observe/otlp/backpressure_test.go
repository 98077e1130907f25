package otlp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// gate holds every append to the real store until it is opened, as a store
// that has fallen behind would; failing makes appends fail instead.
type gate struct {
	store.Appender
	entered chan struct{}
	open    chan struct{}
	fail    error
}

func (g *gate) Append(ctx context.Context, table string, rows [][]any) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.open
	if g.fail != nil {
		return g.fail
	}
	return g.Appender.Append(ctx, table, rows)
}

// spans is a batch of n server spans of one trace, ids from base.
func spans(n int, base byte) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		s := ss.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{base, 1})
		s.SetSpanID(pcommon.SpanID{base, byte(i >> 8), byte(i), 1})
		s.SetKind(ptrace.SpanKindServer)
		s.SetName(fmt.Sprintf("op-%d", i))
		s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000))
		s.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_001_000_000))
	}
	return td
}

func TestAStoreThatCannotKeepUpGetsRetryableRefusalsAndLosesNothing(t *testing.T) {
	g := &gate{entered: make(chan struct{}, 1), open: make(chan struct{})}
	// Room for one request in flight.
	e := start(t, otlp.Options{MaxRequestBytes: 64 << 10, MaxInFlightBytes: 64 << 10, QueueWait: 50 * time.Millisecond,
		RetryAfter: 3 * time.Second}, func(a store.Appender) store.Appender { g.Appender = a; return g })
	first := protoBody(t, spans(600, 1))
	if len(first) < 32<<10 {
		t.Fatalf("first request is %d bytes; it must take over half the room", len(first))
	}
	firstDone := make(chan int, 1)
	go func() {
		res, err := http.Post(e.httpURL+otlp.PathTraces, "application/x-protobuf", bytesReader(first))
		if err != nil {
			firstDone <- 0
			return
		}
		_ = res.Body.Close()
		firstDone <- res.StatusCode
	}()
	<-g.entered // the first request holds its room while the store is stuck

	second := protoBody(t, spans(600, 2))
	res := e.post(t, otlp.PathTraces, "application/x-protobuf", second)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "3" {
		t.Errorf("OTLP/HTTP while the store is stuck: status %d, Retry-After %q (%s); want 503 and 3",
			res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	conn, err := grpc.NewClient(e.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(spans(600, 3)))
	st := status.Convert(err)
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if st.Code() != codes.Unavailable || delay != 3*time.Second {
		t.Errorf("OTLP/gRPC while the store is stuck: %v %q, retry delay %v; want UNAVAILABLE and 3s", st.Code(), st.Message(), delay)
	}

	close(g.open)
	if code := <-firstDone; code != http.StatusOK {
		t.Fatalf("the held request ended with status %d", code)
	}
	// The senders retry as told, and everything is there once.
	if res := e.post(t, otlp.PathTraces, "application/x-protobuf", second); res.StatusCode != http.StatusOK {
		t.Fatalf("retried request: status %d", res.StatusCode)
	}
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(spans(600, 3))); err != nil {
		t.Fatalf("retried gRPC request: %v", err)
	}
	checkRows(t, e, `AppRequests | count`, "1800")
	checkRows(t, e, `AppRequests | summarize by OperationId, Id | count`, "1800")
}

func TestAFailingStoreIsARetryableErrorNotASilentDrop(t *testing.T) {
	open := make(chan struct{})
	close(open)
	g := &gate{entered: make(chan struct{}, 1), open: open, fail: errors.New("disk full")}
	e := start(t, otlp.Options{RetryAfter: time.Second}, func(a store.Appender) store.Appender { g.Appender = a; return g })
	res := e.post(t, otlp.PathTraces, "application/json", jsonBody(t, oneSpan(nil)))
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" {
		t.Errorf("status %d, Retry-After %q: %s; want 503 and 1", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
}

func TestConcurrentRequestsAreAllStoredOnce(t *testing.T) {
	e := start(t, otlp.Options{}, nil)
	const senders = 20
	codes := make(chan int, senders)
	for i := range senders {
		body := protoBody(t, spans(100, byte(10+i)))
		go func() {
			res, err := http.Post(e.httpURL+otlp.PathTraces, "application/x-protobuf", bytesReader(body))
			if err != nil {
				codes <- 0
				return
			}
			_ = res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	for range senders {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("a sender got status %d", c)
		}
	}
	checkRows(t, e, `AppRequests | count`, "2000")
	checkRows(t, e, `AppRequests | summarize by OperationId, Id | count`, "2000")
}
