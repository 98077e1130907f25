package source

import (
	"context"
	"fmt"
)

// Limits bound what one fetch may hold in memory, so that no commit can
// exhaust the controller: a snapshot lives in memory, and the symlinks of a
// tree are copied into it (a link to a directory copies the directory), so
// a few entries of links to links could otherwise double it per level.
// Going past a limit fails the fetch with ErrLimitExceeded and a message
// naming the limit and the path at which it was passed.
type Limits struct {
	// Bytes bounds the file contents of a snapshot, copies made for
	// symlinks included; the tree as read from Git is held to it too.
	Bytes int64
	// Files bounds the files of a snapshot, copies made for symlinks
	// included.
	Files int
}

// DefaultLimits are the limits of a Client made without WithLimits. 256 MiB
// and 100,000 files hold the largest GitOps monorepos we know of (the
// manifests, not the applications' source) several times over, and keep a
// handful of snapshots within a controller's memory.
var DefaultLimits = Limits{Bytes: 256 << 20, Files: 100_000}

func (l Limits) withDefaults() Limits {
	if l.Bytes <= 0 {
		l.Bytes = DefaultLimits.Bytes
	}
	if l.Files <= 0 {
		l.Files = DefaultLimits.Files
	}
	return l
}

// budget counts what a tree holds against Limits as it grows, and stops it
// when the fetch's context ends.
type budget struct {
	ctx    context.Context
	limits Limits
	bytes  int64
	files  int
}

// add counts one file of n bytes at path p.
func (b *budget) add(p string, n int) error {
	b.bytes += int64(n)
	b.files++
	if b.files > b.limits.Files {
		return fmt.Errorf("the tree has more than %d files, the limit per snapshot (Files), at %s: %w", b.limits.Files, p, ErrLimitExceeded)
	}
	if b.bytes > b.limits.Bytes {
		return fmt.Errorf("the tree holds more than %d bytes, the limit per snapshot (Bytes), at %s: %w", b.limits.Bytes, p, ErrLimitExceeded)
	}
	// A cheap check of the deadline, every 256 files: the copies of
	// symlinks are made in memory without any I/O that would notice it.
	if b.files%256 == 0 {
		if err := b.ctx.Err(); err != nil {
			return fmt.Errorf("stopped reading the tree at %s: %w", p, err)
		}
	}
	return nil
}
