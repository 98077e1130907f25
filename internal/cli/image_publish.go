package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"

	"github.com/tugboatcd/tugboat/internal/push/image"
)

type imagePublishFlags struct {
	repo       string
	tags       []string
	base       string
	platforms  []string
	insecure   bool
	fromDir    string
	entrypoint string
	env        []string
	user       string
	buildTags  []string
	ldflags    []string
	output     string
}

func newImagePublishCommand(s streams) *cobra.Command {
	f := &imagePublishFlags{}
	cmd := &cobra.Command{
		Use:   "publish [PACKAGE] --repo REGISTRY/NAME [--tag TAG]...",
		Short: "Build a Go main package or a directory into an image, push it, print its digest reference",
		Long: `Build an OCI image without a Docker daemon and push it to a registry.

With a Go main package, the package is compiled as a static binary (CGO_ENABLED=0,
-trimpath, with --build-tags and --ldflags) for each --platform and layered onto --base
at /ko-app/<name>, which becomes the entrypoint, as ko does. With --from-dir, the directory tree becomes one layer at the
image's root (modes and symbolic links kept) and --entrypoint is required.

Credentials come from the docker config ($DOCKER_CONFIG/config.json or
~/.docker/config.json, with its credential helpers), as written by docker login.
Layer and config times are SOURCE_DATE_EPOCH, else 1970-01-01, so the same inputs give
the same digest.

Standard output is only the digest reference (REGISTRY/NAME@sha256:...), for CI to
capture; progress goes to standard error on a terminal. See docs/images.md.`,
		Example: `  # Build ./cmd/app and push it as v1 and latest
  tugboat image publish ./cmd/app --repo ghcr.io/acme/app --tag v1 --tag latest

  # Capture the reference in CI and deploy exactly that digest
  IMAGE=$(tugboat image publish ./cmd/app --repo ghcr.io/acme/app --tag "$GITHUB_SHA")

  # Two platforms into one index, onto an empty base
  tugboat image publish ./cmd/app --repo registry.local:5000/app --base scratch \
    --platform linux/amd64,linux/arm64 --insecure

  # tugboat's own image, as make images builds it: no DuckDB, no cgo, no shell
  tugboat image publish ./cmd/tugboat --repo registry.local:5000/tugboat --base scratch \
    --build-tags noduckdb --ldflags "-s -w" --user 65532 --insecure

  # A directory, no Go build
  tugboat image publish --from-dir ./dist --entrypoint /bin/server --repo ghcr.io/acme/site`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(s, args)
			if err != nil {
				return err
			}
			res, err := image.Publish(cmd.Context(), o)
			var ie *image.InputError
			if errors.As(err, &ie) {
				return &exitError{code: ExitUsage, err: err}
			}
			if err != nil {
				return err
			}
			if f.output == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "    ")
				return enc.Encode(res)
			}
			if o.Progress != nil {
				fmt.Fprintf(s.errOut, "✔ pushed %s (%s) for %s\n", o.Repo, strings.Join(res.Tags, ", "), strings.Join(res.Platforms, ", "))
			}
			_, err = fmt.Fprintln(s.out, res.Image)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "repository to push to, e.g. ghcr.io/acme/app (required)")
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "tag to push (repeatable; default latest)")
	fl.StringVar(&f.base, "base", image.DefaultBase, "base image, or scratch for none")
	fl.StringSliceVar(&f.platforms, "platform", []string{image.DefaultPlatform}, "os/arch[/variant] to build, comma-separated or repeated; several push an image index")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS (local registries)")
	fl.StringVar(&f.fromDir, "from-dir", "", "make the image from this directory tree instead of a Go package")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "absolute path of the program to run (required with --from-dir; default the Go binary)")
	fl.StringArrayVar(&f.env, "env", nil, "KEY=VALUE to set in the image's environment (repeatable)")
	fl.StringVar(&f.user, "user", "", "numeric UID[:GID] the image runs as (default: the base's user)")
	fl.StringSliceVar(&f.buildTags, "build-tags", nil, "Go build tags, comma-separated (go build -tags)")
	fl.StringArrayVar(&f.ldflags, "ldflags", nil, `linker flags (go build -ldflags), separated by spaces, e.g. "-s -w" (repeatable)`)
	fl.StringVarP(&f.output, "output", "o", "table", "output: table (the reference alone) or json")
	return cmd
}

// options turns the flags into image.Options; the environment is read here and
// nowhere deeper.
func (f *imagePublishFlags) options(s streams, args []string) (image.Options, error) {
	if f.output != "table" && f.output != "json" {
		return image.Options{}, &exitError{code: ExitUsage, err: fmt.Errorf("--output must be table or json, not %q", f.output)}
	}
	o := image.Options{
		FromDir:   f.fromDir,
		Env:       f.env,
		User:      f.user,
		BuildTags: f.buildTags,
		Repo:      f.repo,
		Tags:      f.tags,
		Base:      f.base,
		Platforms: f.platforms,
		Insecure:  f.insecure,
		Keychain:  authn.DefaultKeychain,
	}
	if len(args) == 1 {
		o.Package = args[0]
	}
	for _, l := range f.ldflags {
		o.LDFlags = append(o.LDFlags, strings.Fields(l)...)
	}
	if f.entrypoint != "" {
		o.Entrypoint = []string{f.entrypoint}
	}
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return image.Options{}, &exitError{code: ExitUsage, err: fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: want seconds since 1970", v)}
		}
		o.Created = time.Unix(sec, 0)
	}
	if f.output != "json" && interactive(s.errOut) {
		o.Progress = s.errOut
	}
	return o, nil
}
