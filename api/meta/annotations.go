package meta

// Annotations and labels of Flux's protocol. Users, scripts and Flux's own CLI
// set and read these names, so they are kept exactly as Flux spells them
// (fluxcd/pkg apis/meta and the kustomize-controller docs).
const (
	// ReconcileRequestAnnotation asks for a reconcile outside the interval.
	// Its value is an opaque token: any change triggers a reconcile, and the
	// handled value is echoed in status.lastHandledReconcileAt.
	ReconcileRequestAnnotation string = "reconcile.fluxcd.io/requestedAt"

	// KustomizeNameLabel and KustomizeNamespaceLabel are set on every object a
	// Kustomization applies; prune deletes only objects that still carry them.
	KustomizeNameLabel      string = "kustomize.toolkit.fluxcd.io/name"
	KustomizeNamespaceLabel string = "kustomize.toolkit.fluxcd.io/namespace"

	// PruneAnnotation set to PruneDisabledValue on an applied object keeps it
	// in the cluster when it disappears from the source.
	PruneAnnotation    string = "kustomize.toolkit.fluxcd.io/prune"
	PruneDisabledValue string = "Disabled"

	// SSAAnnotation chooses how an object is applied: SSAOverride (default),
	// SSAMerge, SSAIfNotPresent or SSAIgnore.
	SSAAnnotation   string = "kustomize.toolkit.fluxcd.io/ssa"
	SSAOverride     string = "Override"
	SSAMerge        string = "Merge"
	SSAIfNotPresent string = "IfNotPresent"
	SSAIgnore       string = "Ignore"

	// ReconcileAnnotation set to ReconcileDisabledValue excludes an object from
	// apply and drift correction.
	ReconcileAnnotation    string = "kustomize.toolkit.fluxcd.io/reconcile"
	ReconcileDisabledValue string = "disabled"

	// ForceAnnotation set to ForceEnabledValue recreates an object whose
	// immutable fields changed.
	ForceAnnotation   string = "kustomize.toolkit.fluxcd.io/force"
	ForceEnabledValue string = "Enabled"

	// SubstituteAnnotation set to SubstituteDisabledValue opts an object out
	// of post-build variable substitution.
	SubstituteAnnotation    string = "kustomize.toolkit.fluxcd.io/substitute"
	SubstituteDisabledValue string = "disabled"
)

// Annotations of the events the reconcilers emit: the contract between the GitOps
// controllers that write them and the delivery tables that read them back.
const (
	// RevisionAnnotation carries the source revision on every event, under the key
	// Flux's recorder uses, so that alerting and the delivery tables can tell which
	// commit an event belongs to.
	RevisionAnnotation string = "source.toolkit.fluxcd.io/revision"

	// AppliedAtAnnotation is on a success event that lists changes: when they were
	// applied (RFC 3339), so that the delivery tables can time the reconcile from the
	// apply to the health verdict with the one event. It is tugboat's own.
	AppliedAtAnnotation string = "kustomize.tugboat.dev/applied-at"

	// OperationIDAnnotation is on the events of a traced reconcile: the trace id (32
	// hex digits) of the OpenTelemetry trace the controller recorded of it, so that
	// the delivery tables (TugboatReconciliations.OperationId) and tugboat trace can
	// find the trace of a reconcile. It is tugboat's own.
	OperationIDAnnotation string = "tugboat.dev/operation-id"
)

// ReconcileRequestStatus is embedded inline in every status, so that a client
// that set ReconcileRequestAnnotation can tell when its request was handled.
type ReconcileRequestStatus struct {
	// LastHandledReconcileAt holds the value of the most recent reconcile
	// request annotation that the controller acted on.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
}

// GetLastHandledReconcileRequest returns the last handled request token.
func (in ReconcileRequestStatus) GetLastHandledReconcileRequest() string {
	return in.LastHandledReconcileAt
}

// SetLastHandledReconcileRequest records token as handled.
func (in *ReconcileRequestStatus) SetLastHandledReconcileRequest(token string) {
	in.LastHandledReconcileAt = token
}

// ReconcileAnnotationValue returns the reconcile request token in annotations
// and whether it was set at all.
func ReconcileAnnotationValue(annotations map[string]string) (string, bool) {
	v, ok := annotations[ReconcileRequestAnnotation]
	return v, ok
}

// Annotations of tugboat's own (not Flux's protocol).
const (
	// RequireSHA256Annotation, set to "true" on a Receiver, refuses every webhook
	// call not signed with HMAC-SHA256 or stronger: SHA-1 signatures (GitHub's
	// legacy X-Hub-Signature, generic-hmac's sha1=) are refused, and a Receiver
	// type that carries no signature at all (generic, gitlab, harbor) is stalled.
	RequireSHA256Annotation string = "notification.tugboat.dev/require-sha256"

	// TraceParentAnnotation carries the trace context of a reconcile request to the
	// reconciler, so that a webhook call and the reconciles it causes are one trace,
	// even when another replica handles the webhook. Its value is the request token
	// (the ReconcileRequestAnnotation value written with it), a space and a W3C
	// traceparent; see ReconcileTraceParent.
	TraceParentAnnotation string = "tugboat.dev/traceparent"
)

// TraceParentValue is the value of TraceParentAnnotation for the request token and
// the traceparent.
func TraceParentValue(token, traceparent string) string {
	return token + " " + traceparent
}

// ReconcileTraceParent returns the W3C traceparent written with the reconcile request
// now in annotations. A traceparent written with an earlier request (a webhook call
// before a later 'tugboat reconcile' or 'flux reconcile', which set only the token) is
// not returned: it belongs to another request's trace.
func ReconcileTraceParent(annotations map[string]string) (string, bool) {
	token, ok := annotations[ReconcileRequestAnnotation]
	if !ok || token == "" {
		return "", false
	}
	v, ok := annotations[TraceParentAnnotation]
	if !ok {
		return "", false
	}
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == ' ' {
			if v[:i] != token {
				return "", false
			}
			return v[i+1:], v[i+1:] != ""
		}
	}
	return "", false
}
