package apply

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tugboatcd/tugboat/api/meta"
)

// Prepare returns the object as the controller sends it: a copy with the owner
// labels and the fixes Flux's normaliser makes, minus what the server manages.
// `tugboat diff` sends the same, so that its dry-run compares like with like.
//
// fluxcd/pkg/ssa/normalize round-trips every object through its typed Go
// struct to make these fixes. That costs CPU on every object and silently
// drops fields the struct does not know (a typo in a Deployment spec vanishes
// instead of being rejected by the server), so the same fixes are made here on
// the unstructured object.
func Prepare(in *unstructured.Unstructured, owner Owner) (*unstructured.Unstructured, error) {
	u := in.DeepCopy()
	md, _ := u.Object["metadata"].(map[string]any)
	if md == nil {
		return nil, fmt.Errorf("object has no metadata")
	}
	for _, f := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink", "deletionTimestamp"} {
		delete(md, f)
	}
	gvk := u.GroupVersionKind()
	// kstatus needs a CRD's status (Flux keeps it); everyone else's is the
	// server's business.
	if gvk.Group != "apiextensions.k8s.io" || gvk.Kind != "CustomResourceDefinition" {
		delete(u.Object, "status")
	}
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[meta.KustomizeNameLabel] = owner.Name
	labels[meta.KustomizeNamespaceLabel] = owner.Namespace
	u.SetLabels(labels)

	switch gvk.GroupKind().String() {
	case "Secret":
		// stringData is write-only and merges badly under SSA
		// (kubernetes#108008): send it as data.
		if err := secretStringData(u); err != nil {
			return nil, err
		}
	case "Service":
		defaultProtocols(u.Object, "spec", "ports")
	case "Pod":
		defaultPodProtocols(u.Object, "spec")
	case "Deployment.apps", "StatefulSet.apps", "DaemonSet.apps", "ReplicaSet.apps", "Job.batch":
		defaultPodProtocols(u.Object, "spec", "template", "spec")
	case "CronJob.batch":
		defaultPodProtocols(u.Object, "spec", "jobTemplate", "spec", "template", "spec")
	}
	return u, nil
}

func secretStringData(u *unstructured.Unstructured) error {
	sd, ok := u.Object["stringData"].(map[string]any)
	if !ok {
		return nil
	}
	data, _ := u.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("stringData.%s is not a string", k)
		}
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	u.Object["data"] = data
	delete(u.Object, "stringData")
	return nil
}

// defaultPodProtocols sets the default protocol of container ports: protocol
// is part of the ports list's merge key, and leaving it out makes SSA fail to
// match the defaulted live entry (structured-merge-diff#130).
func defaultPodProtocols(obj map[string]any, path ...string) {
	spec := mapAt(obj, path...)
	if spec == nil {
		return
	}
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			if cm, ok := c.(map[string]any); ok {
				defaultProtocols(cm, "ports")
			}
		}
	}
}

// mapAt returns the map at path inside obj, not a copy, or nil.
func mapAt(obj map[string]any, path ...string) map[string]any {
	m := obj
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

// defaultProtocols sets protocol TCP on each port of the list at path that has
// none, as kubernetes#98576 does for Services.
func defaultProtocols(obj map[string]any, path ...string) {
	parent := mapAt(obj, path[:len(path)-1]...)
	if parent == nil {
		return
	}
	ports, _ := parent[path[len(path)-1]].([]any)
	for _, p := range ports {
		if pm, ok := p.(map[string]any); ok {
			if _, set := pm["protocol"]; !set {
				pm["protocol"] = "TCP"
			}
		}
	}
}

// hashOf identifies a desired object's content. encoding/json sorts map keys,
// so equal objects hash equal.
func hashOf(u *unstructured.Unstructured) ([sha256.Size]byte, []byte, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return [sha256.Size]byte{}, nil, fmt.Errorf("failed to encode %s: %w", subject(u), err)
	}
	return sha256.Sum256(b), b, nil
}

// subject names an object in errors: 'Deployment/default/web'.
func subject(u *unstructured.Unstructured) string {
	parts := []string{u.GetKind()}
	if ns := u.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	return strings.Join(append(parts, u.GetName()), "/")
}
