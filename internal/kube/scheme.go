package kube

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// NewScheme returns the scheme of every kind tugboat reads: the built-in kinds and
// tugboat's three (at their storage version, v1; the apiserver converts
// v1beta1/v1beta2 objects, which share one schema, on the way).
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(sourcev1.AddToScheme(s))
	utilruntime.Must(kustomizev1.AddToScheme(s))
	utilruntime.Must(notificationv1.AddToScheme(s))
	return s
}
