package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tugboatcd/tugboat/internal/push/image/imagetest"
)

// imageGolden compares got with testdata/<file>, or rewrites the file under -update.
// The flag is looked up rather than declared so that this file does not depend on
// which test file of the package declares it.
func imageGolden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to read the golden file (run with -update to write it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}

// imageSite is a fixed directory tree, so that its image's digest is fixed too.
func imageSite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, mode := range map[string]os.FileMode{"bin/server": 0o755, "www/index.html": 0o644} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// remoteDigest is the digest the registry serves for ref.
func remoteDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatalf("failed to read %s back: %v", ref, err)
	}
	return d.Digest.String()
}

func TestImagePublish(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	imagetest.NoDockerConfig(t)
	reg := imagetest.NewRegistry(t, nil)
	site := imageSite(t)
	digestRef := regexp.MustCompile(`^REGISTRY/hello@sha256:[0-9a-f]{64}\n$`)
	cases := map[string]struct {
		args   []string
		code   int
		golden string         // stdout, with the registry's address as REGISTRY
		match  *regexp.Regexp // stdout, when the digest depends on the Go toolchain
		stderr string
		pushed string // a tag that must then point at the printed digest
	}{
		"a directory prints only its digest reference": {
			args:   []string{"--from-dir", site, "--entrypoint", "/bin/server", "--repo", "REGISTRY/site", "--tag", "v1", "--tag", "latest", "--base", "scratch"},
			golden: "image_publish_dir.golden", pushed: "REGISTRY/site:latest",
		},
		"a directory as JSON gives image, digest and tags": {
			args:   []string{"--from-dir", site, "--entrypoint", "/bin/server", "--repo", "REGISTRY/site", "--tag", "v2", "--base", "scratch", "-o", "json"},
			golden: "image_publish_dir_json.golden", pushed: "REGISTRY/site:v2",
		},
		"a Go main package is built and pushed": {
			args:  []string{"./testdata/image/hello", "--repo", "REGISTRY/hello", "--tag", "v1", "--base", "scratch"},
			match: digestRef, pushed: "REGISTRY/hello:v1",
		},
		"a bad tag is a usage error": {
			args: []string{"./testdata/image/hello", "--repo", "REGISTRY/bad", "--tag", "v1:x", "--base", "scratch"},
			code: ExitUsage, stderr: `Error: invalid --tag "v1:x"`,
		},
		"a bad platform is a usage error": {
			args: []string{"./testdata/image/hello", "--repo", "REGISTRY/bad", "--platform", "linux", "--base", "scratch"},
			code: ExitUsage, stderr: `Error: invalid --platform "linux"`,
		},
		"neither a package nor a directory is a usage error": {
			args: []string{"--repo", "REGISTRY/bad"},
			code: ExitUsage, stderr: "Error: package: give a Go main package (e.g. ./cmd/app) or --from-dir DIR",
		},
		"no repository is a usage error": {
			args: []string{"./testdata/image/hello"},
			code: ExitUsage, stderr: "Error: --repo: required",
		},
		"an unknown output format is a usage error": {
			args: []string{"./testdata/image/hello", "--repo", "REGISTRY/bad", "-o", "yaml"},
			code: ExitUsage, stderr: `--output must be table or json, not "yaml"`,
		},
		"a missing base image fails naming it": {
			args: []string{"./testdata/image/hello", "--repo", "REGISTRY/bad", "--base", "REGISTRY/nope:1"},
			code: ExitError, stderr: "Error: failed to fetch the base image REGISTRY/nope:1: REGISTRY/nope:1 not found in registry REGISTRY",
		},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			args := []string{"image", "publish"}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "REGISTRY", reg))
			}
			var out, errOut bytes.Buffer
			code := Execute(context.Background(), args, &out, &errOut)
			stdout := strings.ReplaceAll(out.String(), reg, "REGISTRY")
			stderr := strings.ReplaceAll(errOut.String(), reg, "REGISTRY")
			if code != tc.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.stderr) || tc.stderr == "" && stderr != "" {
				t.Errorf("stderr %q, want %q", stderr, tc.stderr)
			}
			switch {
			case tc.golden != "":
				imageGolden(t, tc.golden, stdout)
			case tc.match != nil:
				if !tc.match.MatchString(stdout) {
					t.Errorf("stdout %q, want it to match %s", stdout, tc.match)
				}
			case stdout != "":
				t.Errorf("stdout %q, want nothing on failure", stdout)
			}
			if tc.pushed != "" {
				d := remoteDigest(t, strings.ReplaceAll(tc.pushed, "REGISTRY", reg))
				if !strings.Contains(out.String(), d) {
					t.Errorf("the registry serves %s for %s, but stdout is %q", d, tc.pushed, out.String())
				}
			}
		})
	}
}

// On a terminal, progress goes to stderr and stdout still holds only the reference.
func TestImagePublishShowsProgressOnATerminal(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	imagetest.NoDockerConfig(t)
	reg := imagetest.NewRegistry(t, nil)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	shown := make(chan string)
	go func() {
		data, _ := io.ReadAll(ptmx) // ends with EIO once the terminal side is closed
		shown <- string(data)
	}()
	var out bytes.Buffer
	code := Execute(context.Background(), []string{"image", "publish", "./testdata/image/hello", "--repo", reg + "/hello", "--tag", "v1", "--base", "scratch"}, &out, tty)
	tty.Close()
	progress := <-shown
	if code != ExitOK {
		t.Fatalf("exit code %d, terminal: %q", code, progress)
	}
	for _, want := range []string{"building ./testdata/image/hello for linux/amd64", "uploading ", "✔ pushed " + reg + "/hello (v1) for linux/amd64"} {
		if !strings.Contains(progress, want) {
			t.Errorf("the terminal shows %q, want it to contain %q", progress, want)
		}
	}
	if d := remoteDigest(t, reg+"/hello:v1"); out.String() != reg+"/hello@"+d+"\n" {
		t.Errorf("stdout %q, want only %s/hello@%s", out.String(), reg, d)
	}
}

func TestImagePublishWithDockerConfigCredentials(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	reg := imagetest.NewRegistry(t, map[string]string{"ci": "s3cret"})
	site := imageSite(t)
	args := []string{"image", "publish", "--from-dir", site, "--entrypoint", "/bin/server", "--repo", reg + "/site", "--tag", "v1", "--base", "scratch"}

	imagetest.DockerConfig(t, reg, "ci", "wrong")
	var out, errOut bytes.Buffer
	if code := Execute(context.Background(), args, &out, &errOut); code != ExitError || out.Len() != 0 ||
		!strings.Contains(errOut.String(), "registry "+reg+" rejected the credentials (401 Unauthorized)") {
		t.Errorf("wrong password: exit %d, stdout %q, stderr %q; want 1, nothing, and the registry named", code, out.String(), errOut.String())
	}

	imagetest.DockerConfig(t, reg, "ci", "s3cret")
	out.Reset()
	errOut.Reset()
	if code := Execute(context.Background(), args, &out, &errOut); code != ExitOK {
		t.Fatalf("right password: exit %d, stderr %q", code, errOut.String())
	}
	if d := remoteDigest(t, reg+"/site:v1"); out.String() != reg+"/site@"+d+"\n" {
		t.Errorf("stdout %q, want %s/site@%s", out.String(), reg, d)
	}
}
