package collect

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// PodLookup finds pods by namespace and name; an informer's lister in the agent.
type PodLookup interface {
	Pod(namespace, name string) (*corev1.Pod, bool)
}

// podLister adapts a pod lister to PodLookup.
type podLister struct{ l corelisters.PodLister }

func (p podLister) Pod(namespace, name string) (*corev1.Pod, bool) {
	if p.l == nil {
		return nil, false
	}
	pod, err := p.l.Pods(namespace).Get(name)
	return pod, err == nil
}

func (p podLister) list() []*corev1.Pod {
	if p.l == nil {
		return nil
	}
	pods, _ := p.l.List(labels.Everything()) // listing a cache does not fail
	return pods
}

// nodeLister lists nodes from an informer's cache.
type nodeLister struct{ l corelisters.NodeLister }

// list returns every node, or only the named one.
func (n nodeLister) list(only string) []*corev1.Node {
	if n.l == nil {
		return nil
	}
	if only != "" {
		node, err := n.l.Get(only)
		if err != nil {
			return nil
		}
		return []*corev1.Node{node}
	}
	nodes, _ := n.l.List(labels.Everything())
	return nodes
}

// containerMetadata returns a container's ID and ContainerLogV2.KubernetesMetadata
// (podLabels, podAnnotations, podUid, image, imageID, imageRepo, imageTag) from its pod.
func containerMetadata(pod *corev1.Pod, container string) (string, map[string]any) {
	if pod == nil {
		return "", nil
	}
	meta := map[string]any{"podUid": string(pod.UID)}
	if len(pod.Labels) > 0 {
		meta["podLabels"] = pod.Labels
	}
	if len(pod.Annotations) > 0 {
		meta["podAnnotations"] = pod.Annotations
	}
	for _, c := range allContainers(pod) {
		if c.Name == container {
			repo, tag := splitImage(c.Image)
			meta["image"], meta["imageRepo"], meta["imageTag"] = c.Image, repo, tag
		}
	}
	var id string
	for _, st := range allStatuses(pod) {
		if st.Name == container {
			id = trimRuntime(st.ContainerID)
			meta["imageID"] = st.ImageID
		}
	}
	return id, meta
}

func allContainers(pod *corev1.Pod) []corev1.Container {
	out := make([]corev1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	out = append(out, pod.Spec.InitContainers...)
	return append(out, pod.Spec.Containers...)
}

func allStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(pod.Status.InitContainerStatuses)+len(pod.Status.ContainerStatuses))
	out = append(out, pod.Status.InitContainerStatuses...)
	return append(out, pod.Status.ContainerStatuses...)
}

// trimRuntime drops the `containerd://` prefix of a status's container ID, which is how
// Container Insights' ContainerId reads.
func trimRuntime(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}

// splitImage splits an image reference into repository and tag (or digest). It is the
// two-line rule of the reference grammar (the tag follows the last ':' after the last
// '/'; a digest follows '@'), written here instead of importing a reference parser that
// would also normalise names ("nginx" → "docker.io/library/nginx"), which the table
// must not do: it shows the image as the pod spec names it.
func splitImage(image string) (string, string) {
	if repo, digest, ok := strings.Cut(image, "@"); ok {
		return repo, digest
	}
	slash := strings.LastIndexByte(image, '/')
	if colon := strings.LastIndexByte(image, ':'); colon > slash {
		return image[:colon], image[colon+1:]
	}
	return image, "latest"
}

// controllerOf returns the kind and name of an object's controlling owner.
func controllerOf(obj metav1.Object) (string, string) {
	if ref := metav1.GetControllerOf(obj); ref != nil {
		return ref.Kind, ref.Name
	}
	return "", ""
}
