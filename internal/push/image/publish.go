package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Publish builds the image Options describe and pushes it under every tag. It
// checks the inputs, the Go package, the base image and push access first, and
// pushes only once everything is built, so an error leaves the registry as it was.
func Publish(ctx context.Context, o Options) (*Result, error) {
	p, err := validate(o)
	if err != nil {
		return nil, err
	}
	if p.Keychain == nil {
		p.Keychain = authn.DefaultKeychain
	}
	if p.Transport == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		if p.Insecure {
			t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // --insecure asks for exactly this
		}
		p.Transport = t
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(p.Keychain),
		remote.WithTransport(p.Transport),
		remote.WithUserAgent("tugboat"),
	}

	var pkg *goPackage
	srcDir := p.FromDir
	if p.Package != "" {
		if err := checkGoPlatforms(ctx, p.Dir, p.platforms); err != nil {
			return nil, err
		}
		if pkg, err = listPackage(ctx, p.Dir, p.Package); err != nil {
			return nil, err
		}
		srcDir = pkg.Dir
	}
	src := gitSource(srcDir)

	bases, err := resolveBases(p, ropts)
	if err != nil {
		return nil, err
	}
	// Wrong credentials or a registry that is down should fail before a long build.
	if err := remote.CheckPushPermission(p.tags[0], p.Keychain, p.Transport); err != nil {
		return nil, registryError("push to "+p.repo.Name(), p.tags[0], isAnonymous(p.Keychain, p.tags[0]), err)
	}

	tmp, err := os.MkdirTemp("", "tugboat-image-")
	if err != nil {
		return nil, fmt.Errorf("failed to create a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	images := make([]v1.Image, len(p.platforms))
	dirLayers := map[types.MediaType]v1.Layer{}
	for i, pl := range p.platforms {
		b := bases[i]
		mt := types.DockerLayer
		if b.mediaType == types.OCIManifestSchema1 {
			mt = types.OCILayer
		}
		var layer v1.Layer
		var importPath string
		var entrypoint, pathDirs []string
		if pkg != nil {
			importPath = pkg.ImportPath
			p.progressf("building %s for %s\n", p.Package, pl.String())
			bin, err := buildBinary(ctx, p.Dir, p.Package, pl, tmp, p.BuildTags, p.LDFlags)
			if err != nil {
				return nil, err
			}
			dest := AppDir + "/" + binaryName(pkg.ImportPath)
			if layer, err = binaryLayer(bin, dest, p.created.Time, mt); err != nil {
				return nil, err
			}
			entrypoint = []string{dest}
			pathDirs = []string{AppDir}
		} else {
			if dirLayers[mt] == nil {
				p.progressf("packing %s\n", p.FromDir)
				if dirLayers[mt], err = dirLayer(p.FromDir, p.created.Time, mt); err != nil {
					return nil, err
				}
			}
			layer = dirLayers[mt]
		}
		if len(p.Entrypoint) > 0 {
			entrypoint = p.Entrypoint
		}
		if images[i], err = compose(p, b, layer, mt, importPath, entrypoint, pathDirs, src); err != nil {
			return nil, err
		}
	}

	var target remote.Taggable
	var digest v1.Hash
	if len(images) == 1 {
		target = images[0]
		digest, err = images[0].Digest()
	} else {
		idx := indexOf(images, bases, p.platforms, src)
		target = idx
		digest, err = idx.Digest()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to compute the image digest: %w", err)
	}

	todo := map[name.Reference]remote.Taggable{}
	tags := make([]string, 0, len(p.tags))
	for _, t := range p.tags {
		todo[t] = target
		tags = append(tags, t.TagStr())
	}
	pushOpts := ropts
	done := func() {}
	if p.Progress != nil {
		updates := make(chan v1.Update, 16)
		pushOpts = append(slices.Clone(ropts), remote.WithProgress(updates))
		done = p.showUpload(updates)
	}
	p.progressf("pushing %s (%s)\n", p.repo.Name(), strings.Join(tags, ", "))
	err = remote.MultiWrite(todo, pushOpts...)
	done()
	if err != nil {
		return nil, registryError("push to "+p.repo.Name(), p.tags[0], isAnonymous(p.Keychain, p.tags[0]), err)
	}
	res := &Result{Image: p.repo.Name() + "@" + digest.String(), Digest: digest.String(), Tags: tags}
	for _, pl := range p.platforms {
		res.Platforms = append(res.Platforms, pl.String())
	}
	return res, nil
}

// baseImage is the base for one platform.
type baseImage struct {
	img       v1.Image
	mediaType types.MediaType
	// name and digest are for the base annotations; empty for scratch.
	name   string
	digest v1.Hash
}

// resolveBases finds the base image of every platform: the matching entry of a
// multi-platform base, or a single-platform base whose own platform matches.
func resolveBases(p *plan, ropts []remote.Option) ([]baseImage, error) {
	out := make([]baseImage, len(p.platforms))
	if p.base == nil {
		for i, pl := range p.platforms {
			img, err := scratch(pl)
			if err != nil {
				return nil, err
			}
			out[i] = baseImage{img: img, mediaType: types.OCIManifestSchema1}
		}
		return out, nil
	}
	what := "fetch the base image " + p.base.String()
	desc, err := remote.Get(p.base, ropts...)
	if err != nil {
		return nil, registryError(what, p.base, isAnonymous(p.Keychain, p.base), err)
	}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, registryError(what, p.base, false, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, registryError(what, p.base, false, err)
		}
		var have []string
		for _, m := range im.Manifests {
			if m.Platform != nil && m.MediaType.IsImage() {
				have = append(have, m.Platform.String())
			}
		}
		for i, pl := range p.platforms {
			j := slices.IndexFunc(im.Manifests, func(m v1.Descriptor) bool {
				return m.Platform != nil && m.MediaType.IsImage() && m.Platform.Satisfies(pl)
			})
			if j < 0 {
				return nil, fmt.Errorf("base image %s has no %s image (it has %s): choose a --platform it has or another --base", p.base, pl.String(), strings.Join(have, ", "))
			}
			img, err := idx.Image(im.Manifests[j].Digest)
			if err != nil {
				return nil, registryError(what, p.base, false, err)
			}
			out[i] = baseImage{img: img, mediaType: im.Manifests[j].MediaType, name: p.base.String(), digest: im.Manifests[j].Digest}
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, registryError(what, p.base, false, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, registryError(what, p.base, false, err)
		}
		have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		for i, pl := range p.platforms {
			if !have.Satisfies(pl) {
				return nil, fmt.Errorf("base image %s is %s only, not %s: choose --platform %s or a multi-platform base", p.base, have.String(), pl.String(), have.String())
			}
			out[i] = baseImage{img: img, mediaType: desc.MediaType, name: p.base.String(), digest: desc.Digest}
		}
	default:
		return nil, fmt.Errorf("base image %s is a %s, not an image or an image index", p.base, desc.MediaType)
	}
	return out, nil
}

// scratch is the empty base for one platform, in OCI media types.
func scratch(pl v1.Platform) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to make the scratch image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = pl.OS, pl.Architecture, pl.Variant, pl.OSVersion
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("failed to make the scratch image: %w", err)
	}
	return img, nil
}

// compose puts the layer on the base and sets the config the way ko does: the
// entrypoint, no inherited command (it would become the binary's arguments), the
// base's working directory or /, extra PATH entries, the user's variables, and the
// source labels of this build in place of the base's.
func compose(p *plan, b baseImage, layer v1.Layer, mt types.MediaType, importPath string, entrypoint, pathDirs []string, src sourceInfo) (v1.Image, error) {
	cf, err := b.img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read the base image's config: %w", err)
	}
	cfg := *cf.Config.DeepCopy()
	cfg.Entrypoint = entrypoint
	cfg.Cmd = nil
	if p.User != "" {
		cfg.User = p.User
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = "/"
	}
	for _, d := range pathDirs {
		cfg.Env = setEnv(cfg.Env, "PATH="+appendPath(getEnv(cfg.Env, "PATH"), d))
	}
	for _, kv := range p.Env {
		cfg.Env = setEnv(cfg.Env, kv)
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range map[string]string{AnnotationRevision: src.Revision, AnnotationSource: src.URL} {
		if v == "" {
			delete(cfg.Labels, k)
		} else {
			cfg.Labels[k] = v
		}
	}
	img, err := mutate.Config(b.img, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to set the image config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: mt,
		History:   v1.History{Created: p.created, CreatedBy: "tugboat image publish", Comment: historyComment(importPath)},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to add the layer: %w", err)
	}
	if img, err = mutate.CreatedAt(img, p.created); err != nil {
		return nil, fmt.Errorf("failed to set the creation time: %w", err)
	}
	if b.mediaType != types.OCIManifestSchema1 {
		// Docker schema 2 manifests have no annotations; the labels carry the source.
		return img, nil
	}
	anns := sourceAnnotations(src)
	if b.name != "" {
		anns[AnnotationBaseName] = b.name
		anns[AnnotationBaseDigest] = b.digest.String()
	}
	annotated, ok := mutate.Annotations(img, anns).(v1.Image)
	if !ok {
		return nil, errors.New("failed to annotate the image")
	}
	return annotated, nil
}

// indexOf is the multi-platform index of images, in the bases' manifest family.
func indexOf(images []v1.Image, bases []baseImage, platforms []v1.Platform, src sourceInfo) v1.ImageIndex {
	mt := types.OCIImageIndex
	if !slices.ContainsFunc(bases, func(b baseImage) bool { return b.mediaType != types.DockerManifestSchema2 }) {
		mt = types.DockerManifestList
	}
	idx := mutate.IndexMediaType(empty.Index, mt)
	for i, img := range images {
		pl := platforms[i]
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	if mt == types.OCIImageIndex {
		if annotated, ok := mutate.Annotations(idx, sourceAnnotations(src)).(v1.ImageIndex); ok {
			idx = annotated
		}
	}
	return idx
}

func sourceAnnotations(src sourceInfo) map[string]string {
	anns := map[string]string{}
	if src.Revision != "" {
		anns[AnnotationRevision] = src.Revision
	}
	if src.URL != "" {
		anns[AnnotationSource] = src.URL
	}
	return anns
}

// historyComment says what made the layer without naming local paths, which would
// make the digest depend on where the build ran.
func historyComment(importPath string) string {
	if importPath != "" {
		return "go build " + importPath
	}
	return "directory tree (--from-dir)"
}

func getEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// setEnv replaces KEY's entry or appends it.
func setEnv(env []string, kv string) []string {
	key, _, _ := strings.Cut(kv, "=")
	out := slices.Clone(env)
	for i, e := range out {
		if k, _, _ := strings.Cut(e, "="); k == key {
			out[i] = kv
			return out
		}
	}
	return append(out, kv)
}

// appendPath adds dir to a PATH value, starting from the usual one when the base
// sets none (scratch).
func appendPath(path, dir string) string {
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	if slices.Contains(strings.Split(path, ":"), dir) {
		return path
	}
	return path + ":" + dir
}

func (p *plan) progressf(format string, args ...any) {
	if p.Progress != nil {
		fmt.Fprintf(p.Progress, format, args...)
	}
}

// showUpload prints the upload's bytes on one line as they go; the returned func
// waits for the last update.
func (p *plan) showUpload(updates <-chan v1.Update) func() {
	var wg sync.WaitGroup
	wg.Go(func() {
		shown := false
		for u := range updates {
			if u.Total > 0 {
				fmt.Fprintf(p.Progress, "\ruploading %s / %s", bytesString(u.Complete), bytesString(u.Total))
				shown = true
			}
		}
		if shown {
			fmt.Fprintln(p.Progress)
		}
	})
	return wg.Wait
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
