package apply

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Drifted reports whether live no longer holds every field and value of
// desired, and the path of the first field that differs. It is a subset
// check, so what the server or other managers add (defaults, status, extra
// labels, list items of their own) is no drift. Server-managed metadata and
// status are ignored; quantities and numbers compare by value ("500m" equals
// "0.5", 1 equals 1.0). Lists compare element by element; when live has more
// items than desired (another manager's entries in a keyed list), desired's
// items must appear in live in order.
//
// The controller calls it, through Manager.Observe, when a watch sees a
// managed object change; it sends no request.
func Drifted(desired, live *unstructured.Unstructured) (bool, string) {
	if desired.GetName() != live.GetName() {
		return true, "metadata.name"
	}
	if desired.GetNamespace() != "" && desired.GetNamespace() != live.GetNamespace() {
		return true, "metadata.namespace"
	}
	dmd, _ := desired.Object["metadata"].(map[string]any)
	lmd, _ := live.Object["metadata"].(map[string]any)
	for _, f := range []string{"labels", "annotations"} {
		if want, ok := dmd[f]; ok {
			if ok, path := subset("metadata."+f, want, lmd[f]); !ok {
				return true, path
			}
		}
	}
	for k, want := range desired.Object {
		switch k {
		case "apiVersion", "kind", "metadata", "status":
			continue
		}
		if ok, path := subset(k, want, live.Object[k]); !ok {
			return true, path
		}
	}
	return false, ""
}

// subset reports whether got holds want, and where it does not.
func subset(path string, want, got any) (bool, string) {
	switch w := want.(type) {
	case nil:
		// A null in the desired object asks for nothing.
		return true, ""
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false, path
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present && wv != nil {
				return false, join(path, k)
			}
			if ok, p := subset(join(path, k), wv, gv); !ok {
				return false, p
			}
		}
		return true, ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return len(w) == 0 && got == nil, path
		}
		if len(w) == len(g) {
			for i := range w {
				if ok, p := subset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); !ok {
					return false, p
				}
			}
			return true, ""
		}
		// Only maps can be interleaved with another manager's items; an
		// atomic list of scalars of another length has changed.
		j := 0
		for i := range w {
			if _, isMap := w[i].(map[string]any); !isMap {
				return false, fmt.Sprintf("%s[%d]", path, i)
			}
			matched := false
			for j < len(g) && !matched {
				matched, _ = subset("", w[i], g[j])
				j++
			}
			if !matched {
				return false, fmt.Sprintf("%s[%d]", path, i)
			}
		}
		return true, ""
	default:
		if scalarEqual(want, got) {
			return true, ""
		}
		return false, path
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// scalarEqual compares leaves by value: numbers of any Go type, and strings
// or numbers that are equal quantities.
func scalarEqual(want, got any) bool {
	if want == got {
		return true
	}
	wf, wnum := number(want)
	gf, gnum := number(got)
	if wnum && gnum {
		return wf == gf
	}
	ws, wstr := quantityText(want)
	gs, gstr := quantityText(got)
	if !wstr || !gstr {
		return false
	}
	wq, err := resource.ParseQuantity(ws)
	if err != nil {
		return false
	}
	gq, err := resource.ParseQuantity(gs)
	if err != nil {
		return false
	}
	return wq.Cmp(gq) == 0
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func quantityText(v any) (string, bool) {
	if s, ok := v.(string); ok {
		return s, true
	}
	if f, ok := number(v); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}
