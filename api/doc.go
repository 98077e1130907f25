// Package api is the root of tugboat's Kubernetes API module: the CRD Go types
// that speak Flux's GitOps APIs live in one folder per group and version below
// it, in their own module so that clients can import them without the
// controllers' dependencies.
package api
