package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// InventoryCollector appends KubePodInventory (one row per container) and
// KubeNodeInventory snapshots from informer caches every Interval.
type InventoryCollector struct {
	ClusterID, ClusterName string
	// Node limits the snapshot to one node's pods and that node (node mode).
	Node     string
	Interval time.Duration
	Pods     podLister
	Nodes    nodeLister
	Services corelisters.ServiceLister
	App      store.Appender
}

// Run snapshots every Interval until ctx ends.
func (c *InventoryCollector) Run(ctx context.Context) error {
	return every(ctx, c.Interval, func(ctx context.Context) {
		if err := c.Collect(ctx, time.Now().UTC()); err != nil && ctx.Err() == nil && !errors.Is(err, ErrStoreUnavailable) {
			klog.FromContext(ctx).Error(err, "inventory collection failed")
		}
	})
}

// Collect appends one snapshot taken at `at`.
func (c *InventoryCollector) Collect(ctx context.Context, at time.Time) error {
	var pods []*corev1.Pod
	for _, p := range c.Pods.list() {
		if c.Node == "" || p.Spec.NodeName == c.Node {
			pods = append(pods, p)
		}
	}
	var services []*corev1.Service
	if c.Services != nil {
		services, _ = c.Services.List(labels.Everything()) // listing a cache does not fail
	}
	// Both tables are tried: a spool keeps what one could not take.
	var errs []error
	if rows := PodInventoryRows(c.ClusterID, c.ClusterName, at, pods, services); len(rows) > 0 {
		if err := c.App.Append(ctx, store.KubePodInventory, rows); err != nil {
			errs = append(errs, fmt.Errorf("failed to append %d KubePodInventory rows: %w", len(rows), err))
		}
	}
	if rows := NodeInventoryRows(c.ClusterID, c.ClusterName, at, c.Nodes.list(c.Node)); len(rows) > 0 {
		if err := c.App.Append(ctx, store.KubeNodeInventory, rows); err != nil {
			errs = append(errs, fmt.Errorf("failed to append %d KubeNodeInventory rows: %w", len(rows), err))
		}
	}
	return errors.Join(errs...)
}

// PodInventoryRows projects pods into KubePodInventory rows, one per container (a pod
// whose containers have no status yet still gets a row per container of its spec).
func PodInventoryRows(clusterID, clusterName string, at time.Time, pods []*corev1.Pod, services []*corev1.Service) [][]any {
	var rows [][]any
	for _, pod := range pods {
		kind, name := controllerOf(pod)
		podLabel := "[]"
		if len(pod.Labels) > 0 {
			b, _ := json.Marshal([]map[string]string{pod.Labels}) // strings always marshal
			podLabel = string(b)
		}
		statuses := map[string]corev1.ContainerStatus{}
		var podRestarts int32
		for _, st := range pod.Status.ContainerStatuses {
			statuses[st.Name] = st
			podRestarts += st.RestartCount
		}
		var podStart *time.Time
		if pod.Status.StartTime != nil {
			t := pod.Status.StartTime.UTC()
			podStart = &t
		}
		service := serviceOf(pod, services)
		for _, ctr := range pod.Spec.Containers {
			st := statuses[ctr.Name]
			state, reason, started := containerState(st.State)
			last := ""
			if st.LastTerminationState.Terminated != nil || st.LastTerminationState.Waiting != nil {
				b, _ := json.Marshal(st.LastTerminationState) // API types always marshal
				last = string(b)
			}
			rows = append(rows, store.Row(store.KubePodInventoryRow{
				TimeGenerated: at, ClusterID: clusterID, ClusterName: clusterName, Computer: pod.Spec.NodeName,
				ContainerCreationTimeStamp: started, ContainerID: trimRuntime(st.ContainerID), ContainerLastStatus: last,
				ContainerName: string(pod.UID) + "/" + ctr.Name, ContainerRestartCount: st.RestartCount, ContainerStartTime: started,
				ContainerStatus: state, ContainerStatusReason: reason, ControllerKind: kind, ControllerName: name,
				Name: pod.Name, Namespace: pod.Namespace, PodCreationTimeStamp: pod.CreationTimestamp.UTC(),
				PodIP: pod.Status.PodIP, PodLabel: podLabel, PodRestartCount: podRestarts, PodStartTime: podStart,
				PodStatus: string(pod.Status.Phase), PodUID: string(pod.UID), ServiceName: service,
			}))
		}
	}
	return rows
}

// containerState returns running/waiting/terminated, the reason, and the start time.
func containerState(s corev1.ContainerState) (string, string, *time.Time) {
	switch {
	case s.Running != nil:
		t := s.Running.StartedAt.UTC()
		return "running", "", &t
	case s.Terminated != nil:
		t := s.Terminated.StartedAt.UTC()
		return "terminated", s.Terminated.Reason, &t
	case s.Waiting != nil:
		return "waiting", s.Waiting.Reason, nil
	}
	return "", "", nil
}

// serviceOf returns the name of the first Service (by name) in the pod's namespace
// whose selector matches the pod's labels.
func serviceOf(pod *corev1.Pod, services []*corev1.Service) string {
	var names []string
	for _, svc := range services {
		if svc.Namespace != pod.Namespace || len(svc.Spec.Selector) == 0 {
			continue
		}
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			names = append(names, svc.Name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// NodeInventoryRows projects nodes into KubeNodeInventory rows.
func NodeInventoryRows(clusterID, clusterName string, at time.Time, nodes []*corev1.Node) [][]any {
	var rows [][]any
	for _, n := range nodes {
		var trueConds []string
		var readySince *time.Time
		for _, c := range n.Status.Conditions {
			if c.Status == corev1.ConditionTrue {
				trueConds = append(trueConds, string(c.Type))
			}
			if c.Type == corev1.NodeReady {
				t := c.LastTransitionTime.UTC()
				readySince = &t
			}
		}
		lbls, _ := json.Marshal([]map[string]string{n.Labels}) // strings always marshal
		info := n.Status.NodeInfo
		osName := info.OSImage
		if osName == "" {
			osName = info.OperatingSystem
		}
		rows = append(rows, store.Row(store.KubeNodeInventoryRow{
			TimeGenerated: at, ClusterID: clusterID, ClusterName: clusterName, Computer: n.Name,
			CreationTimeStamp: n.CreationTimestamp.UTC(), DockerVersion: info.ContainerRuntimeVersion, KubeletVersion: info.KubeletVersion,
			KubeProxyVersion:     info.KubeProxyVersion, //nolint:staticcheck // a column of KubeNodeInventory; still set by kwok and older kubelets
			KubernetesProviderID: n.Spec.ProviderID, Labels: string(lbls), LastTransitionTimeReady: readySince,
			OperatingSystem: osName, Status: strings.Join(trueConds, ","),
		}))
	}
	return rows
}
