package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

func TestFetchRefs(t *testing.T) {
	f := newFixture(t, nil)
	tests := map[string]struct {
		ref          Ref
		wantRevision string
		wantVersion  string
	}{
		"a branch is fetched at its head":             {Ref{Branch: "main"}, "main@sha1:" + f.c3, "3"},
		"another branch is fetched at its head":       {Ref{Branch: "feature"}, "feature@sha1:" + f.c4, "4"},
		"an annotated tag is fetched at its commit":   {Ref{Tag: "v1.0.0"}, "v1.0.0@sha1:" + f.c1, "1"},
		"a lightweight tag is fetched at its commit":  {Ref{Tag: "v1.5.0"}, "v1.5.0@sha1:" + f.c2, "2"},
		"a tag wins over a branch":                    {Ref{Branch: "main", Tag: "v1.0.0"}, "v1.0.0@sha1:" + f.c1, "1"},
		"semver picks the highest matching tag":       {Ref{SemVer: ">=1.0.0 <2.0.0"}, "v1.5.0@sha1:" + f.c2, "2"},
		"semver wins over a tag":                      {Ref{Tag: "v2.0.0", SemVer: "~1.0"}, "v1.0.0@sha1:" + f.c1, "1"},
		"a name fetches a pull request ref":           {Ref{Name: "refs/pull/7/head"}, "refs/pull/7/head@sha1:" + f.c4, "4"},
		"a name of a branch keeps the absolute ref":   {Ref{Name: "refs/heads/main", SemVer: "*"}, "refs/heads/main@sha1:" + f.c3, "3"},
		"a commit alone is found in any branch":       {Ref{Commit: f.c2}, "sha1:" + f.c2, "2"},
		"a commit with its branch is found on it":     {Ref{Branch: "feature", Commit: f.c1}, "feature@sha1:" + f.c1, "1"},
		"a commit wins over a name":                   {Ref{Name: "refs/pull/7/head", Commit: f.c1}, "sha1:" + f.c1, "1"},
		"a commit reachable only from a tag is found": {Ref{Commit: f.c3}, "sha1:" + f.c3, "3"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c := NewClient(WithCacheBytes(0))
			o := FetchOptions{URL: f.url, Ref: tt.ref}
			s, changed, err := c.Fetch(context.Background(), o, "")
			if err != nil {
				t.Fatal(err)
			}
			if !changed || s == nil {
				t.Fatalf("first fetch: changed = %v, snapshot = %v; want a snapshot", changed, s)
			}
			if s.Revision != tt.wantRevision {
				t.Errorf("Revision = %q, want %q", s.Revision, tt.wantRevision)
			}
			if got := string(s.Files["version.txt"]); got != tt.wantVersion {
				t.Errorf("version.txt = %q, want %q", got, tt.wantVersion)
			}
			rev, commit, err := c.Resolve(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if rev != s.Revision || commit != s.Commit {
				t.Errorf("Resolve = (%q, %q), Fetch = (%q, %q); want equal", rev, commit, s.Revision, s.Commit)
			}
		})
	}
}

func TestFetchSnapshotContent(t *testing.T) {
	f := newFixture(t, nil)
	s, _, err := NewClient().Fetch(context.Background(), FetchOptions{URL: f.url, Ref: Ref{Tag: "v1.0.0"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != f.c1 || s.Message != "first commit" {
		t.Errorf("Commit, Message = %q, %q; want %q, %q", s.Commit, s.Message, f.c1, "first commit")
	}
	var size int64
	for p, b := range s.Files {
		size += int64(len(b))
		if strings.HasPrefix(p, ".git/") {
			t.Errorf("%s is in the snapshot", p)
		}
	}
	if s.Size != size || size == 0 {
		t.Errorf("Size = %d, want %d (sum of Files)", s.Size, size)
	}
	if !strings.HasPrefix(s.Digest, "sha256:") || len(s.Digest) != len("sha256:")+64 {
		t.Errorf("Digest = %q, want sha256:<64 hex>", s.Digest)
	}
}

func TestFetchUnchangedDoesNotClone(t *testing.T) {
	f := newFixture(t, nil)
	c := NewClient()
	o := FetchOptions{URL: f.url, Ref: Ref{Branch: "main"}}
	s, changed, err := c.Fetch(context.Background(), o, "")
	if err != nil || !changed {
		t.Fatalf("first fetch: changed = %v, err = %v", changed, err)
	}
	if got := f.srv.Stats().UploadPacks; got != 1 {
		t.Fatalf("first fetch made %d upload-pack requests, want 1", got)
	}
	tests := map[string]struct {
		opts            FetchOptions
		last            string
		wantChanged     bool
		wantUploadPacks int64
		wantAdverts     int64
	}{
		"the same head is reported unchanged after one ls-remote": {o, s.Commit, false, 0, 1},
		"a head given in upper case is the same head":             {o, strings.ToUpper(s.Commit), false, 0, 1},
		"a commit ref equal to the last commit needs no network":  {FetchOptions{URL: f.url, Ref: Ref{Commit: f.c2}}, f.c2, false, 0, 0},
		"another last commit is served from the snapshot cache":   {o, f.c1, true, 0, 1},
		"another ignore rule clones again":                        {FetchOptions{URL: f.url, Ref: Ref{Branch: "main"}, Ignore: ptr("*.md")}, f.c1, true, 1, 2},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			f.srv.ResetStats()
			got, changed, err := c.Fetch(context.Background(), tt.opts, tt.last)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged || (got != nil) != tt.wantChanged {
				t.Errorf("changed = %v, snapshot = %v; want changed %v", changed, got, tt.wantChanged)
			}
			st := f.srv.Stats()
			if st.UploadPacks != tt.wantUploadPacks || st.RefAdvertisements != tt.wantAdverts {
				t.Errorf("requests = %+v, want %d upload-pack and %d ref advertisements", st, tt.wantUploadPacks, tt.wantAdverts)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestFetchAuth(t *testing.T) {
	const user, pass, token = "deploy", "hunter2-secret", "tok-very-secret"
	f := newFixture(t, func(s *gitserver.Server) { s.WithBasicAuth(user, pass).WithBearerToken(token).WithTLS() })
	plain := newFixture(t, func(s *gitserver.Server) { s.WithBasicAuth(user, pass).WithBearerToken(token) })
	open := newFixture(t, nil)
	ca := f.srv.CACert()
	tests := map[string]struct {
		url       string
		auth      *Auth
		wantErr   error
		mustNotIn string
	}{
		"the right username and password fetch":       {f.url, &Auth{Username: user, Password: pass, CAData: ca}, nil, ""},
		"the right bearer token fetches":              {f.url, &Auth{BearerToken: token, CAData: ca}, nil, ""},
		"a wrong password is an authentication error": {f.url, &Auth{Username: user, Password: "wrong-password-xyz", CAData: ca}, ErrAuthentication, "wrong-password-xyz"},
		"a wrong token is an authentication error":    {f.url, &Auth{BearerToken: "wrong-token-xyz", CAData: ca}, ErrAuthentication, "wrong-token-xyz"},
		"no credentials are an authentication error":  {f.url, &Auth{CAData: ca}, ErrAuthentication, ""},
		"a password is never sent over plain http":    {plain.url, &Auth{Username: user, Password: pass}, ErrInsecure, pass},
		"a token is never sent over plain http":       {plain.url, &Auth{BearerToken: token}, ErrInsecure, token},
		"a user name alone in an http URL is no secret": {
			strings.Replace(open.url, "http://", "http://git@", 1), nil, nil, "",
		},
		"credentials in an http URL are never sent": {
			strings.Replace(plain.url, "http://", "http://"+user+":"+pass+"@", 1), nil, ErrInsecure, pass,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			plain.srv.ResetStats()
			s, _, err := NewClient().Fetch(context.Background(), FetchOptions{URL: tt.url, Ref: Ref{Branch: "main"}, Auth: tt.auth}, "")
			if errors.Is(tt.wantErr, ErrInsecure) {
				if st := plain.srv.Stats(); st != (gitserver.Stats{}) {
					t.Errorf("the plain http server saw requests: %+v", st)
				}
				if err == nil || !strings.Contains(err.Error(), "credentials are never sent over plain http") {
					t.Errorf("err = %v, want it to say credentials are never sent over plain http", err)
				}
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]string{true: open.c3, false: f.c3}[strings.Contains(tt.url, "git@")]; s.Commit != want {
					t.Errorf("Commit = %s, want %s", s.Commit, want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want errors.Is %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrGitOperation) {
				t.Errorf("an authentication failure must not also be ErrGitOperation: %v", err)
			}
			if tt.mustNotIn != "" && strings.Contains(err.Error(), tt.mustNotIn) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	f := newFixture(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := "http://" + l.Addr().String() + "/app.git"
	l.Close()
	withCreds := strings.Replace(f.url, "http://", "http://someone:pa55word-in-url@", 1)
	tests := map[string]struct {
		opts      FetchOptions
		wantErr   error
		wantMsg   string
		mustNotIn string
	}{
		"a missing branch is named with the URL": {
			FetchOptions{URL: f.url, Ref: Ref{Branch: "nope"}}, ErrGitOperation,
			fmt.Sprintf("branch %q not found in %s", "nope", f.url), "",
		},
		"a missing tag is named": {
			FetchOptions{URL: f.url, Ref: Ref{Tag: "v9.9.9"}}, ErrGitOperation, `tag "v9.9.9" not found in`, "",
		},
		"the default branch master is missing here": {
			FetchOptions{URL: f.url}, ErrGitOperation, `branch "master" not found`, "",
		},
		"a commit absent from the repository is named": {
			FetchOptions{URL: f.url, Ref: Ref{Commit: strings.Repeat("0", 40)}}, ErrGitOperation, `commit "` + strings.Repeat("0", 40) + `" not found`, "",
		},
		"a commit absent from the given branch is named": {
			FetchOptions{URL: f.url, Ref: Ref{Branch: "main", Commit: f.c4}}, ErrGitOperation, `on branch "main" not found`, "",
		},
		"an unreachable server is a git operation error": {
			FetchOptions{URL: closed, Ref: Ref{Branch: "main"}}, ErrGitOperation, "failed to list refs of " + closed, "",
		},
		"a missing repository is a git operation error": {
			FetchOptions{URL: f.srv.RepoURL("nothing.git"), Ref: Ref{Branch: "main"}}, ErrGitOperation, "nothing.git", "",
		},
		"a URL without a scheme is refused": {
			FetchOptions{URL: "git@github.com:org/repo.git"}, ErrGitOperation, "invalid repository URL", "",
		},
		"an unsupported scheme is refused": {
			FetchOptions{URL: "ftp://example.com/repo.git"}, ErrGitOperation, `unsupported URL scheme "ftp"`, "",
		},
		"credentials in the URL never reach the message": {
			FetchOptions{URL: withCreds, Ref: Ref{Branch: "nope"}}, ErrInsecure, `credentials are never sent over plain http: ` + f.url, "pa55word-in-url",
		},
		"ssh without known_hosts is refused": {
			FetchOptions{URL: "ssh://git@127.0.0.1:1/app.git", Ref: Ref{Branch: "main"}, Auth: &Auth{SSHIdentity: []byte("x")}}, ErrAuthentication, `"known_hosts"`, "",
		},
		"ssh without an identity is refused": {
			FetchOptions{URL: "ssh://git@127.0.0.1:1/app.git", Ref: Ref{Branch: "main"}}, ErrAuthentication, `"identity"`, "",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := NewClient().Fetch(context.Background(), tt.opts, "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			if tt.mustNotIn != "" && strings.Contains(err.Error(), tt.mustNotIn) {
				t.Errorf("error leaks %q: %v", tt.mustNotIn, err)
			}
		})
	}
}

// TestFetchRefusesFileURL: a file:// URL would read the controller's own
// disk; it is refused in code, whatever admission let through.
func TestFetchRefusesFileURL(t *testing.T) {
	f := newFixture(t, nil)
	u := "file://" + filepath.ToSlash(filepath.Join(f.srv.Root(), "app.git"))
	for _, url := range []string{u, strings.Replace(u, "file://", "FILE://", 1)} {
		s, _, err := NewClient().Fetch(context.Background(), FetchOptions{URL: url, Ref: Ref{Tag: "v1.5.0"}}, "")
		if err == nil {
			t.Fatalf("fetched %s from %s, want it refused", s.Commit, url)
		}
		if !errors.Is(err, ErrInsecure) || !strings.Contains(err.Error(), "file:// would read the controller's own disk") {
			t.Errorf("err = %v, want ErrInsecure saying why", err)
		}
	}
}
