package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resmap"
	kerrors "sigs.k8s.io/kustomize/kyaml/errors"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/pkg/envsubst"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
)

// A build has two halves. The first (prepare) runs kustomize and depends only
// on the tree, the directory and the spec fields that go into the generated
// kustomization; the second (finish) applies postBuild substitution and
// commonMetadata, which is all that differs between Kustomizations that
// deploy one directory with different variables. prepared is the first
// half's output, read-only once made, so that a Cache can hand one to many
// finishes at a time.

// prepared is kustomize's output for one build, before postBuild.
type prepared struct {
	// objects are kustomize's resources in output order. When one lacks
	// apiVersion, kind or name the list ends with it (its invalid is set):
	// the build fails there and what follows never matters.
	objects []preparedObject
	// ids counts the objects by kustomize's current id (see idKey), for
	// the collision check after substitution.
	ids map[string]int
	// inputs are Result.Inputs.
	inputs []string
	// escape is the snapshot's note of a symlink out of the repository
	// that kustomize probed but did not need; errors of the finish get it
	// as a prefix, as errors of the build do.
	escape error
	// size is the YAML text of the objects, what a Cache bounds.
	size int64
}

type preparedObject struct {
	invalid string // the error message when apiVersion, kind or name is missing
	name    string // "Kind/namespace/name" for messages
	id      string // idKey of kustomize's current id
	// dollar says a key or value has a '$', so substitution can change it.
	dollar bool
	// disabled is the object's kustomize.toolkit.fluxcd.io/substitute:
	// disabled label or annotation.
	disabled bool
	// text is the object as kustomize encodes it (Resource.AsYAML), the
	// text Flux runs envsubst on; textErr is why it could not be encoded
	// (a value JSON cannot carry, such as .inf), and encodeErr that error
	// as ResMap.AsYaml reports it.
	text      []byte
	textErr   error
	encodeErr error

	// decoded is text read back as the objects of the build (more than one
	// for a List, none for a kustomize config), made on first use; the
	// finish hands out deep copies.
	once      sync.Once
	decoded   []*unstructured.Unstructured
	decodeErr error

	// slots is text read for substituteScalars, on the second substitution.
	substitutions atomic.Int64
	slotsOnce     sync.Once
	slots         scalarSlots
}

func (o *preparedObject) decode() ([]*unstructured.Unstructured, error) {
	o.once.Do(func() {
		o.decoded, o.decodeErr = ssautil.ReadObjects(bytes.NewReader(o.text))
	})
	return o.decoded, o.decodeErr
}

// newPrepared records kustomize's output m.
func newPrepared(m resmap.ResMap, inputs []string) *prepared {
	p := &prepared{inputs: inputs, ids: make(map[string]int, m.Size())}
	// Resource ids read kustomize's OpenAPI schema (is the kind cluster
	// scoped?), a global; see openAPIMu.
	openAPIMu.RLock()
	defer openAPIMu.RUnlock()
	resources := m.Resources()
	p.objects = make([]preparedObject, len(resources))
	for i, r := range resources {
		o := &p.objects[i]
		if r.GetName() == "" || r.GetKind() == "" || r.GetApiVersion() == "" {
			o.invalid = fmt.Sprintf("failed to decode Kubernetes apiVersion, kind and name from: %v", r.String())
			p.objects = p.objects[:i+1]
			break
		}
		o.name = objectName(r.GetKind(), r.GetNamespace(), r.GetName())
		o.id = idKey(r.CurId())
		p.ids[o.id]++
		o.dollar = hasDollar(r.YNode())
		o.disabled = r.GetLabels()[substituteKey] == substituteDisabled || r.GetAnnotations()[substituteKey] == substituteDisabled
		o.text, o.textErr = r.AsYAML()
		if o.textErr != nil {
			fields, _ := r.Map()
			o.encodeErr = kerrors.WrapPrefixf(o.textErr, "%#v", fields)
		}
	}
	return p
}

// Flux's opt-out of substitution for one object (fluxcd/pkg/kustomize
// substituteAnnotationKey and DisabledValue).
const (
	substituteKey      = "kustomize.toolkit.fluxcd.io/substitute"
	substituteDisabled = "disabled"
)

// idKey is what kustomize compares when it looks an object up by id
// (resid.ResId.Equals): group, version, kind, name and the effective
// namespace, in which "" and "default" are one for a namespaced kind.
func idKey(id resid.ResId) string {
	return id.Group + "\x00" + id.Version + "\x00" + id.Kind + "\x00" + id.Name + "\x00" + id.EffectiveNamespace()
}

// finish turns kustomize's output into the build's result for in: postBuild
// substitution, decoding, commonMetadata. It gives what kustomize-controller
// gets from SubstituteVariables per object, ResMap.Replace, AsYaml and
// ReadObjects, with the same errors in the same order, without the YAML and
// JSON round trips of the objects that substitution does not change, and
// with one YAML to JSON conversion for those it does. p is not modified.
func (p *prepared) finish(in Input) (res *Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, panicked(in.Path, v)
		}
	}()
	res, err = p.finishObjects(in)
	if err != nil {
		return nil, buildError(err, in.Path, p.escape)
	}
	return res, nil
}

func (p *prepared) finishObjects(in Input) (*Result, error) {
	postBuild := in.Spec.PostBuild != nil
	limits := in.Limits.withDefaults()
	// SubstituteVariables drops newlines from the values it is given.
	vars := make(map[string]string, len(in.Vars))
	for k, v := range in.Vars {
		vars[k] = strings.ReplaceAll(v, "\n", "")
	}
	var ids map[string]int // current ids, copied from p.ids on the first substitution
	// Flux finds these two only after every object was substituted, when
	// it encodes the whole build and reads it back.
	var encodeErr, decodeErr error
	objects := make([]*unstructured.Unstructured, 0, len(p.objects))
	for i := range p.objects {
		o := &p.objects[i]
		if o.invalid != "" {
			return nil, &Error{Path: in.Path, Message: o.invalid}
		}
		if postBuild && o.dollar {
			if o.textErr != nil {
				return nil, &Error{Path: in.Path, Message: fmt.Sprintf("post build failed for '%s': %v", o.name, o.textErr), Err: o.textErr}
			}
			if !o.disabled {
				id, name := o.id, o.name
				var subst decodedObjects
				if len(vars) > 0 {
					var err error
					subst, id, name, err = o.substitute(vars, in.StrictSubstitution, limits.ManifestBytes)
					if errors.Is(err, errTooLarge) {
						return nil, limitError(in.Path, "post build substitution makes '%s' larger than %d bytes, the limit per manifest (ManifestBytes)",
							o.name, limits.ManifestBytes)
					}
					if err != nil {
						return nil, &Error{Path: in.Path, Message: fmt.Sprintf("post build failed for '%s': %v", o.name, err), Err: err}
					}
				}
				// ResMap.Replace finds the object again by its id, which
				// fails when substitution made it another object's id.
				if ids == nil {
					ids = make(map[string]int, len(p.ids))
					for k, n := range p.ids {
						ids[k] = n
					}
				}
				ids[o.id]--
				ids[id]++
				if n := ids[id]; n > 1 {
					err := kerrors.WrapPrefixf(fmt.Errorf("id matched %d resources", n), "in Replace")
					return nil, &Error{Path: in.Path, Message: fmt.Sprintf("post build failed for '%s': %v", name, err), Err: err}
				}
				if len(vars) > 0 {
					// Without variables Flux leaves the object as it was.
					if subst.err != nil && decodeErr == nil {
						decodeErr = subst.err
					}
					objects = append(objects, subst.objects...)
					continue
				}
			}
		}
		if o.textErr != nil {
			if encodeErr == nil {
				encodeErr = o.encodeErr
			}
			continue
		}
		decoded, err := o.decode()
		if err != nil && decodeErr == nil {
			decodeErr = err
		}
		for _, d := range decoded {
			objects = append(objects, d.DeepCopy())
		}
	}
	if encodeErr != nil {
		return nil, fmt.Errorf("failed to encode the build: %w", encodeErr)
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("failed to decode the build: %w", decodeErr)
	}
	if cm := in.Spec.CommonMetadata; cm != nil {
		ssautil.SetCommonMetadata(objects, cm.Labels, cm.Annotations)
	}
	encoded, digest, err := encodeObjects(objects)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the build: %w", err)
	}
	return &Result{Objects: objects, Encoded: encoded, Inputs: append([]string(nil), p.inputs...), Digest: digest}, nil
}

// decodedObjects are a substituted object read back, or why it could not be.
type decodedObjects struct {
	objects []*unstructured.Unstructured
	err     error
}

// substitute is SubstituteVariables (fluxcd/pkg/kustomize kustomize_varsub.go)
// on the object's text in dry-run mode with the variables as
// spec.postBuild.substitute, up to the point where Flux puts the resulting
// JSON back into the resource. It returns the objects that JSON decodes to
// as the rest of Flux's path would (see fluxNumbers), the object's new id
// and name, and an error only where SubstituteVariables fails. vars must
// not be empty: without variables Flux leaves the object as it was.
func (o *preparedObject) substitute(vars map[string]string, strict bool, max int64) (decodedObjects, string, string, error) {
	text, err := substituteText(o.text, vars, strict, max)
	if errors.Is(err, errTooLarge) {
		return decodedObjects{}, "", "", err
	}
	if err != nil {
		return decodedObjects{}, "", "", fmt.Errorf("envsubst error: %w", err)
	}
	// Reading the slots costs about two substitutions the slow way, so an
	// object substituted only once (a build no Cache keeps) never pays it.
	var m map[string]any
	fast := false
	if o.substitutions.Add(1) > 1 {
		o.slotsOnce.Do(func() { o.slots = readSlots(o.text) })
		m, fast = o.slots.substituteScalars(o.text, text, lookup(vars, strict))
	}
	var data []byte
	if !fast || !isOneObject(m) {
		if data, err = yaml.YAMLToJSON([]byte(text)); err != nil {
			return decodedObjects{}, "", "", fmt.Errorf("envsubst error: YAMLToJSON: %w", err)
		}
		// Resource.UnmarshalJSON (kyaml RNode.UnmarshalJSON) decodes into a
		// map with encoding/json, which is where Flux's numbers become float64.
		m = nil
		if err := json.Unmarshal(data, &m); err != nil {
			return decodedObjects{}, "", "", fmt.Errorf("UnmarshalJSON: %w", err)
		}
	}
	str := func(v any) string { s, _ := v.(string); return s }
	meta, _ := m["metadata"].(map[string]any)
	apiVersion, kind, name, namespace := str(m["apiVersion"]), str(m["kind"]), str(meta["name"]), str(meta["namespace"])
	group, version := resid.ParseGroupVersion(apiVersion)
	openAPIMu.RLock()
	id := idKey(resid.NewResIdWithNamespace(resid.NewGvk(group, version, kind), name, namespace))
	openAPIMu.RUnlock()
	return decodeSubstituted(data, m), id, objectName(kind, namespace, name), nil
}

// isOneObject reports whether m is read back as itself: one Kubernetes object,
// not a list or a kustomize config.
func isOneObject(m map[string]any) bool {
	u := &unstructured.Unstructured{Object: m}
	_, hasItems := m["items"]
	return !hasItems && u.GetKind() != "" && ssautil.IsKubernetesObject(u) && !ssautil.IsKustomization(u)
}

// decodeSubstituted reads the JSON of a substituted object, already decoded
// into m, as ReadObjects reads the YAML Flux encodes it to. The common case,
// one Kubernetes object, is m itself with Flux's numbers; a list, a kustomize
// config or something that is no object go through ReadObjects.
func decodeSubstituted(data []byte, m map[string]any) decodedObjects {
	if isOneObject(m) {
		fluxNumbers(m)
		return decodedObjects{objects: []*unstructured.Unstructured{{Object: m}}}
	}
	objects, err := ssautil.ReadObjects(bytes.NewReader(data))
	for _, obj := range objects {
		fluxNumbers(obj.Object)
	}
	return decodedObjects{objects: objects, err: err}
}

// fluxNumbers gives the numbers of a substituted object the types they end
// up with in Flux. There the object goes into a kyaml node from a map that
// encoding/json filled with float64, back out to JSON through float64 (which
// encoding/json writes without exponent below 1e21), to YAML, and is read by
// ReadObjects, which makes an int64 of every integer that fits. So an
// integral float64 within int64's range becomes that int64, and an integer
// beyond 2^53 is rounded to a float64 on the way.
func fluxNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fluxNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fluxNumbers(e)
		}
	case int64:
		if x > 1<<53 || x < -(1<<53) {
			return fluxNumbers(float64(x))
		}
	case float64:
		if x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
			return int64(x)
		}
	}
	return v
}

// varsubRegex is Flux's rule for variable names.
var varsubRegex = regexp.MustCompile("^[_[:alpha:]][_[:alpha:][:digit:]]*$")

// varSubstitution is fluxcd/pkg/kustomize's varSubstitution
// (kustomize_varsub.go, v1.41.0), copied because it is unexported and the
// exported SubstituteVariables only works on a kustomize Resource: it takes
// the object's YAML from the resource and puts the result back into it, the
// round trips this package avoids. Only the regular expression is compiled
// once instead of per call, and the envsubst half is substituteText, which
// substitute also calls on its own. Keep it in step with Flux on upgrades;
// TestVarSubstitutionIsFlux compares the two.
func varSubstitution(data []byte, vars map[string]string, strict bool) ([]byte, error) {
	output, err := substituteText(data, vars, strict, math.MaxInt64)
	if err != nil {
		return nil, err
	}

	jsonData, err := yaml.YAMLToJSON([]byte(output))
	if err != nil {
		return nil, fmt.Errorf("YAMLToJSON: %w", err)
	}

	return jsonData, nil
}

// substituteText is the first half of varSubstitution: the variables checked
// and put into the text. It stops at max bytes of output (errTooLarge): a
// manifest of a million ${X} and a 1 MiB X from a ConfigMap would otherwise
// make a terabyte.
func substituteText(data []byte, vars map[string]string, strict bool, max int64) (string, error) {
	for v := range vars {
		if !varsubRegex.MatchString(v) {
			return "", fmt.Errorf("'%s' var name is invalid, must match '%s'", v, varsubRegex.String())
		}
	}

	// The text plus every value put into it bounds the output; once past
	// max the values are left out, and the result thrown away.
	look, size, over := lookup(vars, strict), int64(len(data)), false
	output, err := envsubst.Eval(string(data), func(name string) (string, bool) {
		v, ok := look(name)
		if size += int64(len(v)); size > max {
			over = true
			return "", ok
		}
		return v, ok
	})
	if over {
		return "", errTooLarge
	}
	if err != nil {
		return "", fmt.Errorf("variable substitution failed: %w", err)
	}
	return output, nil
}

// errTooLarge is a substitution stopped at the limit per manifest.
var errTooLarge = errors.New("substitution made the object larger than the limit per manifest")

func lookup(vars map[string]string, strict bool) func(string) (string, bool) {
	return func(s string) (string, bool) {
		if strict {
			v, exists := vars[s]
			return v, exists
		}
		return vars[s], true
	}
}

// encodeObjects encodes each object as JSON and returns the encodings with
// "sha256:<hex>" of them one after the other (each followed by a newline, as
// json.Encoder writes them), in order.
func encodeObjects(objects []*unstructured.Unstructured) ([][]byte, string, error) {
	h := sha256.New()
	out := make([][]byte, 0, len(objects))
	for _, o := range objects {
		data, err := json.Marshal(o.Object)
		if err != nil {
			return nil, "", fmt.Errorf("failed to encode %s: %w", objectName(o.GetKind(), o.GetNamespace(), o.GetName()), err)
		}
		h.Write(data)
		h.Write([]byte{'\n'})
		out = append(out, data)
	}
	return out, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
