package queryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// MaxBodyBytes is the largest request body read; a query is text of a few
// KiB, so a megabyte leaves room without letting a client fill memory.
const MaxBodyBytes = 1 << 20

// DefaultQueryTimeout bounds one query; Log Analytics' default is 3 minutes,
// but an interactive API should answer or fail well before that.
const DefaultQueryTimeout = time.Minute

// DefaultMaxConcurrentQueries is how many queries run at once. The store's
// memory limit is shared by every running query (DuckDB's is one for the
// database), so a few at a time each get a useful share; more wait for none
// and are answered 429 at once.
const DefaultMaxConcurrentQueries = 4

// Querier runs a caller's query over the rows its scope allows: a store, or a
// Lazy one.
type Querier interface {
	QueryScoped(ctx context.Context, query string, scope store.Scope) (*store.Result, error)
}

// Server is the HTTP API over a store.
type Server struct {
	// Addr is the listen address, e.g. "127.0.0.1:9090".
	Addr  string
	Store Querier
	// QueryTimeout bounds each query; zero means DefaultQueryTimeout.
	QueryTimeout time.Duration
	// MaxConcurrentQueries caps the queries running at once; zero means
	// DefaultMaxConcurrentQueries.
	MaxConcurrentQueries int
	// MaxBodyBytes caps a request's body; zero means MaxBodyBytes.
	MaxBodyBytes int64
	// Auth authenticates callers and says which rows each may read. A
	// server without one answers every query 401.
	Auth Authorizer
	// AllowedHosts are the host names (without port) a request's Host may
	// name besides localhost and IP addresses, e.g. the Service's
	// "tugboat-api.tugboat-system.svc". A browser sends the name of the page
	// it came from; refusing other names stops DNS rebinding.
	AllowedHosts []string

	slotsOnce sync.Once
	slots     chan struct{}
}

// QueryRequest is the body of POST /api/v1/query.
type QueryRequest struct {
	Query string `json:"query"`
}

// ErrorResponse is the body of every error answer. Line and Column are set
// (1-based) when the error is at a place in the query.
type ErrorResponse struct {
	Error  string `json:"error"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// NeedLeaderElection is false: every replica answers queries.
func (s *Server) NeedLeaderElection() bool { return false }

// Start listens on Addr and serves until ctx ends (a manager.Runnable).
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("failed to listen for the HTTP API on %s: %w", s.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// controller-runtime's manager.Server serves until ctx ends and then shuts down
	// gracefully, as the manager's own metrics and probe servers do.
	shutdownTimeout := 5 * time.Second
	srv := &manager.Server{
		Name:            "http-api",
		Listener:        ln,
		ShutdownTimeout: &shutdownTimeout,
		Server: &http.Server{
			Handler:           s.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		},
	}
	log.FromContext(ctx).Info("serving the HTTP API", "address", ln.Addr().String())
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("HTTP API server stopped: %w", err)
	}
	return nil
}

// Handler routes the API. Other methods on a known path get 405, any other
// path 404 (Go's ServeMux).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/query", s.query)
	return mux
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if !s.hostAllowed(r.Host) {
		writeError(w, http.StatusMisdirectedRequest, ErrorResponse{Error: "this server does not answer for the host the request names"})
		return
	}
	// A browser sends a cross-origin form or text/plain body without asking
	// first; only application/json needs a CORS preflight, which this
	// server never grants.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, ErrorResponse{Error: fmt.Sprintf("the body must be application/json, not %q", r.Header.Get("Content-Type"))})
		return
	}
	scope, err := s.authorize(r)
	if err != nil {
		if errors.Is(err, errUnauthenticated) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tugboat"`)
			writeError(w, http.StatusUnauthorized, ErrorResponse{Error: "a bearer token the cluster accepts is required (Authorization: Bearer <token>)"})
			return
		}
		log.FromContext(r.Context()).Error(err, "failed to authorize a query")
		writeError(w, http.StatusServiceUnavailable, ErrorResponse{Error: "the cluster could not review the caller's token or rights; retry later"})
		return
	}
	maxBody := s.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = MaxBodyBytes
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var req QueryRequest
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, ErrorResponse{Error: fmt.Sprintf("the body is larger than %d bytes", maxBody)})
			return
		}
		writeError(w, http.StatusBadRequest, ErrorResponse{Error: fmt.Sprintf("the body must be a JSON object {\"query\": \"...\"}: %v", err)})
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, ErrorResponse{Error: "the body must hold one JSON object"})
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeError(w, http.StatusBadRequest, ErrorResponse{Error: "query is empty"})
		return
	}
	release, ok := s.acquire()
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, ErrorResponse{Error: fmt.Sprintf("%d queries are running, the most this server runs at once; retry shortly", cap(s.slots))})
		return
	}
	defer release()
	timeout := s.QueryTimeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	res, err := s.Store.QueryScoped(ctx, req.Query, scope)
	if err != nil {
		code, answer := errorAnswer(err, timeout)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
			log.FromContext(r.Context()).Error(err, "no store to query")
		}
		if code == http.StatusInternalServerError {
			// The engine's own text may name files, settings or internals:
			// it goes to the log, not to the caller.
			log.FromContext(r.Context()).Error(err, "query failed")
		}
		writeError(w, code, answer)
		return
	}
	writeJSON(w, http.StatusOK, store.ToJSON(res))
}

// StoreUnavailableMessage is the answer to a query when the store cannot be
// reached; the controller's log has the driver's own words (addresses, errors).
const StoreUnavailableMessage = "the store (ClickHouse) is unavailable: the controller cannot reach it; " +
	"install it with `tugboat install --observe`, or see the controller's log and retry later"

// errorAnswer maps a failed query to its status and answer. Only errors of
// ours reach the caller in words: the query's own mistakes, the limit it
// went past, its deadline; anything else is a bare 500.
func errorAnswer(err error, timeout time.Duration) (int, ErrorResponse) {
	var qe *store.QueryError
	var le *store.LimitError
	var ue *UnavailableError
	switch {
	case errors.As(err, &ue):
		return http.StatusServiceUnavailable, ErrorResponse{Error: StoreUnavailableMessage}
	case errors.As(err, &qe):
		line, col := qe.Position()
		return http.StatusBadRequest, ErrorResponse{Error: qe.Format(), Line: line, Column: col}
	case errors.As(err, &le):
		return http.StatusUnprocessableEntity, ErrorResponse{Error: le.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, ErrorResponse{Error: fmt.Sprintf("the query did not finish within %s", timeout)}
	}
	return http.StatusInternalServerError, ErrorResponse{Error: "the store failed to run the query; the controller's log has the details"}
}

func (s *Server) authorize(r *http.Request) (store.Scope, error) {
	if s.Auth == nil {
		return store.Scope{}, errUnauthenticated
	}
	return s.Auth.Authorize(r.Context(), r)
}

// hostAllowed reports whether a request's Host names this server: an IP
// address (a rebinding page cannot make a browser send one for its own
// name), localhost, or one of AllowedHosts.
func (s *Server) hostAllowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "localhost" {
		return true
	}
	for _, h := range s.AllowedHosts {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// acquire takes one of the query slots, without waiting.
func (s *Server) acquire() (release func(), ok bool) {
	s.slotsOnce.Do(func() {
		n := s.MaxConcurrentQueries
		if n <= 0 {
			n = DefaultMaxConcurrentQueries
		}
		s.slots = make(chan struct{}, n)
	})
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, true
	default:
		return nil, false
	}
}

func writeError(w http.ResponseWriter, code int, e ErrorResponse) { writeJSON(w, code, e) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// The status is sent; an encoding error can only be the client going away.
	_ = json.NewEncoder(w).Encode(v)
}

// Options configure the API in the controller process.
type Options struct {
	// Addr is the listen address ("" or "0" disables the API).
	Addr string
	// DataDir holds the DuckDB store when ClickHouseDSN is empty.
	DataDir string
	// ClickHouseDSN selects a ClickHouse server as the store.
	ClickHouseDSN string
	// AllowedHosts are the names a request's Host may give besides
	// localhost and IP addresses (Server.AllowedHosts).
	AllowedHosts []string
	// Limits bound each query and the API; zero fields take the defaults.
	Limits Limits
}

// Limits are what an operator may tune of a query's resources (the
// controller's --query-* flags). Zero fields take the defaults.
type Limits struct {
	// Timeout bounds one query (DefaultQueryTimeout).
	Timeout time.Duration
	// Concurrent caps the queries running at once (DefaultMaxConcurrentQueries).
	Concurrent int
	// BodyBytes caps a request's body (MaxBodyBytes).
	BodyBytes int64
	// Rows caps a result (store.DefaultMaxRows); more is "truncated".
	Rows int
	// Store bounds the engine's memory, spill and threads.
	Store store.Limits
}

// Ranges an operator's limits must fall in: past them a value is a mistake
// (a unit missed, a sign flipped), refused rather than taken.
var limitRanges = map[string]struct {
	value    func(Limits) int64
	min, max int64
	unit     string
}{
	"--query-timeout":        {func(l Limits) int64 { return int64(l.Timeout) }, int64(time.Second), int64(time.Hour), "duration"},
	"--query-concurrency":    {func(l Limits) int64 { return int64(l.Concurrent) }, 1, 256, "count"},
	"--query-max-body-bytes": {func(l Limits) int64 { return l.BodyBytes }, 1 << 10, 64 << 20, "bytes"},
	"--query-max-rows":       {func(l Limits) int64 { return int64(l.Rows) }, 1, 100_000_000, "count"},
	"--query-memory-limit":   {func(l Limits) int64 { return l.Store.MemoryBytes }, 16 << 20, 1 << 40, "bytes"},
	"--query-temp-limit":     {func(l Limits) int64 { return l.Store.TempBytes }, 1 << 20, 1 << 40, "bytes"},
	"--query-threads":        {func(l Limits) int64 { return int64(l.Store.Threads) }, 1, 256, "count"},
}

// Validate refuses a limit out of its range, naming the flag.
func (l Limits) Validate() error {
	names := make([]string, 0, len(limitRanges))
	for n := range limitRanges {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := limitRanges[n]
		v := r.value(l)
		if v == 0 {
			continue // the default
		}
		if v < r.min || v > r.max {
			show := func(x int64) string { return strconv.FormatInt(x, 10) }
			if r.unit == "duration" {
				show = func(x int64) string { return time.Duration(x).String() }
			}
			return fmt.Errorf("%s %s is out of range: give between %s and %s", n, show(v), show(r.min), show(r.max))
		}
	}
	return nil
}

// DefaultAddr is the API's listen address unless told otherwise: loopback,
// so that a controller run outside a cluster does not answer its network.
// The shipped Deployment listens on the pod's addresses, behind a
// NetworkPolicy.
const DefaultAddr = "127.0.0.1:9090"

// Open opens the store the options name.
func Open(ctx context.Context, o Options) (store.Store, error) {
	so := store.Options{MaxRows: o.Limits.Rows, Limits: o.Limits.Store}
	if o.ClickHouseDSN != "" {
		return store.OpenClickHouse(ctx, o.ClickHouseDSN, so)
	}
	return store.OpenDuckDB(ctx, o.DataDir, so)
}
