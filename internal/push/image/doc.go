// Package image builds OCI images without a Docker daemon and pushes them to a
// registry: a Go main package compiled as a static binary and layered onto a base
// image the way ko does, or a directory tree as one layer. Everything is checked
// (inputs, the Go package, the base image, push access) before anything is pushed,
// so a failed publish leaves the registry as it was. go-containerregistry does the
// image and registry work.
package image
