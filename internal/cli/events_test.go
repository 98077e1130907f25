package cli

import (
	"strings"
	"testing"
)

// TestEventsOfFluxObjects: the controllers' events about the objects the CLI created
// are listed oldest first in kubectl's columns, narrowed by --for, with a NAMESPACE
// column under -A.
func TestEventsOfFluxObjects(t *testing.T) {
	ns := newNamespace(t)
	_, url := newRepo(t, "events-"+ns, map[string]string{
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml]\n",
		"app/web.yaml":           cm("web", "blue"),
	})
	mustRun(t, ExitOK, ns, "create", "source", "git", "repo", "--url", url, "--branch", "main")
	mustRun(t, ExitOK, ns, "create", "kustomization", "app", "--source", "repo", "--path", "./app", "--timeout", "2m")

	var r result
	// Events are written asynchronously by the recorder: wait until both kinds show.
	if err := pollUntil(func() bool {
		r = tugboat(t, ns, "events")
		return strings.Contains(r.stdout, "GitRepository/repo") && strings.Contains(r.stdout, "ReconciliationSucceeded")
	}); err != nil {
		t.Fatalf("events never listed both objects:\n%s\n%s", r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if fields := strings.Fields(lines[0]); strings.Join(fields, " ") != "LAST SEEN TYPE REASON OBJECT MESSAGE" {
		t.Errorf("header %q", lines[0])
	}
	if !strings.Contains(lines[1], "GitRepository/repo") || !strings.Contains(lines[1], "NewArtifact") {
		t.Errorf("the oldest event is not the fetch: %q", lines[1])
	}

	r = mustRun(t, ExitOK, ns, "events", "--for", "Kustomization/app")
	if strings.Contains(r.stdout, "GitRepository/") || !strings.Contains(r.stdout, "Kustomization/app") {
		t.Errorf("--for did not narrow to the Kustomization:\n%s", r.stdout)
	}
	golden(t, "events", "for-kustomization", normalise(lastEvent(r.stdout, "ReconciliationSucceeded"), ns, "NS"))

	r = mustRun(t, ExitOK, ns, "events", "-A", "--for", "GitRepository/repo")
	if !strings.HasPrefix(r.stdout, "NAMESPACE") || !strings.Contains(r.stdout, ns) {
		t.Errorf("-A lacks the NAMESPACE column:\n%s", r.stdout)
	}
	r = mustRun(t, ExitOK, ns, "events", "--for", "Kustomization/nope")
	if r.stdout != "" || !strings.Contains(r.stderr, "no events found") {
		t.Errorf("events for a missing object printed %q / %q", r.stdout, r.stderr)
	}
}

// lastEvent keeps the header and the one row with reason, so that the golden file does
// not depend on how many progress events a run emitted.
func lastEvent(table, reason string) string {
	lines := strings.Split(table, "\n")
	out := lines[0] + "\n"
	for _, l := range lines[1:] {
		if strings.Contains(l, " "+reason+" ") {
			out += l + "\n"
		}
	}
	return out
}
