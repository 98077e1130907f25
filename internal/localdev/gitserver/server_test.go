package gitserver

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newServer(t *testing.T, configure func(*Server)) (*Server, string) {
	t.Helper()
	s := New(t.TempDir())
	if configure != nil {
		configure(s)
	}
	u, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, u
}

func TestServerCloneAndPushOverHTTP(t *testing.T) {
	s, base := newServer(t, func(s *Server) { s.WithBasicAuth("git", "s3cret") })
	if err := s.InitRepo("app.git", "main"); err != nil {
		t.Fatal(err)
	}
	w, err := s.Workdir("app.git")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.WriteFile("deploy/app.yaml", []byte("kind: ConfigMap\n")); err != nil {
		t.Fatal(err)
	}
	first, err := w.CommitAndPush("add app")
	if err != nil {
		t.Fatal(err)
	}

	// A second clone goes through HTTP with credentials and pushes back.
	u, _ := url.Parse(base + "/app.git")
	u.User = url.UserPassword("git", "s3cret")
	hw, err := CloneWorkdir(u.String(), "main")
	if err != nil {
		t.Fatal(err)
	}
	defer hw.Close()
	got, err := os.ReadFile(filepath.Join(hw.Dir, "deploy", "app.yaml"))
	if err != nil || string(got) != "kind: ConfigMap\n" {
		t.Fatalf("clone over HTTP did not carry deploy/app.yaml: %q, %v", got, err)
	}
	if err := hw.WriteFile("b.txt", []byte("b")); err != nil {
		t.Fatal(err)
	}
	second, err := hw.CommitAndPush("add b")
	if err != nil {
		t.Fatal(err)
	}
	if second == first || len(second) != 40 {
		t.Fatalf("CommitAndPush returned %q after %q, want a new 40-hex SHA", second, first)
	}
	head, err := runGit(filepath.Join(s.Root(), "app.git"), "rev-parse", "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if head != second {
		t.Errorf("bare main = %s, want the pushed %s", head, second)
	}
	st := s.Stats()
	if st.UploadPacks < 1 || st.ReceivePacks != 1 {
		t.Errorf("stats = %+v, want upload-pack requests (clone) and one receive-pack (push)", st)
	}
}

func TestServerAuth(t *testing.T) {
	tests := map[string]struct {
		user, pass, token string
		setHeader         func(*http.Request)
		wantStatus        int
	}{
		"a server without auth serves anyone": {
			setHeader:  func(*http.Request) {},
			wantStatus: http.StatusOK,
		},
		"basic auth with the right password is served": {
			user: "git", pass: "pw",
			setHeader:  func(r *http.Request) { r.SetBasicAuth("git", "pw") },
			wantStatus: http.StatusOK,
		},
		"basic auth with a wrong password is refused": {
			user: "git", pass: "pw",
			setHeader:  func(r *http.Request) { r.SetBasicAuth("git", "nope") },
			wantStatus: http.StatusUnauthorized,
		},
		"no credentials are refused when basic auth is on": {
			user: "git", pass: "pw",
			setHeader:  func(*http.Request) {},
			wantStatus: http.StatusUnauthorized,
		},
		"the right bearer token is served": {
			token:      "tok",
			setHeader:  func(r *http.Request) { r.Header.Set("Authorization", "Bearer tok") },
			wantStatus: http.StatusOK,
		},
		"a wrong bearer token is refused": {
			token:      "tok",
			setHeader:  func(r *http.Request) { r.Header.Set("Authorization", "Bearer other") },
			wantStatus: http.StatusUnauthorized,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, base := newServer(t, func(s *Server) {
				if tt.user != "" {
					s.WithBasicAuth(tt.user, tt.pass)
				}
				if tt.token != "" {
					s.WithBearerToken(tt.token)
				}
			})
			if err := s.InitRepo("r.git", "main"); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/r.git/info/refs?service=git-upload-pack", nil)
			tt.setHeader(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK && !strings.Contains(resp.Header.Get("Content-Type"), "git-upload-pack-advertisement") {
				t.Errorf("content type %q is not a smart-HTTP advertisement", resp.Header.Get("Content-Type"))
			}
			wantRejected := int64(0)
			if tt.wantStatus == http.StatusUnauthorized {
				wantRejected = 1
			}
			if got := s.Stats().Rejected; got != wantRejected {
				t.Errorf("Rejected = %d, want %d", got, wantRejected)
			}
		})
	}
}

func TestWorkdirTagsBranchesAndRefs(t *testing.T) {
	s, _ := newServer(t, nil)
	if err := s.InitRepo("r.git", "main"); err != nil {
		t.Fatal(err)
	}
	w, err := s.Workdir("r.git")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sha, err := w.CommitAndPush("first")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Tag("v1.0.0", "release"); err != nil {
		t.Fatal(err)
	}
	if err := w.Tag("light", ""); err != nil {
		t.Fatal(err)
	}
	if err := w.Branch("feature"); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(); err != nil {
		t.Fatal(err)
	}
	if err := w.PushRef("refs/pull/1/head"); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(s.Root(), "r.git")
	tests := map[string]struct {
		rev  string
		want string
	}{
		"the branch points at the commit":                  {"refs/heads/main", sha},
		"a new branch is pushed":                           {"refs/heads/feature", sha},
		"an annotated tag peels to the commit":             {"refs/tags/v1.0.0^{commit}", sha},
		"a lightweight tag points at the commit":           {"refs/tags/light", sha},
		"an arbitrary ref such as a pull request is there": {"refs/pull/1/head", sha},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := runGit(bare, "rev-parse", tt.rev)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s = %s, want %s", tt.rev, got, tt.want)
			}
		})
	}
	annotated, _ := runGit(bare, "rev-parse", "refs/tags/v1.0.0")
	if annotated == sha {
		t.Errorf("annotated tag ref should point at a tag object, not at the commit")
	}
}

func TestClosedServerRefusesConnections(t *testing.T) {
	s, base := newServer(t, nil)
	s.Close()
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("request to a closed server succeeded")
	}
}
