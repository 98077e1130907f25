package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
)

// pollInterval is how often a waiting verb reads the object. Flux's CLI polls too (every
// 2 s); a shorter interval makes the CLI notice the outcome sooner at the cost of a GET
// per interval, which is nothing for one object.
const pollInterval = 250 * time.Millisecond

// settled decides whether a wait is over. It returns done when the object reached the
// state waited for, and failed with a message when the controller finished the attempt
// with an error that it will not retry by itself.
type settled func(obj fluxObject) (done bool, failed string)

// handled is the wait of every verb that asks for a reconcile (create, reconcile,
// resume set the reconcile.fluxcd.io/requestedAt token, as flux reconcile and flux
// resume do): done when the controller has handled the token (lastHandledReconcileAt
// equals it) and Ready is True for the current generation; failed when Ready is False
// for it, the outcome of that attempt even when the controller will retry later. Only
// a dependency that is not ready yet keeps the wait going: the controller reconciles
// again when it becomes ready.
func handled(k *kind, token string) settled {
	return func(obj fluxObject) (bool, string) {
		if k.lastHandled(obj) != token {
			return false, ""
		}
		c := apimeta.FindStatusCondition(obj.GetConditions(), meta.ReadyCondition)
		if c == nil || c.ObservedGeneration != obj.GetGeneration() {
			return false, ""
		}
		switch c.Status {
		case metav1.ConditionTrue:
			return true, ""
		case metav1.ConditionFalse:
			if c.Reason == meta.DependencyNotReadyReason {
				return false, ""
			}
			return false, c.Message
		}
		return false, ""
	}
}

// requestToken is a new value for the reconcile.fluxcd.io/requestedAt annotation.
func requestToken() string {
	return time.Now().Format(time.RFC3339Nano)
}

// errTimeout marks a wait that ran out of time.
var errTimeout = errors.New("timed out")

// waitObject reads the object every pollInterval until check settles it or timeout
// passes. On failure or timeout the error carries the last Ready message.
func waitObject(ctx context.Context, c client.Client, k *kind, ns, name string, timeout time.Duration, check settled) (fluxObject, error) {
	var last fluxObject
	var failed string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		obj, err := getObject(ctx, c, k, ns, name)
		if err != nil {
			return false, err
		}
		last = obj
		done, msg := check(obj)
		if msg != "" {
			failed = msg
			return true, nil
		}
		return done, nil
	})
	switch {
	case failed != "":
		return last, fmt.Errorf("%s '%s/%s' failed: %s", k.Kind, ns, name, failed)
	case err != nil && last != nil && (wait.Interrupted(err) || errors.Is(err, context.DeadlineExceeded)):
		_, msg := readyStatus(last)
		return last, fmt.Errorf("%w after %s waiting for %s '%s/%s' to be ready: %s", errTimeout, timeout, k.Kind, ns, name, msg)
	case err != nil:
		return last, err
	}
	return last, nil
}
