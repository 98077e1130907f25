package receiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// TokenNotFoundReason is the Ready reason when the Receiver's Secret or its 'token'
// key cannot be read. The value is Flux's (notification-controller api/v1), so Flux's
// CLI reads it unchanged.
const TokenNotFoundReason = "TokenNotFound"

// retryInterval is how soon a Receiver whose Secret is missing is looked at again.
// Secrets are not watched (the controller reads them live and caches none, as Flux
// does), so this bounds how long a newly created Secret goes unnoticed.
const retryInterval = 10 * time.Second

// Reconciler gives each Receiver its webhook path: it reads the token, writes
// status.webhookPath and marks the Receiver Ready, as Flux's notification-controller
// does, so that the Server can find it.
type Reconciler struct {
	Client client.Client
	// tokens is shared with the Server: the token read here is the one the server
	// verifies calls with, before any apiserver request.
	tokens   *tokens
	recorder reconcile.Recorder
}

// Reconcile reads → decides → acts; the status is patched once, from the deferred
// block.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	obj := &notificationv1.Receiver{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.tokens.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() || obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	o := reconcile.InProgress
	defer func() {
		result, retErr = reconcile.Complete(ctx, r.Client, r.recorder, notificationv1.ReceiverKind, before, obj, o, reconcile.Status{
			ObservedGeneration: &obj.Status.ObservedGeneration, Request: &obj.Status.ReconcileRequestStatus}, start)
	}()
	o = r.reconcile(ctx, obj)
	return result, retErr
}

// reconcile validates the spec, then reads the token and derives the path.
func (r *Reconciler) reconcile(ctx context.Context, obj *notificationv1.Receiver) reconcile.Outcome {
	key := client.ObjectKeyFromObject(obj)
	if err := validateSpec(obj); err != nil {
		obj.Status.WebhookPath = ""
		r.tokens.forget(key)
		reason := meta.InvalidSpecReason
		if errors.Is(err, errCrossNamespace) {
			reason = meta.AccessDeniedReason
		}
		return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: reason, Message: err.Error(), Stalled: true}
	}
	token, err := readToken(ctx, r.Client, obj)
	if err != nil {
		obj.Status.WebhookPath = ""
		r.tokens.forget(key)
		if apierrors.IsNotFound(err) {
			err = fmt.Errorf("secret '%s/%s' not found: create it with a 'token' key", obj.Namespace, obj.Spec.SecretRef.Name)
		}
		return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: TokenNotFoundReason, Message: err.Error(), Requeue: retryInterval}
	}
	obj.Status.WebhookPath = obj.GetWebhookPath(string(token))
	// Before the status is written: once the path is visible, the server knows its token.
	r.tokens.set(key, obj.Status.WebhookPath, token)
	return reconcile.Outcome{Ready: metav1.ConditionTrue, Reason: meta.SucceededReason,
		Message: "Receiver initialized for path: " + obj.Status.WebhookPath, Requeue: obj.GetInterval()}
}
