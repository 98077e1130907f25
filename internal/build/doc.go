// Package build turns a directory of a repository snapshot into the objects
// a Kustomization applies: kustomize on an in-memory, read-only view of the
// Git tree, with Flux's generated kustomization file and postBuild variable
// substitution, many builds at a time.
package build
