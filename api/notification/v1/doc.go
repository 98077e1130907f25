// Package v1 holds the Receiver kind of the notification.toolkit.fluxcd.io
// group, shaped after Flux's notification-controller API (api/v1): a webhook
// that turns a push into an immediate reconcile of the objects it names.
//
// +kubebuilder:object:generate=true
// +groupName=notification.toolkit.fluxcd.io
package v1
