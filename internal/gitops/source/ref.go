package source

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// DefaultBranch is checked out when a Ref names nothing, as in Flux.
const DefaultBranch = "master"

// Ref is the Git reference of a GitRepository. When several fields are set
// Flux's precedence applies: commit > name > semver > tag > branch (commit
// together with branch looks for the commit on that branch).
type Ref struct {
	Branch, Tag, SemVer, Name, Commit string
}

// withDefault returns r, or the default branch when r names nothing.
func (r Ref) withDefault() Ref {
	if r == (Ref{}) {
		r.Branch = DefaultBranch
	}
	return r
}

// String names the reference that wins, for messages: `branch "main"`.
func (r Ref) String() string {
	r = r.withDefault()
	switch {
	case r.Commit != "" && r.Branch != "":
		return fmt.Sprintf("commit %q on branch %q", r.Commit, r.Branch)
	case r.Commit != "":
		return fmt.Sprintf("commit %q", r.Commit)
	case r.Name != "":
		return fmt.Sprintf("ref %q", r.Name)
	case r.SemVer != "":
		return fmt.Sprintf("semver %q", r.SemVer)
	case r.Tag != "":
		return fmt.Sprintf("tag %q", r.Tag)
	}
	return fmt.Sprintf("branch %q", r.Branch)
}

// target is a reference resolved against the remote's advertisement.
type target struct {
	// refName is the full ref to fetch; for a commit it is the branch to
	// search, or "" for every branch and tag.
	refName string
	// commit is the full SHA the reference points at now.
	commit string
	// revision is the Flux v1 revision string.
	revision string
}

var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// revisionFor formats a revision as Flux does (fluxcd/pkg git.Commit String
// and AbsoluteReference): "<short ref>@sha1:<sha>", with ref.name kept
// absolute, and "sha1:<sha>" for a commit given alone.
func revisionFor(r Ref, refName, commit string) string {
	r = r.withDefault()
	switch {
	case r.Commit != "" && r.Branch == "":
		return "sha1:" + commit
	case r.Commit != "":
		return r.Branch + "@sha1:" + commit
	case r.Name != "":
		return refName + "@sha1:" + commit
	}
	short := refName
	if parts := strings.SplitAfterN(refName, "/", 3); len(parts) == 3 {
		short = parts[2]
	}
	return short + "@sha1:" + commit
}

// resolveRef picks what r points at among the advertised refs (full name →
// SHA, with annotated tags also advertised peeled as "<name>^{}"). It is pure,
// so precedence and formats are tested as a table.
func resolveRef(r Ref, refs map[string]string) (target, error) {
	r = r.withDefault()
	if r.Commit != "" {
		c := strings.ToLower(r.Commit)
		if !fullSHA.MatchString(c) {
			return target{}, fmt.Errorf("commit %q is not a full 40-character SHA-1", r.Commit)
		}
		t := target{commit: c, revision: revisionFor(r, "", c)}
		if r.Branch != "" {
			t.refName = "refs/heads/" + r.Branch
		}
		return t, nil
	}
	lookup := func(name string) (string, bool) {
		if sha, ok := refs[name+"^{}"]; ok {
			return sha, true
		}
		sha, ok := refs[name]
		return sha, ok
	}
	var name, what string
	switch {
	case r.Name != "":
		name, what = r.Name, fmt.Sprintf("ref %q", r.Name)
	case r.SemVer != "":
		tag, err := highestTag(r.SemVer, refs)
		if err != nil {
			return target{}, err
		}
		name = "refs/tags/" + tag
	case r.Tag != "":
		name, what = "refs/tags/"+r.Tag, fmt.Sprintf("tag %q", r.Tag)
	default:
		name, what = "refs/heads/"+r.Branch, fmt.Sprintf("branch %q", r.Branch)
	}
	sha, ok := lookup(name)
	if !ok {
		return target{}, fmt.Errorf("%s not found", what)
	}
	return target{refName: name, commit: sha, revision: revisionFor(r, name, sha)}, nil
}

// highestTag returns the tag with the highest version matching constraint.
// Versions equal but for build metadata are ordered by tag name, since an
// ls-remote carries no dates (Flux orders those by commit time).
func highestTag(constraint string, refs map[string]string) (string, error) {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("semver %q is not a valid constraint: %w", constraint, err)
	}
	var best string
	var bestV *semver.Version
	for name := range refs {
		tag, ok := strings.CutPrefix(name, "refs/tags/")
		if !ok || strings.HasSuffix(tag, "^{}") {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !c.Check(v) {
			continue
		}
		if bestV == nil || v.GreaterThan(bestV) || (v.Equal(bestV) && tag > best) {
			best, bestV = tag, v
		}
	}
	if bestV == nil {
		return "", fmt.Errorf("no tag matches semver %q", constraint)
	}
	return best, nil
}
