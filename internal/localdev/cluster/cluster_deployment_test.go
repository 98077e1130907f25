package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

func TestDeploymentReachesAvailableOnKwokNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clients := kubernetes.NewForConfigOrDie(shared.RESTConfig)
	labels := map[string]string{"app": "three"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "three", Namespace: metav1.NamespaceDefault},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.local/app:1"}}},
			},
		},
	}
	if _, err := clients.AppsV1().Deployments(deploy.Namespace).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatalf("failed to create deployment: %v", err)
	}
	t.Cleanup(func() {
		_ = clients.AppsV1().Deployments(deploy.Namespace).Delete(context.Background(), deploy.Name, metav1.DeleteOptions{})
	})

	w, err := clients.AppsV1().Deployments(deploy.Namespace).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", deploy.Name).String(),
	})
	if err != nil {
		t.Fatalf("failed to watch deployment: %v", err)
	}
	defer w.Stop()
	var last appsv1.DeploymentStatus
	for last.AvailableReplicas != 3 || last.ReadyReplicas != 3 {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed; last status %+v", last)
			}
			if d, isDeploy := ev.Object.(*appsv1.Deployment); isDeploy {
				last = d.Status
			}
		case <-ctx.Done():
			t.Fatalf("deployment not 3/3 available: last status %+v", last)
		}
	}

	// The ReplicaSet came from the controller-manager, the pods were scheduled onto kwok
	// nodes by the scheduler and made Ready by kwok.
	rsList, err := clients.AppsV1().ReplicaSets(deploy.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=three"})
	if err != nil || len(rsList.Items) != 1 {
		t.Fatalf("want one ReplicaSet, got %v (err %v)", len(rsList.Items), err)
	}
	pods, err := clients.CoreV1().Pods(deploy.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=three"})
	if err != nil {
		t.Fatalf("failed to list pods: %v", err)
	}
	ready := 0
	for _, pod := range pods.Items {
		if !strings.HasPrefix(pod.Spec.NodeName, "kwok-node-") {
			t.Errorf("pod %s scheduled onto %q, want a kwok node", pod.Name, pod.Spec.NodeName)
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready != 3 {
		t.Errorf("want 3 Ready pods, got %d of %d", ready, len(pods.Items))
	}
}
