package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// goPackage is what `go list` says about the package to build.
type goPackage struct {
	Name       string
	ImportPath string
	Dir        string
	Error      *struct{ Err string }
}

// BuildError is a Go build that failed; Output is the compiler's own output.
type BuildError struct {
	Package  string
	Platform string
	Output   string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("failed to build %s for %s:\n%s", e.Package, e.Platform, strings.TrimRight(e.Output, "\n"))
}

// listPackage asks the go command what pkg is, and refuses anything but a main
// package, before any build or network call.
func listPackage(ctx context.Context, dir, pkg string) (*goPackage, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-json=Name,ImportPath,Dir,Error", pkg)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("failed to find the Go package %s: %s", pkg, firstLines(stderr.String(), err))
	}
	var p goPackage
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("failed to read `go list` output for %s: %w", pkg, err)
	}
	if dec.More() {
		return nil, &InputError{Field: "package", Value: pkg, Reason: "names several packages; give one main package"}
	}
	if p.Error != nil {
		return nil, fmt.Errorf("failed to find the Go package %s: %s", pkg, strings.TrimSpace(p.Error.Err))
	}
	if p.Name != "main" {
		return nil, &InputError{Field: "package", Value: pkg, Reason: fmt.Sprintf("it is package %s (%s), not a main package: give the directory of a package main with func main", p.Name, p.Dir)}
	}
	return &p, nil
}

// checkGoPlatforms refuses platforms the go command cannot build for, using its
// own list (`go tool dist list`).
func checkGoPlatforms(ctx context.Context, dir string, platforms []v1.Platform) error {
	cmd := exec.CommandContext(ctx, "go", "tool", "dist", "list")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("failed to list the Go toolchain's platforms: %w", err)
	}
	known := map[string]bool{}
	for _, l := range strings.Fields(string(out)) {
		known[l] = true
	}
	for _, p := range platforms {
		if !known[p.OS+"/"+p.Architecture] {
			return &InputError{Field: "--platform", Value: p.String(), Reason: fmt.Sprintf("Go cannot build for %s/%s (see `go tool dist list`)", p.OS, p.Architecture)}
		}
		if p.OS == "windows" {
			return &InputError{Field: "--platform", Value: p.String(), Reason: "Windows images are not supported"}
		}
	}
	return nil
}

// buildBinary compiles pkg for the platform as a static binary, as ko does:
// CGO_ENABLED=0 and -trimpath, so the same source and toolchain give the same
// bytes; tags and ldflags are passed on (ko's build config has both). It
// returns the binary's path inside tmp.
func buildBinary(ctx context.Context, dir, pkg string, p v1.Platform, tmp string, tags, ldflags []string) (string, error) {
	out := filepath.Join(tmp, strings.NewReplacer("/", "-").Replace(p.String()), "app")
	args := []string{"build", "-trimpath", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	if len(ldflags) > 0 {
		// The go command splits -ldflags' value at spaces outside quotes; each
		// element (validated to hold no quote) is quoted, so that a value with
		// spaces stays one flag. A value may not start with a quote unless a
		// package pattern comes first: all= is what the link step sees anyway.
		quoted := make([]string, len(ldflags))
		for i, f := range ldflags {
			quoted[i] = `"` + f + `"`
		}
		args = append(args, "-ldflags", "all="+strings.Join(quoted, " "))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if v := strings.TrimPrefix(p.Variant, "v"); p.Architecture == "arm" && v != "" {
		cmd.Env = append(cmd.Env, "GOARM="+v)
	}
	if p.Architecture == "amd64" && p.Variant != "" {
		cmd.Env = append(cmd.Env, "GOAMD64="+p.Variant)
	}
	output, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("failed to build %s: %w", pkg, ctx.Err())
		}
		return "", &BuildError{Package: pkg, Platform: p.String(), Output: string(output)}
	}
	return out, nil
}

// binaryName is the file name of the binary in the image: the last element of the
// import path, skipping a major-version suffix such as /v2.
func binaryName(importPath string) string {
	base := path.Base(importPath)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		base = path.Base(path.Dir(importPath))
	}
	return base
}

// firstLines keeps a command's stderr short enough for an error message.
func firstLines(s string, err error) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return err.Error()
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 10 {
		lines = append(lines[:10], "...")
	}
	return strings.Join(lines, "\n")
}
