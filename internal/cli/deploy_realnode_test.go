package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/kubectl/pkg/util/podutils"
	"k8s.io/utils/ptr"

	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/push/deploy"
)

// workloadDir is the test container that does what its flags say (burn CPU, hold
// memory, write numbered lines, exit); see its main.go.
const workloadDir = "../localdev/cluster/testdata/workload"

// TestDeployRollsBackAnImageThatExitsOnTheRealNode deploys, with `tugboat deploy
// set-image --rollback-on-failure`, an image whose process exits at once to a
// Deployment on the real node: its pods crash (no admission-policy stand-in, a real
// container exiting with code 3), the Deployment passes its progress deadline, the
// deploy fails naming the container's exit, and the rollback restores the old image,
// whose pods run and are ready.
func TestDeployRollsBackAnImageThatExitsOnTheRealNode(t *testing.T) {
	ctx, c, clients := realNode(t, 20*time.Minute)
	run := runAgainst(ctx, t, c)
	publish := func(tag string, extra ...string) string {
		t.Helper()
		args := append([]string{"image", "publish", workloadDir, "--repo", c.Registry() + "/demo/workload", "--tag", tag,
			"--base", "scratch", "--user", "65532", "--insecure"}, extra...)
		return strings.TrimSpace(run(ExitOK, args...).stdout)
	}
	good := publish("stays-up")
	// The same program, made by its image's environment to exit with 3 at once.
	exits := publish("exits", "--env", "WORKLOAD_EXIT=3")

	d := realNodeDeployment("web", good)
	if _, err := clients.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run(ExitOK, "rollout", "status", "deployment/web", "-n", "default", "--timeout", "3m")

	r := run(ExitRolledBack, "deploy", "set-image", "deployment/web", "app="+exits, "--rollback-on-failure", "--timeout", "4m",
		"-n", "default", "--actor", "alice")
	t.Logf("the deploy says:\n%s", r.stderr)
	if !strings.Contains(r.stderr, "exceeded its progress deadline") || !strings.Contains(r.stderr, "container app:") ||
		!strings.Contains(r.stderr, "with code 3 (Error)") {
		t.Errorf("the failed deploy says:\n%s\nwant the progress deadline and the container's exit with code 3 named", r.stderr)
	}
	recs, err := deploy.ListRecords(ctx, clients, "default")
	if err != nil || len(recs) != 1 || recs[0].Result != deployrecord.ResultRolledBack || !strings.Contains(recs[0].Message, "with code 3") {
		t.Errorf("records = %+v, %v; want one RolledBack naming the exit code", recs, err)
	}

	// The old image is back, and its pods run and are ready; the crashing ones are gone.
	var last []string
	err = wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := clients.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := clients.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		last = last[:0]
		ready := 0
		for _, p := range pods.Items {
			last = append(last, p.Name+" "+p.Spec.Containers[0].Image+" "+string(p.Status.Phase))
			if p.Spec.Containers[0].Image == good && p.Status.Phase == corev1.PodRunning && podutils.IsPodReady(&p) {
				ready++
			}
		}
		return d.Spec.Template.Spec.Containers[0].Image == good && ready == int(*d.Spec.Replicas) && len(pods.Items) == ready, nil
	})
	if err != nil {
		t.Fatalf("after the rollback the pods are %v; want %d ready pods of %s and no other", last, *d.Spec.Replicas, good)
	}
}

// realNodeDeployment is Deployment name in default on the real node: 2 replicas of
// container app running image, a 30 s progress deadline; a pod is available once
// ready for 10 s.
func realNodeDeployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To[int32](2),
			ProgressDeadlineSeconds: ptr.To[int32](30),
			// Without it a container that exits at once counts as available for the
			// instant it ran (it has no readiness probe), and the rollout "succeeds"
			// (seen here, as kubectl rollout status would say too).
			MinReadySeconds: 10,
			Selector:        &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector:                  map[string]string{cluster.RealNodeLabel: "true"},
					Tolerations:                   []corev1.Toleration{{Key: cluster.RealNodeTaint, Operator: corev1.TolerationOpExists}},
					TerminationGracePeriodSeconds: new(int64),
					Containers: []corev1.Container{{
						Name:  "app",
						Image: image,
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("100m"),
							corev1.ResourceMemory: resource.MustParse("32Mi"),
						}},
					}},
				},
			},
		},
	}
}
