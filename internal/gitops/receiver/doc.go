// Package receiver turns a webhook call into an immediate reconcile: an HTTP server
// that authenticates the call per provider (GitHub, GitLab, Bitbucket Server, Harbor,
// generic and generic-hmac, as Flux's notification-controller does) and annotates the
// Receiver's targets with reconcile.fluxcd.io/requestedAt, and a reconciler that gives
// each Receiver its secret webhook path. The signature checks are pure functions in
// verify.go; the code that talks to the cluster lives in server.go and
// receiver_controller.go.
package receiver
