package receiver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

// MaxBodyBytes is the largest webhook body read; a larger one is answered 413 before
// any check. GitHub caps its payloads at 25 MB, but a push event is a few KiB and a
// receiver never needs the body beyond verifying it.
const MaxBodyBytes = 1 << 20

// webhookPathIndex indexes Receivers by status.webhookPath, so a call finds its
// Receiver in the cache without listing them all.
const webhookPathIndex = "tugboat.webhookPath"

// Server serves the webhook paths of every Ready Receiver. It reads Receivers and
// their Secrets from the manager's cache and writes only the reconcile-request
// annotation of their targets.
type Server struct {
	// Addr is the listen address, e.g. ":9292".
	Addr string
	// Client reads Receivers (with the webhookPathIndex) and Secrets, and patches targets.
	Client client.Client
	// Reader lists targets selected by labels, straight from the apiserver, so that a
	// selection does not start an informer per kind.
	Reader client.Reader
	// Informers is the manager's cache: the server learns the tokens of Receivers
	// from their informer's events (see learn).
	Informers cache.Informers
	// Tracer records authenticated calls as server spans (nil: not traced).
	Tracer trace.Tracer

	tokens *tokens
	limits limiters
	now    func() time.Time
}

// NeedLeaderElection is false: every replica answers webhooks; the annotations it
// writes are read by whichever replica leads.
func (s *Server) NeedLeaderElection() bool { return false }

// Start listens on Addr and serves until ctx ends (a manager.Runnable).
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("failed to listen for webhooks on %s: %w", s.Addr, err)
	}
	// controller-runtime's manager.Server serves until ctx ends and then shuts down
	// gracefully, as the manager's own metrics and probe servers do.
	shutdownTimeout := 5 * time.Second
	srv := &manager.Server{
		Name:            "webhook-receiver",
		Listener:        ln,
		ShutdownTimeout: &shutdownTimeout,
		Server: &http.Server{
			Handler:           s.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		},
	}
	inf, err := s.Informers.GetInformer(ctx, &notificationv1.Receiver{})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("failed to watch Receivers for the webhook server: %w", err)
	}
	learn := func(obj any) { s.learn(ctx, obj) }
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    learn,
		UpdateFunc: func(_, obj any) { learn(obj) },
		DeleteFunc: s.forget,
	}); err != nil {
		_ = ln.Close()
		return fmt.Errorf("failed to watch Receivers for the webhook server: %w", err)
	}
	log.FromContext(ctx).Info("serving webhooks", "address", ln.Addr().String())
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("webhook server stopped: %w", err)
	}
	return nil
}

// Handler routes POST /hook/<digest> to the Receiver whose status.webhookPath it is.
// Other methods on a hook path get 405, any other path 404 (Go's ServeMux).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+notificationv1.ReceiverWebhookPath+"{digest}", s.handle)
	return mux
}

// handle answers one webhook call. The order is the point: the Receiver and its token
// are found in memory (the informer cache and the token table); the call is
// authenticated and rate-limited before any request to the apiserver; and the answer
// never says whether a target exists (a missing one is logged, not told).
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	logger := log.FromContext(ctx).WithName("receiver")
	path := r.URL.Path
	var list notificationv1.ReceiverList
	if err := s.Client.List(ctx, &list, client.MatchingFields{webhookPathIndex: path}); err != nil {
		logger.Error(err, "failed to look up the Receiver of a webhook call")
		http.Error(w, "failed to look up the receiver", http.StatusInternalServerError)
		return
	}
	if len(list.Items) == 0 {
		http.NotFound(w, r)
		return
	}
	rcv := &list.Items[0]
	key := client.ObjectKeyFromObject(rcv)
	logger = logger.WithValues("receiver", key.String())
	if rcv.Spec.Suspend || !meta.IsReady(rcv) {
		http.Error(w, "receiver is suspended or not ready", http.StatusServiceUnavailable)
		return
	}
	token, ok := s.tokens.get(key, path)
	if !ok {
		// Not read yet on this replica (the informer handler is reading it), or the
		// token changed under another path.
		http.Error(w, "receiver is not ready", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			logger.Info("refused a webhook call", "reason", "body over the limit", "limit", MaxBodyBytes)
			http.Error(w, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "failed to read the body", http.StatusBadRequest)
		return
	}
	v, err := verify(rcv.Spec.Type, token, rcv.Spec.Events, requireSHA256(rcv), call{header: r.Header, body: body})
	switch {
	case errors.Is(err, errUnauthenticated):
		logger.Info("refused a webhook call", "reason", err.Error())
		http.Error(w, "signature or token is missing or wrong", http.StatusUnauthorized)
		return
	case err != nil:
		logger.Info("refused a webhook call", "reason", err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case v.ping:
		_, _ = io.WriteString(w, "pong\n")
		return
	}
	if !s.limits.allow(key) {
		logger.Info("refused a webhook call", "reason", "rate limit", "burst", callLimitBurst, "perSecond", callLimitPerSecond)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many calls for this receiver", http.StatusTooManyRequests)
		return
	}
	// Traced from here: a call that is authenticated and within the rate limit.
	// Refused calls record nothing, so nobody can fill the trace tables from outside.
	ctx, sw, end := s.startSpan(ctx, w, r, start, rcv)
	defer end()
	w = sw
	// The caller is authenticated: now the Secret may be read, live, to retire a
	// rotated token at once (the table is refreshed only when the Receiver changes).
	current, err := readToken(ctx, s.Client, rcv)
	if err != nil {
		logger.Error(err, "failed to read the token")
		http.Error(w, "receiver is not ready", http.StatusServiceUnavailable)
		return
	}
	if subtle.ConstantTimeCompare(current, token) != 1 {
		s.tokens.forget(key)
		http.NotFound(w, r)
		return
	}
	targets, err := targetsOf(rcv)
	if err != nil {
		http.Error(w, "receiver is not ready", http.StatusServiceUnavailable)
		return
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	n, err := requestReconcile(ctx, s.Client, s.Reader, targets, now())
	if err != nil {
		// The error names objects: it goes to the log, not to the caller.
		logger.Error(err, "failed to request a reconcile of every target", "annotated", n)
		http.Error(w, "failed to request a reconcile", http.StatusInternalServerError)
		return
	}
	logger.Info("requested a reconcile", "event", v.event, "annotated", n)
	_, _ = io.WriteString(w, "reconcile requested\n")
}

// learn reads the token of a Receiver whose webhook path is set and not yet in the
// table, from the informer's handler: on a replica that does not lead, the reconciler
// does not run, and a call must still be verified before any apiserver request.
func (s *Server) learn(ctx context.Context, obj any) {
	rcv, ok := obj.(*notificationv1.Receiver)
	if !ok || rcv.Status.WebhookPath == "" {
		return
	}
	key := client.ObjectKeyFromObject(rcv)
	if _, ok := s.tokens.get(key, rcv.Status.WebhookPath); ok {
		return
	}
	token, err := readToken(ctx, s.Client, rcv)
	if err != nil {
		log.FromContext(ctx).Info("failed to read a Receiver's token", "receiver", key.String(), "error", err.Error())
		return
	}
	if rcv.GetWebhookPath(string(token)) == rcv.Status.WebhookPath {
		s.tokens.set(key, rcv.Status.WebhookPath, token)
	}
}

// forget drops a deleted Receiver's token and rate-limit bucket.
func (s *Server) forget(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if rcv, ok := obj.(*notificationv1.Receiver); ok {
		key := client.ObjectKeyFromObject(rcv)
		s.tokens.forget(key)
		s.limits.forget(key)
	}
}

// readToken returns the 'token' of the Receiver's Secret; errors name the Secret, never
// its content.
func readToken(ctx context.Context, c client.Reader, r *notificationv1.Receiver) ([]byte, error) {
	key := types.NamespacedName{Namespace: r.Namespace, Name: r.Spec.SecretRef.Name}
	var secret corev1.Secret
	if err := c.Get(ctx, key, &secret); err != nil {
		return nil, fmt.Errorf("failed to read the token from Secret '%s': %w", key, err)
	}
	token, ok := secret.Data["token"]
	if !ok || len(token) == 0 {
		return nil, fmt.Errorf("secret '%s' has no 'token' key: create it with a random token (e.g. kubectl create secret generic %s --from-literal=token=$(head -c 12 /dev/urandom | shasum | cut -d' ' -f1))", key, key.Name)
	}
	return token, nil
}
