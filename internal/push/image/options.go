package image

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultBase is the base image when none is given: ko's default, a minimal image
// with CA certificates, tzdata and a non-root user, made for static binaries.
const DefaultBase = "cgr.dev/chainguard/static:latest"

// Scratch names the empty base image: the image holds only what tugboat adds.
const Scratch = "scratch"

// DefaultPlatform is the platform built when none is given, as in ko.
const DefaultPlatform = "linux/amd64"

// AppDir is where a Go binary goes in the image, as in ko: /ko-app/<name>.
const AppDir = "/ko-app"

// Options say what to build and where to push it. The CLI resolves them once from
// flags and the environment; this package reads no environment of its own except
// through the go command it runs and the keychain it is given.
type Options struct {
	// Package is the Go main package to build, as `go build` takes it (./cmd/app or
	// an import path), resolved in Dir. Exactly one of Package and FromDir is set.
	Package string
	// Dir is the directory the go command runs in; "" is the current directory.
	Dir string
	// FromDir makes the image from this directory tree (one layer at /) instead of a
	// Go build; Entrypoint is then required.
	FromDir string
	// Entrypoint overrides the image's entrypoint; for a Go build it defaults to the
	// binary.
	Entrypoint []string
	// Env adds or replaces KEY=VALUE variables in the image's environment.
	Env []string
	// User is the image's user, as a numeric UID[:GID] so that the kubelet can
	// enforce runAsNonRoot without a passwd file; "" keeps the base's.
	User string
	// BuildTags are Go build tags for the build (go build -tags), e.g. noduckdb.
	BuildTags []string
	// LDFlags are the linker's flags (go build -ldflags), e.g. -s -w or
	// -X pkg.Version=v1; each element is one flag.
	LDFlags []string

	// Repo is the repository pushed to, e.g. registry.example.com/team/app.
	Repo string
	// Tags are pushed to Repo, all pointing at the same digest; none means "latest".
	Tags []string
	// Base is the base image reference, or Scratch; "" means DefaultBase.
	Base string
	// Platforms are os/arch[/variant]; more than one pushes an image index. None
	// means DefaultPlatform.
	Platforms []string
	// Insecure allows plain HTTP and unverified TLS to the registries (local ones).
	Insecure bool

	// Keychain finds credentials per registry; nil means authn.DefaultKeychain (the
	// docker config at $DOCKER_CONFIG or ~/.docker, and its credential helpers).
	Keychain authn.Keychain
	// Transport is the HTTP transport to registries; nil means go-containerregistry's
	// default (with TLS verification off when Insecure).
	Transport http.RoundTripper
	// Created is the time written into layers and the image config, so that the
	// same inputs give the same digest; zero means the Unix epoch.
	Created time.Time
	// Progress receives progress lines (building, uploading); nil is quiet.
	Progress io.Writer
}

// Result is what was pushed.
type Result struct {
	// Image is the digest reference, repo@sha256:..., which CI should deploy.
	Image string `json:"image"`
	// Digest is the manifest (or index) digest.
	Digest string `json:"digest"`
	// Tags are the tags pushed, all pointing at Digest.
	Tags []string `json:"tags"`
	// Platforms are the platforms in the image.
	Platforms []string `json:"-"`
}

// InputError is a bad input: a flag value or an argument. Nothing was contacted
// or pushed.
type InputError struct {
	// Field names the input at fault, as the CLI spells it (--tag, --platform...).
	Field string
	// Value is the rejected value.
	Value string
	// Reason says what is wrong and what is expected.
	Reason string
}

func (e *InputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// plan is the validated form of Options.
type plan struct {
	Options
	repo      name.Repository
	tags      []name.Tag
	platforms []v1.Platform
	base      name.Reference // nil for scratch
	created   v1.Time
	nameOpts  []name.Option
}

var (
	envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// numericUser is UID or UID:GID.
	numericUser = regexp.MustCompile(`^[0-9]{1,10}(:[0-9]{1,10})?$`)
	// buildTag is the go command's tag grammar (letters, digits, _ and .).
	buildTag = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	// tagPattern is the OCI distribution spec's tag grammar.
	tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// platformPart is one element of os/arch/variant as Go and OCI spell them.
	platformPart = regexp.MustCompile(`^[a-z0-9]+$`)
)

// validate checks every input without touching the network or the filesystem
// beyond a stat of FromDir, and returns the plan.
func validate(o Options) (*plan, error) {
	p := &plan{Options: o}
	if o.Insecure {
		p.nameOpts = append(p.nameOpts, name.Insecure)
	}
	switch {
	case o.Package == "" && o.FromDir == "":
		return nil, &InputError{Field: "package", Reason: "give a Go main package (e.g. ./cmd/app) or --from-dir DIR"}
	case o.Package != "" && o.FromDir != "":
		return nil, &InputError{Field: "--from-dir", Value: o.FromDir, Reason: fmt.Sprintf("cannot be used with a Go package (%s): choose one", o.Package)}
	}
	if o.FromDir != "" {
		fi, err := os.Stat(o.FromDir)
		if err != nil {
			return nil, &InputError{Field: "--from-dir", Value: o.FromDir, Reason: "no such directory"}
		}
		if !fi.IsDir() {
			return nil, &InputError{Field: "--from-dir", Value: o.FromDir, Reason: "not a directory"}
		}
		if len(o.Entrypoint) == 0 {
			return nil, &InputError{Field: "--entrypoint", Reason: "required with --from-dir: the absolute path of the program to run, e.g. /bin/app"}
		}
	}
	if len(o.Entrypoint) > 0 && !path.IsAbs(o.Entrypoint[0]) {
		return nil, &InputError{Field: "--entrypoint", Value: o.Entrypoint[0], Reason: "must be an absolute path in the image, e.g. /bin/app"}
	}
	for _, kv := range o.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKey.MatchString(k) {
			return nil, &InputError{Field: "--env", Value: kv, Reason: "want KEY=VALUE with KEY made of letters, digits and _"}
		}
	}

	if o.User != "" && !numericUser.MatchString(o.User) {
		return nil, &InputError{Field: "--user", Value: o.User, Reason: "want a numeric UID or UID:GID, e.g. 65532, so that runAsNonRoot can be checked without a passwd file"}
	}
	for _, t := range o.BuildTags {
		if !buildTag.MatchString(t) {
			return nil, &InputError{Field: "--build-tags", Value: t, Reason: "a build tag is letters, digits, '_' and '.'"}
		}
	}
	for _, f := range o.LDFlags {
		if !strings.HasPrefix(f, "-") || strings.ContainsAny(f, "\n\x00'\"") {
			return nil, &InputError{Field: "--ldflags", Value: f, Reason: "each element is one linker flag starting with '-', without quotes, e.g. -s or -X=pkg.Version=v1"}
		}
	}
	if len(o.BuildTags)+len(o.LDFlags) > 0 && o.Package == "" {
		return nil, &InputError{Field: "--build-tags/--ldflags", Reason: "only apply to a Go package, not to --from-dir"}
	}

	if o.Repo == "" {
		return nil, &InputError{Field: "--repo", Reason: "required: the repository to push to, e.g. registry.example.com/team/app"}
	}
	repo, err := name.NewRepository(o.Repo, append([]name.Option{name.StrictValidation}, p.nameOpts...)...)
	if err != nil {
		return nil, &InputError{Field: "--repo", Value: o.Repo, Reason: "want REGISTRY/PATH without a tag or digest, e.g. registry.example.com/team/app (" + err.Error() + ")"}
	}
	p.repo = repo
	tags := o.Tags
	if len(tags) == 0 {
		tags = []string{"latest"}
	}
	for _, t := range tags {
		tag, err := name.NewTag(repo.Name()+":"+t, p.nameOpts...)
		if err != nil || tag.TagStr() != t || !tagPattern.MatchString(t) {
			return nil, &InputError{Field: "--tag", Value: t, Reason: "a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"}
		}
		if !slices.ContainsFunc(p.tags, func(x name.Tag) bool { return x.TagStr() == t }) {
			p.tags = append(p.tags, tag)
		}
	}

	platforms := o.Platforms
	if len(platforms) == 0 {
		platforms = []string{DefaultPlatform}
	}
	for _, s := range platforms {
		pl, err := parsePlatform(s)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(p.platforms, func(x v1.Platform) bool { return x.Equals(*pl) }) {
			return nil, &InputError{Field: "--platform", Value: s, Reason: "given twice"}
		}
		p.platforms = append(p.platforms, *pl)
	}

	switch o.Base {
	case Scratch:
	case "":
		p.Base = DefaultBase
		fallthrough
	default:
		ref, err := name.ParseReference(p.Base, p.nameOpts...)
		if err != nil {
			return nil, &InputError{Field: "--base", Value: p.Base, Reason: "not an image reference (" + err.Error() + ")"}
		}
		p.base = ref
	}
	if o.FromDir != "" && p.base == nil && !fileIn(o.FromDir, o.Entrypoint[0]) {
		return nil, &InputError{Field: "--entrypoint", Value: o.Entrypoint[0], Reason: fmt.Sprintf("not in %s, and the base is scratch, so the image would have nothing to run", o.FromDir)}
	}
	if o.Created.IsZero() {
		p.created = v1.Time{Time: time.Unix(0, 0).UTC()}
	} else {
		p.created = v1.Time{Time: o.Created.UTC()}
	}
	return p, nil
}

// parsePlatform reads os/arch[/variant]. go-containerregistry's ParsePlatform
// accepts anything, so the shape is checked here.
func parsePlatform(s string) (*v1.Platform, error) {
	bad := &InputError{Field: "--platform", Value: s, Reason: "want os/arch[/variant], e.g. linux/amd64 or linux/arm/v7"}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, bad
	}
	for _, part := range parts {
		if !platformPart.MatchString(part) {
			return nil, bad
		}
	}
	pl, err := v1.ParsePlatform(s)
	if err != nil {
		return nil, bad
	}
	return pl, nil
}

// fileIn reports whether the absolute image path p exists under dir.
func fileIn(dir, p string) bool {
	_, err := os.Lstat(dir + "/" + strings.TrimPrefix(path.Clean(p), "/"))
	return err == nil
}
