package cli

import (
	"bytes"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

func TestProgressShowsStepsOnlyOnATerminal(t *testing.T) {
	cases := map[string]struct {
		tty            bool
		stdout, stderr string
	}{
		"a terminal gets every step with its symbol on stderr": {
			tty:    true,
			stderr: "✚ generating GitRepository\n► applying GitRepository\n◎ waiting for GitRepository reconciliation\n✔ GitRepository 'ns/x' is ready\n",
		},
		"a pipe gets only the outcome, plain, on stdout": {
			stdout: "GitRepository 'ns/x' is ready\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			p := &progress{tty: tc.tty, out: &out, errOut: &errOut}
			p.generating("generating %s", "GitRepository")
			p.applying("applying %s", "GitRepository")
			p.waiting("waiting for %s reconciliation", "GitRepository")
			p.success("%s '%s' is ready", "GitRepository", "ns/x")
			if out.String() != tc.stdout || errOut.String() != tc.stderr {
				t.Errorf("stdout %q stderr %q, want %q and %q", out.String(), errOut.String(), tc.stdout, tc.stderr)
			}
		})
	}
}

func TestColorizeColoursOnlyDiffLines(t *testing.T) {
	diff := "--- a (cluster)\n+++ a (local)\n@@ -1,2 +1,2 @@\n same\n-old\n+new\n"
	cases := map[string]struct {
		color bool
		want  string
	}{
		"without colour the diff is unchanged": {want: diff},
		"with colour removals are red, additions green, hunks cyan, headers plain": {
			color: true,
			want:  "--- a (cluster)\n+++ a (local)\n\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n same\n\x1b[31m-old\x1b[0m\n\x1b[32m+new\x1b[0m\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := colorize(diff, tc.color); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseSourceRef(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    kustomizev1.CrossNamespaceSourceReference
		wantErr string
	}{
		"a bare name is a GitRepository":    {in: "repo", want: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}},
		"the kind is case-insensitive":      {in: "gitrepository/repo", want: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}},
		"a dot names the namespace as flux": {in: "GitRepository/repo.flux-system", want: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo", Namespace: "flux-system"}},
		"another kind is refused":           {in: "Bucket/b", wantErr: `the kind must be GitRepository, not "Bucket"`},
		"an empty name is refused":          {in: "GitRepository/", wantErr: "names no object"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseSourceRef(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v (%v), want %+v", got, err, tc.want)
			}
		})
	}
}

func TestScpLikeGitAddresses(t *testing.T) {
	cases := map[string]struct {
		in   string
		want bool
	}{
		"user at host colon path":  {in: "git@github.com:org/repo.git", want: true},
		"no user":                  {in: "github.com:org/repo"},
		"no path":                  {in: "git@github.com:"},
		"a plain word":             {in: "repo"},
		"colon before the at sign": {in: "a:b@c"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := scpLike(tc.in); got != tc.want {
				t.Errorf("scpLike(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestHandledWaitsForTheTokenAndTheGeneration(t *testing.T) {
	ready := func(status metav1.ConditionStatus, reason string, gen int64) []metav1.Condition {
		return []metav1.Condition{{Type: meta.ReadyCondition, Status: status, Reason: reason, Message: "msg " + reason, ObservedGeneration: gen}}
	}
	cases := map[string]struct {
		handled    string
		conditions []metav1.Condition
		done       bool
		failed     string
	}{
		"another request handled keeps waiting":       {handled: "old", conditions: ready(metav1.ConditionTrue, "Succeeded", 2)},
		"Ready of an older generation keeps waiting":  {handled: "t", conditions: ready(metav1.ConditionTrue, "Succeeded", 1)},
		"Ready True for this request is done":         {handled: "t", conditions: ready(metav1.ConditionTrue, "Succeeded", 2), done: true},
		"Ready False for this request fails":          {handled: "t", conditions: ready(metav1.ConditionFalse, "BuildFailed", 2), failed: "msg BuildFailed"},
		"a dependency not ready yet keeps waiting":    {handled: "t", conditions: ready(metav1.ConditionFalse, meta.DependencyNotReadyReason, 2)},
		"Ready Unknown (still working) keeps waiting": {handled: "t", conditions: ready(metav1.ConditionUnknown, "Progressing", 2)},
		"no Ready condition at all keeps waiting":     {handled: "t"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ks := &kustomizev1.Kustomization{}
			ks.Generation = 2
			ks.Status.LastHandledReconcileAt = tc.handled
			ks.Status.Conditions = tc.conditions
			done, failed := handled(kustomizationKind, "t")(ks)
			if done != tc.done || failed != tc.failed {
				t.Errorf("got (%v, %q), want (%v, %q)", done, failed, tc.done, tc.failed)
			}
		})
	}
}
