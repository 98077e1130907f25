package deploy

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Workload names a Deployment, StatefulSet or DaemonSet.
type Workload struct {
	// Kind as the API spells it: Deployment, StatefulSet or DaemonSet.
	Kind string
	Name string
}

// The kinds push deploys handle, with the names kubectl accepts for them.
var kinds = map[string]string{
	"deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
	"deployment.apps": "Deployment", "deployments.apps": "Deployment",
	"statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
	"statefulset.apps": "StatefulSet", "statefulsets.apps": "StatefulSet",
	"daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet",
	"daemonset.apps": "DaemonSet", "daemonsets.apps": "DaemonSet",
}

// ParseWorkload reads a KIND/NAME reference as kubectl accepts it: deployment/web,
// deploy/web, sts/db, daemonset.apps/agent.
func ParseWorkload(ref string) (Workload, error) {
	kind, name, ok := strings.Cut(ref, "/")
	if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
		return Workload{}, fmt.Errorf("invalid workload %q: want KIND/NAME, e.g. deployment/myapp", ref)
	}
	k, ok := kinds[strings.ToLower(kind)]
	if !ok {
		return Workload{}, fmt.Errorf("invalid workload %q: kind %q is not one of deployment, statefulset, daemonset", ref, kind)
	}
	return Workload{Kind: k, Name: name}, nil
}

// String is the workload as kubectl names it in output: deployment.apps/web.
func (w Workload) String() string {
	return strings.ToLower(w.Kind) + ".apps/" + w.Name
}

// GroupKind is the workload's API group and kind.
func (w Workload) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: "apps", Kind: w.Kind}
}

// GroupVersionResource is the workload's resource in apps/v1.
func (w Workload) GroupVersionResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: strings.ToLower(w.Kind) + "s"}
}

// ParseImages reads CONTAINER=IMAGE pairs as `kubectl set image` does: `*=IMAGE` sets
// every container and cannot be combined with other pairs; each image must be a
// valid reference. The result is sorted by container name.
func ParseImages(pairs []string) ([]ImageSpec, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no image given: want CONTAINER=IMAGE (or *=IMAGE for every container)")
	}
	seen := map[string]bool{}
	var out []ImageSpec
	for _, p := range pairs {
		container, image, ok := strings.Cut(p, "=")
		if !ok || container == "" {
			return nil, fmt.Errorf("invalid image argument %q: want CONTAINER=IMAGE", p)
		}
		if err := validateImage(image); err != nil {
			return nil, fmt.Errorf("invalid image for container %q: %w", container, err)
		}
		if seen[container] {
			return nil, fmt.Errorf("container %q is given more than once", container)
		}
		seen[container] = true
		out = append(out, ImageSpec{Container: container, Image: image})
	}
	if seen["*"] && len(out) > 1 {
		return nil, fmt.Errorf("all containers are already specified by *, but saw more than one CONTAINER=IMAGE pair")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Container < out[j].Container })
	return out, nil
}

// ImageSpec is one CONTAINER=IMAGE argument.
type ImageSpec struct {
	Container string
	Image     string
}
