package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/collect"
	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// AgentOptions configure the agent process (`tugboat agent`).
type AgentOptions struct {
	// Collect chooses and configures the collectors; with no collector only the OTLP
	// receivers run, and no cluster is needed.
	Collect collect.Options
	// DataDir holds the embedded DuckDB store, unless ClickHouseDSN names a server.
	DataDir       string
	ClickHouseDSN string
	// OTLPGRPCAddr and OTLPHTTPAddr are the OTLP receivers' addresses; "" turns one off.
	OTLPGRPCAddr, OTLPHTTPAddr string
	// OTLPMaxRequestBytes and OTLPMaxInFlightBytes bound the receivers (zero:
	// otlp's defaults).
	OTLPMaxRequestBytes, OTLPMaxInFlightBytes int64
	// MetricsAddr serves the agent's Prometheus /metrics (rows dropped, bytes
	// held while the store is down); "" or "0" serves none.
	MetricsAddr string
	// Listening, if set, is called once the receivers are bound, with where they
	// listen ("" when both are off).
	Listening func(where string)
}

// Agent is the agent process: the collectors and OTLP receivers, and the store they fill.
type Agent struct {
	Options AgentOptions
	counter collect.Counter
	spool   atomic.Pointer[collect.Spool]
}

// Ranges of the OTLP limits: past them a value is a mistake, refused.
const (
	minOTLPBytes = 1 << 10
	maxOTLPBytes = 4 << 30
)

// Validate refuses an option out of its range, naming the flag.
func (o AgentOptions) Validate() error {
	for _, l := range []struct {
		flag string
		v    int64
	}{{"--otlp-max-request-bytes", o.OTLPMaxRequestBytes}, {"--otlp-max-inflight-bytes", o.OTLPMaxInFlightBytes}} {
		if l.v != 0 && (l.v < minOTLPBytes || l.v > maxOTLPBytes) {
			return fmt.Errorf("%s %d is out of range: give between 1Ki and 4Gi", l.flag, l.v)
		}
	}
	if o.OTLPMaxRequestBytes > 0 && o.OTLPMaxInFlightBytes > 0 && o.OTLPMaxInFlightBytes < o.OTLPMaxRequestBytes {
		return fmt.Errorf("--otlp-max-inflight-bytes %d is less than --otlp-max-request-bytes %d: no request would fit", o.OTLPMaxInFlightBytes, o.OTLPMaxRequestBytes)
	}
	return nil
}

// Run opens the store, runs the collectors and the OTLP receivers into it until ctx
// ends and closes the store. The receivers answer a request only once it is stored, so
// they finish before the store closes; closing flushes its batches, so what the
// collectors flushed on their way out is stored when Run returns.
func (a *Agent) Run(ctx context.Context, cfg *rest.Config) error {
	o := a.Options
	if len(o.Collect.Collect) > 0 {
		if err := o.Collect.Validate(); err != nil {
			return err
		}
	} else if o.OTLPGRPCAddr == "" && o.OTLPHTTPAddr == "" {
		return errors.New("no collector and both OTLP receivers off leave the agent nothing to do")
	}
	if err := o.Validate(); err != nil {
		return err
	}
	registry := prometheus.NewRegistry()
	o.Collect.Metrics = registry
	o.Collect.Spool = func(s *collect.Spool) { a.spool.Store(s) }
	stopMetrics, err := serveMetrics(ctx, o.MetricsAddr, registry)
	if err != nil {
		return err
	}
	defer stopMetrics()
	st, err := openAgentStore(ctx, o)
	if err != nil {
		return err
	}
	a.counter.Appender = st
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	where, waitOTLP, err := startOTLP(ctx, cancel, &a.counter, o)
	if err != nil {
		return errors.Join(err, st.Close())
	}
	if o.Listening != nil {
		o.Listening(where)
	}
	var runErr error
	if len(o.Collect.Collect) > 0 {
		runErr = collect.Run(ctx, cfg, &a.counter, o.Collect)
	} else {
		<-ctx.Done() // only the OTLP receivers run, for apps outside a cluster
	}
	cancel()
	runErr = errors.Join(runErr, waitOTLP())
	return errors.Join(runErr, st.Close())
}

// Counts returns the rows stored so far per table, for progress.
func (a *Agent) Counts() map[string]int { return a.counter.Counts() }

// Dropped returns the rows dropped so far per table because the store could
// not take them and the buffer was full; nil before the collectors start.
func (a *Agent) Dropped() map[string]int64 {
	if s := a.spool.Load(); s != nil {
		return s.DroppedTotal()
	}
	return nil
}

// serveMetrics serves registry's /metrics on addr until stop is called; an
// empty or "0" addr serves nothing.
func serveMetrics(ctx context.Context, addr string, registry *prometheus.Registry) (stop func(), err error) {
	if addr == "" || addr == "0" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen for /metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "the agent's /metrics server failed")
		}
	}()
	return func() { _ = srv.Close() }, nil
}

// startOTLP binds the OTLP receivers (a taken port is an error now) and serves them
// into app until ctx ends; a receiver that fails cancels the agent. where says where
// they listen; wait returns once the requests in flight are stored.
func startOTLP(ctx context.Context, cancel func(), app store.Appender, o AgentOptions) (where string, wait func() error, err error) {
	if o.OTLPGRPCAddr == "" && o.OTLPHTTPAddr == "" {
		return "", func() error { return nil }, nil
	}
	r := otlp.New(app, otlp.Options{GRPCAddr: orOff(o.OTLPGRPCAddr), HTTPAddr: orOff(o.OTLPHTTPAddr), Log: klog.FromContext(ctx).WithName("otlp"),
		MaxRequestBytes: o.OTLPMaxRequestBytes, MaxInFlightBytes: o.OTLPMaxInFlightBytes})
	if err := r.Listen(); err != nil {
		return "", nil, err
	}
	var parts []string
	if a := r.GRPCAddr(); a != nil {
		parts = append(parts, "gRPC "+a.String())
	}
	if a := r.HTTPAddr(); a != nil {
		parts = append(parts, "HTTP "+a.String())
	}
	return strings.Join(parts, ", "), serveOTLP(ctx, cancel, r), nil
}

// serveOTLP serves a bound receiver until ctx ends; one that fails cancels the
// process's work. The function it returns waits until the requests in flight
// are stored and gives Serve's error.
func serveOTLP(ctx context.Context, cancel func(), r *otlp.Receiver) (wait func() error) {
	done := make(chan error, 1)
	go func() {
		err := r.Serve(ctx)
		if err != nil {
			cancel()
		}
		done <- err
	}()
	return func() error { return <-done }
}

// orOff spells an address that is off the way otlp.Options does.
func orOff(addr string) string {
	if addr == "" {
		return "-"
	}
	return addr
}

// agentStore is what the agent writes to and closes.
type agentStore interface {
	store.Appender
	Close() error
}

func openAgentStore(ctx context.Context, o AgentOptions) (agentStore, error) {
	if o.ClickHouseDSN != "" {
		return store.OpenClickHouse(ctx, o.ClickHouseDSN, store.Options{})
	}
	return store.OpenDuckDB(ctx, o.DataDir, store.Options{})
}
