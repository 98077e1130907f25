// Package controller holds tugboat's reconcilers for Flux's GitRepository and
// Kustomization kinds: one file per kind with the read → decide → act loop, and a
// <kind>_manager.go beside it with the wiring (watches, indexes, predicates).
// Sources are fetched into an in-process snapshot store that the Kustomization
// reconciler reads directly, and managed objects are watched for drift and health, so
// an idle cluster costs no API requests.
package controller
