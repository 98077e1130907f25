// Package source is tugboat's Git source: it resolves a GitRepository's
// reference against the remote, fetches the tree into a content-addressed
// in-memory Snapshot, and builds Git credentials from Secrets.
//
// The Kustomization side reads Snapshots from a Store in the same process,
// so no tarball is written, served or unpacked, and a remote whose head did
// not move costs one ref advertisement and no clone (DESIGN.md, point 1).
package source
