package cli

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// BenchmarkReconcileRoundTrip measures `tugboat reconcile kustomization --with-source`
// from the command's start to its printed outcome, against the in-process controllers:
// annotate, the controller fetches (unchanged head) and applies (unchanged objects),
// the CLI notices lastHandledReconcileAt. The CLI's share is its poll interval.
func BenchmarkReconcileRoundTrip(b *testing.B) {
	ns := newNamespace(b)
	_, url := newRepo(b, "bench-"+ns, map[string]string{
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml]\n",
		"app/web.yaml":           cm("web", "blue"),
	})
	for _, args := range [][]string{
		{"create", "source", "git", "repo", "--url", url, "--branch", "main"},
		{"create", "kustomization", "app", "--source", "repo", "--path", "./app", "--timeout", "2m"},
	} {
		var errOut bytes.Buffer
		if code := Execute(context.Background(), kubeArgs(ns, args), io.Discard, &errOut); code != ExitOK {
			b.Fatalf("setup %v: exit %d: %s", args, code, errOut.String())
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var errOut bytes.Buffer
		if code := Execute(context.Background(), kubeArgs(ns, []string{"reconcile", "kustomization", "app", "--with-source"}), io.Discard, &errOut); code != ExitOK {
			b.Fatalf("reconcile: exit %d: %s", code, errOut.String())
		}
	}
}
