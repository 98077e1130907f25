package source

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/sync/singleflight"
	"k8s.io/utils/lru"
)

// DefaultTimeout bounds a Resolve or Fetch whose options set no Timeout;
// it is the default of a GitRepository's spec.timeout.
const DefaultTimeout = 60 * time.Second

// DefaultCacheBytes bounds the snapshots a Client keeps by default: the
// bytes of their files (Snapshot.Size).
const DefaultCacheBytes int64 = 256 << 20

// FetchOptions say what to fetch and how.
type FetchOptions struct {
	// URL of the repository: https, http or ssh. file:// is refused: it
	// would read the controller's own disk.
	URL string
	// Ref to check out; the zero Ref means branch "master".
	Ref Ref
	// Auth from the GitRepository's secretRef, or nil.
	Auth *Auth
	// Ignore is spec.ignore (gitignore syntax). With nil the tree's
	// .sourceignore files apply, or Flux's default exclusions when it has
	// none; a value adds to the .sourceignore files and, like them, replaces
	// the defaults (Flux's semantics). .git/ is always excluded.
	Ignore *string
	// Timeout bounds the whole operation, reading the tree included; zero
	// means DefaultTimeout.
	Timeout time.Duration
}

// Client resolves and fetches Git sources. It keeps a cache of snapshots,
// bounded in bytes, keyed by URL, commit, ignore rules and credentials, so
// that GitRepositories sharing a repository, or returning to a commit, do
// not clone again. It is safe for concurrent use.
type Client struct {
	maxBytes int64
	cache    *lru.Cache // of *Snapshot by cacheKey; nil when maxBytes is 0
	bytes    atomic.Int64
	mu       sync.Mutex // makes puts take turns
	group    singleflight.Group
	limits   Limits

	// diskDir, when set, makes clones use on-disk object storage under it
	// instead of memory (kept to measure the two; see BenchmarkFetch).
	diskDir string
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithCacheBytes bounds the file bytes of the snapshots the Client keeps (0
// disables the cache). A bound in bytes, not snapshots: one repository may
// be a hundred times another.
func WithCacheBytes(n int64) ClientOption {
	return func(c *Client) { c.maxBytes = max(n, 0) }
}

// WithLimits sets the limits of each snapshot; zero fields keep
// DefaultLimits.
func WithLimits(l Limits) ClientOption {
	return func(c *Client) { c.limits = l.withDefaults() }
}

// NewClient returns a Client with a DefaultCacheBytes snapshot cache and
// DefaultLimits.
func NewClient(opts ...ClientOption) *Client {
	c := &Client{maxBytes: DefaultCacheBytes, limits: DefaultLimits}
	for _, o := range opts {
		o(c)
	}
	if c.maxBytes > 0 {
		// No bound on entries (0): bytes bound the cache.
		c.cache = lru.NewWithEvictionFunc(0, func(_ lru.Key, v any) {
			c.bytes.Add(-v.(*Snapshot).Size)
		})
	}
	return c
}

// Resolve asks the remote what o.Ref points at now, with one ref
// advertisement (ls-remote) and no clone, and returns the Flux revision and
// the commit SHA. A Ref with a commit resolves to itself without network.
func (c *Client) Resolve(ctx context.Context, o FetchOptions) (revision string, commit string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout(o))
	defer cancel()
	t, _, err := c.resolve(ctx, o)
	if err != nil {
		return "", "", err
	}
	return t.revision, t.commit, nil
}

// Fetch resolves o.Ref and, when the remote's commit is lastCommit, returns
// (nil, false, nil) without cloning. Otherwise it fetches that one commit
// (depth 1, one ref, into memory) and returns its Snapshot and true.
func (c *Client) Fetch(ctx context.Context, o FetchOptions, lastCommit string) (*Snapshot, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout(o))
	defer cancel()
	t, u, err := c.resolve(ctx, o)
	if err != nil {
		return nil, false, err
	}
	if lastCommit != "" && strings.EqualFold(t.commit, lastCommit) {
		return nil, false, nil
	}
	key := cacheKey(o, t.commit)
	if s, ok := c.cached(key); ok {
		return withRevision(s, revisionFor(o.Ref, t.refName, t.commit)), true, nil
	}
	// Concurrent fetches of one repository at one commit clone once (the span is
	// of the caller that cloned).
	v, err, _ := c.group.Do(key, func() (_ any, err error) {
		ctx, span := startSpan(ctx, "git clone", o.URL)
		defer func() { endSpan(span, err) }()
		commit, done, err := c.clone(ctx, o, u, t)
		if err != nil {
			return nil, err
		}
		defer done()
		s, err := buildSnapshot(ctx, commit, o.Ignore, c.limits)
		if err != nil {
			kind := ErrGitOperation
			if errors.Is(err, ErrLimitExceeded) {
				kind = ErrLimitExceeded
			}
			return nil, newError(kind, o.Auth, o.URL, fmt.Sprintf("failed to read the tree of %s at %s", RedactURL(o.URL), commit.Hash), err)
		}
		// The ref may have moved between the advertisement and the fetch:
		// the key follows the commit actually fetched.
		c.store(cacheKey(o, s.Commit), s)
		return s, nil
	})
	if err != nil {
		return nil, false, err
	}
	s := v.(*Snapshot)
	if lastCommit != "" && strings.EqualFold(s.Commit, lastCommit) {
		return nil, false, nil
	}
	return withRevision(s, revisionFor(o.Ref, t.refName, s.Commit)), true, nil
}

func timeout(o FetchOptions) time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// resolve validates the URL and credentials and resolves the ref.
func (c *Client) resolve(ctx context.Context, o FetchOptions) (target, *url.URL, error) {
	u, err := url.Parse(o.URL)
	if err == nil && strings.EqualFold(u.Scheme, "file") {
		// The CRD's pattern refuses file:// too, but a controller must not
		// rely on admission: such a URL would read the controller's disk.
		return target{}, nil, newError(ErrInsecure, o.Auth, o.URL,
			fmt.Sprintf("repository URL %q is refused: file:// would read the controller's own disk; use https:// or ssh://", RedactURL(o.URL)), nil)
	}
	if err != nil || u.Scheme == "" || u.Host == "" {
		return target{}, nil, newError(ErrGitOperation, o.Auth, o.URL,
			fmt.Sprintf("invalid repository URL %q: want https://, http:// or ssh://", RedactURL(o.URL)), nil)
	}
	auth, err := o.Auth.method(u)
	if err != nil {
		kind := ErrAuthentication
		if errors.Is(err, ErrGitOperation) {
			kind = ErrGitOperation
		}
		return target{}, nil, newError(kind, o.Auth, o.URL, "failed to configure authentication for "+RedactURL(o.URL), err)
	}
	if u.Scheme == "http" && sendsSecret(auth) {
		// Anyone on the path would read them. Refused before any request,
		// so not even a redirect to https sees them sent in the clear.
		return target{}, nil, newError(ErrInsecure, o.Auth, o.URL,
			fmt.Sprintf("credentials are never sent over plain http: %s needs an https:// URL (or ssh://), or no credentials", RedactURL(o.URL)), nil)
	}
	ref := o.Ref.withDefault()
	if ref.Commit != "" {
		t, err := resolveRef(ref, nil)
		if err != nil {
			return target{}, nil, newError(ErrGitOperation, o.Auth, o.URL, fmt.Sprintf("%v (for %s)", err, RedactURL(o.URL)), nil)
		}
		return t, u, nil
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{o.URL}})
	lsCtx, span := startSpan(ctx, "git ls-remote", o.URL)
	refs, err := remote.ListContext(lsCtx, &git.ListOptions{Auth: auth, CABundle: o.Auth.caBundle(), PeelingOption: git.AppendPeeled})
	if err != nil {
		// The span records the scrubbed error, never go-git's own.
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			err = newError(ErrGitOperation, o.Auth, o.URL, fmt.Sprintf("%s not found in %s: the repository is empty", ref, RedactURL(o.URL)), err)
		} else {
			err = newError(classify(err), o.Auth, o.URL, "failed to list refs of "+RedactURL(o.URL), err)
		}
		endSpan(span, err)
		return target{}, nil, err
	}
	endSpan(span, nil)
	adv := make(map[string]string, len(refs))
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			adv[r.Name().String()] = r.Hash().String()
		}
	}
	t, err := resolveRef(ref, adv)
	if err != nil {
		return target{}, nil, newError(ErrGitOperation, o.Auth, o.URL, fmt.Sprintf("%v in %s", err, RedactURL(o.URL)), nil)
	}
	return t, u, nil
}

// sendsSecret reports whether m puts a secret on the wire: a password or a
// token (a user name alone, as in http://git@host/, is no secret).
func sendsSecret(m transport.AuthMethod) bool {
	switch a := m.(type) {
	case nil:
		return false
	case *githttp.BasicAuth:
		return a.Password != ""
	}
	return true
}

// fetchedRef is where the one fetched ref is stored in the scratch repository.
const fetchedRef = "refs/tugboat/fetched"

// clone fetches the commit of t into a scratch repository and returns it;
// done releases the storage once the commit's tree has been read.
func (c *Client) clone(ctx context.Context, o FetchOptions, u *url.URL, t target) (_ *object.Commit, done func(), err error) {
	st, cleanup, err := c.newStorage()
	if err != nil {
		return nil, nil, newError(ErrGitOperation, o.Auth, o.URL, "failed to create repository storage", err)
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	repo, err := git.Init(st, nil)
	if err != nil {
		return nil, nil, newError(ErrGitOperation, o.Auth, o.URL, "failed to create repository storage", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{o.URL}}); err != nil {
		return nil, nil, newError(ErrGitOperation, o.Auth, o.URL, "failed to configure the remote", err)
	}
	auth, _ := o.Auth.method(u) // validated by resolve
	fo := &git.FetchOptions{
		RemoteName: "origin",
		Auth:       auth,
		CABundle:   o.Auth.caBundle(),
		Tags:       git.NoTags,
		Force:      true,
	}
	ref := o.Ref.withDefault()
	switch {
	case ref.Commit != "" && t.refName != "":
		// A branch's history, to find the commit on it (Flux clones the
		// branch in full too: servers need not serve arbitrary SHAs).
		fo.RefSpecs = []config.RefSpec{config.RefSpec("+" + t.refName + ":" + fetchedRef)}
	case ref.Commit != "":
		fo.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/tugboat/heads/*", "+refs/tags/*:refs/tugboat/tags/*"}
	default:
		fo.Depth = 1
		fo.RefSpecs = []config.RefSpec{config.RefSpec("+" + t.refName + ":" + fetchedRef)}
	}
	if err := repo.FetchContext(ctx, fo); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		what := fmt.Sprintf("failed to fetch %s from %s", ref, RedactURL(o.URL))
		if isRefNotFound(err) {
			what = fmt.Sprintf("%s not found in %s", ref, RedactURL(o.URL))
		}
		return nil, nil, newError(classify(err), o.Auth, o.URL, what, err)
	}
	if ref.Commit != "" {
		commit, err := repo.CommitObject(plumbing.NewHash(t.commit))
		if err != nil {
			return nil, nil, newError(ErrGitOperation, o.Auth, o.URL, fmt.Sprintf("%s not found in %s", ref, RedactURL(o.URL)), err)
		}
		return commit, cleanup, nil
	}
	r, err := repo.Reference(fetchedRef, true)
	if err != nil {
		return nil, nil, newError(ErrGitOperation, o.Auth, o.URL, fmt.Sprintf("%s not found in %s", ref, RedactURL(o.URL)), err)
	}
	commit, err := peel(repo, r.Hash())
	if err != nil {
		return nil, nil, newError(ErrGitOperation, o.Auth, o.URL, fmt.Sprintf("failed to read the commit of %s in %s", ref, RedactURL(o.URL)), err)
	}
	return commit, cleanup, nil
}

// peel follows annotated tags down to a commit.
func peel(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range maxLinkHops {
		tag, err := repo.TagObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return repo.CommitObject(h)
		}
		if err != nil {
			return nil, err
		}
		h = tag.Target
	}
	return nil, fmt.Errorf("tag chain at %s is too long", h)
}

func isRefNotFound(err error) bool {
	var nm git.NoMatchingRefSpecError
	return errors.As(err, &nm) || errors.Is(err, plumbing.ErrReferenceNotFound) ||
		strings.Contains(err.Error(), "couldn't find remote ref")
}

func (c *Client) newStorage() (storage.Storer, func(), error) {
	if c.diskDir == "" {
		return memory.NewStorage(), func() {}, nil
	}
	dir, err := os.MkdirTemp(c.diskDir, "clone-")
	if err != nil {
		return nil, nil, err
	}
	return filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), func() { os.RemoveAll(dir) }, nil
}

// cacheKey identifies a snapshot: the same commit of the same repository
// under the same ignore rules and credentials.
func cacheKey(o FetchOptions, commit string) string {
	ig := "<default>"
	if o.Ignore != nil {
		ig = "=" + *o.Ignore
	}
	return strings.Join([]string{o.URL, strings.ToLower(commit), o.Auth.identity(), ig}, "\x00")
}

func (c *Client) cached(key string) (*Snapshot, bool) {
	if c.cache == nil {
		return nil, false
	}
	v, ok := c.cache.Get(key)
	if !ok {
		return nil, false
	}
	return v.(*Snapshot), true
}

func (c *Client) store(key string, s *Snapshot) {
	if c.cache == nil || s.Size > c.maxBytes {
		return
	}
	// The LRU replaces a value without calling the eviction callback, so
	// the old one leaves first for its bytes to be counted out.
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache.Remove(key)
	c.bytes.Add(s.Size)
	c.cache.Add(key, s)
	for c.bytes.Load() > c.maxBytes && c.cache.Len() > 1 {
		c.cache.RemoveOldest()
	}
}

// CacheBytes is the file bytes of the snapshots the Client keeps.
func (c *Client) CacheBytes() int64 {
	return c.bytes.Load()
}

// withRevision returns a copy of s stamped with revision; the copies share
// Files and the digest index, which are never modified.
func withRevision(s *Snapshot, revision string) *Snapshot {
	cp := *s
	cp.Revision = revision
	return &cp
}
