// Command shop is the demo's two-service app (issue 22, "Demo"): a frontend calling a
// backend that calls a store, each a process of its own, instrumented with the
// OpenTelemetry Go SDK and otelhttp, exporting its traces over OTLP/HTTP where the
// standard OTEL_EXPORTER_OTLP_* variables say (make demo points them at a tugboat
// agent). The backend's /api/orders fails now and then with a recorded exception, so
// that AppExceptions and a failed trace have something to show.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	role := flag.String("role", "", "which service to run: frontend, backend or store")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	backend := flag.String("backend", "", "the backend's base URL (frontend)")
	store := flag.String("store", "", "the store's base URL (backend)")
	failEvery := flag.Int("fail-every", 5, "the backend fails one /api/orders call in this many, on average")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *role, *addr, *backend, *store, *failEvery); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, role, addr, backend, store string, failEvery int) error {
	var h http.Handler
	switch role {
	case "frontend":
		h = frontend(backend)
	case "backend":
		h = backendHandler(store, failEvery)
	case "store":
		h = storeHandler()
	default:
		return fmt.Errorf("unknown -role %q: use frontend, backend or store", role)
	}
	tp, err := tracerProvider(ctx, "shop-"+role)
	if err != nil {
		return err
	}
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The route (e.g. "GET /api/orders") names the server span, as otelhttp's users do.
	srv := &http.Server{Handler: otelhttp.NewHandler(h, role, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
		if r.Pattern != "" {
			return r.Pattern
		}
		return r.Method
	})), ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("%s listening on http://%s\n", role, ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Flush what the batch processor holds before the process ends.
	flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return tp.Shutdown(flush)
}

func tracerProvider(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracehttp.New(ctx) // OTEL_EXPORTER_OTLP_ENDPOINT and friends
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(
		attribute.String("service.name", service), attribute.String("service.version", "1.0.0"),
		attribute.String("service.instance.id", host+"-"+strconv.Itoa(os.Getpid()))), resource.WithFromEnv())
	if err != nil {
		return nil, err
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// client calls the next service with the trace context, and a client span per call.
var client = &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport), Timeout: 10 * time.Second}

func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}

// frontend renders the shop's page from the backend's users and orders.
func frontend(backend string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var page string
		for _, path := range []string{"/api/users", "/api/orders"} {
			code, body, err := get(ctx, backend+path)
			if err != nil || code != http.StatusOK {
				_, span := otel.Tracer("shop/frontend").Start(ctx, "render error page")
				time.Sleep(time.Duration(1+rand.IntN(3)) * time.Millisecond)
				span.End()
				http.Error(w, "the shop is unavailable", http.StatusBadGateway)
				return
			}
			page += body
		}
		_, _ = io.WriteString(w, page)
	})
	return mux
}

// backendHandler serves the API from the store; one /api/orders call in failEvery
// fails with a recorded exception.
func backendHandler(store string, failEvery int) http.Handler {
	var calls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users", func(w http.ResponseWriter, r *http.Request) {
		proxy(w, r, store+"/tables/users")
	})
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if failEvery > 0 && rand.IntN(failEvery) == 0 {
			err := &StockError{Item: "sku-" + strconv.Itoa(rand.IntN(100))}
			span := trace.SpanFromContext(r.Context())
			span.RecordError(err, trace.WithStackTrace(true))
			span.SetStatus(codes.Error, err.Error())
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		proxy(w, r, store+"/tables/orders")
	})
	return mux
}

// StockError is the backend's failure: an order for an item out of stock.
type StockError struct{ Item string }

func (e *StockError) Error() string { return "out of stock: " + e.Item }

func proxy(w http.ResponseWriter, r *http.Request, url string) {
	code, body, err := get(r.Context(), url)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// storeHandler is the store: a table scan, as a database client span would show it.
func storeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tables/{table}", func(w http.ResponseWriter, r *http.Request) {
		table := r.PathValue("table")
		_, span := otel.Tracer("shop/store").Start(r.Context(), "SELECT "+table, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("db.system.name", "sqlite"), attribute.String("db.namespace", "shop"),
				attribute.String("db.query.text", "SELECT * FROM "+table)))
		time.Sleep(time.Duration(2+rand.IntN(20)) * time.Millisecond)
		span.End()
		_, _ = fmt.Fprintf(w, "[%s]\n", table)
	})
	return mux
}
