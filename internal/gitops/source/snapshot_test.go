package source

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
)

// fetchFiles pushes files to a new repository and fetches main with ignore.
func fetchFiles(t *testing.T, files map[string]string, links map[string]string, ignore *string) *Snapshot {
	t.Helper()
	s := newServer(t, nil)
	must(t, s.InitRepo("r.git", "main"))
	w, err := s.Workdir("r.git")
	must(t, err)
	defer w.Close()
	must(t, w.WriteFiles(files))
	for p, target := range links {
		must(t, w.Symlink(target, p))
	}
	commitAndPush(t, w, "content")
	snap, _, err := NewClient().Fetch(context.Background(), FetchOptions{URL: s.RepoURL("r.git"), Ref: Ref{Branch: "main"}, Ignore: ignore}, "")
	must(t, err)
	return snap
}

func paths(s *Snapshot) string {
	var ps []string
	for p := range s.Files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return strings.Join(ps, " ")
}

func TestFetchIgnoreRules(t *testing.T) {
	base := map[string]string{
		"app/deploy.yaml":          "a",
		"README.md":                "r",
		"logo.png":                 "p",
		".github/workflows/ci.yml": "c",
		".gitignore":               "x",
		"sub/.sops.yaml":           "s",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := map[string]struct {
		files  map[string]string
		ignore *string
		want   string
	}{
		"the defaults drop CI configs, images, VCS and tool files": {
			files: base,
			want:  "README.md app/deploy.yaml",
		},
		"spec.ignore replaces the defaults but .git files stay out": {
			files:  base,
			ignore: ptr("*.md\n# a comment\n"),
			want:   ".github/workflows/ci.yml app/deploy.yaml logo.png sub/.sops.yaml",
		},
		"an empty spec.ignore keeps the defaults, as in Flux": {
			files:  base,
			ignore: ptr(""),
			want:   "README.md app/deploy.yaml",
		},
		"a root .sourceignore replaces the defaults": {
			files: with(map[string]string{".sourceignore": "app/\n"}),
			want:  ".github/workflows/ci.yml .sourceignore README.md logo.png sub/.sops.yaml",
		},
		"a nested .sourceignore applies under its directory only": {
			files: with(map[string]string{"sub/.sourceignore": "*.yaml\n", "sub/keep.txt": "k", "top.yaml": "t"}),
			want:  ".github/workflows/ci.yml README.md app/deploy.yaml logo.png sub/.sourceignore sub/keep.txt top.yaml",
		},
		"spec.ignore adds to .sourceignore files": {
			files:  with(map[string]string{".sourceignore": "app/\n"}),
			ignore: ptr("*.png\n"),
			want:   ".github/workflows/ci.yml .sourceignore README.md sub/.sops.yaml",
		},
		"a negation in spec.ignore brings a file back": {
			files:  base,
			ignore: ptr("/*\n!/app/\n"),
			want:   "app/deploy.yaml",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s := fetchFiles(t, tt.files, nil, tt.ignore)
			if got := paths(s); got != tt.want {
				t.Errorf("files = %q\n                  want %q", got, tt.want)
			}
		})
	}
}

func TestDirDigest(t *testing.T) {
	f := newFixture(t, nil)
	c := NewClient()
	before, _, err := c.Fetch(context.Background(), FetchOptions{URL: f.url, Ref: Ref{Branch: "main"}}, "")
	must(t, err)
	w, err := f.srv.Workdir("app.git")
	must(t, err)
	defer w.Close()
	must(t, w.WriteFile("deploy/overlay/patch.yaml", []byte("kind: Patch\nchanged: true\n")))
	commitAndPush(t, w, "change the overlay")
	after, changed, err := c.Fetch(context.Background(), FetchOptions{URL: f.url, Ref: Ref{Branch: "main"}}, before.Commit)
	must(t, err)
	if !changed {
		t.Fatal("a new commit was reported unchanged")
	}
	tests := map[string]struct {
		dir         string
		wantChanged bool
	}{
		"the changed file's directory changes":     {"deploy/overlay", true},
		"its parent directory changes":             {"deploy", true},
		"the whole tree changes":                   {"", true},
		"the whole tree spelled dot changes":       {".", true},
		"a sibling directory does not change":      {"base", false},
		"a dir spelled with ./ and / is the same":  {"./base/", false},
		"a directory sharing a prefix is separate": {"deploy/over", false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b, a := before.DirDigest(tt.dir), after.DirDigest(tt.dir)
			if (b != a) != tt.wantChanged {
				t.Errorf("DirDigest(%q) before %s after %s; want changed = %v", tt.dir, b, a, tt.wantChanged)
			}
		})
	}
	if after.DirDigest("") != after.Digest || after.DirDigest(".") != after.Digest {
		t.Errorf("DirDigest of the root %s differs from Digest %s", after.DirDigest(""), after.Digest)
	}
	if before.Digest == after.Digest {
		t.Error("Digest did not change with the tree")
	}
}

func TestDigestIsContentAddressed(t *testing.T) {
	files := map[string]string{"a/x.yaml": "1", "b/y.yaml": "2"}
	s1 := fetchFiles(t, files, nil, nil)
	s2 := fetchFiles(t, map[string]string{"a/x.yaml": "1", "b/y.yaml": "2", "c/z.yaml": "3"}, nil, nil)
	if s1.Commit == s2.Commit {
		t.Fatal("fixtures should differ in commit")
	}
	if s1.DirDigest("a") != s2.DirDigest("a") {
		t.Error("the same files under a/ in different commits give different DirDigests")
	}
	if s1.Digest == s2.Digest {
		t.Error("different trees give the same Digest")
	}
	if s1.DirDigest("a") == s1.DirDigest("b") {
		t.Error("different directories give the same DirDigest")
	}
}

func TestFetchSymlinks(t *testing.T) {
	s := fetchFiles(t,
		map[string]string{"base/cm.yaml": "kind: ConfigMap\n", "base/deep/d.yaml": "d", "app/kustomization.yaml": "k"},
		map[string]string{
			"app/cm.yaml":       "../base/cm.yaml",
			"app/base":          "../base",
			"app/chain.yaml":    "cm.yaml",
			"app/passwd":        "../../../etc/passwd",
			"app/abs":           "/etc/passwd",
			"app/dangling.yaml": "nothere.yaml",
			"app/loop":          "..",
		}, nil)
	tests := map[string]struct {
		path        string
		wantContent string
		wantErr     string
	}{
		"a link to a file inside the repo reads the file":      {"app/cm.yaml", "kind: ConfigMap\n", ""},
		"a link to a directory inside the repo copies it":      {"app/base/deep/d.yaml", "d", ""},
		"a chain of links inside the repo is followed":         {"app/chain.yaml", "kind: ConfigMap\n", ""},
		"a link escaping with .. is recorded and fails":        {"app/passwd", "", `"app/passwd" is a symlink to "../../../etc/passwd"`},
		"an absolute link is recorded and fails":               {"app/abs", "", `"app/abs" is a symlink to "/etc/passwd"`},
		"a dangling link is recorded and fails":                {"app/dangling.yaml", "", `"app/dangling.yaml" is a symlink to "nothere.yaml"`},
		"a link to its own ancestor is recorded and fails":     {"app/loop", "", `"app/loop" is a symlink to ".."`},
		"a path that was never there is reported as not found": {"app/missing.yaml", "", `file "app/missing.yaml" not found`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := s.ReadFile(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantContent {
				t.Errorf("content = %q, want %q", b, tt.wantContent)
			}
		})
	}
	if got := s.Symlinks["app/passwd"]; got != "../../../etc/passwd" {
		t.Errorf("Symlinks[app/passwd] = %q", got)
	}
	if err := s.CheckSymlinks("app"); err == nil || !strings.Contains(err.Error(), "app/abs") {
		t.Errorf("CheckSymlinks(app) = %v, want the first bad link app/abs", err)
	}
	if err := s.CheckSymlinks("base"); err != nil {
		t.Errorf("CheckSymlinks(base) = %v, want nil", err)
	}
}

func TestAuthFromSecret(t *testing.T) {
	tests := map[string]struct {
		data    map[string][]byte
		want    Auth
		wantErr string
	}{
		"basic auth keys": {
			data: map[string][]byte{"username": []byte("u"), "password": []byte("p")},
			want: Auth{Username: "u", Password: "p"},
		},
		"a bearer token": {
			data: map[string][]byte{"bearerToken": []byte("t")},
			want: Auth{BearerToken: "t"},
		},
		"a password without a username is refused": {
			data:    map[string][]byte{"password": []byte("only-the-password")},
			wantErr: `key "password" requires key "username"`,
		},
		"an identity that is not a key is refused": {
			data:    map[string][]byte{"identity": []byte("not-a-key-value"), "known_hosts": []byte("x")},
			wantErr: `key "identity" is not a PEM or OpenSSH private key`,
		},
		"a known_hosts without entries is refused": {
			data:    map[string][]byte{"known_hosts": []byte("garbage-known-hosts")},
			wantErr: `key "known_hosts" holds no valid known_hosts line`,
		},
		"a ca.crt that is not PEM is refused": {
			data:    map[string][]byte{"ca.crt": []byte("not-pem-data")},
			wantErr: `key "ca.crt" holds no PEM certificate`,
		},
		"an empty Secret means no credentials": {
			data: map[string][]byte{},
			want: Auth{},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := AuthFromSecret(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrAuthentication) {
					t.Errorf("err = %v, want errors.Is ErrAuthentication", err)
				}
				for _, v := range tt.data {
					if strings.Contains(err.Error(), string(v)) {
						t.Errorf("error leaks a Secret value: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Username != tt.want.Username || a.Password != tt.want.Password || a.BearerToken != tt.want.BearerToken {
				t.Errorf("auth = %+v, want %+v", a, tt.want)
			}
		})
	}
}

func TestStore(t *testing.T) {
	st := NewStore()
	if _, ok := st.Get("ns/a"); ok {
		t.Fatal("an empty store returned a snapshot")
	}
	first, second := &Snapshot{Commit: "1"}, &Snapshot{Commit: "2"}
	st.Put("ns/a", first)
	st.Put("ns/a", second)
	if got, ok := st.Get("ns/a"); !ok || got != second {
		t.Errorf("Get = %v, %v; want the latest snapshot", got, ok)
	}
	st.Delete("ns/a")
	if _, ok := st.Get("ns/a"); ok {
		t.Error("a deleted key is still there")
	}
}
