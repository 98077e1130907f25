package image

import (
	"net/url"

	"github.com/go-git/go-git/v5"
)

// OCI annotation and label keys written on every image
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	AnnotationRevision   = "org.opencontainers.image.revision"
	AnnotationSource     = "org.opencontainers.image.source"
	AnnotationCreated    = "org.opencontainers.image.created"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// sourceInfo is the Git commit the image was built from, when the package or
// directory is inside a Git work tree.
type sourceInfo struct {
	Revision string
	URL      string
}

// gitSource reads HEAD and the origin remote of the work tree holding dir. Outside
// Git (or on any read error) it returns nothing: the labels are then left out
// rather than guessed.
func gitSource(dir string) sourceInfo {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return sourceInfo{}
	}
	var s sourceInfo
	if head, err := repo.Head(); err == nil {
		s.Revision = head.Hash().String()
	}
	if origin, err := repo.Remote("origin"); err == nil && len(origin.Config().URLs) > 0 {
		s.URL = publicURL(origin.Config().URLs[0])
	}
	return s
}

// publicURL drops credentials from a remote URL so that they never land in an
// image; scp-style addresses (git@host:path) have none to drop.
func publicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return raw
	}
	u.User = nil
	return u.String()
}
