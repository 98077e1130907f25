package queryapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// UnavailableError is a query that found no store to run on: it could not be
// opened (a ClickHouse that is down, not installed yet, or unreachable), or its
// connection broke. The API answers 503; the controller keeps running.
type UnavailableError struct {
	Err error
}

func (e *UnavailableError) Error() string { return "the store is unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// DefaultOpenTimeout bounds one attempt to open the store: a Service whose
// address answers nothing would otherwise hold a query for the driver's own
// dial timeout.
const DefaultOpenTimeout = 5 * time.Second

// DefaultReopenDelay is how long a failed open is remembered: queries in the
// meantime answer 503 at once instead of each dialling a store that is down.
const DefaultReopenDelay = 2 * time.Second

// Lazy is a store opened on the first query rather than when the controller
// starts, so that a store that is down (or not installed) does not keep the
// controller's reconcilers from running; its queries answer 503 meanwhile. A
// store whose connection breaks is closed and opened again on a later query.
type Lazy struct {
	// Open opens the store; it is called with a context bounded by OpenTimeout.
	Open func(ctx context.Context) (store.Store, error)
	// OpenTimeout bounds one attempt; zero means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// ReopenDelay is how long a failure is answered without trying again; zero
	// means DefaultReopenDelay.
	ReopenDelay time.Duration

	mu      sync.Mutex
	st      store.Store
	lastErr error
	failed  time.Time
	closed  bool
}

// QueryScoped runs the query on the store, opening it first if needed.
func (l *Lazy) QueryScoped(ctx context.Context, query string, scope store.Scope) (*store.Result, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := st.QueryScoped(ctx, query, scope)
	if err != nil && connectionLost(err) {
		l.drop(st, err)
		return nil, &UnavailableError{Err: err}
	}
	return res, err
}

// get returns the open store, or opens it.
func (l *Lazy) get(ctx context.Context) (store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, &UnavailableError{Err: errors.New("the API is stopping")}
	}
	if l.st != nil {
		return l.st, nil
	}
	delay := l.ReopenDelay
	if delay <= 0 {
		delay = DefaultReopenDelay
	}
	if l.lastErr != nil && time.Since(l.failed) < delay {
		return nil, &UnavailableError{Err: l.lastErr}
	}
	timeout := l.OpenTimeout
	if timeout <= 0 {
		timeout = DefaultOpenTimeout
	}
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := l.Open(octx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		l.lastErr, l.failed = err, time.Now()
		return nil, &UnavailableError{Err: err}
	}
	l.st, l.lastErr = st, nil
	return st, nil
}

// drop closes a store whose connection broke, so that the next query opens it
// again.
func (l *Lazy) drop(st store.Store, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st == st {
		_ = st.Close()
		l.st, l.lastErr, l.failed = nil, err, time.Now()
	}
}

// Close closes the store if it was opened; later queries answer 503.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.st == nil {
		return nil
	}
	err := l.st.Close()
	l.st = nil
	return err
}

// connectionLost reports whether a query failed because the store went away
// (refused, reset, closed), not because of the query.
func connectionLost(err error) bool {
	var qe *store.QueryError
	var le *store.LimitError
	if errors.As(err, &qe) || errors.As(err, &le) {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
