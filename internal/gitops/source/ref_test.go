package source

import (
	"strings"
	"testing"
)

func TestResolveRef(t *testing.T) {
	const (
		c1 = "1111111111111111111111111111111111111111"
		c2 = "2222222222222222222222222222222222222222"
		c3 = "3333333333333333333333333333333333333333"
		tg = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	)
	refs := map[string]string{
		"HEAD":                 c3,
		"refs/heads/main":      c3,
		"refs/heads/master":    c2,
		"refs/tags/v1.0.0":     tg, // annotated: the ref names the tag object
		"refs/tags/v1.0.0^{}":  c1,
		"refs/tags/v1.5.0":     c2,
		"refs/tags/v2.0.0":     c3,
		"refs/tags/not-semver": c3,
		"refs/pull/7/head":     c1,
	}
	tests := map[string]struct {
		ref          Ref
		wantRevision string
		wantErr      string
	}{
		"an empty ref is branch master":                  {Ref{}, "master@sha1:" + c2, ""},
		"a branch gives branch@sha1":                     {Ref{Branch: "main"}, "main@sha1:" + c3, ""},
		"an annotated tag resolves to its peeled commit": {Ref{Tag: "v1.0.0"}, "v1.0.0@sha1:" + c1, ""},
		"a tag wins over a branch":                       {Ref{Branch: "main", Tag: "v1.5.0"}, "v1.5.0@sha1:" + c2, ""},
		"semver picks the highest match":                 {Ref{SemVer: ">=1.0.0 <2.0.0"}, "v1.5.0@sha1:" + c2, ""},
		"semver wins over a tag":                         {Ref{Tag: "v2.0.0", SemVer: "<1.1.0"}, "v1.0.0@sha1:" + c1, ""},
		"a name keeps the absolute ref":                  {Ref{Name: "refs/pull/7/head"}, "refs/pull/7/head@sha1:" + c1, ""},
		"a name of a tag keeps refs/tags":                {Ref{Name: "refs/tags/v1.0.0"}, "refs/tags/v1.0.0@sha1:" + c1, ""},
		"a name wins over semver":                        {Ref{SemVer: "*", Name: "refs/heads/master"}, "refs/heads/master@sha1:" + c2, ""},
		"a commit alone is sha1:":                        {Ref{Commit: c2}, "sha1:" + c2, ""},
		"a commit with a branch keeps the branch":        {Ref{Branch: "main", Commit: c1}, "main@sha1:" + c1, ""},
		"a commit wins over a name":                      {Ref{Name: "refs/pull/7/head", Commit: c2}, "sha1:" + c2, ""},
		"a missing branch is named":                      {Ref{Branch: "nope"}, "", `branch "nope" not found`},
		"a missing tag is named":                         {Ref{Tag: "v9"}, "", `tag "v9" not found`},
		"a missing name is named":                        {Ref{Name: "refs/heads/x"}, "", `ref "refs/heads/x" not found`},
		"semver without a match says so":                 {Ref{SemVer: ">=3"}, "", `no tag matches semver ">=3"`},
		"an invalid semver constraint is refused":        {Ref{SemVer: "not a range"}, "", `semver "not a range" is not a valid constraint`},
		"a short commit is refused":                      {Ref{Commit: "abc123"}, "", `commit "abc123" is not a full 40-character SHA-1`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := resolveRef(tt.ref, refs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.revision != tt.wantRevision {
				t.Errorf("revision = %q, want %q", got.revision, tt.wantRevision)
			}
		})
	}
}
