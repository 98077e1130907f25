package receiver

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
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
	events crrecorder.EventRecorder
}

// outcome is what a reconcile decided.
type outcome struct {
	ready   metav1.ConditionStatus
	reason  string
	message string
	stalled bool
	requeue time.Duration
}

// Reconcile reads → decides → acts; the status is patched once, at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	obj := &notificationv1.Receiver{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() || obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	o := r.reconcile(ctx, obj)
	finish(obj, o)
	if err := r.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil {
		return ctrl.Result{}, fmt.Errorf("failed to patch status of Receiver '%s': %w", req.NamespacedName, client.IgnoreNotFound(err))
	}
	if o.ready == metav1.ConditionFalse && r.events != nil {
		r.events.Eventf(obj, nil, "Warning", o.reason, "Reconcile", "%s", o.message)
	}
	log.FromContext(ctx).Info("reconciled", "ready", o.ready, "reason", o.reason, "duration", time.Since(start).String())
	return ctrl.Result{RequeueAfter: o.requeue}, nil
}

// reconcile validates the spec, then reads the token and derives the path.
func (r *Reconciler) reconcile(ctx context.Context, obj *notificationv1.Receiver) outcome {
	if err := validateSpec(obj); err != nil {
		obj.Status.WebhookPath = ""
		return outcome{ready: metav1.ConditionFalse, reason: meta.InvalidSpecReason, message: err.Error(), stalled: true}
	}
	token, err := readToken(ctx, r.Client, obj)
	if err != nil {
		obj.Status.WebhookPath = ""
		if apierrors.IsNotFound(err) {
			err = fmt.Errorf("secret '%s/%s' not found: create it with a 'token' key", obj.Namespace, obj.Spec.SecretRef.Name)
		}
		return outcome{ready: metav1.ConditionFalse, reason: TokenNotFoundReason, message: err.Error(), requeue: retryInterval}
	}
	obj.Status.WebhookPath = obj.GetWebhookPath(string(token))
	return outcome{ready: metav1.ConditionTrue, reason: meta.SucceededReason,
		message: "Receiver initialized for path: " + obj.Status.WebhookPath, requeue: obj.GetInterval()}
}

// finish sets Ready, Reconciling and Stalled (kstatus) from the outcome; see the
// controller package's finish, whose meaning this keeps.
func finish(obj *notificationv1.Receiver, o outcome) {
	gen := obj.GetGeneration()
	meta.SetCondition(obj, metav1.Condition{Type: meta.ReadyCondition, Status: o.ready, Reason: o.reason, Message: o.message, ObservedGeneration: gen})
	switch {
	case o.stalled:
		meta.RemoveCondition(obj, meta.ReconcilingCondition)
		meta.SetCondition(obj, metav1.Condition{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: o.reason, Message: o.message, ObservedGeneration: gen})
	case o.ready == metav1.ConditionFalse:
		meta.SetCondition(obj, metav1.Condition{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingWithRetryReason, Message: o.message, ObservedGeneration: gen})
		meta.RemoveCondition(obj, meta.StalledCondition)
	default:
		meta.RemoveCondition(obj, meta.ReconcilingCondition)
		meta.RemoveCondition(obj, meta.StalledCondition)
	}
	if o.ready == metav1.ConditionTrue || o.stalled {
		obj.Status.ObservedGeneration = gen
	}
	if v, ok := meta.ReconcileAnnotationValue(obj.GetAnnotations()); ok {
		obj.Status.SetLastHandledReconcileRequest(v)
	}
}
