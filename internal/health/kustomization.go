package health

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Timing of a Kustomization's health checks while its objects progress.
const (
	// Poll is how often health checks on objects the controller does not watch
	// (healthChecks naming objects another tool applied) are read again.
	Poll = 5 * time.Second

	// InterimStatusDelay is how long health may be awaited before the status says so.
	// Most applied workloads are healthy within it, and then the Ready verdict is the
	// only status write of the apply instead of the second: one custom-resource write
	// fewer, which the apiserver validates and every watcher receives
	// (docs/design/2026-11-26-gitops-cpu-budget.md). Flux writes its progress before
	// it waits.
	InterimStatusDelay = 2 * time.Second

	// SafetyNet bounds the wait between two health judgements of watched objects,
	// which the watch normally wakes at each change: a lost wake-up (a relist, a
	// dropped event) costs at most this, not the whole timeout. Judging reads only
	// the cache.
	SafetyNet = 30 * time.Second
)

// Object is one object a Kustomization's health depends on, as last read.
type Object struct {
	// Name is "Kind/namespace/name" ("Kind/name" when cluster-scoped).
	Name string
	// Status is kstatus's verdict; status.NotFoundStatus when it could not be read.
	Status status.Status
	// Message is kstatus's message.
	Message string
	// Err says why kstatus could not judge it.
	Err error
}

// Verdict is the health of a Kustomization's objects at one look.
type Verdict int

// The verdicts.
const (
	// Progressing: some objects are not Current yet, within the timeout.
	Progressing Verdict = iota
	// Healthy: every object is Current.
	Healthy
	// Unhealthy: an object Failed, or the timeout passed with objects not Current.
	Unhealthy
)

// Judgement is a verdict with the words the Healthy condition says.
type Judgement struct {
	Verdict Verdict
	// Message says why, for Unhealthy.
	Message string
	// Pending names the objects not Current yet, sorted, for Progressing.
	Pending []string
}

// Judge decides the health of a Kustomization's objects after health has been
// awaited for waited, with Flux's words: one Failed object fails it at once; it
// passes when every object is Current; past the timeout, what is not Current yet
// fails it.
func Judge(objects []Object, waited, timeout time.Duration) Judgement {
	var pending, failed []string
	for _, o := range objects {
		switch {
		case o.Err != nil:
			pending = append(pending, fmt.Sprintf("%s status: %v", o.Name, o.Err))
		case o.Status == status.CurrentStatus:
		case o.Status == status.FailedStatus:
			failed = append(failed, fmt.Sprintf("%s status: 'Failed': %s", o.Name, o.Message))
		default:
			pending = append(pending, fmt.Sprintf("%s status: '%s'", o.Name, o.Status))
		}
	}
	sort.Strings(pending)
	sort.Strings(failed)
	switch {
	case len(failed) > 0:
		return Judgement{Verdict: Unhealthy, Message: "health check failed after " + waited.Round(time.Millisecond).String() + ": " + strings.Join(failed, ", ")}
	case len(pending) == 0:
		return Judgement{Verdict: Healthy}
	case waited > timeout:
		return Judgement{Verdict: Unhealthy, Message: fmt.Sprintf("health check failed after %s: timeout waiting for: [%s]", timeout, strings.Join(pending, ", "))}
	}
	return Judgement{Verdict: Progressing, Pending: pending}
}

// NextLook says, while objects progress, when to judge them again and whether that
// look's progress report may go unwritten (interim): the watch of the objects wakes
// the Kustomization at each change, so the requeue only guards the timeout, a lost
// wake-up, and the objects nobody watches (polled).
func NextLook(waited, timeout time.Duration, polled bool) (requeue time.Duration, interim bool) {
	if waited < InterimStatusDelay {
		return InterimStatusDelay - waited, true
	}
	next := min(timeout-waited, SafetyNet)
	if polled {
		next = min(next, Poll)
	}
	return max(next, time.Second), false
}
