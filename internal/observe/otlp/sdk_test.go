package otlp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tugboatcd/tugboat/internal/observe/otlp"
)

func testResource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", "frontend"),
		attribute.String("service.version", "1.2.3"),
		attribute.String("k8s.pod.name", "frontend-7d9f-abcde"),
		attribute.String("k8s.namespace.name", "shop"),
		attribute.String("telemetry.sdk.language", "go"),
	)
}

// emitTrace records one request with an HTTP call, a query, internal work
// and an exception, the way instrumented code does.
func emitTrace(tp trace.TracerProvider) trace.SpanContext {
	ctx := context.Background()
	tr := tp.Tracer("test")
	ctx, req := tr.Start(ctx, "GET /users/{id}", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", "GET"), attribute.String("http.route", "/users/{id}"),
		attribute.String("url.scheme", "http"), attribute.String("url.path", "/users/42"),
		attribute.String("server.address", "frontend"), attribute.Int("server.port", 8080),
		attribute.Int("http.response.status_code", 404), attribute.String("client.address", "10.1.2.3")))
	_, call := tr.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("http.request.method", "GET"), attribute.String("url.full", "http://backend:8081/api/users/42?x=1"),
		attribute.String("server.address", "backend"), attribute.Int("server.port", 8081),
		attribute.Int("http.response.status_code", 500)))
	call.SetStatus(codes.Error, "backend failed")
	call.End()
	_, q := tr.Start(ctx, "SELECT shop.users", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"), attribute.String("db.namespace", "shop"),
		attribute.String("db.query.text", "SELECT * FROM users WHERE id = $1"),
		attribute.String("server.address", "db"), attribute.Int("server.port", 5432)))
	q.End()
	_, work := tr.Start(ctx, "render", trace.WithAttributes(attribute.Int("items", 3)))
	work.End()
	req.RecordError(errors.New("user 42 not found"), trace.WithStackTrace(true))
	req.End()
	return req.SpanContext()
}

func TestSpansFromTheSDKsExportersLandInTheirTables(t *testing.T) {
	grpcExporter := func(ctx context.Context, e *env) (sdktrace.SpanExporter, error) {
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(e.grpcAddr), otlptracegrpc.WithInsecure())
	}
	exporters := map[string]struct {
		engine      string
		newExporter func(ctx context.Context, e *env) (sdktrace.SpanExporter, error)
	}{
		"OTLP/gRPC": {"duckdb", grpcExporter},
		"OTLP/HTTP protobuf": {"duckdb", func(ctx context.Context, e *env) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(e.httpURL+otlp.PathTraces))
		}},
		"OTLP/HTTP protobuf, gzip": {"duckdb", func(ctx context.Context, e *env) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(e.httpURL+otlp.PathTraces),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
		"OTLP/gRPC into ClickHouse": {"clickhouse", grpcExporter},
	}
	for name, tc := range exporters {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := startOn(t, tc.engine, otlp.Options{}, nil)
			newExporter := tc.newExporter
			exp, err := newExporter(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			// One batch, as the SDK's batcher sends a request's spans: the
			// dependencies get the request's OperationName from it.
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(testResource()))
			sc := emitTrace(tp)
			if err := tp.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			op, root := sc.TraceID().String(), sc.SpanID().String()
			checkRows(t, e, `AppRequests | project OperationId, Id, ParentId, Name, OperationName, Url, Success, ResultCode, ClientIP, AppRoleName, AppRoleInstance, AppVersion, Pod = tostring(Properties["k8s.pod.name"]), Ns = tostring(Properties["k8s.namespace.name"])`,
				op+" "+root+"  GET /users/{id} GET /users/{id} http://frontend:8080/users/42 true 404 10.1.2.3 frontend frontend-7d9f-abcde 1.2.3 frontend-7d9f-abcde shop")
			checkRows(t, e, `AppDependencies | where ParentId == "`+root+`" and OperationId == "`+op+`" | sort by DependencyType asc | project DependencyType, Name, Target, Data, Success, ResultCode, OperationName`,
				"HTTP GET /api/users/42 backend:8081 http://backend:8081/api/users/42?x=1 false 500 GET /users/{id}",
				"InProc render   true 0 GET /users/{id}",
				"postgresql SELECT shop.users db|shop SELECT * FROM users WHERE id = $1 true 0 GET /users/{id}")
			checkRows(t, e, `AppDependencies | where Name == "render" | project M = todouble(Measurements.items)`, "3")
			got := e.rows(t, `AppExceptions | join kind=inner (AppRequests | project OperationId, RequestName = Name) on OperationId | project OperationId, ParentId, ExceptionType, OuterMessage, ProblemId, RequestName, Stack = tostring(Details)`)
			if len(got) != 1 {
				t.Fatalf("AppExceptions joined with AppRequests: %q, want one row", got)
			}
			wantPrefix := op + " " + root + " *errors.errorString user 42 not found *errors.errorString at github.com/tugboatcd/tugboat/internal/observe/otlp_test.emitTrace GET /users/{id} "
			if !strings.HasPrefix(got[0], wantPrefix) || !strings.Contains(got[0], "sdk_test.go") {
				t.Errorf("exception row\n%s\nwant prefix\n%s\nand the stack", got[0], wantPrefix)
			}
		})
	}
}

func checkRows(t *testing.T, e *env, query string, want ...string) {
	t.Helper()
	got := e.rows(t, query)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n%s\nwant\n%s", query, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAServerSpanWithAnErrorStatusIsAFailedRequest(t *testing.T) {
	ctx := context.Background()
	e := start(t, otlp.Options{}, nil)
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(e.httpURL+otlp.PathTraces))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(testResource()))
	for _, c := range []struct {
		name   string
		status int
		code   codes.Code
	}{{"ok", 200, codes.Unset}, {"not found", 404, codes.Unset}, {"teapot marked failed", 418, codes.Error},
		{"server error", 500, codes.Error}, {"consumer failed", 0, codes.Error}} {
		kind := trace.SpanKindServer
		if c.status == 0 {
			kind = trace.SpanKindConsumer
		}
		_, s := tp.Tracer("t").Start(ctx, c.name, trace.WithSpanKind(kind))
		if c.status != 0 {
			s.SetAttributes(attribute.Int("http.response.status_code", c.status))
		}
		s.SetStatus(c.code, "")
		s.End()
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkRows(t, e, `AppRequests | sort by Name asc | project Name, ResultCode, Success`,
		"consumer failed 0 false", "not found 404 true", "ok 200 true", "server error 500 false", "teapot marked failed 418 false")
}

func TestLogsFromTheSDKsExportersLandInAppTracesAndErrorsInAppExceptions(t *testing.T) {
	exporters := map[string]func(ctx context.Context, e *env) (sdklog.Exporter, error){
		"OTLP/HTTP": func(ctx context.Context, e *env) (sdklog.Exporter, error) {
			return otlploghttp.New(ctx, otlploghttp.WithEndpointURL(e.httpURL+otlp.PathLogs))
		},
		"OTLP/gRPC": func(ctx context.Context, e *env) (sdklog.Exporter, error) {
			return otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(e.grpcAddr), otlploggrpc.WithInsecure())
		},
	}
	for name, newExporter := range exporters {
		t.Run(name, func(t *testing.T) { testLogs(t, newExporter) })
	}
}

func testLogs(t *testing.T, newExporter func(ctx context.Context, e *env) (sdklog.Exporter, error)) {
	ctx := context.Background()
	e := start(t, otlp.Options{}, nil)
	exp, err := newExporter(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)), sdklog.WithResource(testResource()))
	tp := sdktrace.NewTracerProvider()
	sctx, span := tp.Tracer("t").Start(ctx, "work")
	lg := lp.Logger("test")
	emit := func(sev otellog.Severity, body string, attrs ...attribute.KeyValue) {
		var r otellog.Record
		r.SetSeverity(sev)
		r.SetBody(attribute.StringValue(body))
		r.AddAttributes(attrs...)
		lg.Emit(sctx, r)
	}
	emit(otellog.SeverityInfo, "listening on :8080", attribute.Int("port", 8080))
	emit(otellog.SeverityWarn, "slow query")
	emit(otellog.SeverityError, "failed to charge card")
	emit(otellog.SeverityInfo, "recovered", attribute.String("exception.type", "PanicError"),
		attribute.String("exception.message", "nil map"), attribute.String("exception.stacktrace", "goroutine 7 [running]:\nmain.charge(...)\n\t/app/main.go:10"))
	span.End()
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	op, sp := span.SpanContext().TraceID().String(), span.SpanContext().SpanID().String()
	checkRows(t, e, `AppTraces | sort by Message asc | project Message, SeverityLevel, OperationId, ParentId, AppRoleName, Port = todouble(Measurements.port)`,
		"failed to charge card 3 "+op+" "+sp+" frontend <nil>",
		"listening on :8080 1 "+op+" "+sp+" frontend 8080",
		"recovered 1 "+op+" "+sp+" frontend <nil>",
		"slow query 2 "+op+" "+sp+" frontend <nil>")
	checkRows(t, e, `AppExceptions | sort by OuterMessage asc | project ExceptionType, OuterMessage, ProblemId, SeverityLevel, OperationId`,
		" failed to charge card failed to charge card 3 "+op,
		"PanicError nil map PanicError at main.charge 1 "+op)
}
