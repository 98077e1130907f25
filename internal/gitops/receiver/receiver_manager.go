package receiver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// Options configure the Receiver machinery of the controller process.
type Options struct {
	// Addr is where webhooks are served (Flux's notification-controller uses ":9292");
	// "" or "0" runs the reconciler only.
	Addr string
	// TracerProvider records authenticated webhook calls as spans, whose trace the
	// reconciles they request continue; nil records nothing.
	TracerProvider trace.TracerProvider
}

// Setup registers the Receiver reconciler and, when Options.Addr is set, the webhook
// server with mgr. The manager's scheme must hold notification.toolkit.fluxcd.io/v1.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &notificationv1.Receiver{}, webhookPathIndex, func(o client.Object) []string {
		if p := o.(*notificationv1.Receiver).Status.WebhookPath; p != "" {
			return []string{p}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("failed to index Receivers by webhook path: %w", err)
	}
	table := newTokens()
	r := &Reconciler{Client: mgr.GetClient(), tokens: table, recorder: reconcile.Recorder{Events: mgr.GetEventRecorder("tugboat-notification")}}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&notificationv1.Receiver{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("receiver").
		Complete(r)
	if err != nil {
		return fmt.Errorf("failed to set up the Receiver controller: %w", err)
	}
	if o.Addr == "" || o.Addr == "0" {
		return nil
	}
	srv := &Server{Addr: o.Addr, Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Informers: mgr.GetCache(), tokens: table}
	if o.TracerProvider != nil {
		srv.Tracer = o.TracerProvider.Tracer(reconcile.TracerName)
	}
	if err := mgr.Add(srv); err != nil {
		return fmt.Errorf("failed to add the webhook server: %w", err)
	}
	return nil
}
