package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/health"
)

// maxPodProblems bounds how many pods a failed rollout's message describes: the
// first few say why; a hundred crashing replicas say the same thing.
const maxPodProblems = 3

// podProblems says why the workload's pods that run the deploy's new images are not
// ready, as `kubectl describe pod` would show it: each container's waiting reason
// (CrashLoopBackOff, ErrImagePull…) with its message and last exit, or the scheduler's
// refusal. A Deployment's own verdict ("exceeded its progress deadline") does not
// name the cause; this does. "" when no such pod says anything (kwok's pods, or pods
// an admission policy refused, which never exist).
func podProblems(ctx context.Context, c Clients, ns string, obj runtime.Object, changes []deployrecord.Change) string {
	var selector *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		selector = o.Spec.Selector
	case *appsv1.StatefulSet:
		selector = o.Spec.Selector
	case *appsv1.DaemonSet:
		selector = o.Spec.Selector
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || selector == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return ""
	}
	newImage := map[string]string{}
	for _, ch := range changes {
		newImage[ch.Container] = ch.ImageAfter
	}
	var problems []string
	more := 0
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !runsNewImages(pod, newImage) {
			continue
		}
		p := health.PodProblem(pod)
		if p == "" {
			continue
		}
		if len(problems) == maxPodProblems {
			more++
			continue
		}
		problems = append(problems, p)
	}
	if more > 0 {
		problems = append(problems, fmt.Sprintf("and %d more pod(s)", more))
	}
	return strings.Join(problems, "; ")
}

// runsNewImages reports whether pod runs the deploy's new images (the changes name
// each container, `*` expanded), that is, belongs to the rollout that failed.
func runsNewImages(pod *corev1.Pod, newImage map[string]string) bool {
	found := false
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, ctr := range list {
			if img, ok := newImage[ctr.Name]; ok {
				if ctr.Image != img {
					return false
				}
				found = true
			}
		}
	}
	return found
}
