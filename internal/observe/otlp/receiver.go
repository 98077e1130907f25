package otlp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The standard OTLP ports, on loopback: a receiver open to the network is a
// choice the user makes with an address.
const (
	DefaultGRPCAddr = "127.0.0.1:4317"
	DefaultHTTPAddr = "127.0.0.1:4318"
)

// DefaultMaxRequestBytes is the largest request accepted, decompressed: the
// OpenTelemetry Collector's gRPC default, and 8 batches of 512 spans with
// ten attributes each.
const DefaultMaxRequestBytes = 4 << 20

// DefaultMaxInFlightBytes bounds the request bytes being decoded, mapped
// or stored at once; decoded data takes a few times its wire size.
const DefaultMaxInFlightBytes = 64 << 20

// Options configure the receivers. Zero values mean the defaults.
type Options struct {
	// GRPCAddr and HTTPAddr are where to listen; "-" turns one off.
	GRPCAddr, HTTPAddr string
	// MaxRequestBytes refuses larger requests (after decompression).
	MaxRequestBytes int64
	// MaxInFlightBytes bounds the memory of requests being handled.
	MaxInFlightBytes int64
	// QueueWait is how long a request waits for room before it is told to
	// retry: the store cannot keep up.
	QueueWait time.Duration
	// RetryAfter is the delay a refused sender is asked to wait.
	RetryAfter time.Duration
	// Log receives one line per refused request.
	Log logr.Logger
	// Now is the clock for log records without a time.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.GRPCAddr == "" {
		o.GRPCAddr = DefaultGRPCAddr
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.MaxInFlightBytes <= 0 {
		o.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	if o.MaxInFlightBytes < o.MaxRequestBytes {
		o.MaxInFlightBytes = o.MaxRequestBytes
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 2 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Receiver takes OTLP traces and logs and appends them to a store. A request
// is answered only after its rows are stored, or with a retryable error:
// nothing acknowledged is lost, nothing is dropped unsaid.
type Receiver struct {
	opts     Options
	mapper   *mapper
	inFlight *semaphore.Weighted
	commits  *groupCommit

	grpcLn, httpLn net.Listener
	grpcSrv        *grpc.Server
	httpSrv        *http.Server
}

// Errors of consume, which the transports turn into their status codes.
var (
	// errInvalid is the sender's fault: do not retry.
	errInvalid = errors.New("invalid request")
	// errBusy is the store falling behind (or failing): retry later.
	errBusy = errors.New("the store cannot keep up")
)

// New makes a receiver that writes to app, without listening; Listen (or
// Handler) serves it.
func New(app store.Appender, opts Options) *Receiver {
	opts = opts.withDefaults()
	return &Receiver{opts: opts, mapper: newMapper(), inFlight: semaphore.NewWeighted(opts.MaxInFlightBytes),
		commits: &groupCommit{app: app, ops: newOperationRanges()}}
}

// Listen binds the gRPC and HTTP addresses, so that a taken port is an
// error now rather than in Serve.
func (r *Receiver) Listen() error {
	var lc net.ListenConfig
	if r.opts.GRPCAddr != "-" {
		ln, err := lc.Listen(context.Background(), "tcp", r.opts.GRPCAddr)
		if err != nil {
			return fmt.Errorf("failed to listen for OTLP/gRPC on %s: %w", r.opts.GRPCAddr, err)
		}
		r.grpcLn = ln
	}
	if r.opts.HTTPAddr != "-" {
		ln, err := lc.Listen(context.Background(), "tcp", r.opts.HTTPAddr)
		if err != nil {
			if r.grpcLn != nil {
				_ = r.grpcLn.Close()
			}
			return fmt.Errorf("failed to listen for OTLP/HTTP on %s: %w", r.opts.HTTPAddr, err)
		}
		r.httpLn = ln
	}
	return nil
}

// GRPCAddr and HTTPAddr are the bound addresses (nil when off or before
// Listen).
func (r *Receiver) GRPCAddr() net.Addr { return addr(r.grpcLn) }

// HTTPAddr is the bound OTLP/HTTP address.
func (r *Receiver) HTTPAddr() net.Addr { return addr(r.httpLn) }

func addr(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}

// Serve serves the bound listeners until ctx ends, then stops taking
// requests and waits for those being handled, so that every answered
// request is stored before it returns.
func (r *Receiver) Serve(ctx context.Context) error {
	if r.grpcLn == nil && r.httpLn == nil {
		if err := r.Listen(); err != nil {
			return err
		}
	}
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	if r.grpcLn != nil {
		r.grpcSrv = r.newGRPCServer()
		wg.Go(func() {
			if err := r.grpcSrv.Serve(r.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errs <- fmt.Errorf("failed to serve OTLP/gRPC: %w", err)
			}
		})
	}
	if r.httpLn != nil {
		r.httpSrv = &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			MaxHeaderBytes: 64 << 10}
		wg.Go(func() {
			if err := r.httpSrv.Serve(r.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("failed to serve OTLP/HTTP: %w", err)
			}
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.httpSrv != nil {
		_ = r.httpSrv.Shutdown(stopCtx)
	}
	if r.grpcSrv != nil {
		stopped := make(chan struct{})
		go func() { r.grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-stopCtx.Done():
			r.grpcSrv.Stop()
		}
	}
	wg.Wait()
	return err
}

// admit waits up to QueueWait for room for n bytes in flight; it fails with
// errBusy when there is none, which senders retry after RetryAfter.
func (r *Receiver) admit(ctx context.Context, n int64) (release func(), err error) {
	if n > r.opts.MaxInFlightBytes {
		n = r.opts.MaxInFlightBytes
	}
	if r.inFlight.TryAcquire(n) {
		return func() { r.inFlight.Release(n) }, nil
	}
	wctx, cancel := context.WithTimeout(ctx, r.opts.QueueWait)
	defer cancel()
	if err := r.inFlight.Acquire(wctx, n); err != nil {
		return nil, fmt.Errorf("%w: %d bytes of requests are already being stored", errBusy, r.opts.MaxInFlightBytes)
	}
	return func() { r.inFlight.Release(n) }, nil
}

// consumeTraces maps and stores a decoded request.
func (r *Receiver) consumeTraces(td ptrace.Traces) error {
	rows, err := r.mapper.Traces(td)
	if err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	return r.store(rows)
}

func (r *Receiver) consumeLogs(ld plog.Logs) error {
	rows, err := r.mapper.Logs(ld, r.opts.Now())
	if err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	return r.store(rows)
}

// store appends the rows of one request, with those of other requests
// waiting at the same time. A failure asks the sender to retry: the store's
// errors are those of the store (full disk, a ClickHouse away), since the
// mapping only makes values of the right types.
func (r *Receiver) store(rows Rows) error {
	if rows.Len() == 0 {
		return nil
	}
	return r.commits.commit(rows)
}
