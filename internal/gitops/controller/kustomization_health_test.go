package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

func deployment(name, image string, extraSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
spec:
  replicas: 1
  progressDeadlineSeconds: 600
  selector:
    matchLabels: {app: %s}
  template:
    metadata:
      labels: {app: %s}
    spec:
%s      containers:
        - name: app
          image: %s
`, name, name, name, extraSpec, image)
}

func TestHealthChecksNameTheUnhealthyObjectAndYieldToANewCommit(t *testing.T) {
	ns := newNamespace(t)
	// A pod that can never be scheduled (no node has this label) never becomes ready.
	stuck := func(name string) string {
		return deployment(name, "app:1", "      nodeSelector: {no-such-node: \"true\"}\n")
	}
	// "short" gives up on progress after 1s: the Deployment controller marks it
	// ProgressDeadlineExceeded, kstatus Failed, and the health check fails at once
	// rather than at the timeout (which Flux's rule floors at 30s).
	short := strings.Replace(stuck("short"), "progressDeadlineSeconds: 600", "progressDeadlineSeconds: 1", 1)
	wd, url := newRepo(t, ns, map[string]string{"short/d.yaml": short, "long/d.yaml": stuck("long")})
	applyYAML(t, ns, gitRepository(url)+"---"+
		kustomization(ns, "short", "./short", "  wait: true\n  timeout: 10m\n")+"---"+
		kustomization(ns, "long", "./long", "  wait: true\n  timeout: 10m\n"))

	waitKustomization(t, ns, "short", "failed its health check naming the Deployment",
		notReadyWith(meta.HealthCheckFailedReason, "Deployment/"+ns+"/short", "Failed"))
	first, _ := wd.Head()
	// The apply happened though its health failed: its changes get their event.
	waitEventOn(t, ns, "short", "Normal", "main@sha1:"+first, "Deployment/"+ns+"/short created")
	waitEventOn(t, ns, "short", "Warning", "main@sha1:"+first, "Deployment/"+ns+"/short")

	// While "long" waits (for up to 10 minutes) a fix lands: it is picked up at once.
	waitKustomization(t, ns, "long", "started its health checks", func(k *kustomizev1.Kustomization) bool {
		c := readyCondition(k)
		return c != nil && c.Status == metav1.ConditionUnknown && strings.Contains(c.Message, "Running health checks")
	})
	if err := wd.WriteFile("long/d.yaml", []byte(deployment("long", "app:2", ""))); err != nil {
		t.Fatal(err)
	}
	fixed, err := wd.CommitAndPush("schedule anywhere")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
	k := waitKustomization(t, ns, "long", "became Ready at the fixed commit", readyAt(fixed))
	if c := findCondition(k.Status.Conditions, meta.HealthyCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Healthy condition %+v, want True", c)
	}
	// The first commit's apply, never judged, has its own event; the fix's changes
	// come with its success.
	waitEventOn(t, ns, "long", "Normal", "main@sha1:"+first, "Deployment/"+ns+"/long created")
	waitEventOn(t, ns, "long", "Normal", "main@sha1:"+fixed, "Deployment/"+ns+"/long configured", "Health check passed in")
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// A health check that does not pass within the timeout (spec.timeout 1s, which Flux's
// rule raises to 30s) ends Ready=False and Healthy=False with HealthCheckFailed, naming
// the objects still in progress and not those that are healthy; what was applied stays.
func TestHealthCheckTimeoutNamesTheObjectsStillInProgress(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	// Unschedulable, with the default-length progress deadline: InProgress, not Failed.
	stuck := deployment("stuck", "app:1", "      nodeSelector: {no-such-node: \"true\"}\n")
	_, url := newRepo(t, ns, map[string]string{"app/d.yaml": stuck, "app/cm.yaml": configMap("fine", "1")})
	start := time.Now()
	applyYAML(t, ns, gitRepository(url)+"---"+kustomization(ns, "app", "./app", "  wait: true\n  timeout: 1s\n"))

	k := waitKustomization(t, ns, "app", "timed out its health check naming the Deployment",
		notReadyWith(meta.HealthCheckFailedReason, "timeout waiting for", "Deployment/"+ns+"/stuck", "InProgress"))
	if waited := time.Since(start); waited < 30*time.Second {
		t.Errorf("the health check gave up after %s, before the 30s floor of the timeout", waited)
	}
	if msg := readyCondition(k).Message; strings.Contains(msg, "ConfigMap") {
		t.Errorf("the message names the healthy ConfigMap too: %s", msg)
	}
	if c := findCondition(k.Status.Conditions, meta.HealthyCondition); c == nil || c.Status != metav1.ConditionFalse || c.Reason != meta.HealthCheckFailedReason {
		t.Errorf("Healthy condition %+v, want False with %s", c, meta.HealthCheckFailedReason)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stuck"}, &appsv1.Deployment{}); err != nil {
		t.Errorf("the Deployment after the failed health check: %v", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fine"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the ConfigMap after the failed health check: %v", err)
	}
}
