package receiver_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the test signs as a legacy sender does, to see it refused.
	"encoding/hex"
	"maps"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/receiver"
)

func signSHA1(token, body []byte) string {
	mac := hmac.New(sha1.New, token)
	_, _ = mac.Write(body)
	return "sha1=" + hex.EncodeToString(mac.Sum(nil))
}

// An authenticated call gets the same answer whether or not its targets exist, so a
// webhook never tells whether an object exists; the existing target is annotated.
func TestAnswersDoNotTellWhetherATargetExists(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	const token = "exists-token"
	create(t, gitRepository(ns, "app", url, nil), tokenSecret(ns, "token", token),
		receiverObj(ns, "present", "generic-hmac", "token", nil, gitRepoRef),
		receiverObj(ns, "absent", "generic-hmac", "token", nil, notificationv1.CrossNamespaceObjectReference{Kind: "Kustomization", Name: "no-such-object"}))
	body := []byte(`{}`)
	header := http.Header{"X-Signature": {receiver.Sign([]byte(token), body)}}
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = ns, "app"
	before := annotations(t, repo)[meta.ReconcileRequestAnnotation]

	codeP, msgP := post(t, http.MethodPost, waitReceiverReady(t, ns, "present"), header, body)
	codeA, msgA := post(t, http.MethodPost, waitReceiverReady(t, ns, "absent"), header, body)
	if codeP != codeA || msgP != msgA {
		t.Errorf("the answers differ: existing target %d %q, missing target %d %q", codeP, msgP, codeA, msgA)
	}
	if codeP != http.StatusOK || strings.Contains(msgA, "no-such-object") || strings.Contains(msgA, "not found") {
		t.Errorf("answer %d %q; want 200 naming nothing", codeA, msgA)
	}
	if after := annotations(t, repo)[meta.ReconcileRequestAnnotation]; after == before {
		t.Errorf("the existing target was not annotated")
	}
}

// With the require-sha256 annotation a SHA-1 signature, valid for the token, is
// refused (401) and changes nothing; the same body signed with SHA-256 is accepted.
// Without the annotation the SHA-1 signature is accepted, so the refusal is the
// annotation's.
func TestRequireSHA256RefusesSHA1Signatures(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	const token = "sha-token"
	strict := receiverObj(ns, "strict", "github", "token", []string{"push"}, gitRepoRef)
	strict.Annotations = map[string]string{meta.RequireSHA256Annotation: "true"}
	create(t, gitRepository(ns, "app", url, nil), tokenSecret(ns, "token", token), strict,
		receiverObj(ns, "lax", "github", "token", []string{"push"}, gitRepoRef))
	body := []byte(`{"ref":"refs/heads/main"}`)
	legacy := http.Header{"X-Github-Event": {"push"}, "X-Hub-Signature": {signSHA1([]byte(token), body)}}
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = ns, "app"

	strictPath := waitReceiverReady(t, ns, "strict")
	before := annotations(t, repo)
	if code, msg := post(t, http.MethodPost, strictPath, legacy, body); code != http.StatusUnauthorized {
		t.Errorf("SHA-1 on a SHA-256 Receiver: got %d (%s), want 401", code, strings.TrimSpace(msg))
	}
	if got := annotations(t, repo); !maps.Equal(got, before) {
		t.Errorf("a refused SHA-1 call changed the annotations: %v -> %v", before, got)
	}
	if code, msg := post(t, http.MethodPost, strictPath, githubPush(token, body), body); code != http.StatusOK {
		t.Errorf("SHA-256 on a SHA-256 Receiver: got %d (%s), want 200", code, strings.TrimSpace(msg))
	}
	if code, msg := post(t, http.MethodPost, waitReceiverReady(t, ns, "lax"), legacy, body); code != http.StatusOK {
		t.Errorf("SHA-1 without the annotation: got %d (%s), want 200", code, strings.TrimSpace(msg))
	}
}

// Authenticated calls past a Receiver's burst are answered 429 and annotate nothing;
// another Receiver's budget is its own.
func TestAuthenticatedCallsAreRateLimitedPerReceiver(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	const token = "rate-token"
	create(t, gitRepository(ns, "app", url, nil), tokenSecret(ns, "token", token),
		receiverObj(ns, "busy", "generic-hmac", "token", nil, gitRepoRef),
		receiverObj(ns, "quiet", "generic-hmac", "token", nil, gitRepoRef))
	body := []byte(`{}`)
	header := http.Header{"X-Signature": {receiver.Sign([]byte(token), body)}}
	busy := waitReceiverReady(t, ns, "busy")
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = ns, "app"

	limited := false
	for i := 0; i < 200 && !limited; i++ {
		code, msg := post(t, http.MethodPost, busy, header, body)
		switch code {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			limited = true
			if i < 30 {
				t.Errorf("limited after %d calls; the burst is 30", i)
			}
		default:
			t.Fatalf("call %d: %d %s", i, code, msg)
		}
	}
	if !limited {
		t.Fatal("200 authenticated calls in a row were never answered 429")
	}
	before := annotations(t, repo)
	if code, _ := post(t, http.MethodPost, busy, header, body); code == http.StatusTooManyRequests {
		if got := annotations(t, repo); !maps.Equal(got, before) {
			t.Errorf("a limited call changed the annotations: %v -> %v", before, got)
		}
	}
	if code, msg := post(t, http.MethodPost, waitReceiverReady(t, ns, "quiet"), header, body); code != http.StatusOK {
		t.Errorf("another Receiver was limited too: %d %s", code, msg)
	}
}

// A call that fails authentication makes the controller read nothing from the
// apiserver: the token is verified from memory. Deleting the Secret proves it: a
// forged call is still 401 (not 503 "not ready", which a Secret read would give),
// while a genuine call, which does read it, is refused as not ready.
func TestTheSignatureIsCheckedBeforeAnyAPIRead(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	const token = "memory-token"
	secret := tokenSecret(ns, "token", token)
	create(t, gitRepository(ns, "app", url, nil), secret, receiverObj(ns, "hook", "generic-hmac", "token", nil, gitRepoRef))
	path := waitReceiverReady(t, ns, "hook")
	if err := k8s.Delete(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	poll(t, "the Secret gone", func(ctx context.Context) (bool, string) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{})
		return err != nil, "still there"
	})
	body := []byte(`{}`)
	if code, msg := post(t, http.MethodPost, path, http.Header{"X-Signature": {receiver.Sign([]byte("forged"), body)}}, body); code != http.StatusUnauthorized {
		t.Errorf("forged call: got %d (%s), want 401 without reading the Secret", code, strings.TrimSpace(msg))
	}
	if code, msg := post(t, http.MethodPost, path, http.Header{"X-Signature": {receiver.Sign([]byte(token), body)}}, body); code != http.StatusServiceUnavailable {
		t.Errorf("genuine call with the Secret gone: got %d (%s), want 503", code, strings.TrimSpace(msg))
	}
}
