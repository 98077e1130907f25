package cli

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sendSpansToAgent sends one request span over each of OTLP/gRPC and
// OTLP/HTTP with the SDK's exporters, retrying until the agent listens,
// and returns their operation ids, sorted.
func sendSpansToAgent(t *testing.T, grpcAddr, httpAddr string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := resource.NewSchemaless(attribute.String("service.name", "agent-test"))
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("http://"+httpAddr+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, exp := range []sdktrace.SpanExporter{grpcExp, httpExp} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
		_, span := tp.Tracer("agent-test").Start(ctx, "GET /", trace.WithSpanKind(trace.SpanKindServer))
		span.End()
		ids = append(ids, span.SpanContext().TraceID().String())
		// The exporters retry on connection errors until ctx ends, so the
		// agent may still be starting.
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatalf("failed to send to the agent: %v", err)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestAgentWithoutCollectorsReceivesOTLPWithNoCluster runs the agent as an
// app outside a cluster would: --collect none, no kubeconfig at all.
func TestAgentWithoutCollectorsReceivesOTLPWithNoCluster(t *testing.T) {
	dataDir := t.TempDir()
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Execute(ctx, []string{"agent", "--kubeconfig", filepath.Join(dataDir, "no-such-kubeconfig"), "--data-dir", dataDir,
			"--collect", "none", "--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", httpAddr}, &out, &errOut)
	}()
	sent := sendSpansToAgent(t, grpcAddr, httpAddr)
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("agent exited %d\nstderr:\n%s", code, errOut.String())
	}
	st, err := store.OpenDuckDB(context.Background(), dataDir, store.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Query(context.Background(), `AppRequests | summarize by OperationId | sort by OperationId asc`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rows {
		got = append(got, r[0].(string))
	}
	if strings.Join(got, " ") != strings.Join(sent, " ") {
		t.Errorf("AppRequests operations %v, want %v", got, sent)
	}
	// With the receivers off too there is nothing to do.
	r := mustRun(t, ExitUsage, "", "agent", "--data-dir", dataDir, "--collect", "none", "--otlp-grpc-addr", "off", "--otlp-http-addr", "off")
	if !strings.Contains(r.stderr, "leaves nothing to do") {
		t.Errorf("stderr: %s", r.stderr)
	}
}
