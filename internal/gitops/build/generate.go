package build

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// The kustomization file is generated here rather than with Flux's
// kustomize.Generator because that type only works on disk: its filesystem
// is always MakeFsOnDisk or the secure on-disk one, with no way to pass
// another. This is a port of its GenerateManifest and scanManifests
// (fluxcd/pkg/kustomize v1.41.0 kustomize_generator.go) over the snapshot,
// keeping its rules: an existing kustomization file is read and extended;
// otherwise every .yaml/.yml file that parses as Kubernetes YAML is listed,
// and a sub-directory with its own kustomization file is listed as a
// directory and not descended into. Then the spec's transforms are written
// into it in Flux's order.

// isKustomizationFile reports whether tree path r has a name kustomize
// recognises as a kustomization file.
func isKustomizationFile(r string) bool {
	return slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(r))
}

// findKustomization returns the kustomization file directly in the
// resolved directory dir, or "", in kustomize's order of preference.
func (s *snapshotFS) findKustomization(dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if isFile, _ := s.stat(mustResolve(s, join(dir, name))); isFile {
			return join(dir, name)
		}
	}
	return ""
}

func mustResolve(s *snapshotFS, r string) string {
	resolved, err := s.resolve(r)
	if err != nil {
		return r
	}
	return resolved
}

// generate writes the kustomization for the resolved directory dir into the
// snapshot's overlay and returns its tree path.
func generate(s *snapshotFS, dir string, spec *kustomizev1.KustomizationSpec) (string, error) {
	kus := kustypes.Kustomization{
		TypeMeta: kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
	}
	kfile := s.findKustomization(dir)
	if kfile != "" {
		data, err := s.ReadFile(abs(kfile))
		if err != nil {
			return "", err
		}
		if err := yaml.Unmarshal(data, &kus); err != nil {
			return "", &Error{Path: kfile, Message: fmt.Sprintf("failed to parse %s: %v", kfile, err), Err: err}
		}
		// An empty kustomization would fail the build with "kustomization.yaml
		// is empty"; Flux sets build metadata to avoid that.
		if len(kus.Resources) == 0 {
			kus.BuildMetadata = []string{kustypes.OriginAnnotations}
		}
	} else {
		kfile = join(dir, konfig.DefaultKustomizationFileName())
		resources, err := scanManifests(s, dir)
		if err != nil {
			return "", err
		}
		if len(resources) == 0 {
			// Flux's placeholder, for the same "empty" error.
			kus.Namespace = "_placeholder"
		}
		kus.Resources = resources
	}

	if spec.TargetNamespace != "" {
		kus.Namespace = spec.TargetNamespace
	}
	if spec.NamePrefix != "" {
		kus.NamePrefix = spec.NamePrefix
	}
	if spec.NameSuffix != "" {
		kus.NameSuffix = spec.NameSuffix
	}
	for i, p := range spec.Patches {
		// kustomize expands a patch's aliases as it reads it, as a file's.
		if err := checkManifest(fmt.Sprintf("spec.patches[%d]", i), []byte(p.Patch), s.limits.ManifestBytes); err != nil {
			return "", err
		}
		kus.Patches = append(kus.Patches, kustypes.Patch{Patch: p.Patch, Target: adaptSelector(p.Target)})
	}
	for _, c := range spec.Components {
		if !fluxkustomize.IsLocalRelativePath(c) {
			return "", &Error{Path: c, Message: fmt.Sprintf("component path '%s' must be local and relative", c)}
		}
		if spec.IgnoreMissingComponents && !s.Exists(abs(join(dir, c))) {
			continue
		}
		kus.Components = append(kus.Components, c)
	}
	for _, p := range spec.PatchesStrategicMerge {
		//nolint:staticcheck // Flux's deprecated field, still accepted from old manifests.
		kus.PatchesStrategicMerge = append(kus.PatchesStrategicMerge, kustypes.PatchStrategicMerge(p.Raw))
	}
	for _, p := range spec.PatchesJSON6902 {
		patch, err := json.Marshal(p.Patch)
		if err != nil {
			return "", fmt.Errorf("failed to encode patchesJson6902: %w", err)
		}
		target := p.Target
		//nolint:staticcheck // Flux's deprecated field, still accepted from old manifests.
		kus.PatchesJson6902 = append(kus.PatchesJson6902, kustypes.Patch{Patch: string(patch), Target: adaptSelector(&target)})
	}
	for _, img := range spec.Images {
		i := slices.IndexFunc(kus.Images, func(k kustypes.Image) bool { return k.Name == img.Name })
		if i < 0 {
			kus.Images = append(kus.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
			continue
		}
		// Merge into the kustomization's own entry, as an overlay would;
		// tag and digest both pick the version, so they change together.
		if img.NewName != "" {
			kus.Images[i].NewName = img.NewName
		}
		if img.NewTag != "" || img.Digest != "" {
			kus.Images[i].NewTag, kus.Images[i].Digest = img.NewTag, img.Digest
		}
	}

	data, err := yaml.Marshal(kus)
	if err != nil {
		return "", fmt.Errorf("failed to encode the generated kustomization: %w", err)
	}
	s.overlay[kfile] = data
	return kfile, nil
}

func adaptSelector(sel *kustomizev1.Selector) *kustypes.Selector {
	if sel == nil {
		return nil
	}
	out := &kustypes.Selector{LabelSelector: sel.LabelSelector, AnnotationSelector: sel.AnnotationSelector}
	out.Group, out.Version, out.Kind = sel.Group, sel.Version, sel.Kind
	out.Name, out.Namespace = sel.Name, sel.Namespace
	return out
}

// scanManifests lists the resources of a generated kustomization, relative
// to dir ("./x.yaml", "./sub"), in the order of Flux's walk.
func scanManifests(s *snapshotFS, dir string) ([]string, error) {
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	base := abs(dir)
	var resources []string
	err := s.Walk(base, func(p string, info os.FileInfo, err error) (walkErr error) {
		if err != nil {
			return err
		}
		r := rel(p)
		if p == base {
			return nil
		}
		if info.IsDir() {
			if s.findKustomization(r) != "" {
				resources = append(resources, "./"+strings.TrimPrefix(r, dir+"/"))
				return filepath.SkipDir
			}
			return nil
		}
		if ext := path.Ext(r); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := s.ReadFile(p)
		if err != nil {
			return err
		}
		// kustomize's YAML parser can panic on odd input; Flux recovers too.
		defer func() {
			if v := recover(); v != nil {
				walkErr = &Error{Path: r, Message: fmt.Sprintf("failed to decode Kubernetes YAML from %s: %v", r, v)}
			}
		}()
		if _, err := rf.SliceFromBytes(data); err != nil {
			return &Error{Path: r, Message: fmt.Sprintf("failed to decode Kubernetes YAML from %s: %v", r, err), Err: err}
		}
		if dir == "" {
			resources = append(resources, "./"+r)
		} else {
			resources = append(resources, "./"+strings.TrimPrefix(r, dir+"/"))
		}
		return nil
	})
	return resources, err
}
