package build

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// maxSymlinkHops bounds symlink resolution, as the kernel's ELOOP does, so
// that a link cycle in a repository ends in an error instead of a hang.
const maxSymlinkHops = 40

// snapshotFS is a read-only kustomize filesystem over one Git tree held in
// memory. The tree's root is the filesystem's root "/", so kustomize can
// never name a file outside the repository, whatever `../` or absolute path
// a kustomization holds.
//
// It exists instead of kyaml's filesys.MakeFsInMemory for three reasons:
// copying a whole tree into fsnode for every build would cost more than the
// build; fsnode has no symlinks, and Git trees do; and the controller needs
// the set of files a build read. Symlinks are followed only while they stay
// inside the tree, like Flux's secure on-disk filesystem
// (fluxcd/pkg/kustomize/filesys fs_secure.go).
//
// The only writes are the generated kustomization file, kept in an overlay
// that shadows the tree; the tree itself is shared between concurrent builds
// and never written.
type snapshotFS struct {
	files    map[string][]byte
	symlinks map[string]string
	// entries holds every path of files and symlinks, sorted, so that a
	// directory is a contiguous range of it found by binary search.
	entries []string
	overlay map[string][]byte

	mu sync.Mutex
	// read holds the tree paths (files and the symlinks leading to them)
	// that the build read.
	read map[string]struct{}
	// order is the files read, oldest first, to find the file a kustomize
	// error speaks of by the name relative to its kustomization.
	order []string
	// escape is the first symlink found leaving the tree; a probe such as
	// Exists can only answer false, so the build reports it if it fails.
	escape error

	// exclusive is set when the build holds openAPIMu for writing; until
	// then reading a kustomization file that sets `openapi:` stops the
	// build, before kustomize touches its global schema, and sets
	// wantsOpenAPI so that Build runs it again alone.
	exclusive    bool
	wantsOpenAPI bool

	// limits bound the build; deadline is when its Timeout runs out.
	limits   Limits
	deadline time.Time
	// limitErr is the first limit the build went past (see noteLimit).
	limitErr error
	// checked holds the files checkManifest accepted, so that a file
	// kustomize reads twice is parsed once.
	checked map[string]struct{}
}

var errOpenAPI = errors.New("this kustomization sets openapi: and must be built alone")

var _ filesys.FileSystem = (*snapshotFS)(nil)

func newSnapshotFS(files map[string][]byte, symlinks map[string]string) *snapshotFS {
	entries := make([]string, 0, len(files)+len(symlinks))
	for p := range files {
		entries = append(entries, p)
	}
	for p := range symlinks {
		if _, ok := files[p]; !ok {
			entries = append(entries, p)
		}
	}
	slices.Sort(entries)
	return &snapshotFS{
		files:    files,
		symlinks: symlinks,
		entries:  entries,
		overlay:  map[string][]byte{},
		read:     map[string]struct{}{},
		limits:   DefaultLimits,
		deadline: time.Now().Add(DefaultLimits.Timeout),
		checked:  map[string]struct{}{},
	}
}

// withLimits sets the build's limits, and its deadline from now.
func (s *snapshotFS) withLimits(l Limits) *snapshotFS {
	s.limits = l.withDefaults()
	s.deadline = time.Now().Add(s.limits.Timeout)
	return s
}

// pastDeadline is the error of a build that ran out of time while at file
// r, or nil.
func (s *snapshotFS) pastDeadline(r string) error {
	if time.Now().Before(s.deadline) {
		return nil
	}
	return limitError(r, "the build ran longer than its limit of %s (Timeout), stopped at %s", s.limits.Timeout, r)
}

// symlinkError says that a path leads out of the repository through a
// symlink. Its message names the link and its target, which is what a user
// has to fix.
type symlinkError struct {
	Path, Link, Target string
}

func (e *symlinkError) Error() string {
	if e.Target == "" {
		return fmt.Sprintf("path '%s': too many levels of symbolic links at '%s'", e.Path, e.Link)
	}
	return fmt.Sprintf("path '%s' goes through symlink '%s' -> '%s', which leaves the repository", e.Path, e.Link, e.Target)
}

// rel turns a path as kustomize passes it (absolute from the tree root, or
// relative to it, which is the working directory) into a tree path: slash
// separated, cleaned, without a leading slash; the root is "".
func rel(p string) string {
	p = filepath.ToSlash(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return strings.TrimPrefix(path.Clean(p), "/")
}

// abs is the inverse of rel: the path kustomize sees.
func abs(r string) string { return "/" + r }

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// resolve follows the symlinks in every element of the tree path r and
// returns the tree path they lead to. A link whose target is absolute or
// climbs above the root is an error: in a checkout it would read the host's
// files. The links followed are recorded as read, because changing one
// changes the build.
func (s *snapshotFS) resolve(r string) (string, error) {
	if len(s.symlinks) == 0 || r == "" {
		return r, nil
	}
	orig := r
	for hops := 0; ; hops++ {
		parts := strings.Split(r, "/")
		cur := ""
		followed := false
		for i, part := range parts {
			next := join(cur, part)
			target, ok := s.symlinks[next]
			if !ok {
				cur = next
				continue
			}
			if hops >= maxSymlinkHops {
				return "", s.noteEscape(&symlinkError{Path: orig, Link: next})
			}
			s.track(next)
			t := path.Clean(path.Join(path.Dir(next), target))
			if path.IsAbs(target) || t == ".." || strings.HasPrefix(t, "../") {
				return "", s.noteEscape(&symlinkError{Path: orig, Link: next, Target: target})
			}
			if t == "." {
				t = ""
			}
			for _, rest := range parts[i+1:] {
				t = join(t, rest)
			}
			r = t
			followed = true
			break
		}
		if !followed {
			return cur, nil
		}
	}
}

func (s *snapshotFS) noteEscape(err error) error {
	s.mu.Lock()
	if s.escape == nil {
		s.escape = err
	}
	s.mu.Unlock()
	return err
}

// noteLimit remembers the first limit the build went past: kustomize may
// wrap the error it gets from ReadFile into one that loses it, or try
// another file, and the build must fail with this one.
func (s *snapshotFS) noteLimit(err error) error {
	s.mu.Lock()
	if s.limitErr == nil {
		s.limitErr = err
	}
	s.mu.Unlock()
	return err
}

func (s *snapshotFS) limitError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limitErr
}

func (s *snapshotFS) escapeErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.escape
}

// locate returns the tree path of the file most recently read whose path
// ends in name, which kustomize gives relative to the kustomization that
// referenced it; "" if none.
func (s *snapshotFS) locate(name string) string {
	name = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		if r := s.order[i]; r == name || strings.HasSuffix(r, "/"+name) {
			return r
		}
	}
	return ""
}

// mentioning returns the tree path of the file most recently read that
// holds text, or "".
func (s *snapshotFS) mentioning(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		r := s.order[i]
		data, ok := s.overlay[r]
		if !ok {
			data = s.files[r]
		}
		if bytes.Contains(data, []byte(text)) {
			return r
		}
	}
	return ""
}

func (s *snapshotFS) track(r string) {
	s.mu.Lock()
	s.read[r] = struct{}{}
	s.mu.Unlock()
}

// under returns the sorted tree entries strictly below directory r.
func (s *snapshotFS) under(r string) []string {
	if r == "" {
		return s.entries
	}
	prefix := r + "/"
	lo, _ := slices.BinarySearch(s.entries, prefix)
	hi := lo
	for hi < len(s.entries) && strings.HasPrefix(s.entries[hi], prefix) {
		hi++
	}
	return s.entries[lo:hi]
}

// stat reports what the resolved tree path r is.
func (s *snapshotFS) stat(r string) (isFile, isDir bool) {
	if _, ok := s.overlay[r]; ok {
		return true, false
	}
	if _, ok := s.files[r]; ok {
		return true, false
	}
	if r == "" || len(s.under(r)) > 0 {
		return false, true
	}
	for o := range s.overlay {
		if strings.HasPrefix(o, r+"/") {
			return false, true
		}
	}
	return false, false
}

// children lists the names directly inside the resolved directory r,
// sorted, as a directory listing on disk would.
func (s *snapshotFS) children(r string) []string {
	var names []string
	prefix := ""
	if r != "" {
		prefix = r + "/"
	}
	for _, e := range s.under(r) {
		name, _, _ := strings.Cut(strings.TrimPrefix(e, prefix), "/")
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
		}
	}
	for o := range s.overlay {
		if rest, ok := strings.CutPrefix(o, prefix); ok {
			name, _, _ := strings.Cut(rest, "/")
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func notExist(op, p string) error {
	return &iofs.PathError{Op: op, Path: p, Err: iofs.ErrNotExist}
}

var errReadOnly = errors.New("the repository snapshot is read-only")

// Create is refused: a build does not write files.
func (s *snapshotFS) Create(p string) (filesys.File, error) {
	return nil, &iofs.PathError{Op: "create", Path: p, Err: errReadOnly}
}

// Mkdir is refused: a build does not write files.
func (s *snapshotFS) Mkdir(p string) error {
	return &iofs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

// MkdirAll is refused: a build does not write files.
func (s *snapshotFS) MkdirAll(p string) error {
	return &iofs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

// RemoveAll is refused: a build does not write files.
func (s *snapshotFS) RemoveAll(p string) error {
	return &iofs.PathError{Op: "remove", Path: p, Err: errReadOnly}
}

// WriteFile stores data in the overlay; only the generated kustomization
// file is written this way.
func (s *snapshotFS) WriteFile(p string, data []byte) error {
	r, err := s.resolve(rel(p))
	if err != nil {
		return err
	}
	s.overlay[r] = data
	return nil
}

func (s *snapshotFS) Open(p string) (filesys.File, error) {
	data, err := s.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), info: fileInfo{name: path.Base(rel(p)), size: int64(len(data))}}, nil
}

func (s *snapshotFS) IsDir(p string) bool {
	r, err := s.resolve(rel(p))
	if err != nil {
		return false
	}
	_, isDir := s.stat(r)
	return isDir
}

func (s *snapshotFS) Exists(p string) bool {
	r, err := s.resolve(rel(p))
	if err != nil {
		return false
	}
	isFile, isDir := s.stat(r)
	return isFile || isDir
}

func (s *snapshotFS) ReadDir(p string) ([]string, error) {
	r, err := s.resolve(rel(p))
	if err != nil {
		return nil, err
	}
	if _, isDir := s.stat(r); !isDir {
		return nil, &iofs.PathError{Op: "readdir", Path: p, Err: errors.New("not a directory")}
	}
	return s.children(r), nil
}

// CleanedAbs returns the resolved directory and file name of p, as the
// on-disk filesystem does after evaluating symlinks, so that kustomize
// resolves `../` in a linked kustomization against its real location.
func (s *snapshotFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	r, err := s.resolve(rel(p))
	if err != nil {
		return "", "", err
	}
	isFile, isDir := s.stat(r)
	switch {
	case isDir:
		return filesys.ConfirmedDir(abs(r)), "", nil
	case isFile:
		return filesys.ConfirmedDir(path.Dir(abs(r))), path.Base(r), nil
	default:
		return "", "", notExist("stat", p)
	}
}

// Glob matches pattern against every file, symlink and directory.
func (s *snapshotFS) Glob(pattern string) ([]string, error) {
	pattern = filepath.ToSlash(pattern)
	if !strings.HasPrefix(pattern, "/") {
		pattern = "/" + pattern
	}
	seen := map[string]struct{}{}
	var out []string
	add := func(r string) error {
		for ; r != "" && r != "."; r = path.Dir(r) {
			if _, ok := seen[r]; ok {
				return nil
			}
			seen[r] = struct{}{}
			ok, err := path.Match(pattern, abs(r))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, abs(r))
			}
		}
		return nil
	}
	for _, e := range s.entries {
		if err := add(e); err != nil {
			return nil, err
		}
	}
	for o := range s.overlay {
		if err := add(o); err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return out, nil
}

// ReadFile returns a copy of the file's content (kustomize must not be able
// to alter a tree that other builds share) and records it as an input.
// Nothing remote is ever read: tugboat's copy of kustomize refuses every
// remote location in its loader (third_party/kustomize-api/OFFLINE.md).
func (s *snapshotFS) ReadFile(p string) ([]byte, error) {
	r, err := s.resolve(rel(p))
	if err != nil {
		return nil, err
	}
	if data, ok := s.overlay[r]; ok {
		return bytes.Clone(data), nil
	}
	data, ok := s.files[r]
	if !ok {
		if _, isDir := s.stat(r); isDir {
			return nil, &iofs.PathError{Op: "read", Path: p, Err: errors.New("is a directory")}
		}
		return nil, notExist("open", p)
	}
	if err := s.pastDeadline(r); err != nil {
		return nil, s.noteLimit(err)
	}
	s.mu.Lock()
	_, checked := s.checked[r]
	s.mu.Unlock()
	if !checked {
		// Before kustomize sees the file: it expands aliases as it reads.
		if err := checkManifest(r, data, s.limits.ManifestBytes); err != nil {
			return nil, s.noteLimit(err)
		}
		s.mu.Lock()
		s.checked[r] = struct{}{}
		s.mu.Unlock()
	}
	s.track(r)
	s.mu.Lock()
	s.order = append(s.order, r)
	s.mu.Unlock()
	if isKustomizationFile(r) {
		if !s.exclusive && bytes.Contains(data, []byte("openapi")) {
			s.mu.Lock()
			s.wantsOpenAPI = true
			s.mu.Unlock()
			return nil, errOpenAPI
		}
	}
	return bytes.Clone(data), nil
}

// Walk visits p and what is below it in lexical order, like filepath.Walk:
// a symlink is reported as such and not descended into, so a generated
// kustomization lists the same files as Flux's walk of a checkout.
func (s *snapshotFS) Walk(p string, walkFn filepath.WalkFunc) error {
	r, err := s.resolve(rel(p))
	if err != nil {
		return walkFn(p, nil, err)
	}
	isFile, isDir := s.stat(r)
	if !isFile && !isDir {
		return walkFn(p, nil, notExist("lstat", p))
	}
	err = s.walk(r, p, isDir, walkFn)
	if errors.Is(err, filepath.SkipDir) || errors.Is(err, filepath.SkipAll) {
		return nil
	}
	return err
}

func (s *snapshotFS) walk(r, p string, isDir bool, walkFn filepath.WalkFunc) error {
	if !isDir {
		return walkFn(p, s.info(r), nil)
	}
	if err := walkFn(p, fileInfo{name: path.Base(abs(r)), dir: true}, nil); err != nil {
		return err
	}
	for _, name := range s.children(r) {
		cr, cp := join(r, name), path.Join(p, name)
		_, childDir := s.stat(cr)
		if _, link := s.symlinks[cr]; link {
			childDir = false
		}
		if err := s.walk(cr, cp, childDir, walkFn); err != nil {
			if errors.Is(err, filepath.SkipDir) {
				if childDir {
					continue
				}
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *snapshotFS) info(r string) fileInfo {
	if _, ok := s.symlinks[r]; ok {
		return fileInfo{name: path.Base(r), link: true}
	}
	data, ok := s.overlay[r]
	if !ok {
		data = s.files[r]
	}
	return fileInfo{name: path.Base(r), size: int64(len(data))}
}

type fileInfo struct {
	name      string
	size      int64
	dir, link bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() iofs.FileMode {
	switch {
	case i.dir:
		return iofs.ModeDir | 0o755
	case i.link:
		return iofs.ModeSymlink | 0o777
	}
	return 0o644
}
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }

// memFile is an open, read-only file of the snapshot.
type memFile struct {
	*bytes.Reader
	info fileInfo
}

func (f *memFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (os.FileInfo, error) { return f.info, nil }
