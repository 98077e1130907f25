package otlp

import (
	"maps"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

func TestDependenciesFollowTheAzureMonitorExportersMapping(t *testing.T) {
	tests := map[string]struct {
		kind  ptrace.SpanKind
		attrs map[string]any
		want  dependency
	}{
		"an HTTP call on the default port names the host alone": {
			kind:  ptrace.SpanKindClient,
			attrs: map[string]any{"http.request.method": "POST", "url.full": "https://api.example.com/v1/orders?id=7"},
			want:  dependency{name: "POST /v1/orders", typ: "HTTP", target: "api.example.com", data: "https://api.example.com/v1/orders?id=7"},
		},
		"an HTTP call with the old conventions": {
			kind:  ptrace.SpanKindClient,
			attrs: map[string]any{"http.method": "GET", "http.scheme": "http", "http.host": "backend:8080", "http.target": "/x"},
			want:  dependency{name: "GET /x", typ: "HTTP", target: "backend:8080", data: "http://backend:8080/x"},
		},
		"peer.service wins over the URL's host": {
			kind:  ptrace.SpanKindClient,
			attrs: map[string]any{"http.request.method": "GET", "url.full": "http://10.0.0.9:8080/", "peer.service": "payments"},
			want:  dependency{name: "GET /", typ: "HTTP", target: "payments", data: "http://10.0.0.9:8080/"},
		},
		"a SQL Server query is of type SQL, its target host|database": {
			kind: ptrace.SpanKindClient,
			attrs: map[string]any{"db.system": "mssql", "net.peer.name": "sql1", "net.peer.port": int64(1433),
				"db.name": "orders", "db.statement": "SELECT 1"},
			want: dependency{name: "q", typ: "SQL", target: "sql1|orders", data: "SELECT 1"},
		},
		"a Redis command on another port keeps the port": {
			kind:  ptrace.SpanKindClient,
			attrs: map[string]any{"db.system.name": "redis", "server.address": "cache", "server.port": int64(6380), "db.operation.name": "GET"},
			want:  dependency{name: "q", typ: "redis", target: "cache:6380", data: "GET"},
		},
		"a database without an address is targeted by its system": {
			kind:  ptrace.SpanKindClient,
			attrs: map[string]any{"db.system.name": "sqlite"},
			want:  dependency{name: "q", typ: "SQL", target: "sqlite"},
		},
		"a gRPC call": {
			kind:  ptrace.SpanKindClient,
			attrs: map[string]any{"rpc.system": "grpc", "server.address": "inventory", "server.port": int64(9090)},
			want:  dependency{name: "q", typ: "grpc", target: "inventory:9090"},
		},
		"a message sent is a queue message to its destination": {
			kind:  ptrace.SpanKindProducer,
			attrs: map[string]any{"messaging.system": "kafka", "messaging.destination.name": "orders"},
			want:  dependency{name: "q", typ: "Queue Message | kafka", target: "orders"},
		},
		"a client span of no known convention": {
			kind: ptrace.SpanKindClient,
			want: dependency{name: "q", typ: "N/A"},
		},
		"internal work is in process": {
			kind:  ptrace.SpanKindInternal,
			attrs: map[string]any{"http.request.method": "GET"},
			want:  dependency{name: "q", typ: "InProc"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := ptrace.NewSpan()
			s.SetName("q")
			s.SetKind(tc.kind)
			if err := s.Attributes().FromRaw(tc.attrs); err != nil {
				t.Fatal(err)
			}
			if got := dependencyOf(s); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTopFrameFindsTheFunctionThatThrew(t *testing.T) {
	tests := map[string]struct{ stack, want string }{
		"Go, past the SDK's own frames": {
			stack: "goroutine 1 [running]:\nruntime/debug.Stack()\n\t/go/src/runtime/debug/stack.go:26 +0x5e\n" +
				"go.opentelemetry.io/otel/sdk/trace.(*recordingSpan).RecordError(0xc0, {0x1, 0x2})\n\t/x.go:1\n" +
				"main.(*server).charge(0xc000010000)\n\t/app/main.go:40 +0x1d\n",
			want: "main.(*server).charge",
		},
		"Java":       {stack: "java.lang.IllegalStateException: boom\n\tat com.shop.Cart.add(Cart.java:12)\n\tat com.shop.Main.main(Main.java:3)", want: "com.shop.Cart.add"},
		".NET":       {stack: "System.Exception: boom\n   at Shop.Cart.Add() in /src/Cart.cs:line 12", want: "Shop.Cart.Add"},
		"JavaScript": {stack: "Error: boom\n    at addItem (/app/cart.js:10:5)\n    at main (/app/index.js:3:1)", want: "addItem"},
		"Python, the innermost frame last": {
			stack: "Traceback (most recent call last):\n  File \"app.py\", line 9, in main\n    add()\n  File \"cart.py\", line 3, in add\n    raise ValueError()\nValueError",
			want:  "add",
		},
		"no stack": {stack: "", want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := topFrame(tc.stack); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOperationNamesDoNotCrossTracesThatReuseSpanIDs(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, name := range []string{"checkout", "search"} {
		tid := pcommon.TraceID{byte(i + 1)}
		req := ss.AppendEmpty()
		req.SetTraceID(tid)
		req.SetSpanID(pcommon.SpanID{1})
		req.SetKind(ptrace.SpanKindServer)
		req.SetName(name)
		dep := ss.AppendEmpty()
		dep.SetTraceID(tid)
		dep.SetSpanID(pcommon.SpanID{2})
		dep.SetParentSpanID(pcommon.SpanID{1})
		dep.SetKind(ptrace.SpanKindClient)
		dep.SetName("call")
	}
	m := newMapper()
	rows, err := m.Traces(td)
	if err != nil {
		t.Fatal(err)
	}
	op, opName := m.l.dependencies.pos["OperationId"], m.l.dependencies.pos["OperationName"]
	got := map[string]string{}
	for _, r := range rows[store.AppDependencies] {
		got[r[op].(string)] = r[opName].(string)
	}
	want := map[string]string{
		pcommon.TraceID{1}.String(): "checkout",
		pcommon.TraceID{2}.String(): "search",
	}
	if !maps.Equal(got, want) {
		t.Errorf("OperationName by OperationId = %v, want %v", got, want)
	}
}
