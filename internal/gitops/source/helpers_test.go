package source

import (
	"testing"

	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

// fixture is a repository served over HTTP with known commits:
// c1 (tag v1.0.0, annotated) → c2 (tag v1.5.0) → c3 (tag v2.0.0, annotated,
// head of main) and c4 on branch "feature", also pushed as refs/pull/7/head.
// version.txt holds "1".."4" so a snapshot shows which commit it is.
type fixture struct {
	srv            *gitserver.Server
	url            string
	c1, c2, c3, c4 string
}

func newServer(t testing.TB, configure func(*gitserver.Server)) *gitserver.Server {
	t.Helper()
	s := gitserver.New(t.TempDir())
	if configure != nil {
		configure(s)
	}
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func commitAndPush(t testing.TB, w *gitserver.Workdir, msg string) string {
	t.Helper()
	sha, err := w.CommitAndPush(msg)
	must(t, err)
	return sha
}

func newFixture(t testing.TB, configure func(*gitserver.Server)) *fixture {
	t.Helper()
	s := newServer(t, configure)
	must(t, s.InitRepo("app.git", "main"))
	w, err := s.Workdir("app.git")
	must(t, err)
	defer w.Close()
	f := &fixture{srv: s, url: s.RepoURL("app.git")}
	must(t, w.WriteFiles(map[string]string{
		"version.txt":               "1",
		"deploy/app.yaml":           "kind: Deployment\n",
		"base/cm.yaml":              "kind: ConfigMap\n",
		".github/workflows/ci.yml":  "on: push\n",
		"logo.png":                  "\x89PNG",
		"README.md":                 "# app\n",
		"deploy/overlay/patch.yaml": "kind: Patch\n",
	}))
	f.c1 = commitAndPush(t, w, "first commit\n\nwith a body")
	must(t, w.Tag("v1.0.0", "release 1.0.0"))
	must(t, w.WriteFile("version.txt", []byte("2")))
	f.c2 = commitAndPush(t, w, "second")
	must(t, w.Tag("v1.5.0", ""))
	must(t, w.WriteFile("version.txt", []byte("3")))
	f.c3 = commitAndPush(t, w, "third")
	must(t, w.Tag("v2.0.0", "release 2.0.0"))
	must(t, w.Branch("feature"))
	must(t, w.WriteFile("version.txt", []byte("4")))
	f.c4 = commitAndPush(t, w, "fourth")
	must(t, w.PushRef("refs/pull/7/head"))
	s.ResetStats()
	return f
}
