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
		p := describePod(pod)
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

// describePod is what keeps one pod from being ready, "" when its containers say
// nothing (running, or not yet created without a reason).
func describePod(pod *corev1.Pod) string {
	var parts []string
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, st := range statuses {
		var s string
		switch {
		case st.State.Waiting != nil && st.State.Waiting.Reason != "" && st.State.Waiting.Reason != "ContainerCreating" && st.State.Waiting.Reason != "PodInitializing":
			s = st.State.Waiting.Reason
			if msg := clip(st.State.Waiting.Message); msg != "" {
				s += " (" + msg + ")"
			}
		case st.State.Terminated != nil && st.State.Terminated.ExitCode != 0:
			s = "exited " + exitText(st.State.Terminated)
		case st.State.Running != nil && st.RestartCount > 0:
			// Between two crashes: running now, but not for long.
			s = fmt.Sprintf("running after %d restart(s)", st.RestartCount)
		}
		if last := st.LastTerminationState.Terminated; last != nil && s != "" && st.State.Terminated == nil {
			s += ", last exited " + exitText(last)
		}
		if s != "" {
			parts = append(parts, fmt.Sprintf("container %s: %s", st.Name, s))
		}
	}
	if len(statuses) == 0 {
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Message != "" {
				parts = append(parts, fmt.Sprintf("not scheduled: %s: %s", cond.Reason, cond.Message))
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("pod %s %s", pod.Name, strings.Join(parts, ", "))
}

// exitText is a terminated container's exit: "with code 1 (Error)", plus its
// termination message when it wrote one.
func exitText(t *corev1.ContainerStateTerminated) string {
	s := fmt.Sprintf("with code %d", t.ExitCode)
	if t.Signal != 0 {
		s = fmt.Sprintf("on signal %d", t.Signal)
	}
	if t.Reason != "" {
		s += " (" + t.Reason + ")"
	}
	if msg := clip(t.Message); msg != "" {
		s += ": " + msg
	}
	return s
}

// maxMessage bounds a container's message in ours: a termination message is the
// app's own text (the kubelet keeps up to 4096 bytes of it).
const maxMessage = 200

// clip trims msg to one line of at most maxMessage bytes.
func clip(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	return msg
}
