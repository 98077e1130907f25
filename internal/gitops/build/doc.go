// Package build turns a directory of a repository snapshot into the objects
// a Kustomization applies: kustomize on an in-memory, read-only view of the
// Git tree, with Flux's generated kustomization file and postBuild variable
// substitution, many builds at a time. A Cache shares kustomize's output
// between the Kustomizations that build one directory of one tree, so that
// each pays only for its own substitution.
package build
