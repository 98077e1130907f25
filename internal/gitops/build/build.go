package build

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

// Input is everything a build reads besides the files.
type Input struct {
	// Path is spec.path, relative to the repository root ("./apps/x", "",
	// "apps/x/"); a leading "/" means the root too, as in Flux.
	Path string
	// Spec supplies targetNamespace, namePrefix, nameSuffix, patches (and
	// the deprecated patchesStrategicMerge and patchesJson6902), images,
	// components, ignoreMissingComponents, commonMetadata and, by being
	// set, postBuild.
	Spec kustomizev1.KustomizationSpec
	// Vars are the postBuild variables, merged by the caller in Flux's
	// order, later wins: the data of each spec.postBuild.substituteFrom
	// entry in list order, then spec.postBuild.substitute. Newlines in
	// values are dropped here, as Flux does. Vars are used only when
	// Spec.PostBuild is set; with no vars nothing is substituted, not even
	// defaults (Flux's default "WithVariables" strategy).
	Vars map[string]string
	// StrictSubstitution fails the build on a variable that is neither set
	// nor has a default, like Flux's StrictPostBuildSubstitutions feature
	// gate. Off by default, as in Flux: such a variable becomes "".
	StrictSubstitution bool
	// Name and Namespace are the Kustomization's own, used in messages.
	Name, Namespace string
	// Limits bound the build; zero fields take DefaultLimits.
	Limits Limits
}

// Result is a successful build.
type Result struct {
	// Objects are the built objects in kustomize's output order, with
	// commonMetadata set.
	Objects []*unstructured.Unstructured
	// Encoded holds each of Objects as JSON (encoding/json), in order: what
	// Digest is computed from, for callers that keep the objects encoded.
	Encoded [][]byte
	// Inputs are the tree paths the result depends on, sorted: every file
	// and symlink the build read, and every entry under Path, so that a
	// file added to a directory whose kustomization is generated changes
	// the set. Files that were only probed for and are absent are not in
	// it; see Build.
	Inputs []string
	// Digest is "sha256:<hex>" of Objects, each encoded as JSON by
	// encoding/json in order: it changes exactly when what would be applied
	// does. (Flux's status.history digest is of the YAML before
	// commonMetadata; a cached build never makes that YAML.)
	Digest string
}

// Error is a build failure. Reason is the Ready condition reason the
// controller reports: meta.ArtifactFailedReason when spec.path does not
// lead to a directory of the repository (as Flux reports it), else
// meta.BuildFailedReason.
type Error struct {
	Reason string
	// Path is the repository path at fault when known: the file with
	// invalid YAML, the kustomization with a remote base, spec.path.
	Path    string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// inFile finds the file named in kyaml's YAML syntax errors and in
// kustomize's duplicate-object error.
var inFile = regexp.MustCompile(`in File: (\S+)|merging resources from '([^']+)'`)

// offlineRef finds the location in the refusal of tugboat's kustomize loader,
// which never reaches the network (third_party/kustomize-api/OFFLINE.md).
var offlineRef = regexp.MustCompile(`remote location '([^']+)' refused: builds are offline`)

// openAPIMu makes the rare build that sets a kustomization's `openapi:`
// field run alone. kustomize keeps the OpenAPI schema in a process global
// (kyaml/openapi); such a build replaces it, so running it next to others
// would race and leak its schema into them. Flux resets the schema around
// every build under one mutex for all builds (and reparses the built-in
// schema each time, which costs more than a small build); here builds share
// the read lock, and a build that reads a kustomization file mentioning
// openapi stops at that read and runs again under the write lock.
var openAPIMu sync.RWMutex

// Build runs kustomize on the directory in.Path of a repository snapshot:
// files maps slash-separated paths relative to the root to contents, and
// symlinks maps the paths of symbolic links to their targets as stored in
// Git. Neither is modified, and both may be shared by concurrent builds.
//
// The build matches Flux's kustomize-controller: a kustomization file is
// generated when the directory has none, the spec's transforms are added to
// it, kustomize runs with LoadRestrictionsNone (files may come from
// anywhere in the repository, never outside it) and builtin plugins only,
// and postBuild substitution runs per object. Unlike Flux, nothing remote is
// loaded: kustomize's loader has no network (third_party/kustomize-api), so a
// remote base, a generator's http(s) file or a patch's URL fails the build,
// and a spec.path that climbs out of the repository is an error rather than
// being clamped to the root.
//
// Errors are *Error. Result.Inputs lists what the build read; a file that
// appears where kustomize only probed (a second kustomization file next to
// one it read, say) is not in it, so a caller that skips builds on
// unchanged inputs must also treat new entries in the directories of the
// inputs as a change, or rebuild on every new tree.
func Build(files map[string][]byte, symlinks map[string]string, in Input) (*Result, error) {
	p, _, err := prepare(files, symlinks, in)
	if err != nil {
		return nil, err
	}
	return p.finish(in)
}

// prepare runs the half of a build that postBuild and commonMetadata do not
// affect (see prepared). cacheable is false for a build that had to run
// alone for its own OpenAPI schema: such builds are rare, and a Cache does
// not keep them so that they stay exactly as Build makes them.
func prepare(files map[string][]byte, symlinks map[string]string, in Input) (p *prepared, cacheable bool, err error) {
	// kustomize can panic on odd input; Flux recovers from it too.
	defer func() {
		if v := recover(); v != nil {
			p, cacheable, err = nil, false, panicked(in.Path, v)
		}
	}()
	s := newSnapshotFS(files, symlinks).withLimits(in.Limits)
	dir, err := buildDir(s, in.Path)
	if err != nil {
		return nil, false, err
	}
	p, err = run(s, dir, in)
	cacheable = !s.wantsOpenAPI
	if s.wantsOpenAPI {
		deadline := s.deadline
		s = newSnapshotFS(files, symlinks).withLimits(in.Limits)
		s.exclusive, s.deadline = true, deadline
		p, err = run(s, dir, in)
	}
	if lerr := s.limitError(); lerr != nil {
		err = lerr
	}
	if err == nil {
		err = s.pastDeadline(in.Path)
	}
	if err == nil && len(p.objects) > s.limits.Objects {
		err = limitError(in.Path, "the build of '%s' makes %d objects, more than the limit of %d per build (Objects)",
			in.Path, len(p.objects), s.limits.Objects)
	}
	if err != nil {
		return nil, false, buildError(err, in.Path, s.escapeErr())
	}
	p.escape = s.escapeErr()
	for i := range p.objects {
		p.size += int64(len(p.objects[i].text))
	}
	return p, cacheable, nil
}

func panicked(p string, v any) *Error {
	return &Error{Reason: meta.BuildFailedReason, Path: p,
		Message: fmt.Sprintf("kustomize build of '%s' panicked: %v", p, v)}
}

// buildError makes err an *Error for spec.path p. esc is the snapshot's
// escape error, if any.
func buildError(err error, p string, esc error) *Error {
	var be *Error
	if !errors.As(err, &be) {
		be = &Error{Path: p, Message: err.Error(), Err: err}
	}
	if be.Reason == "" {
		be.Reason = meta.BuildFailedReason
	}
	// A symlink out of the repository that kustomize only probed shows
	// up as "not found"; name the link, which is what to fix.
	if esc != nil && !strings.Contains(be.Message, esc.Error()) {
		be.Message = esc.Error() + ": " + be.Message
	}
	return be
}

// cleanPath is spec.path as a slash-separated path relative to the root,
// "." for the root itself; it starts with ".." when it climbs out.
func cleanPath(p string) string {
	return path.Clean("./" + strings.TrimLeft(strings.ReplaceAll(p, "\\", "/"), "/"))
}

// buildDir resolves spec.path to a directory of the tree.
func buildDir(s *snapshotFS, p string) (string, error) {
	clean := cleanPath(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", &Error{Reason: meta.ArtifactFailedReason, Path: p,
			Message: fmt.Sprintf("kustomization path '%s' is outside the repository", p)}
	}
	dir, err := s.resolve(rel(clean))
	if err != nil {
		return "", &Error{Reason: meta.ArtifactFailedReason, Path: p,
			Message: fmt.Sprintf("kustomization path '%s' is not in the repository: %v", p, err), Err: err}
	}
	isFile, isDir := s.stat(dir)
	switch {
	case isDir:
		return dir, nil
	case isFile:
		return "", &Error{Reason: meta.ArtifactFailedReason, Path: p,
			Message: fmt.Sprintf("kustomization path '%s' is a file, not a directory", p)}
	default:
		return "", &Error{Reason: meta.ArtifactFailedReason, Path: p,
			Message: fmt.Sprintf("kustomization path not found: %s", p)}
	}
}

// run generates the kustomization and runs kustomize.
func run(s *snapshotFS, dir string, in Input) (*prepared, error) {
	if _, err := generate(s, dir, &in.Spec); err != nil {
		return nil, err
	}
	m, err := kustomize(s, dir)
	if err != nil {
		return nil, kustomizeError(s, err, in.Path)
	}
	return newPrepared(m, s.inputs(dir)), nil
}

// kustomizeError makes kustomize's error for the build of spec.path p say
// which file of the repository is at fault.
func kustomizeError(s *snapshotFS, err error, p string) *Error {
	if m := offlineRef.FindStringSubmatch(err.Error()); m != nil {
		// The loader only says which location it refused; the file to fix
		// is the last one read that names it.
		r := s.mentioning(m[1])
		if r == "" {
			r = p
		}
		return &Error{Path: r, Message: fmt.Sprintf("%s references the remote '%s': builds are offline and fetch nothing, "+
			"vendor it into the repository or add it as another source", r, m[1]), Err: err}
	}
	// kustomize names a file relative to the kustomization that lists it;
	// say which file of the repository that is.
	if m := inFile.FindStringSubmatch(err.Error()); m != nil {
		if r := s.locate(m[1] + m[2]); r != "" {
			return &Error{Path: r, Message: fmt.Sprintf("kustomize build failed at %s: %v", r, err), Err: err}
		}
	}
	return &Error{Path: p, Message: fmt.Sprintf("kustomize build failed: %v", err), Err: err}
}

// kustomize runs krusty on the snapshot. Each call has its own Kustomizer,
// and with it its own dependency provider, resource factory and loader, so
// builds share nothing but kustomize's OpenAPI schema (see openAPIMu).
func kustomize(s *snapshotFS, dir string) (resmap.ResMap, error) {
	if s.exclusive {
		openAPIMu.Lock()
		defer openAPIMu.Unlock()
		defer openapi.ResetOpenAPI()
	} else {
		openAPIMu.RLock()
		defer openAPIMu.RUnlock()
	}
	k := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	})
	return k.Run(s, abs(dir))
}

func hasDollar(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if strings.Contains(n.Value, "$") {
		return true
	}
	for _, c := range n.Content {
		if hasDollar(c) {
			return true
		}
	}
	return false
}

func objectName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// inputs is the sorted set of tree paths read plus every entry under dir.
func (s *snapshotFS) inputs(dir string) []string {
	s.mu.Lock()
	set := make(map[string]struct{}, len(s.read))
	for r := range s.read {
		set[r] = struct{}{}
	}
	s.mu.Unlock()
	for _, e := range s.under(dir) {
		set[e] = struct{}{}
	}
	out := make([]string, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
