package health

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func TestJudgeAKustomizationsObjects(t *testing.T) {
	current := func(name string) Object {
		return Object{Name: name, Status: status.CurrentStatus, Message: "Resource is current"}
	}
	for name, tc := range map[string]struct {
		objects []Object
		waited  time.Duration
		want    Judgement
	}{
		"every object Current is healthy": {
			objects: []Object{current("Deployment/shop/web"), current("Service/shop/web")},
			waited:  1500 * time.Millisecond,
			want:    Judgement{Verdict: Healthy},
		},
		"one in progress keeps it progressing, naming what is pending": {
			objects: []Object{current("Service/shop/web"), {Name: "Deployment/shop/web", Status: status.InProgressStatus, Message: "Available: 0/1"}},
			waited:  time.Second,
			want:    Judgement{Verdict: Progressing, Pending: []string{"Deployment/shop/web status: 'InProgress'"}},
		},
		"an object not read yet is pending as NotFound": {
			objects: []Object{{Name: "ConfigMap/shop/cfg", Status: status.NotFoundStatus}},
			waited:  time.Second,
			want:    Judgement{Verdict: Progressing, Pending: []string{"ConfigMap/shop/cfg status: 'NotFound'"}},
		},
		"an object kstatus cannot judge is pending with the reason": {
			objects: []Object{{Name: "Widget/shop/w", Err: errors.New("bad status field")}},
			waited:  time.Second,
			want:    Judgement{Verdict: Progressing, Pending: []string{"Widget/shop/w status: bad status field"}},
		},
		"one Failed object fails it at once, sorted, with kstatus's message": {
			objects: []Object{
				{Name: "Job/shop/migrate", Status: status.FailedStatus, Message: "Job Failed. failed: 1/1"},
				{Name: "Deployment/shop/web", Status: status.FailedStatus, Message: "Progress deadline exceeded"},
				{Name: "Service/shop/web", Status: status.InProgressStatus},
			},
			waited: 1234567 * time.Microsecond,
			want: Judgement{Verdict: Unhealthy, Message: "health check failed after 1.235s: Deployment/shop/web status: 'Failed': Progress deadline exceeded, " +
				"Job/shop/migrate status: 'Failed': Job Failed. failed: 1/1"},
		},
		"past the timeout, what is still pending fails it": {
			objects: []Object{{Name: "Deployment/shop/web", Status: status.InProgressStatus}, {Name: "ConfigMap/shop/cfg", Status: status.NotFoundStatus}},
			waited:  time.Minute + time.Millisecond,
			want: Judgement{Verdict: Unhealthy,
				Message: "health check failed after 1m0s: timeout waiting for: [ConfigMap/shop/cfg status: 'NotFound', Deployment/shop/web status: 'InProgress']"},
		},
		"at the timeout exactly it still waits": {
			objects: []Object{{Name: "Deployment/shop/web", Status: status.InProgressStatus}},
			waited:  time.Minute,
			want:    Judgement{Verdict: Progressing, Pending: []string{"Deployment/shop/web status: 'InProgress'"}},
		},
		"healthy past the timeout is healthy": {
			objects: []Object{current("Deployment/shop/web")},
			waited:  2 * time.Minute,
			want:    Judgement{Verdict: Healthy},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Judge(tc.objects, tc.waited, time.Minute); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Judge() = %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestNextLookWhileObjectsProgress(t *testing.T) {
	for name, tc := range map[string]struct {
		waited, timeout time.Duration
		polled          bool
		want            time.Duration
		interim         bool
	}{
		"early on, the progress report waits for the verdict": {
			waited: 500 * time.Millisecond, timeout: 5 * time.Minute, want: 1500 * time.Millisecond, interim: true,
		},
		"then the safety net bounds a watched wait": {
			waited: 3 * time.Second, timeout: 5 * time.Minute, want: SafetyNet,
		},
		"objects nobody watches are polled": {
			waited: 3 * time.Second, timeout: 5 * time.Minute, polled: true, want: Poll,
		},
		"the timeout comes first when it is nearer": {
			waited: 50 * time.Second, timeout: time.Minute, want: 10 * time.Second,
		},
		"never sooner than a second": {
			waited: 59800 * time.Millisecond, timeout: time.Minute, want: time.Second,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, interim := NextLook(tc.waited, tc.timeout, tc.polled)
			if got != tc.want || interim != tc.interim {
				t.Errorf("NextLook(%s, %s, %v) = %s, %v; want %s, %v", tc.waited, tc.timeout, tc.polled, got, interim, tc.want, tc.interim)
			}
		})
	}
}
