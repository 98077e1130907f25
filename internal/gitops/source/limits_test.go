package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// doublingLinks is the attack: levels directories, each holding two
// links to the one before, so that copying the links doubles the tree per
// level (2^levels copies of d0's file from 2*levels entries).
func doublingLinks(levels int) (files, links map[string]string) {
	files = map[string]string{"d00/f.yaml": strings.Repeat("x", 1024)}
	links = map[string]string{}
	// Names that sort in level order, so that each level copies the one
	// before once it is complete.
	for i := 1; i <= levels; i++ {
		links[fmt.Sprintf("d%02d/a", i)] = fmt.Sprintf("../d%02d", i-1)
		links[fmt.Sprintf("d%02d/b", i)] = fmt.Sprintf("../d%02d", i-1)
	}
	return files, links
}

// TestFetchLimits fetches trees past each limit from a real Git server: the
// fetch fails with ErrLimitExceeded naming the limit, the path where it was
// passed, and the commit.
func TestFetchLimits(t *testing.T) {
	manyFiles := map[string]string{}
	for i := range 11 {
		manyFiles[fmt.Sprintf("f%02d.yaml", i)] = "x"
	}
	amplified, amplifiedLinks := doublingLinks(29)
	cases := map[string]struct {
		files, links map[string]string
		limits       Limits
		want         []string
	}{
		"directory links doubling per level stop at the files limit": {
			// 58 links, 2^29 copies (512 GiB) when followed without a bound.
			files: amplified, links: amplifiedLinks,
			want: []string{"more than 100000 files, the limit per snapshot (Files)", "d"},
		},
		"the same links stop at the bytes limit first when it is lower": {
			files: amplified, links: amplifiedLinks, limits: Limits{Bytes: 1 << 20},
			want: []string{"more than 1048576 bytes, the limit per snapshot (Bytes)"},
		},
		"a tree with more files than the limit": {
			files: manyFiles, limits: Limits{Files: 10},
			want: []string{"more than 10 files, the limit per snapshot (Files), at f10.yaml"},
		},
		"a file larger than the bytes limit is not read": {
			files: map[string]string{"big.yaml": strings.Repeat("x", 20_000)}, limits: Limits{Bytes: 10_000},
			want: []string{"more than 10000 bytes, the limit per snapshot (Bytes), at big.yaml"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, nil)
			must(t, s.InitRepo("r.git", "main"))
			w, err := s.Workdir("r.git")
			must(t, err)
			defer w.Close()
			must(t, w.WriteFiles(tc.files))
			for p, target := range tc.links {
				must(t, w.Symlink(target, p))
			}
			commit := commitAndPush(t, w, "content")
			c := NewClient(WithLimits(tc.limits))
			snap, _, err := c.Fetch(context.Background(), FetchOptions{URL: s.RepoURL("r.git"), Ref: Ref{Branch: "main"}}, "")
			if err == nil {
				t.Fatalf("fetched %d files, %d bytes: want the limit to stop it", len(snap.Files), snap.Size)
			}
			t.Log(err)
			if !errors.Is(err, ErrLimitExceeded) {
				t.Errorf("err = %v, want errors.Is ErrLimitExceeded", err)
			}
			for _, w := range append(tc.want, commit) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if c.CacheBytes() != 0 {
				t.Errorf("the cache kept %d bytes of a failed fetch", c.CacheBytes())
			}
		})
	}
}

// TestResolveSymlinksStopsAtTheDeadline copies doubling links with limits
// too high to stop them: the fetch's context ending must.
func TestResolveSymlinksStopsAtTheDeadline(t *testing.T) {
	files, links := doublingLinks(20) // 2^20 copies if nothing stops it
	rt := &rawTree{files: map[string][]byte{}, symlinks: links}
	for p, c := range files {
		rt.files[p] = []byte(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := &budget{ctx: ctx, limits: Limits{Bytes: 1 << 62, Files: 1 << 62}}
	_, err := rt.resolveSymlinks(b)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's end", err)
	}
	if b.files > 512 {
		t.Errorf("copied %d files after the deadline, want at most 256 more", b.files)
	}
}

// TestClientCacheBoundsBytes fetches three repositories into a cache with
// room for two: the least recently used leaves, and the bytes stay bounded.
func TestClientCacheBoundsBytes(t *testing.T) {
	s := newServer(t, nil)
	var urls []string
	for i := range 3 {
		name := fmt.Sprintf("r%d.git", i)
		must(t, s.InitRepo(name, "main"))
		w, err := s.Workdir(name)
		must(t, err)
		must(t, w.WriteFiles(map[string]string{"f.yaml": strings.Repeat(fmt.Sprint(i), 1000)}))
		commitAndPush(t, w, "content")
		w.Close()
		urls = append(urls, s.RepoURL(name))
	}
	c := NewClient(WithCacheBytes(2500))
	var first string
	for i, u := range append(urls, urls[2]) {
		snap, _, err := c.Fetch(context.Background(), FetchOptions{URL: u, Ref: Ref{Branch: "main"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = snap.Commit
		}
	}
	if c.CacheBytes() != 2000 || c.cache.Len() != 2 {
		t.Errorf("cache holds %d snapshots of %d bytes, want 2 of 2000", c.cache.Len(), c.CacheBytes())
	}
	if _, ok := c.cache.Get(cacheKey(FetchOptions{URL: urls[0], Ref: Ref{Branch: "main"}}, first)); ok {
		t.Errorf("the least recently used snapshot is still cached")
	}
}
