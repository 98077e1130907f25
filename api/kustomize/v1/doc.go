// Package v1 holds the Kustomization kind of the kustomize.toolkit.fluxcd.io
// group, shaped after Flux's kustomize-controller API (api/v1) so that Flux
// manifests, old v1beta1 ones included, apply to tugboat unchanged.
//
// +kubebuilder:object:generate=true
// +groupName=kustomize.toolkit.fluxcd.io
package v1
