package receiver_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/receiver"
)

var gitRepoRef = notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "app"}

// condition returns the Receiver's condition of type typ as "Status/Reason: message".
func condition(r *notificationv1.Receiver, typ string) string {
	for _, c := range r.Status.Conditions {
		if c.Type == typ {
			return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return ""
}

func TestReceiverStatus(t *testing.T) {
	tests := map[string]struct {
		receiver   func(ns string) *notificationv1.Receiver
		secret     bool
		wantReady  string // prefix of condition(Ready)
		wantStall  bool
		wantInPath bool
	}{
		"a Receiver with its Secret is Ready at Flux's webhook path": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "github", "token", []string{"push"}, gitRepoRef)
			},
			secret:     true,
			wantReady:  "True/Succeeded: Receiver initialized for path: /hook/",
			wantInPath: true,
		},
		"a Receiver whose Secret is missing is not Ready and says which Secret": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "github", "token", nil, gitRepoRef)
			},
			wantReady: "False/TokenNotFound: secret '%s/token' not found: create it with a 'token' key",
		},
		"a Receiver of a type tugboat does not serve is stalled and names spec.type": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "quay", "token", nil, gitRepoRef)
			},
			secret:    true,
			wantReady: "False/InvalidSpec: spec.type 'quay' is not supported by tugboat",
			wantStall: true,
		},
		"a Receiver selecting every name without labels is stalled and names the entry": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "generic", "token", nil, notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "*"})
			},
			secret:    true,
			wantReady: "False/InvalidSpec: spec.resources[0]: name '*' needs matchLabels",
			wantStall: true,
		},
		"a Receiver naming a GitOps kind under another API group is stalled and names the entry": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "generic", "token", nil, gitRepoRef,
					notificationv1.CrossNamespaceObjectReference{APIVersion: "apps/v1", Kind: "GitRepository", Name: "web"})
			},
			secret:    true,
			wantReady: "False/InvalidSpec: spec.resources[1]: kind 'GitRepository' of 'apps/v1' is not a target tugboat allows",
			wantStall: true,
		},
		"a Receiver naming a Flux kind tugboat does not reconcile is stalled (the CRD admits every Flux kind)": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "generic", "token", nil,
					notificationv1.CrossNamespaceObjectReference{APIVersion: "helm.toolkit.fluxcd.io/v2", Kind: "HelmRelease", Name: "web"})
			},
			secret:    true,
			wantReady: "False/InvalidSpec: spec.resources[0]: kind 'HelmRelease'",
			wantStall: true,
		},
		"a Receiver targeting another namespace is denied and stalled": {
			receiver: func(ns string) *notificationv1.Receiver {
				return receiverObj(ns, "hook", "generic", "token", nil,
					notificationv1.CrossNamespaceObjectReference{Kind: "Kustomization", Name: "app", Namespace: "kube-system"})
			},
			secret:    true,
			wantReady: "False/AccessDenied: spec.resources[0]: can't access 'Kustomization/kube-system/app'",
			wantStall: true,
		},
		"a Receiver requiring SHA-256 with a type that carries no signature is stalled": {
			receiver: func(ns string) *notificationv1.Receiver {
				r := receiverObj(ns, "hook", "gitlab", "token", nil, gitRepoRef)
				r.Annotations = map[string]string{meta.RequireSHA256Annotation: "true"}
				return r
			},
			secret:    true,
			wantReady: "False/InvalidSpec: spec.type 'gitlab' carries no signature",
			wantStall: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t)
			if tc.secret {
				create(t, tokenSecret(ns, "token", "s3cr3t-"+ns))
			}
			r := tc.receiver(ns)
			create(t, r)
			want := tc.wantReady
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, ns)
			}
			var got notificationv1.Receiver
			poll(t, "Ready "+want, func(ctx context.Context) (bool, string) {
				if err := k8s.Get(ctx, client.ObjectKeyFromObject(r), &got); err != nil {
					return false, err.Error()
				}
				c := condition(&got, meta.ReadyCondition)
				return strings.HasPrefix(c, want), c
			})
			wantPath := ""
			if tc.wantInPath {
				wantPath = got.GetWebhookPath("s3cr3t-" + ns)
			}
			if got.Status.WebhookPath != wantPath {
				t.Errorf("webhookPath %q, want %q", got.Status.WebhookPath, wantPath)
			}
			if stalled := condition(&got, meta.StalledCondition) != ""; stalled != tc.wantStall {
				t.Errorf("Stalled present=%v, want %v (%+v)", stalled, tc.wantStall, got.Status.Conditions)
			}
			if tc.wantInPath && got.Status.ObservedGeneration != got.Generation {
				t.Errorf("observedGeneration %d, want %d", got.Status.ObservedGeneration, got.Generation)
			}
		})
	}
}

// TestReceiverBecomesReadyWhenItsSecretAppears covers the usual order mistake: the
// Receiver applied before its Secret.
func TestReceiverBecomesReadyWhenItsSecretAppears(t *testing.T) {
	ns := newNamespace(t)
	r := receiverObj(ns, "hook", "generic", "late", nil, gitRepoRef)
	create(t, r)
	poll(t, "TokenNotFound", func(ctx context.Context) (bool, string) {
		var got notificationv1.Receiver
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(r), &got); err != nil {
			return false, err.Error()
		}
		c := condition(&got, meta.ReadyCondition)
		return strings.HasPrefix(c, "False/"+receiver.TokenNotFoundReason), c
	})
	create(t, tokenSecret(ns, "late", "t"))
	if got := waitReceiverReady(t, ns, "hook"); got != r.GetWebhookPath("t") {
		t.Errorf("webhookPath %q, want %q", got, r.GetWebhookPath("t"))
	}
}
