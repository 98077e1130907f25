package meta

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The reference types below have the shape of fluxcd/pkg apis/meta, so that
// Flux manifests that name Secrets, ConfigMaps and other objects fit them
// unchanged.

// LocalObjectReference names an object in the referrer's namespace.
type LocalObjectReference struct {
	// Name of the referent.
	// +required
	Name string `json:"name"`
}

// NamespacedObjectReference names an object in any namespace; an empty
// namespace means the referrer's own.
type NamespacedObjectReference struct {
	// Name of the referent.
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// NamespacedObjectKindReference names a typed object in any namespace.
type NamespacedObjectKindReference struct {
	// APIVersion of the referent; when empty the preferred version is used.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the referent.
	// +required
	Kind string `json:"kind"`

	// Name of the referent.
	// +required
	Name string `json:"name"`

	// Namespace of the referent; defaults to the referrer's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SecretKeyReference names a Secret in the referrer's namespace and,
// optionally, one key in it.
type SecretKeyReference struct {
	// Name of the Secret.
	// +required
	Name string `json:"name"`

	// Key in the Secret; when empty an implementation default is used.
	// +optional
	Key string `json:"key,omitempty"`
}

// KubeConfigReference locates a kubeconfig for applying to a remote cluster.
// Flux (fluxcd/pkg apis/meta) also lets a cloud provider build the kubeconfig;
// tugboat accepts the generic provider only for now, so only secretRef is
// modelled and it is required.
type KubeConfigReference struct {
	// SecretRef names a Secret whose key (default 'value', or 'value.yaml')
	// holds a self-contained kubeconfig.
	// +required
	SecretRef SecretKeyReference `json:"secretRef"`
}

// Artifact is the output of a source reconcile: an immutable, content
// addressed snapshot that consumers read. Its shape is Flux's
// (fluxcd/pkg apis/meta artifact.go), so that Flux's CLI can show it.
type Artifact struct {
	// Path of the artifact relative to the controller's storage root.
	// +required
	Path string `json:"path"`

	// URL at which the controller serves the artifact.
	// +required
	URL string `json:"url"`

	// Revision is a human-readable identifier traceable in the origin source
	// system, e.g. 'main@sha1:<commit>' for Git.
	// +required
	Revision string `json:"revision"`

	// Digest of the artifact in the form '<algorithm>:<checksum>'.
	// +kubebuilder:validation:Pattern="^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
	// +optional
	Digest string `json:"digest,omitempty"`

	// LastUpdateTime is when the artifact last changed.
	// +required
	LastUpdateTime metav1.Time `json:"lastUpdateTime"`

	// Size of the artifact in bytes.
	// +optional
	Size *int64 `json:"size,omitempty"`

	// Metadata holds upstream information such as OCI annotations.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}

// HasRevision reports whether the artifact is at revision; a nil artifact is
// at no revision.
func (in *Artifact) HasRevision(revision string) bool {
	return in != nil && in.Revision == revision
}

// HasDigest reports whether the artifact has digest; a nil artifact has none.
func (in *Artifact) HasDigest(digest string) bool {
	return in != nil && in.Digest == digest
}
