// Package apply applies a Kustomization's objects to the cluster with
// server-side apply, staged like Flux (cluster definitions, classes, the rest),
// and prunes what left the source. Unlike Flux it remembers what it applied, so
// an object whose desired state has not changed and whose live state has not
// drifted costs no request at all.
package apply
