package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the storage version that the Go types are registered as.
	GroupVersion = schema.GroupVersion{Group: "notification.toolkit.fluxcd.io", Version: "v1"}

	// SchemeBuilder registers the kinds of this package. It is apimachinery's
	// builder rather than controller-runtime's, to keep this module light.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// ServedVersions lists the versions the CRD serves, storage version first.
// They all share one schema (the Go types below) with conversion None, so a
// v1beta1 manifest is stored as is. The older versions are deliberately not
// registered in the scheme: one Go type under several kinds would make
// clients unable to tell which to use.
var ServedVersions = []string{"v1", "v1beta2", "v1beta1"}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &Receiver{}, &ReceiverList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
