package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestKustomizationDurations(t *testing.T) {
	d := func(v time.Duration) *metav1.Duration { return &metav1.Duration{Duration: v} }
	cases := map[string]struct {
		spec                     KustomizationSpec
		interval, retry, timeout time.Duration
	}{
		"no interval falls back to the 10m default": {
			interval: 10 * time.Minute, retry: 10 * time.Minute, timeout: 10*time.Minute - 30*time.Second,
		},
		"the timeout is the interval less 30s": {
			spec:     KustomizationSpec{Interval: metav1.Duration{Duration: 5 * time.Minute}},
			interval: 5 * time.Minute, retry: 5 * time.Minute, timeout: 4*time.Minute + 30*time.Second,
		},
		"the timeout never drops below 30s": {
			spec:     KustomizationSpec{Interval: metav1.Duration{Duration: 40 * time.Second}, Timeout: d(time.Second)},
			interval: 40 * time.Second, retry: 40 * time.Second, timeout: 30 * time.Second,
		},
		"retryInterval and timeout win when set": {
			spec:     KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, RetryInterval: d(2 * time.Minute), Timeout: d(3 * time.Minute)},
			interval: time.Hour, retry: 2 * time.Minute, timeout: 3 * time.Minute,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ks := &Kustomization{Spec: c.spec}
			if got := ks.GetInterval(); got != c.interval {
				t.Errorf("interval: got %v, want %v", got, c.interval)
			}
			if got := ks.GetRetryInterval(); got != c.retry {
				t.Errorf("retry interval: got %v, want %v", got, c.retry)
			}
			if got := ks.GetTimeout(); got != c.timeout {
				t.Errorf("timeout: got %v, want %v", got, c.timeout)
			}
		})
	}
}

func TestSourceReferenceString(t *testing.T) {
	ref := CrossNamespaceSourceReference{Kind: "GitRepository", Name: "aks-config"}
	if got := ref.String(); got != "GitRepository/aks-config" {
		t.Errorf("got %q", got)
	}
	ref.Namespace = "flux-system"
	if got := ref.String(); got != "GitRepository/flux-system/aks-config" {
		t.Errorf("got %q", got)
	}
}

func TestDeletionPolicyDefault(t *testing.T) {
	ks := &Kustomization{}
	if got := ks.GetDeletionPolicy(); got != DeletionPolicyMirrorPrune {
		t.Errorf("got %q, want %q", got, DeletionPolicyMirrorPrune)
	}
	ks.Spec.DeletionPolicy = DeletionPolicyOrphan
	if got := ks.GetDeletionPolicy(); got != DeletionPolicyOrphan {
		t.Errorf("got %q, want %q", got, DeletionPolicyOrphan)
	}
}
