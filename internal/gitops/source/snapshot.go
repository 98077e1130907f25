package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Snapshot is the content of one commit after ignore rules: what a
// Kustomization builds from. It is immutable once built and safe to share.
type Snapshot struct {
	// Revision in Flux's v1 format: "main@sha1:<sha>", "v1.0.0@sha1:<sha>",
	// "refs/heads/x@sha1:<sha>" for ref.name, "sha1:<sha>" for a bare commit.
	Revision string
	// Commit is the full SHA.
	Commit string
	// Message is the first line of the commit message.
	Message string
	// Digest is "sha256:<hex>" over the sorted paths and contents of Files
	// and Symlinks; equal trees give equal digests whatever the commit.
	Digest string
	// Size is the total number of bytes in Files.
	Size int64
	// Files maps slash paths relative to the repository root to contents:
	// regular files after ignore rules, never .git/. A symlink that resolves
	// inside the repository appears here with its target's content, as
	// Flux's source-controller copies such links before archiving.
	Files map[string][]byte
	// Symlinks maps the path of each symlink that does not resolve inside
	// the repository (absolute, escaping with "..", dangling or cyclic) to
	// its target. Such a path is absent from Files; reading it through
	// ReadFile, or checking its directory with CheckSymlinks, fails clearly.
	Symlinks map[string]string

	index *index
}

// index holds what DirDigest needs, shared by the copies of a cached
// Snapshot that differ only in Revision.
type index struct {
	paths  []string            // sorted keys of Files and Symlinks
	hashes map[string][32]byte // per path: sha256 of content or of the link target
	dirs   sync.Map            // normalised dir → digest
}

// DirDigest returns "sha256:<hex>" over every file (and unresolved
// symlink) under dir, with paths taken relative to dir, so it changes only
// when something under dir changes. dir "" or "." means the whole tree.
func (s *Snapshot) DirDigest(dir string) string {
	dir = cleanDir(dir)
	if d, ok := s.index.dirs.Load(dir); ok {
		return d.(string)
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	paths := s.index.paths
	start := sort.SearchStrings(paths, prefix)
	h := sha256.New()
	for _, p := range paths[start:] {
		if !strings.HasPrefix(p, prefix) {
			break
		}
		writeEntry(h, strings.TrimPrefix(p, prefix), s.index.hashes[p])
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))
	s.index.dirs.Store(dir, d)
	return d
}

// ReadFile returns the content of the file at slash path p, or an error
// naming the symlink when p is one that leaves the repository.
func (s *Snapshot) ReadFile(p string) ([]byte, error) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if b, ok := s.Files[p]; ok {
		return b, nil
	}
	if t, ok := s.Symlinks[p]; ok {
		return nil, symlinkError(p, t)
	}
	return nil, fmt.Errorf("file %q not found in revision %s", p, s.Revision)
}

// CheckSymlinks returns an error naming the first (in path order) symlink
// under dir that does not resolve inside the repository, or nil.
func (s *Snapshot) CheckSymlinks(dir string) error {
	dir = cleanDir(dir)
	var bad []string
	for p := range s.Symlinks {
		if dir == "" || p == dir || strings.HasPrefix(p, dir+"/") {
			bad = append(bad, p)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return symlinkError(bad[0], s.Symlinks[bad[0]])
}

func symlinkError(p, target string) error {
	return fmt.Errorf("%q is a symlink to %q, which does not resolve to a file inside the repository; replace it with the file or a link inside the repository", p, target)
}

func cleanDir(dir string) string {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "." {
		return ""
	}
	return dir
}

// writeEntry feeds one file into a hash; hash.Hash writes never fail.
func writeEntry(h io.Writer, p string, sum [32]byte) {
	_, _ = io.WriteString(h, p)
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(sum[:])
}

// rawTree is a commit's tree as read from Git, before symlinks and ignore
// rules are applied.
type rawTree struct {
	files    map[string][]byte
	symlinks map[string]string
}

// readTree reads every blob of the commit's tree into memory, within b.
func readTree(c *object.Commit, b *budget) (*rawTree, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("failed to read the tree of commit %s: %w", c.Hash, err)
	}
	rt := &rawTree{files: map[string][]byte{}, symlinks: map[string]string{}}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("failed to walk the tree of commit %s: %w", c.Hash, err)
		}
		switch e.Mode {
		case filemode.Regular, filemode.Executable, filemode.Deprecated, filemode.Symlink:
		default: // directories, submodules
			continue
		}
		// TreeEntryFile only looks the blob up by hash in the repository's
		// storage, so the root tree serves entries of every subtree.
		f, err := tree.TreeEntryFile(&e)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", name, err)
		}
		// A blob's size is known before it is read: never read one that
		// would pass the limit.
		if b.bytes+f.Size > b.limits.Bytes {
			return nil, fmt.Errorf("the tree holds more than %d bytes, the limit per snapshot (Bytes), at %s: %w", b.limits.Bytes, name, ErrLimitExceeded)
		}
		r, err := f.Reader()
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", name, err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", name, err)
		}
		if err := b.add(name, len(data)); err != nil {
			return nil, err
		}
		if e.Mode == filemode.Symlink {
			rt.symlinks[name] = string(data)
		} else {
			rt.files[name] = data
		}
	}
	return rt, nil
}

// maxLinkHops bounds symlink chains, as the kernel's ELOOP does.
const maxLinkHops = 40

// resolveSymlinks copies in-repository link targets (files, and directories
// recursively) to the link paths, and returns the links that stay
// unresolved. It mirrors source-controller's resolveSymlinks, without disk.
// Links are followed only inside the tree, never into their own ancestors,
// and at most maxLinkHops deep; every copy counts against b, because links
// to directories that hold links to directories double the tree per level.
func (rt *rawTree) resolveSymlinks(b *budget) (map[string]string, error) {
	unresolved := map[string]string{}
	dirs := map[string]bool{}
	for p := range rt.files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// resolve follows a link chain to a file or a directory inside the tree.
	var resolve func(p string, hops int) (string, bool)
	resolve = func(p string, hops int) (string, bool) {
		t, ok := rt.symlinks[p]
		if !ok {
			_, isFile := rt.files[p]
			return p, isFile || dirs[p]
		}
		if hops > maxLinkHops || path.IsAbs(t) {
			return "", false
		}
		j := path.Join(path.Dir(p), t)
		if j == ".." || strings.HasPrefix(j, "../") || j == "." {
			return "", false
		}
		return resolve(j, hops+1)
	}
	links := make([]string, 0, len(rt.symlinks))
	for p := range rt.symlinks {
		links = append(links, p)
	}
	sort.Strings(links)
	for _, p := range links {
		t, ok := resolve(p, 0)
		if ok && (p == t || strings.HasPrefix(p, t+"/")) {
			ok = false // a link into its own ancestor would copy forever
		}
		if !ok {
			unresolved[p] = rt.symlinks[p]
			continue
		}
		if data, isFile := rt.files[t]; isFile {
			if err := b.add(p, len(data)); err != nil {
				return nil, err
			}
			rt.files[p] = data
			continue
		}
		// The directory as it is now, in path order, so that the copy
		// does not depend on map order and never sees itself grow.
		var under []string
		for f := range rt.files {
			if strings.HasPrefix(f, t+"/") {
				under = append(under, f)
			}
		}
		sort.Strings(under)
		for _, f := range under {
			dst := p + "/" + strings.TrimPrefix(f, t+"/")
			if err := b.add(dst, len(rt.files[f])); err != nil {
				return nil, err
			}
			rt.files[dst] = rt.files[f]
			for d := path.Dir(dst); d != "." && !dirs[d]; d = path.Dir(d) {
				dirs[d] = true
			}
		}
	}
	return unresolved, nil
}

// ignoreMatcher builds the matcher Flux's source-controller uses
// (fluxcd/pkg artifact/storage SourceIgnoreFilter): the .sourceignore files
// of the tree, in directory order, plus spec.ignore. When these yield no
// pattern at all, the default exclusions apply; otherwise they replace the
// defaults and only the VCS exclusions are kept.
func ignoreMatcher(files map[string][]byte, spec *string) gitignore.Matcher {
	var ignoreFiles []string
	for p := range files {
		if path.Base(p) == sourceignore.IgnoreFile {
			ignoreFiles = append(ignoreFiles, p)
		}
	}
	// Parents before children, siblings by name: the walk order of
	// sourceignore.LoadIgnorePatterns.
	sort.Slice(ignoreFiles, func(i, j int) bool {
		a, b := strings.Split(path.Dir(ignoreFiles[i]), "/"), strings.Split(path.Dir(ignoreFiles[j]), "/")
		if a[0] == "." {
			a = nil
		}
		if b[0] == "." {
			b = nil
		}
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return len(a) < len(b)
	})
	var ps []gitignore.Pattern
	for _, f := range ignoreFiles {
		var domain []string
		if d := path.Dir(f); d != "." {
			domain = strings.Split(d, "/")
		}
		ps = append(ps, sourceignore.ReadPatterns(strings.NewReader(string(files[f])), domain)...)
	}
	if spec != nil {
		ps = append(ps, sourceignore.ReadPatterns(strings.NewReader(*spec), nil)...)
	}
	if len(ps) == 0 {
		return sourceignore.NewDefaultMatcher(nil, nil)
	}
	return sourceignore.NewMatcher(append(sourceignore.VCSPatterns(nil), ps...))
}

// buildSnapshot turns a commit into a Snapshot (without Revision), within
// limits and until ctx ends.
func buildSnapshot(ctx context.Context, c *object.Commit, ignore *string, limits Limits) (*Snapshot, error) {
	b := &budget{ctx: ctx, limits: limits.withDefaults()}
	rt, err := readTree(c, b)
	if err != nil {
		return nil, err
	}
	unresolved, err := rt.resolveSymlinks(b)
	if err != nil {
		return nil, err
	}
	m := ignoreMatcher(rt.files, ignore)
	s := &Snapshot{
		Commit:   c.Hash.String(),
		Message:  firstLine(c.Message),
		Files:    make(map[string][]byte, len(rt.files)),
		Symlinks: map[string]string{},
		index:    &index{hashes: make(map[string][32]byte, len(rt.files))},
	}
	for p, b := range rt.files {
		if m.Match(strings.Split(p, "/"), false) {
			continue
		}
		s.Files[p] = b
		s.Size += int64(len(b))
		s.index.hashes[p] = sha256.Sum256(b)
	}
	for p, t := range unresolved {
		if m.Match(strings.Split(p, "/"), false) {
			continue
		}
		s.Symlinks[p] = t
		s.index.hashes[p] = sha256.Sum256([]byte("symlink\x00" + t))
	}
	s.index.paths = make([]string, 0, len(s.index.hashes))
	for p := range s.index.hashes {
		s.index.paths = append(s.index.paths, p)
	}
	sort.Strings(s.index.paths)
	s.Digest = s.DirDigest("")
	return s, nil
}

func firstLine(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return msg
}
