package gitserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Workdir is a working clone in which tests write files, commit and push
// with the real git CLI.
type Workdir struct {
	// Dir is the working tree.
	Dir string
}

// Workdir clones the bare repository root/name straight from disk (not
// through HTTP, so it does not move the server's counters) into a new
// temporary directory. Close removes it.
func (s *Server) Workdir(name string) (*Workdir, error) {
	bare := filepath.Join(s.root, name)
	branch, err := runGit(bare, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("failed to read the default branch of %q: %w", name, err)
	}
	abs, err := filepath.Abs(bare)
	if err != nil {
		return nil, err
	}
	return CloneWorkdir(abs, branch)
}

// CloneWorkdir clones remote (a path or any URL git understands, e.g. an
// HTTP URL with credentials in it) into a new temporary directory and checks
// out branch, which may not exist yet in an empty repository.
func CloneWorkdir(remote, branch string) (*Workdir, error) {
	dir, err := os.MkdirTemp("", "gitserver-work-")
	if err != nil {
		return nil, fmt.Errorf("failed to create a workdir: %w", err)
	}
	w := &Workdir{Dir: dir}
	if _, err := runGit(dir, "clone", "--quiet", remote, "."); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("failed to clone: %w", err)
	}
	// An empty clone has an unborn HEAD whose name depends on the git
	// release; point it at the branch we mean.
	if _, err := runGit(dir, "rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		if _, err := runGit(dir, "symbolic-ref", "HEAD", "refs/heads/"+branch); err != nil {
			_ = w.Close()
			return nil, err
		}
	} else if err := w.Checkout(branch); err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

// Git runs git with args in the working tree and returns its trimmed output.
func (w *Workdir) Git(args ...string) (string, error) {
	return runGit(w.Dir, args...)
}

// WriteFile writes data to the slash path p, creating parent directories.
func (w *Workdir) WriteFile(p string, data []byte) error {
	full := filepath.Join(w.Dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("failed to create the directory of %s: %w", p, err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		return fmt.Errorf("failed to write %s: %w", p, err)
	}
	return nil
}

// WriteFiles writes every path → content pair.
func (w *Workdir) WriteFiles(files map[string]string) error {
	for p, c := range files {
		if err := w.WriteFile(p, []byte(c)); err != nil {
			return err
		}
	}
	return nil
}

// Symlink creates the symbolic link p pointing at target (kept verbatim, so
// it may be relative, absolute or dangling).
func (w *Workdir) Symlink(target, p string) error {
	full := filepath.Join(w.Dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(target, full); err != nil {
		return fmt.Errorf("failed to create symlink %s: %w", p, err)
	}
	return nil
}

// Remove deletes the file or directory p.
func (w *Workdir) Remove(p string) error {
	if err := os.RemoveAll(filepath.Join(w.Dir, filepath.FromSlash(p))); err != nil {
		return fmt.Errorf("failed to remove %s: %w", p, err)
	}
	return nil
}

// Commit stages every change and commits it (empty commits are allowed),
// returning the new commit's full SHA.
func (w *Workdir) Commit(message string) (string, error) {
	if _, err := w.Git("add", "--all"); err != nil {
		return "", err
	}
	if _, err := w.Git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message); err != nil {
		return "", err
	}
	return w.Head()
}

// Head returns the full SHA of the checked out commit.
func (w *Workdir) Head() (string, error) {
	return w.Git("rev-parse", "HEAD")
}

// Branch creates branch name at the current commit and checks it out.
func (w *Workdir) Branch(name string) error {
	_, err := w.Git("checkout", "--quiet", "-b", name)
	return err
}

// Checkout switches to an existing branch (local, or remote-tracking).
func (w *Workdir) Checkout(name string) error {
	_, err := w.Git("checkout", "--quiet", name)
	return err
}

// Push pushes the current branch to origin, creating it there if needed.
func (w *Workdir) Push() error {
	branch, err := w.Git("symbolic-ref", "--short", "HEAD")
	if err != nil {
		return fmt.Errorf("failed to push: no branch checked out: %w", err)
	}
	_, err = w.Git("push", "--quiet", "--force", "origin", "HEAD:refs/heads/"+branch)
	return err
}

// CommitAndPush commits every change and pushes it, returning the SHA.
func (w *Workdir) CommitAndPush(message string) (string, error) {
	sha, err := w.Commit(message)
	if err != nil {
		return "", err
	}
	return sha, w.Push()
}

// Tag tags the current commit and pushes the tag. A non-empty message makes
// an annotated tag (whose ref points at a tag object, not at the commit),
// an empty one a lightweight tag.
func (w *Workdir) Tag(name, message string) error {
	args := []string{"tag", name}
	if message != "" {
		args = []string{"tag", "-a", "-m", message, name}
	}
	if _, err := w.Git(args...); err != nil {
		return err
	}
	_, err := w.Git("push", "--quiet", "--force", "origin", "refs/tags/"+name)
	return err
}

// PushRef pushes the current commit to an arbitrary ref such as
// refs/pull/1/head, as forges do for pull requests.
func (w *Workdir) PushRef(ref string) error {
	if !strings.HasPrefix(ref, "refs/") {
		return fmt.Errorf("failed to push ref %q: a full ref starting with refs/ is required", ref)
	}
	_, err := w.Git("push", "--quiet", "--force", "origin", "HEAD:"+ref)
	return err
}

// Close removes the working tree.
func (w *Workdir) Close() error {
	return os.RemoveAll(w.Dir)
}
