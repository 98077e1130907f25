package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// Every apply that changes something emits one Normal event on the Kustomization that
// lists each object created, configured or deleted, and a failure emits a Warning
// naming what is wrong; both carry the revision annotation.
func TestEachApplyEmitsAnEventListingWhatChanged(t *testing.T) {
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{
		"app/a.yaml": configMap("a", "1"),
		"app/b.yaml": configMap("b", "1"),
	})
	applyYAML(t, ns, syncManifests(ns, url, "./app", true))
	first, _ := wd.Head()
	waitKustomization(t, ns, "app", "applied the first commit", readyAt(first))
	waitEvent(t, ns, "Normal", "main@sha1:"+first,
		"ConfigMap/"+ns+"/a created", "ConfigMap/"+ns+"/b created", "Applied revision: main@sha1:"+first)
	// One event says it all: what changed and that the apply succeeded.
	if got := countEvents(t, ns, "app", "main@sha1:"+first); got != 1 {
		t.Errorf("%d events for the first commit, want 1", got)
	}

	if err := wd.WriteFiles(map[string]string{"app/a.yaml": configMap("a", "2"), "app/c.yaml": configMap("c", "1")}); err != nil {
		t.Fatal(err)
	}
	if err := wd.Remove("app/b.yaml"); err != nil {
		t.Fatal(err)
	}
	second, err := wd.CommitAndPush("change a, add c, remove b")
	if err != nil {
		t.Fatal(err)
	}
	repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}}
	requestReconcile(t, repo)
	waitKustomization(t, ns, "app", "applied the second commit", readyAt(second))
	ev := waitEvent(t, ns, "Normal", "main@sha1:"+second,
		"ConfigMap/"+ns+"/a configured", "ConfigMap/"+ns+"/b deleted", "ConfigMap/"+ns+"/c created")
	if strings.Contains(ev.Note, "unchanged") {
		t.Errorf("the change event lists unchanged objects: %q", ev.Note)
	}

	if err := wd.WriteFile("app/bad.yaml", []byte("kind: ConfigMap\nmetadata: [oops\n")); err != nil {
		t.Fatal(err)
	}
	third, err := wd.CommitAndPush("break it")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, repo)
	waitEvent(t, ns, "Warning", "main@sha1:"+third, "bad.yaml")
}

// countEvents counts the events on Kustomization name whose revision annotation is
// revision.
func countEvents(t *testing.T, ns, name, revision string) int {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Kind == "Kustomization" && e.Regarding.Name == name && e.Annotations[meta.RevisionAnnotation] == revision {
			n++
		}
	}
	return n
}

// waitEvent waits for an event on Kustomization "app" of the given type whose revision
// annotation is revision and whose note holds every fragment, and returns it.
func waitEvent(t *testing.T, ns, eventType, revision string, fragments ...string) eventsv1.Event {
	t.Helper()
	return waitEventOn(t, ns, "app", eventType, revision, fragments...)
}

// waitEventOn is waitEvent for the Kustomization name.
func waitEventOn(t *testing.T, ns, name, eventType, revision string, fragments ...string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	var seen []string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var list eventsv1.EventList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, e := range list.Items {
			if e.Regarding.Kind != "Kustomization" || e.Regarding.Name != name {
				continue
			}
			seen = append(seen, e.Type+" "+e.Reason+" "+e.Annotations[meta.RevisionAnnotation]+": "+e.Note)
			if e.Type != eventType || e.Annotations[meta.RevisionAnnotation] != revision {
				continue
			}
			ok := true
			for _, f := range fragments {
				ok = ok && strings.Contains(e.Note, f)
			}
			if ok {
				found = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event at %s listing %q; events of the Kustomization:\n%s", eventType, revision, fragments, strings.Join(seen, "\n"))
	}
	return found
}
