package diff

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// A Secret's values can reach a diff in more places than data and stringData:
// kubectl's last-applied-configuration annotation holds the whole object as
// JSON (data included), and any other annotation or label may quote a value.
// Like Argo CD's HideSecretData, which masks the last-applied-configuration
// too, maskSecrets masks the structured places; then, going further, it
// replaces every remaining occurrence of a value (as written, and base64
// decoded) anywhere in the two objects. managedFields, which name keys but
// hold no values, are dropped by comparable.

// maskedValue replaces a value that is the same before and after.
const maskedValue = "***"

// minMaskedLen is the shortest value searched for in free text: masking
// every "a" or "1" would mangle the diff without hiding anything.
const minMaskedLen = 4

// maskSecrets replaces Secret values so that none is printed: equal values become
// "***", differing ones "*** (before)" and "*** (after)", as Flux's diff masks them.
func maskSecrets(before, after map[string]any) {
	values := secretValues(before, after)
	maskFields(before, after)
	maskLastApplied(before, after)
	for _, obj := range []map[string]any{before, after} {
		scrubAll(obj, values)
	}
}

// scrubAll replaces values in every string value of v. Keys are left: a
// Secret's keys are names, not values, and the diff needs them.
func scrubAll(v any, values []string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = scrubAll(e, values)
		}
	case []any:
		for i, e := range x {
			x[i] = scrubAll(e, values)
		}
	case string:
		return scrubValues(x, values)
	}
	return v
}

// maskFields masks data and stringData of the two objects, pairwise.
func maskFields(before, after map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		b, _ := before[field].(map[string]any)
		a, _ := after[field].(map[string]any)
		for k, bv := range b {
			if av, ok := a[k]; ok && av == bv {
				b[k], a[k] = maskedValue, maskedValue
				continue
			}
			b[k] = "*** (before)"
		}
		for k, av := range a {
			if av != maskedValue {
				a[k] = "*** (after)"
			}
		}
	}
}

// maskLastApplied masks the object held in the last-applied-configuration
// annotation of each side as maskFields does, or the whole annotation when
// it is not an object's JSON.
func maskLastApplied(before, after map[string]any) {
	inner := func(obj map[string]any) (map[string]any, map[string]any) {
		md, _ := obj["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		s, ok := ann[corev1.LastAppliedConfigAnnotation].(string)
		if !ok {
			return nil, ann
		}
		var o map[string]any
		if err := json.Unmarshal([]byte(s), &o); err != nil || o == nil {
			ann[corev1.LastAppliedConfigAnnotation] = maskedValue
			return nil, ann
		}
		return o, ann
	}
	b, bAnn := inner(before)
	a, aAnn := inner(after)
	if b == nil && a == nil {
		return
	}
	if b == nil {
		b = map[string]any{}
	}
	if a == nil {
		a = map[string]any{}
	}
	maskFields(b, a)
	for _, side := range []struct {
		obj map[string]any
		ann map[string]any
	}{{b, bAnn}, {a, aAnn}} {
		if _, ok := side.ann[corev1.LastAppliedConfigAnnotation].(string); !ok || side.ann[corev1.LastAppliedConfigAnnotation] == maskedValue {
			continue
		}
		data, err := json.Marshal(side.obj)
		if err != nil {
			side.ann[corev1.LastAppliedConfigAnnotation] = maskedValue
			continue
		}
		side.ann[corev1.LastAppliedConfigAnnotation] = string(data)
	}
}

// secretValues lists every value of the two Secrets, from data and
// stringData and from the objects in their last-applied-configuration, as
// written and base64-decoded, longest first, so that a value containing
// another is replaced whole.
func secretValues(objs ...map[string]any) []string {
	set := map[string]struct{}{}
	var collect func(obj map[string]any, nested bool)
	collect = func(obj map[string]any, nested bool) {
		for _, field := range []string{"data", "stringData"} {
			m, _ := obj[field].(map[string]any)
			for _, v := range m {
				s, ok := v.(string)
				if !ok {
					continue
				}
				set[s] = struct{}{}
				if field == "data" {
					if d, err := base64.StdEncoding.DecodeString(s); err == nil {
						set[string(d)] = struct{}{}
					}
				} else {
					set[base64.StdEncoding.EncodeToString([]byte(s))] = struct{}{}
				}
			}
		}
		if nested {
			return
		}
		md, _ := obj["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		if s, ok := ann[corev1.LastAppliedConfigAnnotation].(string); ok {
			var o map[string]any
			if json.Unmarshal([]byte(s), &o) == nil {
				collect(o, true)
			}
		}
	}
	for _, o := range objs {
		collect(o, false)
	}
	var out []string
	for s := range set {
		if len(s) >= minMaskedLen {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// scrubValues replaces each of values found in s with "***".
func scrubValues(s string, values []string) string {
	for _, v := range values {
		s = strings.ReplaceAll(s, v, maskedValue)
	}
	return s
}
