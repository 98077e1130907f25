package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ControllerServiceName is the service.name of the controller's spans: the
// AppRoleName of its rows in AppRequests and AppDependencies.
const ControllerServiceName = "tugboat-controller"

// TracingOptions say where the controller's own spans go. Nothing is exported, and
// no span is even started, unless Endpoint is set or the standard OpenTelemetry
// environment asks for an exporter (Env; see Enabled).
type TracingOptions struct {
	// Endpoint is an OTLP endpoint URL (--otlp-endpoint), e.g.
	// http://127.0.0.1:4318 for a tugboat agent's HTTP receiver, or
	// http://collector:4317 with Protocol grpc.
	Endpoint string
	// Protocol is "grpc" or "http/protobuf" (--otlp-protocol); "" takes
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf.
	Protocol string
	// Env reads the environment (os.Getenv in the command; a map in tests).
	Env func(string) string
	// Version is the service.version of the spans.
	Version string
	// Provider, when set, is used as it is (tests); the other fields are ignored.
	Provider trace.TracerProvider
}

// Enabled reports whether spans are to be recorded: an endpoint was given, or the
// standard variables name an exporter (OTEL_TRACES_EXPORTER other than none) or an
// endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and
// OTEL_SDK_DISABLED is not true. Unlike the SDK's default, an unset environment
// exports nothing: a controller must not send to localhost:4318 because nobody said
// otherwise.
func (o TracingOptions) Enabled() bool {
	if o.Provider != nil {
		return true
	}
	env := o.getenv
	if env("OTEL_SDK_DISABLED") == "true" {
		return false
	}
	if o.Endpoint != "" {
		return true
	}
	if e := env("OTEL_TRACES_EXPORTER"); e != "" {
		return e != "none"
	}
	return env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func (o TracingOptions) getenv(k string) string {
	if o.Env == nil {
		return ""
	}
	return o.Env(k)
}

// newTracerProvider returns the provider of the controller's spans and the function
// that flushes and stops it, or nil when tracing is off.
func newTracerProvider(ctx context.Context, o TracingOptions) (trace.TracerProvider, func(context.Context) error, error) {
	if o.Provider != nil {
		return o.Provider, func(context.Context) error { return nil }, nil
	}
	if !o.Enabled() {
		return nil, func(context.Context) error { return nil }, nil
	}
	exp, err := newSpanExporter(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	res, err := controllerResource(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	// The batch processor bounds what waits for export (2048 spans, dropped beyond:
	// tracing must never hold a reconcile back) and sends in the background. The
	// sampler is the SDK's: parent-based always-on, or OTEL_TRACES_SAMPLER.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

// newSpanExporter builds the OTLP exporter for Endpoint, or the exporter the
// environment names (the contrib autoexport package reads OTEL_TRACES_EXPORTER and
// the protocol variables). Either way the SDK exporter reads the other standard
// variables itself (headers, TLS certificates, timeout, compression).
func newSpanExporter(ctx context.Context, o TracingOptions) (sdktrace.SpanExporter, error) {
	if o.Endpoint == "" {
		exp, err := autoexport.NewSpanExporter(ctx)
		if err != nil {
			return nil, fmt.Errorf("failed to create the span exporter from OTEL_TRACES_EXPORTER: %w", err)
		}
		return exp, nil
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --otlp-endpoint %q: want an http:// or https:// URL, e.g. http://127.0.0.1:4318", o.Endpoint)
	}
	protocol := o.Protocol
	if protocol == "" {
		protocol = o.getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	}
	if protocol == "" {
		protocol = o.getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	switch protocol {
	case "", "http/protobuf":
		// An endpoint URL without a path sends to /v1/traces, as the variable does.
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(tracesPath(u))}
		if u.Scheme == "http" {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(o.Endpoint))
	default:
		return nil, fmt.Errorf("invalid --otlp-protocol %q: use grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to create the OTLP exporter for %s: %w", o.Endpoint, err)
	}
	return exp, nil
}

func tracesPath(u *url.URL) string {
	if u.Path == "" || u.Path == "/" {
		return "/v1/traces"
	}
	return u.Path
}

// controllerResource describes the process: service.name tugboat-controller (unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise), its version, and its
// instance: the pod's name in a cluster (the hostname), so that AppRoleInstance tells
// the replicas apart.
func controllerResource(ctx context.Context, o TracingOptions) (*resource.Resource, error) {
	host, _ := os.Hostname()
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			attribute.String("service.name", ControllerServiceName),
			attribute.String("service.version", o.Version),
			attribute.String("service.instance.id", host),
		),
		resource.WithFromEnv(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("failed to describe the controller for its spans: %w", err)
	}
	return res, nil
}

// tracerShutdown flushes the spans still queued when the manager stops. It is a
// runnable of its own that every replica runs (the webhook server traces on all).
type tracerShutdown struct {
	shutdown func(context.Context) error
}

func (t tracerShutdown) NeedLeaderElection() bool { return false }

func (t tracerShutdown) Start(ctx context.Context) error {
	<-ctx.Done()
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := t.shutdown(flush); err != nil {
		return fmt.Errorf("failed to flush the controller's spans: %w", err)
	}
	return nil
}
