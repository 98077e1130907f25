package health

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodProblemNamesWhatKeepsItFromReady(t *testing.T) {
	exited := &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}
	cases := map[string]struct {
		status corev1.PodStatus
		want   string
	}{
		"a crash loop names the back-off and the last exit": {
			status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name:                 "app",
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s restarting failed container=app"}},
				LastTerminationState: corev1.ContainerState{Terminated: exited},
			}}},
			want: "pod p container app: CrashLoopBackOff (back-off 20s restarting failed container=app), last exited with code 3 (Error)",
		},
		"a container that has just exited names its exit": {
			status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", State: corev1.ContainerState{Terminated: exited}, RestartCount: 1,
			}}},
			want: "pod p container app: exited with code 3 (Error)",
		},
		"a container running between two crashes names the last": {
			status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, RestartCount: 2,
				LastTerminationState: corev1.ContainerState{Terminated: exited},
			}}},
			want: "pod p container app: running after 2 restart(s), last exited with code 3 (Error)",
		},
		"a pull error is named with the registry's answer": {
			status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}},
			}}},
			want: "pod p container app: ErrImagePull (not found)",
		},
		"a pod the scheduler cannot place says why": {
			status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available",
			}}},
			want: "pod p not scheduled: Unschedulable: 0/1 nodes are available",
		},
		"a healthy or starting pod says nothing": {
			status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				{Name: "side", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
			}},
		},
		"an app's long termination message is clipped to one line": {
			status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
				Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 1, Message: "panic:\n" + strings.Repeat("x", 5000)}},
			}}},
			want: "pod p container app: exited with code 1: panic: " + strings.Repeat("x", maxMessage-len("panic: ")) + "…",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: tc.status}
			if got := PodProblem(pod); got != tc.want {
				t.Errorf("PodProblem =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
