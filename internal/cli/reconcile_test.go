package cli

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestReconcileFailureAndTerminal: a reconcile whose build fails exits 1 with the
// controller's message; on a terminal the steps show with Flux's symbols and a diff is
// coloured; `__complete` (what cobra's completion scripts call) lists object names;
// `events --watch` prints the events of a later reconcile.
func TestReconcileFailureAndTerminal(t *testing.T) {
	ns := newNamespace(t)
	wd, url := newRepo(t, "fail-"+ns, map[string]string{
		"app/kustomization.yaml": "namespace: " + ns + "\nresources: [web.yaml]\n",
		"app/web.yaml":           cm("web", "blue"),
	})

	out, term := onTerminal(t, func(tty io.Writer) int {
		return Execute(context.Background(), kubeArgs(ns, []string{"create", "source", "git", "repo", "--url", url, "--branch", "main"}), tty, tty)
	})
	if out != ExitOK {
		t.Fatalf("create on a terminal exited %d: %q", out, term)
	}
	for _, want := range []string{"✚ generating GitRepository", "► applying GitRepository", "✔ GitRepository '" + ns + "/repo' applied",
		"◎ waiting for GitRepository reconciliation", "✔ fetched revision: main@sha1:"} {
		if !strings.Contains(term, want) {
			t.Errorf("the terminal shows %q, want it to contain %q", term, want)
		}
	}
	mustRun(t, ExitOK, ns, "create", "kustomization", "app", "--source", "repo", "--path", "./app", "--timeout", "2m")

	// Completion of NAME arguments, as the shell scripts ask for it.
	// The word being completed comes last, so the flags go before it.
	r := mustRun(t, ExitOK, "", "__complete", "reconcile", "kustomization", "-n", ns, "")
	if !strings.HasPrefix(r.stdout, "app\n") || !strings.Contains(r.stdout, ":4") {
		t.Errorf("completion of kustomization names printed %q", r.stdout)
	}
	mustRun(t, ExitOK, "", "completion", "bash")

	// events --watch prints what happens after it started.
	ctx, cancel := context.WithCancel(context.Background())
	watched := &lockedBuffer{}
	done := make(chan int)
	go func() {
		done <- Execute(ctx, kubeArgs(ns, []string{"events", "--watch", "--for", "Kustomization/app"}), watched, io.Discard)
	}()
	time.Sleep(time.Second) // the list is printed, the watch is open

	// A local change shows as a coloured diff on a terminal.
	if err := wd.WriteFiles(map[string]string{"app/web.yaml": cm("web", "red")}); err != nil {
		t.Fatal(err)
	}
	code, term := onTerminal(t, func(tty io.Writer) int {
		return Execute(context.Background(), kubeArgs(ns, []string{"diff", "kustomization", "app", "--path", filepath.Join(wd.Dir, "app")}), tty, tty)
	})
	if code != ExitError || !strings.Contains(term, ansiRed+"-  color: blue"+ansiReset) || !strings.Contains(term, ansiGreen+"+  color: red"+ansiReset) {
		t.Errorf("diff on a terminal exited %d and showed %q", code, term)
	}

	// A broken file pushed: the reconcile reports the build failure and exits 1.
	if err := wd.WriteFiles(map[string]string{"app/web.yaml": "kind: [unclosed\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := wd.CommitAndPush("broken"); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, ExitError, ns, "reconcile", "kustomization", "app", "--with-source", "--timeout", "2m")
	if !strings.Contains(r.stderr, "Error: Kustomization '"+ns+"/app' failed: ") || !strings.Contains(r.stderr, "web.yaml") {
		t.Errorf("a failed reconcile said %q", r.stderr)
	}
	r = mustRun(t, ExitOK, ns, "get", "kustomizations", "app")
	if fields := strings.Fields(strings.Split(r.stdout, "\n")[1]); len(fields) < 6 || fields[3] != "False" || !strings.Contains(r.stdout, "web.yaml") {
		t.Errorf("get does not show the failure:\n%s", r.stdout)
	}
	if err := pollUntil(func() bool { return strings.Contains(watched.String(), "Warning") }); err != nil {
		t.Errorf("events --watch did not print the failure: %q", watched.String())
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("events --watch exited %d when cancelled", code)
	}
}

// onTerminal runs f with a pseudo-terminal as its output and returns its exit code and
// everything the terminal showed.
func onTerminal(t *testing.T, f func(tty io.Writer) int) (int, string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	shown := make(chan string)
	go func() {
		data, _ := io.ReadAll(ptmx) // ends with EIO once the terminal side is closed
		shown <- string(data)
	}()
	code := f(tty)
	tty.Close()
	// The terminal turns \n into \r\n.
	return code, strings.ReplaceAll(<-shown, "\r\n", "\n")
}

// lockedBuffer lets a test read what a command running in another goroutine writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
