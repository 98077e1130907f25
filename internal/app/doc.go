// Package app composes tugboat's processes from the wings: the controller process
// (the GitOps reconcilers, the Receivers' webhooks and the HTTP query API in one
// controller-runtime manager), the agent process (the collectors and their store) and
// the controllers of the local dev cluster. It is the one room that imports several
// wings; only the CLI imports it.
package app
