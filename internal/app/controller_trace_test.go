package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
	"github.com/tugboatcd/tugboat/internal/observe/collect"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

func configMapFile(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

// span is one row of AppRequests or AppDependencies.
type span struct {
	table, id, parent, name, role string
	success                       bool
}

// TestAWebhookTriggeredReconcileIsOneTrace: a push announced by a webhook reaches
// the cluster, and the controller's own trace of it, exported with the SDK's OTLP
// exporter to the agent's receiver, holds every step under one OperationId, parent
// to child: the webhook call, the GitRepository's ls-remote and clone, and the
// Kustomization's build, apply stage, health wait and the status write that says
// Ready. The reconcile's events name that OperationId, and so does its
// TugboatReconciliations row.
func TestAWebhookTriggeredReconcileIsOneTrace(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t, k8s)
	wd, url := testenv.Repo(t, git, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./app", TargetNamespace: ns, Wait: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"}},
	}
	const token = "trace-token"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "webhook-token"}, Data: map[string][]byte{"token": []byte(token)}}
	rcv := &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hook"},
		Spec: notificationv1.ReceiverSpec{Type: notificationv1.GenericReceiver, SecretRef: meta.LocalObjectReference{Name: "webhook-token"},
			Resources: []notificationv1.CrossNamespaceObjectReference{{Kind: sourcev1.GitRepositoryKind, Name: "app"}}},
	}
	for _, o := range []client.Object{repo, ks, secret, rcv} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("failed to create %T %s: %v", o, o.GetName(), err)
		}
	}
	var path string
	poll(t, "the first revision Ready and the Receiver served", func(ctx context.Context) (bool, string) {
		var got kustomizev1.Kustomization
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ks), &got); err != nil {
			return false, err.Error()
		}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(rcv), rcv); err != nil {
			return false, err.Error()
		}
		path = rcv.Status.WebhookPath
		return meta.IsReady(&got) && got.Status.LastAppliedRevision != "" && path != "", fmt.Sprintf("%+v / %+v", got.Status.Conditions, rcv.Status)
	})

	if err := wd.WriteFiles(map[string]string{"app/config.yaml": configMapFile("settings", "two")}); err != nil {
		t.Fatal(err)
	}
	commit, err := wd.CommitAndPush("two")
	if err != nil {
		t.Fatal(err)
	}
	poll(t, "the webhook call accepted", func(context.Context) (bool, string) {
		// The webhook server reads Receivers from its cache, which sees the
		// status a moment after the apiserver: until then a call is answered 404.
		resp, err := http.Post(hookBase+path, "application/json", bytes.NewReader([]byte(`{}`)))
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	var succeeded eventsv1.Event
	poll(t, "the success event of the pushed commit", func(ctx context.Context) (bool, string) {
		ev, ok := findEvent(ctx, ns, "Kustomization", meta.ReconciliationSucceededReason, commit)
		succeeded = ev
		return ok, fmt.Sprint(ev.Annotations)
	})
	opID := succeeded.Annotations[meta.OperationIDAnnotation]
	if len(opID) != 32 {
		t.Fatalf("the success event names operation %q, want a trace id; annotations %v", opID, succeeded.Annotations)
	}
	// The call's context rode to the GitRepository with the request it wrote.
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
		t.Fatal(err)
	}
	if tp, ok := meta.ReconcileTraceParent(repo.GetAnnotations()); !ok || !strings.Contains(tp, "-"+opID+"-") {
		t.Errorf("the GitRepository's %s is %q, want a traceparent of operation %s", meta.TraceParentAnnotation, repo.GetAnnotations()[meta.TraceParentAnnotation], opID)
	}
	artifact, ok := findEvent(ctx, ns, "GitRepository", "NewArtifact", commit)
	if !ok || artifact.Annotations[meta.OperationIDAnnotation] != opID {
		t.Errorf("the GitRepository's NewArtifact event names operation %q, want %s (found: %v)", artifact.Annotations[meta.OperationIDAnnotation], opID, ok)
	}

	want := []string{
		"POST /hook/{digest}",
		"reconcile GitRepository " + ns + "/app",
		"git ls-remote",
		"git clone",
		"reconcile Kustomization " + ns + "/app",
		"kustomize build",
		"apply",
		"apply objects",
		"health wait",
		"status Ready=True",
	}
	var all []span
	poll(t, "every span of operation "+opID+" in the store", func(ctx context.Context) (bool, string) {
		all = traceSpans(t, opID)
		var missing []string
		for _, n := range want {
			if !slices.ContainsFunc(all, func(s span) bool { return s.name == n }) {
				missing = append(missing, n)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %q of %d spans", missing, len(all))
	})
	// One revision's work is one reconcile span per object: a second would be a
	// reconcile traced twice (one that read a stale cache after the verdict).
	spans := map[string]span{}
	for _, s := range all {
		if _, dup := spans[s.name]; dup && strings.HasPrefix(s.name, "reconcile ") {
			t.Errorf("span %q is twice in operation %s", s.name, opID)
		}
		// Both reconciles end with a status write: keep the Kustomization's.
		if s.name == "status Ready=True" && spans[s.name].id != "" && !strings.HasPrefix(nameOf(all, s.parent), "reconcile Kustomization") {
			continue
		}
		spans[s.name] = s
	}
	// Each step under the one before it: the trace is one tree, rooted at the call.
	parents := map[string]string{
		"POST /hook/{digest}":                    "",
		"reconcile GitRepository " + ns + "/app": "POST /hook/{digest}",
		"git ls-remote":                          "reconcile GitRepository " + ns + "/app",
		"git clone":                              "reconcile GitRepository " + ns + "/app",
		"reconcile Kustomization " + ns + "/app": "reconcile GitRepository " + ns + "/app",
		"kustomize build":                        "reconcile Kustomization " + ns + "/app",
		"apply":                                  "reconcile Kustomization " + ns + "/app",
		"apply objects":                          "apply",
		"health wait":                            "reconcile Kustomization " + ns + "/app",
		"status Ready=True":                      "reconcile Kustomization " + ns + "/app",
	}
	for name, parent := range parents {
		s := spans[name]
		wantParent := ""
		if parent != "" {
			wantParent = spans[parent].id
		}
		if s.parent != wantParent {
			t.Errorf("span %q has parent %q, want %q (%s)", name, s.parent, wantParent, parent)
		}
		if s.role != app.ControllerServiceName || !s.success {
			t.Errorf("span %q: role %q success %v, want %s and true", name, s.role, s.success, app.ControllerServiceName)
		}
	}
	for name, table := range map[string]string{"POST /hook/{digest}": store.AppRequests, "reconcile Kustomization " + ns + "/app": store.AppRequests, "git clone": store.AppDependencies} {
		if spans[name].table != table {
			t.Errorf("span %q is in %s, want %s", name, spans[name].table, table)
		}
	}

	// The agent's delivery collector turns the event into the reconcile's row.
	d := &collect.DeliveryCollector{App: traces}
	d.Observe(&succeeded)
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	res, err := traces.Query(ctx, fmt.Sprintf(`TugboatReconciliations | where Namespace == %q and Kind == "Kustomization" and Commit == %q | project OperationId`, ns, commit))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != opID {
		t.Errorf("TugboatReconciliations rows %v, want one with OperationId %s", res.Rows, opID)
	}
}

// findEvent returns the newest event of reason about the object of kind in ns whose
// revision ends with commit.
func findEvent(ctx context.Context, ns, kind, reason, commit string) (eventsv1.Event, bool) {
	var list eventsv1.EventList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return eventsv1.Event{}, false
	}
	var found []eventsv1.Event
	for _, ev := range list.Items {
		if ev.Regarding.Kind == kind && ev.Reason == reason && strings.HasSuffix(ev.Annotations[meta.RevisionAnnotation], commit) {
			found = append(found, ev)
		}
	}
	if len(found) == 0 {
		return eventsv1.Event{}, false
	}
	slices.SortFunc(found, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	return found[len(found)-1], true
}

// traceSpans reads the spans of one operation.
func traceSpans(t *testing.T, opID string) []span {
	t.Helper()
	var out []span
	for _, table := range []string{store.AppRequests, store.AppDependencies} {
		res, err := traces.Query(context.Background(), fmt.Sprintf(`%s | where OperationId == %q | project Id, ParentId, Name, AppRoleName, Success`, table, opID))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			s := span{table: table, id: r[0].(string), parent: r[1].(string), name: r[2].(string), role: r[3].(string), success: r[4] == true}
			out = append(out, s)
		}
	}
	return out
}

// nameOf returns the name of the span with id.
func nameOf(spans []span, id string) string {
	for _, s := range spans {
		if s.id == id {
			return s.name
		}
	}
	return ""
}

// TestAReconcileRequestedWithoutAWebhookStartsItsOwnTrace: a new commit fetched on a
// plain reconcile request (what 'tugboat reconcile source git' and the interval do)
// is a trace rooted at the GitRepository's reconcile, with the Kustomization under it;
// a traceparent left on the object by an earlier request is not reused.
func TestAReconcileRequestedWithoutAWebhookStartsItsOwnTrace(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t, k8s)
	wd, url := testenv.Repo(t, git, ns, map[string]string{"app/config.yaml": configMapFile("settings", "one")})
	const stale = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	repo := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app", Annotations: map[string]string{
			meta.TraceParentAnnotation: meta.TraceParentValue("an earlier request", stale)}},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"}},
	}
	ks := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: kustomizev1.KustomizationSpec{Interval: metav1.Duration{Duration: time.Hour}, Path: "./app", TargetNamespace: ns,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"}},
	}
	for _, o := range []client.Object{repo, ks} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("failed to create %T %s: %v", o, o.GetName(), err)
		}
	}
	poll(t, "the first revision Ready", func(ctx context.Context) (bool, string) {
		var got kustomizev1.Kustomization
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(ks), &got); err != nil {
			return false, err.Error()
		}
		return meta.IsReady(&got) && got.Status.LastAppliedRevision != "", fmt.Sprintf("%+v", got.Status.Conditions)
	})
	if err := wd.WriteFiles(map[string]string{"app/config.yaml": configMapFile("settings", "two")}); err != nil {
		t.Fatal(err)
	}
	commit, err := wd.CommitAndPush("two")
	if err != nil {
		t.Fatal(err)
	}
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
	if err := k8s.Patch(ctx, repo, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	var succeeded eventsv1.Event
	poll(t, "the success event of the new commit", func(ctx context.Context) (bool, string) {
		ev, ok := findEvent(ctx, ns, "Kustomization", meta.ReconciliationSucceededReason, commit)
		succeeded = ev
		return ok, fmt.Sprint(ev.Annotations)
	})
	opID := succeeded.Annotations[meta.OperationIDAnnotation]
	if len(opID) != 32 || strings.Contains(stale, opID) {
		t.Fatalf("the success event names operation %q, want a trace id of its own", opID)
	}
	gitName, ksName := "reconcile GitRepository "+ns+"/app", "reconcile Kustomization "+ns+"/app"
	var all []span
	poll(t, "the reconciles of operation "+opID+" in the store", func(context.Context) (bool, string) {
		all = traceSpans(t, opID)
		return nameOf(all, idOf(all, gitName)) != "" && idOf(all, ksName) != "", fmt.Sprintf("%d spans", len(all))
	})
	for _, s := range all {
		switch s.name {
		case gitName:
			if s.parent != "" {
				t.Errorf("the GitRepository's reconcile has parent %q, want none: it starts the trace", s.parent)
			}
		case ksName:
			if want := idOf(all, gitName); s.parent != want {
				t.Errorf("the Kustomization's reconcile has parent %q, want the GitRepository's %q", s.parent, want)
			}
		case "POST /hook/{digest}":
			t.Errorf("a trace without a webhook call has one")
		}
	}
}

// idOf returns the id of the span named name.
func idOf(spans []span, name string) string {
	for _, s := range spans {
		if s.name == name {
			return s.id
		}
	}
	return ""
}
