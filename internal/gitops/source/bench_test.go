package source

import (
	"context"
	"fmt"
	"testing"
)

// benchRepo serves a repository of 200 small YAML files in 20 directories.
func benchRepo(b *testing.B) (url, head string) {
	s := newServer(b, nil)
	must(b, s.InitRepo("bench.git", "main"))
	w, err := s.Workdir("bench.git")
	must(b, err)
	defer w.Close()
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("apps/app%02d/cm%03d.yaml", i%20, i)] = fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm%03d\n  namespace: default\ndata:\n  key: value-%d\n", i, i)
	}
	must(b, w.WriteFiles(files))
	return s.RepoURL("bench.git"), commitAndPush(b, w, "bench")
}

// BenchmarkFetch measures a cold fetch (ls-remote + depth-1 fetch + snapshot)
// with in-memory object storage, the default, and with on-disk storage.
func BenchmarkFetch(b *testing.B) {
	url, _ := benchRepo(b)
	for _, mode := range []string{"memory", "disk"} {
		b.Run(mode, func(b *testing.B) {
			c := NewClient(WithCacheBytes(0))
			if mode == "disk" {
				c.diskDir = b.TempDir()
			}
			b.ReportAllocs()
			for b.Loop() {
				s, _, err := c.Fetch(context.Background(), FetchOptions{URL: url, Ref: Ref{Branch: "main"}}, "")
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Files) != 200 {
					b.Fatalf("%d files, want 200", len(s.Files))
				}
			}
		})
	}
}

// BenchmarkResolveUnchanged measures the periodic check of an unchanged
// remote: one ref advertisement, no clone.
func BenchmarkResolveUnchanged(b *testing.B) {
	url, head := benchRepo(b)
	c := NewClient()
	b.ReportAllocs()
	for b.Loop() {
		s, changed, err := c.Fetch(context.Background(), FetchOptions{URL: url, Ref: Ref{Branch: "main"}}, head)
		if err != nil || changed || s != nil {
			b.Fatalf("changed = %v, err = %v", changed, err)
		}
	}
}
