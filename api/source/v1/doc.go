// Package v1 holds the GitRepository kind of the source.toolkit.fluxcd.io
// group, shaped after Flux's source-controller API (api/v1) so that Flux
// manifests, old v1beta1 ones included, apply to tugboat unchanged.
//
// +kubebuilder:object:generate=true
// +groupName=source.toolkit.fluxcd.io
package v1
