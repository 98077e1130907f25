package image

import (
	"bytes"
	"context"
	"crypto/tls"
	"debug/elf"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tugboatcd/tugboat/internal/push/image/imagetest"
)

// runBinary writes the binary found in the image's last layer to disk and runs it
// on this machine (linux/amd64), returning its output.
func runBinary(t *testing.T, img v1.Image, path string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	headers, contents := layerFiles(t, layers[len(layers)-1])
	h := headers[path]
	if h == nil {
		t.Fatalf("%s is not in the image's last layer (it has %v)", path, keys(headers))
	}
	if h.Mode&0o111 == 0 {
		t.Errorf("%s has mode %o, want it executable", path, h.Mode)
	}
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, contents[path], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "one", "two").CombinedOutput()
	if err != nil {
		t.Fatalf("the binary from the image failed: %v\n%s", err, out)
	}
	return string(out)
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestPublishGoPackageOntoABaseFromTheSameRegistry(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	pushBase(t, reg+"/base:1", "linux/amd64")

	var progress bytes.Buffer
	res, err := Publish(context.Background(), Options{
		Package: "./testdata/hello", Repo: reg + "/team/hello", Tags: []string{"v1", "latest"},
		Base: reg + "/base:1", Env: []string{"GREETING=hi"}, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image != reg+"/team/hello@"+res.Digest || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Errorf("result %+v, want image = repo@digest", res)
	}
	if !slices.Equal(res.Tags, []string{"v1", "latest"}) {
		t.Errorf("tags %v, want [v1 latest]", res.Tags)
	}
	for _, tag := range []string{"v1", "latest"} {
		if d := pull(t, reg+"/team/hello:"+tag).Digest.String(); d != res.Digest {
			t.Errorf("tag %s points at %s, want the printed %s", tag, d, res.Digest)
		}
	}
	if !strings.Contains(progress.String(), "building ./testdata/hello for linux/amd64") {
		t.Errorf("progress %q does not say what it builds", progress.String())
	}

	desc := pull(t, res.Image)
	if desc.MediaType != types.OCIManifestSchema1 {
		t.Errorf("media type %s, want an OCI manifest like the base", desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want the base's one and the binary's", len(layers))
	}
	baseHeaders, _ := layerFiles(t, layers[0])
	if baseHeaders["etc/base-release"] == nil {
		t.Errorf("the first layer is not the base's: %v", keys(baseHeaders))
	}
	headers, _ := layerFiles(t, layers[1])
	if got := keys(headers); !slices.Equal(got, []string{"ko-app/", "ko-app/hello"}) {
		t.Errorf("binary layer holds %v, want [ko-app/ ko-app/hello]", got)
	}
	for n, h := range headers {
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v uid %d gid %d user %q, want the epoch and root with no names", n, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
	}
	if out := runBinary(t, img, "ko-app/hello"); out != "hello from tugboat on linux/amd64 [one two]\n" {
		t.Errorf("the binary printed %q", out)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/ko-app/hello"}) || c.Cmd != nil {
		t.Errorf("entrypoint %q cmd %q, want [/ko-app/hello] and no inherited command", c.Entrypoint, c.Cmd)
	}
	if c.WorkingDir != "/home/base" {
		t.Errorf("working dir %q, want the base's /home/base", c.WorkingDir)
	}
	if !slices.Equal(c.Env, []string{"PATH=/usr/bin:/bin:/ko-app", "BASE=1", "GREETING=hi"}) {
		t.Errorf("env %q, want the base's PATH extended with /ko-app, BASE kept, GREETING added", c.Env)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("config os %s arch %s created %v", cf.OS, cf.Architecture, cf.Created)
	}
	head := gitHead(t, ".")
	if c.Labels[AnnotationRevision] != head || c.Labels["base.label"] != "kept" {
		t.Errorf("labels %v, want revision %q (git HEAD, not the base's) and the base's other labels", c.Labels, head)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	baseDigest := pull(t, reg+"/base:1").Digest.String()
	if m.Annotations[AnnotationBaseName] != reg+"/base:1" || m.Annotations[AnnotationBaseDigest] != baseDigest || m.Annotations[AnnotationRevision] != head {
		t.Errorf("annotations %v, want base name, base digest %s and revision %q", m.Annotations, baseDigest, head)
	}

	// Same inputs, same digest: timestamps are fixed and the build is -trimpath.
	again, err := Publish(context.Background(), Options{Package: "./testdata/hello", Repo: reg + "/team/hello", Tags: []string{"v2"}, Base: reg + "/base:1", Env: []string{"GREETING=hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != res.Digest {
		t.Errorf("publishing the same source again gave %s, want the same digest %s", again.Digest, res.Digest)
	}
}

func TestPublishGoPackageOntoScratch(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	res, err := Publish(context.Background(), Options{Package: "./testdata/hello", Repo: reg + "/hello", Base: Scratch})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Tags, []string{"latest"}) {
		t.Errorf("tags %v, want latest when none is given", res.Tags)
	}
	img, err := pull(t, reg+"/hello:latest").Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Errorf("%d layers, want only the binary's on scratch", len(layers))
	}
	if out := runBinary(t, img, "ko-app/hello"); !strings.HasPrefix(out, "hello from tugboat on linux/amd64") {
		t.Errorf("the binary printed %q", out)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.WorkingDir != "/" || !slices.Contains(cf.Config.Env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/ko-app") {
		t.Errorf("working dir %q env %q, want / and the usual PATH with /ko-app", cf.Config.WorkingDir, cf.Config.Env)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Annotations[AnnotationBaseName]; ok {
		t.Errorf("annotations %v name a base, but scratch is none", m.Annotations)
	}
}

// TestPublishWithBuildTagsLinkerFlagsAndUser builds as make images does: the tags and
// linker flags reach the go command (the binary says so when run) and the image runs
// as the numeric user given.
func TestPublishWithBuildTagsLinkerFlagsAndUser(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	_, err := Publish(context.Background(), Options{Package: "./testdata/hello", Repo: reg + "/hello", Base: Scratch,
		BuildTags: []string{"hellotag"}, LDFlags: []string{"-s", "-w", "-X=main.suffix= with spaces"}, User: "65532"})
	if err != nil {
		t.Fatal(err)
	}
	img, err := pull(t, reg+"/hello:latest").Image()
	if err != nil {
		t.Fatal(err)
	}
	if out := runBinary(t, img, "ko-app/hello"); out != "hello (tagged) from tugboat on linux/amd64 [one two] with spaces\n" {
		t.Errorf("the binary printed %q, want the tagged greeting and the linker's suffix", out)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532" {
		t.Errorf("image user %q, want 65532", cf.Config.User)
	}
}

func TestPublishMultiPlatformIndex(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	pushBase(t, reg+"/base:multi", "linux/amd64", "linux/arm64")
	res, err := Publish(context.Background(), Options{
		Package: "./testdata/hello", Repo: reg + "/hello", Tags: []string{"v1"},
		Base: reg + "/base:multi", Platforms: []string{"linux/amd64", "linux/arm64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	desc := pull(t, res.Image)
	if desc.MediaType != types.OCIImageIndex {
		t.Fatalf("media type %s, want an OCI image index", desc.MediaType)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(im.Manifests))
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if m.Platform == nil || cf.Architecture != m.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("manifest platform %v, config %s/%s: want them equal", m.Platform, cf.OS, cf.Architecture)
			continue
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		base, _ := layerFiles(t, layers[0])
		_, contents := layerFiles(t, layers[len(layers)-1])
		if base["etc/base-release"] == nil {
			t.Errorf("%s: the first layer is not the base's", cf.Architecture)
		}
		f, err := elf.NewFile(bytes.NewReader(contents["ko-app/hello"]))
		if err != nil {
			t.Fatalf("%s: the binary is not an ELF file: %v", cf.Architecture, err)
		}
		if f.Machine != machines[cf.Architecture] {
			t.Errorf("%s image holds a binary for %s", cf.Architecture, f.Machine)
		}
		if cf.Architecture == "amd64" {
			if out := runBinary(t, img, "ko-app/hello"); !strings.HasPrefix(out, "hello from tugboat on linux/amd64") {
				t.Errorf("the binary printed %q", out)
			}
		}
	}
}

func TestPublishOntoADockerFormatBaseKeepsDockerFormat(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	pushBaseAs(t, reg+"/base:docker", true, "linux/amd64")
	pushBaseAs(t, reg+"/base:docker-multi", true, "linux/amd64", "linux/arm64")
	cases := map[string]struct {
		base      string
		platforms []string
		mediaType types.MediaType
	}{
		"one platform gives a schema 2 manifest": {base: "docker", platforms: []string{"linux/amd64"}, mediaType: types.DockerManifestSchema2},
		"two platforms give a manifest list":     {base: "docker-multi", platforms: []string{"linux/amd64", "linux/arm64"}, mediaType: types.DockerManifestList},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			res, err := Publish(context.Background(), Options{Package: "./testdata/hello", Repo: reg + "/app", Tags: []string{tc.base}, Base: reg + "/base:" + tc.base, Platforms: tc.platforms})
			if err != nil {
				t.Fatal(err)
			}
			desc := pull(t, res.Image)
			if desc.MediaType != tc.mediaType {
				t.Fatalf("media type %s, want %s", desc.MediaType, tc.mediaType)
			}
			ref, err := name.ParseReference(res.Image)
			if err != nil {
				t.Fatal(err)
			}
			img, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
			if err != nil {
				t.Fatal(err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.DockerManifestSchema2 || len(m.Annotations) != 0 {
				t.Errorf("manifest %s with annotations %v, want schema 2 and none (it has no field for them)", m.MediaType, m.Annotations)
			}
			for _, l := range m.Layers {
				if l.MediaType != types.DockerLayer {
					t.Errorf("layer %s is %s, want Docker's layer type", l.Digest, l.MediaType)
				}
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if head := gitHead(t, "."); cf.Config.Labels[AnnotationRevision] != head {
				t.Errorf("labels %v, want the revision %q there instead", cf.Config.Labels, head)
			}
			if out := runBinary(t, img, "ko-app/hello"); !strings.HasPrefix(out, "hello from tugboat on linux/amd64") {
				t.Errorf("the binary printed %q", out)
			}
		})
	}
}

func TestPublishFromDirKeepsModesAndLinks(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	dir := writeTree(t, map[string]treeEntry{
		"bin/":            {mode: 0o755},
		"bin/app":         {mode: 0o755, content: "#!/bin/sh\necho app\n"},
		"bin/suid":        {mode: 0o4755 | os.ModeSetuid, content: "x"},
		"etc/":            {mode: 0o750},
		"etc/secret.conf": {mode: 0o600, content: "token=x\n"},
		"etc/shared/":     {mode: 0o1777 | os.ModeSticky},
		"usr/bin/app":     {link: "../../bin/app"},
	})
	res, err := Publish(context.Background(), Options{
		FromDir: dir, Entrypoint: []string{"/bin/app"}, Env: []string{"MODE=dir"},
		Repo: reg + "/site", Tags: []string{"v1"}, Base: Scratch,
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := pull(t, res.Image).Image()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want one", len(layers))
	}

	// The same tree elsewhere (as in another CI checkout) gives the same digest.
	moved := filepath.Join(t.TempDir(), "elsewhere")
	if err := exec.Command("cp", "-a", dir, moved).Run(); err != nil {
		t.Fatal(err)
	}
	again, err := Publish(context.Background(), Options{
		FromDir: moved, Entrypoint: []string{"/bin/app"}, Env: []string{"MODE=dir"},
		Repo: reg + "/site", Tags: []string{"v2"}, Base: Scratch,
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != res.Digest {
		t.Errorf("the same tree at another path gave %s, want %s", again.Digest, res.Digest)
	}
	headers, contents := layerFiles(t, layers[0])
	want := map[string]int64{"bin/": 0o755, "bin/app": 0o755, "bin/suid": 0o4755, "etc/": 0o750, "etc/secret.conf": 0o600, "etc/shared/": 0o1777, "usr/": 0o755, "usr/bin/": 0o755}
	for n, mode := range want {
		if h := headers[n]; h == nil || h.Mode != mode {
			t.Errorf("%s: header %+v, want mode %o", n, h, mode)
		}
	}
	if h := headers["usr/bin/app"]; h == nil || h.Typeflag != '2' || h.Linkname != "../../bin/app" {
		t.Errorf("usr/bin/app: header %+v, want a symbolic link to ../../bin/app", h)
	}
	if string(contents["bin/app"]) != "#!/bin/sh\necho app\n" {
		t.Errorf("bin/app holds %q", contents["bin/app"])
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/bin/app"}) || !slices.Equal(cf.Config.Env, []string{"MODE=dir"}) {
		t.Errorf("entrypoint %q env %q, want [/bin/app] and [MODE=dir]", cf.Config.Entrypoint, cf.Config.Env)
	}
}

func TestPublishWithDockerConfigCredentials(t *testing.T) {
	reg := newRegistry(t, map[string]string{"ci": "s3cret"})
	dir := writeTree(t, map[string]treeEntry{"app": {mode: 0o755, content: "x"}})
	publish := func() (*Result, error) {
		return Publish(context.Background(), Options{FromDir: dir, Entrypoint: []string{"/app"}, Repo: reg + "/private/app", Tags: []string{"v1"}, Base: Scratch})
	}
	tags := func() []string {
		dockerConfig(t, reg, "ci", "s3cret")
		return tagsIn(t, reg+"/private/app")
	}

	dockerConfig(t, reg, "ci", "wrong")
	_, err := publish()
	var re *RegistryError
	if !errors.As(err, &re) || re.StatusCode != 401 || !strings.Contains(err.Error(), "registry "+reg+" rejected the credentials") {
		t.Fatalf("with a wrong password: %v, want a 401 naming %s and saying the credentials were rejected", err, reg)
	}
	if got := tags(); len(got) != 0 {
		t.Errorf("the refused publish left tags %v", got)
	}

	noDockerConfig(t)
	_, err = publish()
	if !errors.As(err, &re) || re.StatusCode != 401 || !strings.Contains(err.Error(), "requires credentials and none were found") {
		t.Fatalf("without credentials: %v, want a 401 saying none were found", err)
	}

	dockerConfig(t, reg, "ci", "s3cret")
	res, err := publish()
	if err != nil {
		t.Fatalf("with the right password: %v", err)
	}
	if got := tags(); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("tags %v after publishing v1", got)
	}
	if d := pull(t, reg+"/private/app:v1").Digest.String(); d != res.Digest {
		t.Errorf("v1 is %s, want the printed %s", d, res.Digest)
	}

	// A base image in the private registry is fetched with the same credentials, and
	// refused credentials are reported for the base before anything is built.
	pushBase(t, reg+"/private/base:1", "linux/amd64")
	onBase := Options{FromDir: dir, Entrypoint: []string{"/app"}, Repo: reg + "/private/app", Tags: []string{"v2"}, Base: reg + "/private/base:1"}
	if _, err := Publish(context.Background(), onBase); err != nil {
		t.Fatalf("onto a private base with the right password: %v", err)
	}
	dockerConfig(t, reg, "ci", "wrong")
	onBase.Tags = []string{"v3"}
	_, err = Publish(context.Background(), onBase)
	if !errors.As(err, &re) || re.StatusCode != 401 || !strings.Contains(err.Error(), "failed to fetch the base image "+reg+"/private/base:1: registry "+reg+" rejected the credentials") {
		t.Fatalf("onto a private base with a wrong password: %v, want the base fetch refused with 401", err)
	}
	if got := tags(); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("tags %v, want v1 and v2 only", got)
	}
}

func TestPublishInsecureRegistry(t *testing.T) {
	noDockerConfig(t)
	reg := imagetest.NewTLSRegistry(t)
	dir := writeTree(t, map[string]treeEntry{"app": {mode: 0o755, content: "x"}})
	opts := Options{FromDir: dir, Entrypoint: []string{"/app"}, Repo: reg + "/app", Tags: []string{"v1"}, Base: Scratch}

	_, err := Publish(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "registry "+reg+" is unreachable") || !strings.Contains(err.Error(), "add --insecure") {
		t.Fatalf("to a registry with an untrusted certificate: %v, want it unreachable with a hint to add --insecure", err)
	}

	opts.Insecure = true
	res, err := Publish(context.Background(), opts)
	if err != nil {
		t.Fatalf("with --insecure: %v", err)
	}
	r, err := name.ParseReference(reg+"/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	insecure := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the test registry's certificate is self-signed
	desc, err := remote.Get(r, remote.WithTransport(insecure))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != res.Digest {
		t.Errorf("v1 is %s, want the printed %s", desc.Digest, res.Digest)
	}
}

func TestPublishRefusesBadInputAndChangesNothing(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, nil)
	pushBase(t, reg+"/base:amd64", "linux/amd64")
	dir := writeTree(t, map[string]treeEntry{"app": {mode: 0o755, content: "x"}})
	pipe := t.TempDir()
	if err := exec.Command("mkfifo", filepath.Join(pipe, "fifo")).Run(); err != nil {
		t.Fatal(err)
	}
	hello := Options{Package: "./testdata/hello", Repo: reg + "/app", Tags: []string{"v1"}, Base: reg + "/base:amd64"}
	with := func(f func(*Options)) Options {
		o := hello
		f(&o)
		return o
	}
	cases := map[string]struct {
		opts  Options
		want  string
		input bool // an InputError: refused before any network call
	}{
		"a library package is not a main package": {
			opts: with(func(o *Options) { o.Package = "./testdata/notmain" }),
			want: `invalid package "./testdata/notmain": it is package notmain`, input: true,
		},
		"a missing package is named": {
			opts: with(func(o *Options) { o.Package = "./testdata/nope" }),
			want: "failed to find the Go package ./testdata/nope",
		},
		"a build failure shows the compiler's output": {
			opts: with(func(o *Options) { o.Package = "./testdata/broken" }),
			want: `cannot use "not a number"`,
		},
		"a base image that does not exist is named": {
			opts: with(func(o *Options) { o.Base = reg + "/base:nope" }),
			want: "failed to fetch the base image " + reg + "/base:nope: " + reg + "/base:nope not found in registry " + reg,
		},
		"a base without the platform says which it has": {
			opts: with(func(o *Options) { o.Platforms = []string{"linux/arm64"} }),
			want: "base image " + reg + "/base:amd64 is linux/amd64 only, not linux/arm64",
		},
		"an unreachable registry is named": {
			opts: with(func(o *Options) { o.Repo = "127.0.0.1:1/app"; o.Base = Scratch }),
			want: "registry 127.0.0.1:1 is unreachable",
		},
		"a platform without an architecture": {
			opts: with(func(o *Options) { o.Platforms = []string{"linux"} }),
			want: `invalid --platform "linux": want os/arch[/variant]`, input: true,
		},
		"a platform Go cannot build for": {
			opts: with(func(o *Options) { o.Platforms = []string{"linux/z80"} }),
			want: `invalid --platform "linux/z80": Go cannot build for linux/z80`, input: true,
		},
		"a platform given twice": {
			opts: with(func(o *Options) { o.Platforms = []string{"linux/amd64", "linux/amd64"} }),
			want: `invalid --platform "linux/amd64": given twice`, input: true,
		},
		"a tag with a colon": {
			opts: with(func(o *Options) { o.Tags = []string{"v1", "v2:x"} }),
			want: `invalid --tag "v2:x"`, input: true,
		},
		"a tag starting with a dot": {
			opts: with(func(o *Options) { o.Tags = []string{".v1"} }),
			want: `invalid --tag ".v1"`, input: true,
		},
		"a repository with a tag in it": {
			opts: with(func(o *Options) { o.Repo = reg + "/app:v1" }),
			want: `invalid --repo "` + reg + `/app:v1"`, input: true,
		},
		"an environment variable without =": {
			opts: with(func(o *Options) { o.Env = []string{"NOVALUE"} }),
			want: `invalid --env "NOVALUE": want KEY=VALUE`, input: true,
		},
		"a user name instead of a number": {
			opts: with(func(o *Options) { o.User = "nonroot" }),
			want: `invalid --user "nonroot": want a numeric UID`, input: true,
		},
		"a build tag with a space": {
			opts: with(func(o *Options) { o.BuildTags = []string{"a b"} }),
			want: `invalid --build-tags "a b"`, input: true,
		},
		"a linker flag with a quote": {
			opts: with(func(o *Options) { o.LDFlags = []string{`-X=main.suffix="x`} }),
			want: `invalid --ldflags "-X=main.suffix=\"x": each element is one linker flag`, input: true,
		},
		"linker flags for a directory": {
			opts: Options{FromDir: dir, Entrypoint: []string{"/app"}, Repo: reg + "/app", Base: Scratch, LDFlags: []string{"-s"}},
			want: "only apply to a Go package", input: true,
		},
		"a directory without an entrypoint": {
			opts: Options{FromDir: dir, Repo: reg + "/app", Base: Scratch},
			want: "--entrypoint: required with --from-dir", input: true,
		},
		"an entrypoint that scratch does not have": {
			opts: Options{FromDir: dir, Entrypoint: []string{"/bin/missing"}, Repo: reg + "/app", Base: Scratch},
			want: `invalid --entrypoint "/bin/missing": not in ` + dir, input: true,
		},
		"a relative entrypoint": {
			opts: Options{FromDir: dir, Entrypoint: []string{"app"}, Repo: reg + "/app", Base: Scratch},
			want: `invalid --entrypoint "app": must be an absolute path`, input: true,
		},
		"a directory holding a named pipe": {
			opts: Options{FromDir: pipe, Entrypoint: []string{"/fifo"}, Repo: reg + "/app", Base: Scratch},
			want: "fifo is a named pipe: only files, directories and symbolic links",
		},
		"a package and a directory at once": {
			opts: with(func(o *Options) { o.FromDir = dir }),
			want: "cannot be used with a Go package", input: true,
		},
	}
	for n, tc := range cases {
		t.Run(n, func(t *testing.T) {
			res, err := Publish(context.Background(), tc.opts)
			if err == nil {
				t.Fatalf("published %v, want an error", res)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			var ie *InputError
			if errors.As(err, &ie) != tc.input {
				t.Errorf("error %q: InputError %v, want %v", err, errors.As(err, &ie), tc.input)
			}
			if got := tagsIn(t, reg+"/app"); len(got) != 0 {
				t.Errorf("the refused publish left tags %v", got)
			}
		})
	}
}

func BenchmarkPublish(b *testing.B) {
	b.Setenv("DOCKER_CONFIG", b.TempDir())
	reg := newRegistry(b, nil)
	pushBase(b, reg+"/base:1", "linux/amd64")
	b.Run("go package onto a base", func(b *testing.B) {
		for b.Loop() {
			if _, err := Publish(context.Background(), Options{Package: "./testdata/hello", Repo: reg + "/hello", Tags: []string{"v1"}, Base: reg + "/base:1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	dir := writeTree(b, map[string]treeEntry{"app": {mode: 0o755, content: strings.Repeat("x", 1<<20)}})
	b.Run("1 MiB directory onto scratch", func(b *testing.B) {
		for b.Loop() {
			if _, err := Publish(context.Background(), Options{FromDir: dir, Entrypoint: []string{"/app"}, Repo: reg + "/dir", Tags: []string{"v1"}, Base: Scratch}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
