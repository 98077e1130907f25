// Package meta holds what every tugboat kind shares: condition types and
// reasons, the annotations and labels of Flux's protocol, and the small
// reference and artifact types used across API groups. Keeping them in one
// place lets every controller speak the same words that Flux's tooling reads.
//
// +kubebuilder:object:generate=true
package meta
