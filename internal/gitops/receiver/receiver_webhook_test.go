package receiver_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/receiver"
)

func configMapFile(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

func githubPush(token string, body []byte) http.Header {
	return http.Header{
		"X-Github-Event":      {"push"},
		"X-Hub-Signature-256": {receiver.Sign([]byte(token), body)},
		"Content-Type":        {"application/json"},
	}
}

func annotations(t *testing.T, obj client.Object) map[string]string {
	t.Helper()
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	return maps.Clone(obj.GetAnnotations())
}

// TestGitHubPushReconcilesAtOnce: with every interval at 1h, only the webhook can make
// the new commit reach the cluster within the test's wait.
func TestGitHubPushReconcilesAtOnce(t *testing.T) {
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	create(t, gitRepository(ns, "app", url, nil), kustomization(ns, "app", "./app", "app"))
	poll(t, "first sync", func(ctx context.Context) (bool, string) {
		var cm corev1.ConfigMap
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, &cm)
		return err == nil && cm.Data["value"] == "one", fmt.Sprint(err, cm.Data)
	})
	const token = "gh-token"
	create(t, tokenSecret(ns, "webhook-token", token),
		receiverObj(ns, "github", "github", "webhook-token", []string{"push"}, gitRepoRef))
	path := waitReceiverReady(t, ns, "github")

	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	header := githubPush(token, ping)
	header.Set("X-Github-Event", "ping")
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = ns, "app"
	before := annotations(t, repo)
	if code, body := post(t, http.MethodPost, path, header, ping); code != http.StatusOK {
		t.Fatalf("ping: %d %s", code, body)
	}
	if got := annotations(t, repo); !maps.Equal(got, before) {
		t.Fatalf("a ping changed the annotations: %v -> %v", before, got)
	}

	if err := wd.WriteFiles(map[string]string{"app/config.yaml": configMapFile("settings", "two")}); err != nil {
		t.Fatal(err)
	}
	commit, err := wd.CommitAndPush("two")
	if err != nil {
		t.Fatal(err)
	}
	push := fmt.Appendf(nil, `{"ref":"refs/heads/main","after":%q}`, commit)
	if code, body := post(t, http.MethodPost, path, githubPush(token, push), push); code != http.StatusOK {
		t.Fatalf("push: %d %s", code, body)
	}
	requested := annotations(t, repo)
	if _, ok := requested[meta.ReconcileRequestAnnotation]; !ok {
		t.Fatalf("the GitRepository was not annotated")
	}
	// This suite's controller does not trace: no trace context is written.
	if v, ok := requested[meta.TraceParentAnnotation]; ok {
		t.Errorf("an untraced call wrote %s: %q", meta.TraceParentAnnotation, v)
	}
	poll(t, "the ConfigMap of the pushed commit in the cluster", func(ctx context.Context) (bool, string) {
		var cm corev1.ConfigMap
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "settings"}, &cm)
		return err == nil && cm.Data["value"] == "two", fmt.Sprint(err, cm.Data)
	})
	var got sourcev1.GitRepository
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(repo), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Artifact == nil || !strings.HasSuffix(got.Status.Artifact.Revision, commit) {
		t.Errorf("GitRepository artifact %+v, want revision of %s", got.Status.Artifact, commit)
	}
}

// TestRefusedCallsChangeNothing sends each refused call to a Ready GitHub Receiver and
// checks the answer and that no target's annotations moved.
func TestRefusedCallsChangeNothing(t *testing.T) {
	ns := newNamespace(t)
	const token = "refuse-token"
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	ks := kustomization(ns, "app", "./app", "app")
	create(t, gitRepository(ns, "app", url, nil), ks, tokenSecret(ns, "webhook-token", token),
		receiverObj(ns, "github", "github", "webhook-token", []string{"push"}, gitRepoRef,
			notificationv1.CrossNamespaceObjectReference{Kind: "Kustomization", Name: "app"}))
	path := waitReceiverReady(t, ns, "github")
	body := []byte(`{"ref":"refs/heads/main"}`)
	big := bytes.Repeat([]byte("x"), 2<<20)

	tests := map[string]struct {
		method string
		path   string
		header http.Header
		body   []byte
		want   int
	}{
		"a push signed with another token is refused with 401": {
			method: http.MethodPost, path: path, header: githubPush("not-the-token", body), body: body, want: http.StatusUnauthorized,
		},
		"a push without a signature is refused with 401": {
			method: http.MethodPost, path: path, header: http.Header{"X-Github-Event": {"push"}}, body: body, want: http.StatusUnauthorized,
		},
		"a signed event not in spec.events is refused with 400": {
			method: http.MethodPost, path: path, body: body, want: http.StatusBadRequest,
			header: http.Header{"X-Github-Event": {"issues"}, "X-Hub-Signature-256": {receiver.Sign([]byte(token), body)}},
		},
		"a signed 2 MiB body is refused with 413": {
			method: http.MethodPost, path: path, header: githubPush(token, big), body: big, want: http.StatusRequestEntityTooLarge,
		},
		"a path no Receiver has is refused with 404": {
			method: http.MethodPost, path: notificationv1.ReceiverWebhookPath + strings.Repeat("0", 64), header: githubPush(token, body), body: body, want: http.StatusNotFound,
		},
		"a GET of the webhook path is refused with 405": {
			method: http.MethodGet, path: path, want: http.StatusMethodNotAllowed,
		},
	}
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = ns, "app"
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			beforeRepo, beforeKs := annotations(t, repo), annotations(t, ks)
			code, msg := post(t, tc.method, tc.path, tc.header, tc.body)
			if code != tc.want {
				t.Errorf("got %d (%s), want %d", code, strings.TrimSpace(msg), tc.want)
			}
			if strings.Contains(msg, token) {
				t.Errorf("the answer contains the token: %s", msg)
			}
			// The handler annotates before it answers, so nothing can arrive later.
			if got := annotations(t, repo); !maps.Equal(got, beforeRepo) {
				t.Errorf("GitRepository annotations changed: %v -> %v", beforeRepo, got)
			}
			if got := annotations(t, ks); !maps.Equal(got, beforeKs) {
				t.Errorf("Kustomization annotations changed: %v -> %v", beforeKs, got)
			}
		})
	}
	// The same Receiver does act on a good call, so the refusals above were refusals.
	if code, msg := post(t, http.MethodPost, path, githubPush(token, body), body); code != http.StatusOK {
		t.Fatalf("a good push: %d %s", code, msg)
	}
	if _, ok := annotations(t, ks)[meta.ReconcileRequestAnnotation]; !ok {
		t.Errorf("a good push did not annotate the Kustomization")
	}
}

// TestAcceptedCallsAnnotateTheirTargets covers each provider over real HTTP and the
// label selection with name '*'.
func TestAcceptedCallsAnnotateTheirTargets(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	selected := map[string]string{"team": "a"}
	create(t, gitRepository(ns, "app", url, nil), gitRepository(ns, "a1", url, selected),
		gitRepository(ns, "a2", url, selected), gitRepository(ns, "b1", url, map[string]string{"team": "b"}),
		tokenSecret(ns, "token", "tok"))
	body := []byte(`{"object_kind":"push"}`)
	bySelector := notificationv1.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "*", MatchLabels: selected}

	tests := map[string]struct {
		receiver *notificationv1.Receiver
		header   http.Header
		want     []string // GitRepositories annotated
	}{
		"a GitLab push hook with the token": {
			receiver: receiverObj(ns, "gitlab", "gitlab", "token", []string{"Push Hook"}, gitRepoRef),
			header:   http.Header{"X-Gitlab-Token": {"tok"}, "X-Gitlab-Event": {"Push Hook"}},
			want:     []string{"app"},
		},
		"a generic-hmac call signed with X-Signature": {
			receiver: receiverObj(ns, "hmac", "generic-hmac", "token", nil, gitRepoRef),
			header:   http.Header{"X-Signature": {receiver.Sign([]byte("tok"), body)}},
			want:     []string{"app"},
		},
		"a generic call selecting by labels annotates only the matching objects": {
			receiver: receiverObj(ns, "generic", "generic", "token", nil, bySelector),
			want:     []string{"a1", "a2"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			create(t, tc.receiver)
			path := waitReceiverReady(t, ns, tc.receiver.Name)
			before := map[string]string{}
			for _, n := range []string{"app", "a1", "a2", "b1"} {
				r := &sourcev1.GitRepository{}
				r.Namespace, r.Name = ns, n
				before[n] = annotations(t, r)[meta.ReconcileRequestAnnotation]
			}
			if code, msg := post(t, http.MethodPost, path, tc.header, body); code != http.StatusOK {
				t.Fatalf("got %d %s", code, msg)
			}
			for _, n := range []string{"app", "a1", "a2", "b1"} {
				r := &sourcev1.GitRepository{}
				r.Namespace, r.Name = ns, n
				after := annotations(t, r)[meta.ReconcileRequestAnnotation]
				if changed, want := after != before[n], contains(tc.want, n); changed != want {
					t.Errorf("GitRepository %s: annotation changed=%v (%q -> %q), want %v", n, changed, before[n], after, want)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRotatedTokenAndSuspend: a rotated token retires the old path at once and the
// status moves to the new one; a suspended Receiver answers 503 and annotates nothing.
func TestRotatedTokenAndSuspend(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	secret := tokenSecret(ns, "webhook-token", "first")
	rcv := receiverObj(ns, "hook", "generic-hmac", "webhook-token", nil, gitRepoRef)
	create(t, gitRepository(ns, "app", url, nil), secret, rcv)
	oldPath := waitReceiverReady(t, ns, "hook")
	repo := &sourcev1.GitRepository{}
	repo.Namespace, repo.Name = ns, "app"
	body := []byte(`{}`)
	sign := func(token string) http.Header {
		return http.Header{"X-Signature": {receiver.Sign([]byte(token), body)}}
	}

	secret.Data["token"] = []byte("second")
	if err := k8s.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	before := annotations(t, repo)
	// The Secret is read live, so the old path is refused as soon as the update is stored.
	if code, msg := post(t, http.MethodPost, oldPath, sign("first"), body); code != http.StatusNotFound {
		t.Errorf("old path after rotation: got %d (%s), want 404", code, strings.TrimSpace(msg))
	}
	if got := annotations(t, repo); !maps.Equal(got, before) {
		t.Errorf("a call on the retired path changed the annotations: %v -> %v", before, got)
	}
	// The Secret is not watched (as in Flux): the path moves at spec.interval, or at once
	// when a reconcile is requested, as `flux reconcile receiver` does.
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:"rotated"}}}`, meta.ReconcileRequestAnnotation)
	if err := k8s.Patch(context.Background(), rcv, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	newPath := rcv.GetWebhookPath("second")
	poll(t, "webhookPath of the new token", func(ctx context.Context) (bool, string) {
		var got notificationv1.Receiver
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(rcv), &got); err != nil {
			return false, err.Error()
		}
		return got.Status.WebhookPath == newPath, got.Status.WebhookPath
	})
	waitServed(t, ns, "hook", newPath)
	if code, msg := post(t, http.MethodPost, newPath, sign("second"), body); code != http.StatusOK {
		t.Fatalf("new path: got %d (%s), want 200", code, strings.TrimSpace(msg))
	}

	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(rcv), rcv); err != nil {
		t.Fatal(err)
	}
	rcv.Spec.Suspend = true
	if err := k8s.Update(context.Background(), rcv); err != nil {
		t.Fatal(err)
	}
	before = annotations(t, repo)
	poll(t, "a suspended Receiver refusing calls", func(context.Context) (bool, string) {
		code, msg := post(t, http.MethodPost, newPath, sign("second"), body)
		return code == http.StatusServiceUnavailable, fmt.Sprint(code, " ", msg)
	})
	if got := annotations(t, repo); !maps.Equal(got, before) {
		t.Errorf("a suspended Receiver changed the annotations: %v -> %v", before, got)
	}
}
