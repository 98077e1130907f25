package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"

	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	ssautil "github.com/fluxcd/pkg/ssa/utils"

	"github.com/tugboatcd/tugboat/api/meta"
)

// referenceBuild is Build as it was before the cache (docs/design/2026-11-26-build-cache.md): the
// kustomize output goes through Flux's own SubstituteVariables per object,
// is re-indexed with ResMap.Replace, encoded with AsYaml and read back with
// ReadObjects. The tests hold the shared finish code to it, so that the
// shortcut (envsubst on the cached text, JSON straight to objects) is shown
// to give Flux's result rather than only agreeing with itself. Its Digest is
// the old one (of the YAML), which the tests do not compare.
func referenceBuild(files map[string][]byte, symlinks map[string]string, in Input) (res *Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, &Error{Reason: meta.BuildFailedReason, Path: in.Path,
				Message: fmt.Sprintf("kustomize build of '%s' panicked: %v", in.Path, v)}
		}
	}()
	s := newSnapshotFS(files, symlinks)
	dir, err := buildDir(s, in.Path)
	if err != nil {
		return nil, err
	}
	res, err = referenceRun(s, dir, in)
	if s.wantsOpenAPI {
		s = newSnapshotFS(files, symlinks)
		s.exclusive = true
		res, err = referenceRun(s, dir, in)
	}
	if err != nil {
		var be *Error
		if !errors.As(err, &be) {
			be = &Error{Path: in.Path, Message: err.Error(), Err: err}
		}
		if be.Reason == "" {
			be.Reason = meta.BuildFailedReason
		}
		if esc := s.escapeErr(); esc != nil && !strings.Contains(be.Message, esc.Error()) {
			be.Message = esc.Error() + ": " + be.Message
		}
		return nil, be
	}
	return res, nil
}

func referenceRun(s *snapshotFS, dir string, in Input) (*Result, error) {
	if _, err := generate(s, dir, &in.Spec); err != nil {
		return nil, err
	}
	m, err := kustomize(s, dir)
	if err != nil {
		return nil, kustomizeError(s, err, in.Path)
	}
	for _, r := range m.Resources() {
		if r.GetName() == "" || r.GetKind() == "" || r.GetApiVersion() == "" {
			return nil, &Error{Path: in.Path, Message: fmt.Sprintf(
				"failed to decode Kubernetes apiVersion, kind and name from: %v", r.String())}
		}
		if in.Spec.PostBuild == nil {
			continue
		}
		replaced, err := referenceSubstitute(r, in)
		if err != nil {
			return nil, err
		}
		if !replaced {
			continue
		}
		if _, err := m.Replace(r); err != nil {
			return nil, &Error{Path: in.Path, Message: fmt.Sprintf(
				"post build failed for '%s': %v", objectName(r.GetKind(), r.GetNamespace(), r.GetName()), err), Err: err}
		}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("failed to encode the build: %w", err)
	}
	sum := sha256.Sum256(out)
	objects, err := ssautil.ReadObjects(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("failed to decode the build: %w", err)
	}
	if cm := in.Spec.CommonMetadata; cm != nil {
		ssautil.SetCommonMetadata(objects, cm.Labels, cm.Annotations)
	}
	return &Result{Objects: objects, Inputs: s.inputs(dir), Digest: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

func referenceSubstitute(res *resource.Resource, in Input) (bool, error) {
	if !hasDollar(res.YNode()) {
		return false, nil
	}
	vars := make(map[string]any, len(in.Vars))
	for k, v := range in.Vars {
		vars[k] = v
	}
	ks := unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"postBuild": map[string]any{"substitute": vars}},
	}}
	out, err := fluxkustomize.SubstituteVariables(context.Background(), nil, ks, res,
		fluxkustomize.SubstituteWithDryRun(true),
		fluxkustomize.SubstituteWithStrict(in.StrictSubstitution))
	if err != nil {
		return false, &Error{Path: in.Path, Message: fmt.Sprintf("post build failed for '%s': %v",
			objectName(res.GetKind(), res.GetNamespace(), res.GetName()), err), Err: err}
	}
	return out != nil, nil
}
