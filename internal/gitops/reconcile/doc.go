// Package reconcile is the one shape every tugboat reconciler ends with, as
// fluxcd/pkg/runtime is for Flux's: a reconcile decides an Outcome; a deferred
// Complete turns it into the Ready, Reconciling and Stalled conditions (Finish),
// patches the status once, emits the one Warning event through the Recorder (which
// carries the source revision), counts the reconcile and logs its summary line.
// Jitter spreads periodic requeues. It knows no kind: the reconcilers of each kind
// (controller, receiver) use it.
package reconcile
