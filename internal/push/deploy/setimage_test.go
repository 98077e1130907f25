package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/delivery/deployrecord"
)

func deployOpts(ns, name string, images ...string) Options {
	specs, err := ParseImages(images)
	if err != nil {
		panic(err)
	}
	return Options{
		Namespace: ns, Workload: Workload{Kind: "Deployment", Name: name}, Images: specs,
		Wait: true, Timeout: 2 * time.Minute, Actor: "alice", Commit: "c0ffee", KeepRecords: DefaultKeepRecords,
	}
}

func TestSetImageRollsOutAndRecordsTheDeploy(t *testing.T) {
	ns := newNamespace(t)
	newDeployment(t, ns, "web", "registry.example/web:1", 600, nil)
	var events []Event
	o := deployOpts(ns, "web", "app=registry.example/web:2")
	o.Events = func(e Event) { events = append(events, e) }
	rec, err := SetImage(context.Background(), clients, o)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != deployrecord.ResultSucceeded || !strings.Contains(rec.Message, `deployment "web" successfully rolled out`) {
		t.Errorf("result %s %q, want Succeeded, successfully rolled out", rec.Result, rec.Message)
	}
	w := Workload{Kind: "Deployment", Name: "web"}
	if got := images(t, ns, w); got["app"] != "registry.example/web:2" || got["init"] != "registry.example/init:1" {
		t.Errorf("images after the deploy: %v", got)
	}
	if len(events) == 0 || !events[len(events)-1].Status.Done || events[len(events)-1].Status.Available != 2 {
		t.Errorf("the last progress event is not the completed rollout: %+v", events)
	}
	recs := records(t, ns)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	got := recs[0]
	want := deployrecord.Change{Container: "app", ImageBefore: "registry.example/web:1", ImageAfter: "registry.example/web:2"}
	if got.Kind != "Deployment" || got.Workload != "web" || got.Namespace != ns || got.Name != rec.Name ||
		got.Actor != "alice" || got.Commit != "c0ffee" || got.Revision != 2 || got.Result != deployrecord.ResultSucceeded ||
		len(got.Changes) != 1 || got.Changes[0] != want || got.StartTime.IsZero() || got.EndTime.Before(got.StartTime) {
		t.Errorf("record = %+v", got)
	}
	d, err := clients.Kube.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cause := d.Annotations[ChangeCauseAnnotation]; cause != "tugboat deploy set-image app=registry.example/web:2 (commit c0ffee, by alice)" {
		t.Errorf("change-cause = %q", cause)
	}
}

func TestSetImageOfTheSameImageChangesNothing(t *testing.T) {
	ns := newNamespace(t)
	d := newDeployment(t, ns, "web", "registry.example/web:1", 600, nil)
	rec, err := SetImage(context.Background(), clients, deployOpts(ns, "web", "app=registry.example/web:1"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != deployrecord.ResultUnchanged || len(rec.Changes) != 0 || rec.Revision != 1 {
		t.Errorf("record = %+v, want Unchanged at revision 1 without changes", rec)
	}
	after, err := clients.Kube.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != d.Generation {
		t.Errorf("generation %d -> %d: the Deployment was changed", d.Generation, after.Generation)
	}
	if recs := records(t, ns); len(recs) != 1 || recs[0].Result != deployrecord.ResultUnchanged {
		t.Errorf("records = %+v, want one Unchanged", recs)
	}
}

func TestAFailingRolloutIsRolledBackOrReported(t *testing.T) {
	cases := map[string]struct {
		deadline   int32
		timeout    time.Duration
		rollback   bool
		result     deployrecord.Result
		finalImage string
		message    string
	}{
		"a rollout past its progress deadline is rolled back to the previous image": {
			deadline: 2, timeout: 2 * time.Minute, rollback: true, result: deployrecord.ResultRolledBack,
			finalImage: "registry.example/web:1", message: "exceeded its progress deadline; rolled back to revision 1",
		},
		"a rollout past its progress deadline without rollback is left failed": {
			deadline: 2, timeout: 2 * time.Minute, result: deployrecord.ResultFailed,
			finalImage: "registry.example/web" + BrokenTag, message: `deployment "web" exceeded its progress deadline`,
		},
		"a rollout that times out is rolled back": {
			deadline: 600, timeout: 3 * time.Second, rollback: true, result: deployrecord.ResultRolledBack,
			finalImage: "registry.example/web:1", message: "timed out waiting for the rollout",
		},
		"a rollout that times out without rollback is left as it is": {
			deadline: 600, timeout: 3 * time.Second, result: deployrecord.ResultTimedOut,
			finalImage: "registry.example/web" + BrokenTag, message: "timed out waiting for the rollout of deployment.apps/web",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t)
			newDeployment(t, ns, "web", "registry.example/web:1", tc.deadline, nil)
			o := deployOpts(ns, "web", "app=registry.example/web"+BrokenTag)
			o.Timeout, o.RollbackOnFailure = tc.timeout, tc.rollback
			var rollbackEvents int
			o.Events = func(e Event) {
				if e.Phase == PhaseRollback {
					rollbackEvents++
				}
			}
			rec, err := SetImage(context.Background(), clients, o)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Result != tc.result || !strings.Contains(rec.Message, tc.message) {
				t.Errorf("result %s %q, want %s containing %q", rec.Result, rec.Message, tc.result, tc.message)
			}
			if got := images(t, ns, o.Workload)["app"]; got != tc.finalImage {
				t.Errorf("image after the deploy = %s, want %s", got, tc.finalImage)
			}
			if tc.rollback {
				if rollbackEvents == 0 {
					t.Error("no rollback progress was reported")
				}
				// The rollback completed: the restored revision is rolled out.
				st, err := WaitRollout(context.Background(), clients, ns, o.Workload, WaitOptions{Watch: false})
				if err != nil || !st.Done {
					t.Errorf("after the rollback the rollout is not complete: %v %q", err, st.Message)
				}
				if rec.Revision != 3 {
					t.Errorf("revision after the rollback = %d, want 3 (revision 1's ReplicaSet renumbered)", rec.Revision)
				}
			}
			if recs := records(t, ns); len(recs) != 1 || recs[0].Result != tc.result {
				t.Errorf("records = %+v, want one %s", recs, tc.result)
			}
		})
	}
}

func TestHistoryAndUndoFollowKubectl(t *testing.T) {
	ns := newNamespace(t)
	w := Workload{Kind: "Deployment", Name: "web"}
	newDeployment(t, ns, "web", "registry.example/web:1", 600, nil)
	ctx := context.Background()
	for _, tag := range []string{"2", "3"} {
		if rec, err := SetImage(ctx, clients, deployOpts(ns, "web", "app=registry.example/web:"+tag)); err != nil || rec.Result != deployrecord.ResultSucceeded {
			t.Fatalf("deploy of %s: %v %+v", tag, err, rec)
		}
	}
	revs, err := History(ctx, clients, ns, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 3 || revs[0] != 1 || revs[2] != 3 {
		t.Fatalf("history = %v, want [1 2 3]", revs)
	}
	text, err := ViewHistory(ctx, clients, ns, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "REVISION") || !strings.Contains(text, "tugboat deploy set-image app=registry.example/web:3 (commit c0ffee, by alice)") {
		t.Errorf("history text:\n%s", text)
	}
	if _, err := ViewHistory(ctx, clients, ns, w, 9); err == nil || !strings.Contains(err.Error(), "unable to find the specified revision") {
		t.Errorf("history of a missing revision: %v", err)
	}

	// undo without a revision goes to the previous one, --to-revision to that one.
	msg, err := Undo(ctx, clients, ns, w, 0)
	if err != nil || msg != "rolled back" {
		t.Fatalf("undo: %q %v", msg, err)
	}
	waitRolledOut(t, ns, w)
	if got := images(t, ns, w)["app"]; got != "registry.example/web:2" {
		t.Errorf("after undo the image is %s, want :2", got)
	}
	if _, err := Undo(ctx, clients, ns, w, 1); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, ns, w)
	if got := images(t, ns, w)["app"]; got != "registry.example/web:1" {
		t.Errorf("after undo to revision 1 the image is %s, want :1", got)
	}
	if _, err := Undo(ctx, clients, ns, w, 42); err == nil || !strings.Contains(err.Error(), "unable to find specified revision 42") {
		t.Errorf("undo to a missing revision: %v", err)
	}
}

func TestSetImageCoversEveryWorkloadKindAndInitContainers(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createStatefulSetAndDaemonSet(t, ns)
	cases := map[string]struct {
		workload Workload
		images   []string
		want     map[string]string
	}{
		"a StatefulSet's container": {
			workload: Workload{Kind: "StatefulSet", Name: "db"}, images: []string{"app=registry.example/db:2"},
			want: map[string]string{"app": "registry.example/db:2", "init": "registry.example/init:1"},
		},
		"every container of a DaemonSet with *, init containers too": {
			workload: Workload{Kind: "DaemonSet", Name: "agent"}, images: []string{"*=registry.example/agent:2"},
			want: map[string]string{"app": "registry.example/agent:2", "init": "registry.example/agent:2"},
		},
		"an init container by name": {
			workload: Workload{Kind: "StatefulSet", Name: "db"}, images: []string{"init=registry.example/init:2"},
			want: map[string]string{"app": "registry.example/db:2", "init": "registry.example/init:2"},
		},
	}
	for _, name := range []string{"a StatefulSet's container", "every container of a DaemonSet with *, init containers too", "an init container by name"} {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			o := deployOpts(ns, tc.workload.Name, tc.images...)
			o.Workload = tc.workload
			rec, err := SetImage(ctx, clients, o)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Result != deployrecord.ResultSucceeded || rec.Kind != tc.workload.Kind {
				t.Errorf("record = %+v", rec)
			}
			got := images(t, ns, tc.workload)
			for c, img := range tc.want {
				if got[c] != img {
					t.Errorf("container %s runs %s, want %s", c, got[c], img)
				}
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	ns := newNamespace(t)
	d := newDeployment(t, ns, "web", "registry.example/web:1", 600, nil)
	managed := newDeployment(t, ns, "managed", "registry.example/web:1", 600, map[string]string{
		meta.KustomizeNameLabel: "apps", meta.KustomizeNamespaceLabel: "flux-system",
	})
	cases := map[string]struct {
		opts    Options
		wantErr string
		is      error
	}{
		"an unknown container names the containers there are": {
			opts:    deployOpts(ns, "web", "nope=registry.example/web:2"),
			wantErr: `deployment.apps/web: unable to find container named "nope" (containers: init, app)`,
		},
		"one unknown container among known ones changes none": {
			opts:    deployOpts(ns, "web", "app=registry.example/web:2", "nope=registry.example/web:2"),
			wantErr: `unable to find container named "nope"`,
		},
		"a missing workload is named": {
			opts:    deployOpts(ns, "gone", "app=registry.example/web:2"),
			wantErr: `deployment.apps/gone not found in namespace "` + ns + `"`,
		},
		"a workload a Kustomization manages is refused without force": {
			opts:    deployOpts(ns, "managed", "app=registry.example/web:2"),
			wantErr: "deployment.apps/managed Kustomization flux-system/apps; the next reconcile will revert the image",
			is:      ErrManagedByKustomization,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := SetImage(context.Background(), clients, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v is not %v", err, tc.is)
			}
		})
	}
	for _, before := range []struct{ name, rv string }{{"web", d.ResourceVersion}, {"managed", managed.ResourceVersion}} {
		after, err := clients.Kube.AppsV1().Deployments(ns).Get(context.Background(), before.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if after.Generation != 1 || after.Spec.Template.Spec.Containers[0].Image != "registry.example/web:1" {
			t.Errorf("Deployment %s changed: generation %d, image %s", before.name, after.Generation, after.Spec.Template.Spec.Containers[0].Image)
		}
	}
	if recs := records(t, ns); len(recs) != 0 {
		t.Errorf("refused deploys wrote records: %+v", recs)
	}
}

func TestForceDeploysOntoAKustomizationsWorkloadWithAWarning(t *testing.T) {
	ns := newNamespace(t)
	newDeployment(t, ns, "managed", "registry.example/web:1", 600, map[string]string{
		meta.KustomizeNameLabel: "apps", meta.KustomizeNamespaceLabel: "flux-system",
	})
	o := deployOpts(ns, "managed", "app=registry.example/web:2")
	o.Force = true
	var warnings []string
	o.Events = func(e Event) {
		if e.Phase == PhaseWarning {
			warnings = append(warnings, e.Message)
		}
	}
	rec, err := SetImage(context.Background(), clients, o)
	if err != nil || rec.Result != deployrecord.ResultSucceeded {
		t.Fatalf("forced deploy: %v %+v", err, rec)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "managed by Kustomization flux-system/apps; the next reconcile will revert") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestOnlyTheLastRecordsOfAWorkloadAreKept(t *testing.T) {
	ns := newNamespace(t)
	newDeployment(t, ns, "web", "registry.example/web:1", 600, nil)
	newDeployment(t, ns, "other", "registry.example/web:1", 600, nil)
	ctx := context.Background()
	if _, err := SetImage(ctx, clients, deployOpts(ns, "other", "app=registry.example/web:2")); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"2", "3", "4"} {
		o := deployOpts(ns, "web", "app=registry.example/web:"+tag)
		o.KeepRecords = 2
		if _, err := SetImage(ctx, clients, o); err != nil {
			t.Fatal(err)
		}
	}
	var web []string
	others := 0
	for _, r := range records(t, ns) {
		if r.Workload == "web" {
			web = append(web, r.Changes[0].ImageAfter)
		} else {
			others++
		}
	}
	if strings.Join(web, ",") != "registry.example/web:3,registry.example/web:4" || others != 1 {
		t.Errorf("kept web records %v and %d others, want :3,:4 and 1", web, others)
	}
}

func TestAnUnchangedDeployReportsAFailingRolloutWithoutUndoingIt(t *testing.T) {
	ns := newNamespace(t)
	newDeployment(t, ns, "web", "registry.example/web:1", 2, nil)
	ctx := context.Background()
	broken := deployOpts(ns, "web", "app=registry.example/web"+BrokenTag)
	if rec, err := SetImage(ctx, clients, broken); err != nil || rec.Result != deployrecord.ResultFailed {
		t.Fatalf("first deploy: %v %+v, want Failed", err, rec)
	}
	// A re-run of the same pipeline: nothing to change, but the workload is broken, and
	// rolling back would undo a change this run did not make.
	broken.RollbackOnFailure = true
	rec, err := SetImage(ctx, clients, broken)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Result != deployrecord.ResultFailed || len(rec.Changes) != 0 || !strings.Contains(rec.Message, `images unchanged, but deployment "web" exceeded its progress deadline`) {
		t.Errorf("record = %+v", rec)
	}
	if got := images(t, ns, broken.Workload)["app"]; got != "registry.example/web"+BrokenTag {
		t.Errorf("image = %s: the unchanged deploy rolled back", got)
	}
}

func TestStatefulSetsAndDaemonSetsAreRolledBackOnTimeout(t *testing.T) {
	ns := newNamespace(t)
	createStatefulSetAndDaemonSet(t, ns)
	for _, w := range []Workload{{Kind: "StatefulSet", Name: "db"}, {Kind: "DaemonSet", Name: "agent"}} {
		t.Run(w.Kind, func(t *testing.T) {
			before := images(t, ns, w)["app"]
			o := deployOpts(ns, w.Name, "app=registry.example/app"+BrokenTag)
			o.Workload, o.Timeout, o.RollbackOnFailure = w, 4*time.Second, true
			rec, err := SetImage(context.Background(), clients, o)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Result != deployrecord.ResultRolledBack || !strings.Contains(rec.Message, "timed out waiting for the rollout") {
				t.Errorf("record = %+v, want RolledBack after a timeout", rec)
			}
			if got := images(t, ns, w)["app"]; got != before {
				t.Errorf("image after the rollback = %s, want %s", got, before)
			}
			st, err := WaitRollout(context.Background(), clients, ns, w, WaitOptions{Watch: false})
			if err != nil || !st.Done {
				t.Errorf("after the rollback the rollout is not complete: %v %q", err, st.Message)
			}
		})
	}
}
