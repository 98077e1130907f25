package cluster

import (
	"os"
	"regexp"
	"testing"
)

func TestKubernetesVersionMatchesTheBuildPin(t *testing.T) {
	data, err := os.ReadFile("../../../hack/cluster/go.mod")
	if err != nil {
		t.Fatalf("failed to read the build pin: %v", err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes (v\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("hack/cluster/go.mod does not require k8s.io/kubernetes")
	}
	if string(m[1]) != KubernetesVersion {
		t.Errorf("hack/cluster builds %s but KubernetesVersion is %s", m[1], KubernetesVersion)
	}
}
