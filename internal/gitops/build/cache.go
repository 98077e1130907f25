package build

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
	"k8s.io/utils/lru"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// Cache remembers kustomize's output so that Kustomizations that build one
// directory of one tree with the same kustomize settings run kustomize once
// between them, and each only pays for its own postBuild substitution and
// commonMetadata. That is the common shape of a fleet: one app, many
// Kustomizations that differ by their variables.
//
// An entry is the build before postBuild: each object's YAML text, what
// substitution needs to know about it, the object decoded once, and the
// build's Inputs. It is keyed by the tree's identity, the cleaned spec.path
// and the spec fields that go into the generated kustomization
// (targetNamespace, namePrefix, nameSuffix, patches, patchesStrategicMerge,
// patchesJson6902, images, components, ignoreMissingComponents); postBuild,
// the variables, commonMetadata, name and namespace are not part of it.
// Failed builds and builds of kustomizations with their own OpenAPI schema
// are not kept.
//
// The cache holds at most the bytes of YAML given to NewCache, and drops the
// least recently used builds beyond them: a bound in bytes, not entries,
// because one entry may be a four-object app or a 10,000-object platform. An
// entry holds its build's YAML and the objects decoded from it: 1.5 to 6
// times the YAML in heap (the podinfo app of the benchmark, four objects and
// 3.3 KB of YAML, takes 11–27 KB: BenchmarkCacheEntry), so a monorepo whose
// Kustomizations build many large directories cannot make the controller
// keep them all. A build larger than the whole bound is not kept: it is
// rebuilt each time, as without the cache.
//
// A Cache is safe for concurrent use. Concurrent misses on one key (and one
// spec.path as written, which failed builds put in their messages) run
// kustomize once and share its output.
type Cache struct {
	entries *lru.Cache // of *prepared by cacheKey
	group   singleflight.Group

	// maxBytes bounds the YAML text of the entries, and bytes is what they
	// hold. bytes is atomic because the LRU's eviction callback,
	// which lowers it, runs under the LRU's own lock.
	maxBytes int64
	bytes    atomic.Int64

	// mu makes puts take turns and guards builds, which counts kustomize
	// runs, for tests.
	mu     sync.Mutex
	builds int64
}

// DefaultCacheBytes is the bound of a Cache made with maxBytes < 1.
const DefaultCacheBytes int64 = 8 << 20

// NewCache returns a Cache of at most maxBytes of YAML (maxBytes < 1:
// DefaultCacheBytes).
func NewCache(maxBytes int64) *Cache {
	if maxBytes < 1 {
		maxBytes = DefaultCacheBytes
	}
	c := &Cache{maxBytes: maxBytes}
	// No bound on entries (0): bytes bound the cache.
	c.entries = lru.NewWithEvictionFunc(0, func(_ lru.Key, v any) {
		c.bytes.Add(-v.(*prepared).size)
	})
	return c
}

// Build is the package's Build with kustomize's output cached. tree must
// identify the content of files and symlinks: equal trees give equal
// identities, and a tree with other content never gets the identity of an
// earlier one (the snapshot's content digest does both). An empty tree
// bypasses the cache. The Result is the same as Build's, error messages
// included, and belongs to the caller: its objects are never shared with
// another caller or the cache.
func (c *Cache) Build(tree string, files map[string][]byte, symlinks map[string]string, in Input) (*Result, error) {
	if tree == "" {
		return Build(files, symlinks, in)
	}
	key, err := cacheKey(tree, in)
	if err != nil {
		return Build(files, symlinks, in)
	}
	if p := c.get(key); p != nil {
		return p.finish(in)
	}
	// The raw spec.path joins the flight's key because it is in the
	// messages of a failed build, which concurrent callers share.
	v, err, _ := c.group.Do(key+"\x00"+in.Path, func() (any, error) {
		if p := c.get(key); p != nil {
			return p, nil
		}
		p, cacheable, err := prepare(files, symlinks, in)
		c.mu.Lock()
		c.builds++
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if cacheable {
			c.put(key, p)
		}
		return p, nil
	})
	if err != nil {
		// Callers in one flight get their own copy of the failure.
		var be *Error
		if errors.As(err, &be) {
			cp := *be
			return nil, &cp
		}
		return nil, err
	}
	return v.(*prepared).finish(in)
}

// Len is the number of builds in the cache.
func (c *Cache) Len() int {
	return c.entries.Len()
}

// Bytes is the YAML text the builds in the cache hold.
func (c *Cache) Bytes() int64 {
	return c.bytes.Load()
}

func (c *Cache) get(key string) *prepared {
	if v, ok := c.entries.Get(key); ok {
		return v.(*prepared)
	}
	return nil
}

func (c *Cache) put(key string, p *prepared) {
	if p.size > c.maxBytes {
		return
	}
	// Two flights of one key (spec.path spelt two ways) may both put it:
	// the LRU replaces a value without calling the eviction callback, so
	// the old one leaves first for its bytes to be counted out, and the
	// two puts take turns so that neither replaces the other unseen.
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Remove(key)
	c.bytes.Add(p.size)
	c.entries.Add(key, p)
	for c.bytes.Load() > c.maxBytes && c.entries.Len() > 1 {
		c.entries.RemoveOldest()
	}
}

// kustomizeSpec is the part of a Kustomization's spec that generate puts in
// the kustomization file; nothing else of the spec reaches kustomize.
type kustomizeSpec struct {
	TargetNamespace         string                      `json:"t,omitempty"`
	NamePrefix              string                      `json:"np,omitempty"`
	NameSuffix              string                      `json:"ns,omitempty"`
	Patches                 []kustomizev1.Patch         `json:"p,omitempty"`
	Components              []string                    `json:"c,omitempty"`
	IgnoreMissingComponents bool                        `json:"i,omitempty"`
	PatchesStrategicMerge   []string                    `json:"psm,omitempty"`
	PatchesJSON6902         []kustomizev1.JSON6902Patch `json:"pj,omitempty"`
	Images                  []kustomizev1.Image         `json:"im,omitempty"`
}

// cacheKey is the identity of the kustomize half of a build: the tree, the
// cleaned spec.path (a function of the tree, like the directory it resolves
// to) and kustomizeSpec.
func cacheKey(tree string, in Input) (string, error) {
	s := &in.Spec
	ks := kustomizeSpec{
		TargetNamespace: s.TargetNamespace, NamePrefix: s.NamePrefix, NameSuffix: s.NameSuffix,
		Patches: s.Patches, Components: s.Components, IgnoreMissingComponents: s.IgnoreMissingComponents,
		PatchesJSON6902: s.PatchesJSON6902, Images: s.Images,
	}
	for _, p := range s.PatchesStrategicMerge {
		// The bytes as generate passes them on, not the JSON they hold.
		ks.PatchesStrategicMerge = append(ks.PatchesStrategicMerge, string(p.Raw))
	}
	spec, err := json.Marshal(ks)
	if err != nil {
		return "", err
	}
	return tree + "\x00" + cleanPath(in.Path) + "\x00" + string(spec), nil
}
