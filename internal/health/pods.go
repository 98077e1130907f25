package health

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PodProblem is what keeps one pod from being ready, as `kubectl describe pod` would
// show it: each container's waiting reason (CrashLoopBackOff, ErrImagePull…) with its
// message and last exit, or the scheduler's refusal. Container messages are the app's
// own text, so each is clipped to one line of maxMessage bytes. "" when its containers
// say nothing (running, or not yet created without a reason).
func PodProblem(pod *corev1.Pod) string {
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
