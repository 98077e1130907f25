package deploy

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Clients are the API clients push deploys use: typed for patches, history and
// rollbacks (kubectl's helpers take them), dynamic for the rollout watch (kubectl's
// status viewers judge unstructured objects).
type Clients struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

// NewClients returns the clients for a cluster.
func NewClients(cfg *rest.Config) (Clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("failed to create a Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Clients{}, fmt.Errorf("failed to create a dynamic client: %w", err)
	}
	return Clients{Kube: kube, Dynamic: dyn}, nil
}

// get fetches the workload as its typed apps/v1 object.
func (c Clients) get(ctx context.Context, ns string, w Workload) (runtime.Object, metav1.Object, error) {
	var (
		obj interface {
			runtime.Object
			metav1.Object
		}
		err error
	)
	apps := c.Kube.AppsV1()
	switch w.Kind {
	case "Deployment":
		var d *appsv1.Deployment
		d, err = apps.Deployments(ns).Get(ctx, w.Name, metav1.GetOptions{})
		obj = d
	case "StatefulSet":
		var s *appsv1.StatefulSet
		s, err = apps.StatefulSets(ns).Get(ctx, w.Name, metav1.GetOptions{})
		obj = s
	case "DaemonSet":
		var d *appsv1.DaemonSet
		d, err = apps.DaemonSets(ns).Get(ctx, w.Name, metav1.GetOptions{})
		obj = d
	default:
		return nil, nil, fmt.Errorf("kind %q is not one of Deployment, StatefulSet, DaemonSet", w.Kind)
	}
	if err != nil {
		return nil, nil, err
	}
	// Typed clients leave TypeMeta empty; kubectl's helpers and encoders want it.
	obj.GetObjectKind().SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind(w.Kind))
	return obj, obj, nil
}
