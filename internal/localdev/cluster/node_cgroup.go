package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerCgroup is the cgroup (v1) directory of a container of a pod on the real
// node under controller ("memory", "cpuacct"), where the kernel counts what the
// container uses: memory.max_usage_in_bytes, memory.stat, cpuacct.usage. The
// kubelet (cgroupDriver cgroupfs) puts pods at kubepods/<qos>/pod<uid>, Guaranteed
// ones at kubepods/pod<uid>, and each container in a directory named by its ID.
// Tests and benchmarks read them to measure a pod as the kernel sees it.
func ContainerCgroup(controller string, pod *corev1.Pod, container string) (string, error) {
	var id string
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == container {
			_, id, _ = strings.Cut(s.ContainerID, "://")
		}
	}
	if id == "" {
		return "", fmt.Errorf("pod %s/%s has no running container %q", pod.Namespace, pod.Name, container)
	}
	root := filepath.Join("/sys/fs/cgroup", controller, "kubepods")
	for _, dir := range []string{
		filepath.Join(root, "pod"+string(pod.UID), id),
		filepath.Join(root, "burstable", "pod"+string(pod.UID), id),
		filepath.Join(root, "besteffort", "pod"+string(pod.UID), id),
	} {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no %s cgroup of container %s of pod %s/%s under %s", controller, container, pod.Namespace, pod.Name, root)
}

// CgroupValue reads a cgroup file holding one number (memory.max_usage_in_bytes,
// cpuacct.usage) or, with key, the value of that key in a file of "key value" lines
// (memory.stat).
func CgroupValue(dir, file, key string) (int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, fmt.Errorf("failed to read %s: %w", file, err)
	}
	text := strings.TrimSpace(string(data))
	if key != "" {
		text = ""
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && k == key {
				text = v
			}
		}
		if text == "" {
			return 0, fmt.Errorf("no %s in %s", key, filepath.Join(dir, file))
		}
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("failed to read %s of %s: %w", key, filepath.Join(dir, file), err)
	}
	return v, nil
}
