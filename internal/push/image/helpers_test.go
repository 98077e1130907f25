package image

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tugboatcd/tugboat/internal/push/image/imagetest"
)

var (
	newRegistry    = imagetest.NewRegistry
	dockerConfig   = imagetest.DockerConfig
	noDockerConfig = imagetest.NoDockerConfig
)

// pushBase pushes a small base image to ref: one layer with /etc/base-release, a
// PATH, a working directory, a command (which publish must drop) and a revision
// label (which publish must replace). One platform pushes an image, several an
// index.
func pushBase(t testing.TB, ref string, platforms ...string) {
	t.Helper()
	pushBaseAs(t, ref, false, platforms...)
}

// pushBaseAs is pushBase in Docker's schema 2 media types when docker is set, as
// many images on Docker Hub still are.
func pushBaseAs(t testing.TB, ref string, docker bool, platforms ...string) {
	t.Helper()
	layerType, imgType, cfgType, idxType := types.OCILayer, types.OCIManifestSchema1, types.OCIConfigJSON, types.OCIImageIndex
	if docker {
		layerType, imgType, cfgType, idxType = types.DockerLayer, types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerManifestList
	}
	var imgs []v1.Image
	for _, s := range platforms {
		pl, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		layer, err := dirLayer(writeTree(t, map[string]treeEntry{
			"etc/":             {mode: 0o755},
			"etc/base-release": {mode: 0o644, content: "base for " + s + "\n"},
		}), time.Unix(0, 0), layerType)
		if err != nil {
			t.Fatal(err)
		}
		img, err := scratch(*pl)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.ConfigMediaType(mutate.MediaType(img, imgType), cfgType)
		img, err = mutate.AppendLayers(img, layer)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Config(img, v1.Config{
			Env:        []string{"PATH=/usr/bin:/bin", "BASE=1"},
			WorkingDir: "/home/base",
			Cmd:        []string{"/bin/sh"},
			Labels:     map[string]string{AnnotationRevision: "base-revision", "base.label": "kept"},
		})
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) == 1 {
		if err := remote.Write(r, imgs[0], remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			t.Fatal(err)
		}
		return
	}
	idx := mutate.IndexMediaType(empty.Index, idxType)
	for i, img := range imgs {
		pl, _ := v1.ParsePlatform(platforms[i])
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
	}
	if err := remote.WriteIndex(r, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		t.Fatal(err)
	}
}

type treeEntry struct {
	mode    os.FileMode
	content string
	link    string
}

// writeTree makes a directory tree; names ending in / are directories. Modes are
// set with chmod so that the umask does not change them.
func writeTree(t testing.TB, entries map[string]treeEntry) string {
	t.Helper()
	dir := t.TempDir()
	for p, e := range entries {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.link != "":
			if err := os.Symlink(e.link, full); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.HasSuffix(p, "/"):
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(full, []byte(e.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(full, e.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pull reads back what was pushed under ref as an image or an index.
func pull(t *testing.T, ref string) *remote.Descriptor {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatalf("failed to pull %s: %v", ref, err)
	}
	return desc
}

// tagsIn lists the tags of repo; a repository that was never pushed has none.
func tagsIn(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("failed to list the tags of %s: %v", repo, err)
	}
	return tags
}

// layerFiles reads a layer's tar headers and file contents by name.
func layerFiles(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	headers, contents := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		headers[h.Name], contents[h.Name] = h, data
	}
	return headers, contents
}

// gitHead is HEAD of the work tree holding dir, read by the git command, or ""
// outside Git: the value the revision label must carry.
func gitHead(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
