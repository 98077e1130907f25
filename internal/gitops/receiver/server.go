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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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

	now func() time.Time
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

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
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
	logger = logger.WithValues("receiver", client.ObjectKeyFromObject(rcv).String())
	if rcv.Spec.Suspend || !meta.IsReady(rcv) {
		http.Error(w, "receiver is suspended or not ready", http.StatusServiceUnavailable)
		return
	}
	token, err := readToken(ctx, s.Client, rcv)
	if err != nil {
		logger.Error(err, "failed to read the token")
		http.Error(w, "receiver is not ready", http.StatusServiceUnavailable)
		return
	}
	// A rotated token retires the old path at once, even before the reconciler has
	// written the new one into the status.
	if subtle.ConstantTimeCompare([]byte(rcv.GetWebhookPath(string(token))), []byte(path)) != 1 {
		http.NotFound(w, r)
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
	v, err := verify(rcv.Spec.Type, token, rcv.Spec.Events, call{header: r.Header, body: body})
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
		logger.Error(err, "failed to request a reconcile of every target", "annotated", n)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	logger.Info("requested a reconcile", "event", v.event, "annotated", n)
	_, _ = fmt.Fprintf(w, "requested a reconcile of %d objects\n", n)
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
