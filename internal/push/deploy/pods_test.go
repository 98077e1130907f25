package deploy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestRunsNewImagesPicksTheFailedRolloutsPods(t *testing.T) {
	newImage := map[string]string{"app": "r/app:2"}
	cases := map[string]struct {
		containers []corev1.Container
		want       bool
	}{
		"a pod of the new images":             {containers: []corev1.Container{{Name: "app", Image: "r/app:2"}, {Name: "side", Image: "r/side:1"}}, want: true},
		"a pod of the old images":             {containers: []corev1.Container{{Name: "app", Image: "r/app:1"}, {Name: "side", Image: "r/side:1"}}},
		"a pod without the changed container": {containers: []corev1.Container{{Name: "other", Image: "r/app:2"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers}}
			if got := runsNewImages(pod, newImage); got != tc.want {
				t.Errorf("runsNewImages = %v, want %v", got, tc.want)
			}
		})
	}
}
