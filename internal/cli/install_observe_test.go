package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/yaml"
)

// TestInstallObserveExportIsConfigObserve: --observe --export prints config/observe:
// the controller's objects and the agents and the store, with tugboat's image of
// --image in the controller and both agents, the store's of --store-image, and the
// controller sending its traces to the agents; --store-image alone is refused.
func TestInstallObserveExportIsConfigObserve(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), []string{"install", "--export", "--observe", "--image", "registry.example/tugboat:v9",
		"--store-image", "registry.example/clickhouse:v1", "--kubeconfig", "/nonexistent"}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	images := map[string]string{}
	var ids []string
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(out.String()), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			break
		}
		if obj == nil {
			continue
		}
		md := obj["metadata"].(map[string]any)
		id := obj["kind"].(string) + "/" + md["name"].(string)
		ids = append(ids, id)
		spec, _ := obj["spec"].(map[string]any)
		tmpl, _ := spec["template"].(map[string]any)
		pod, _ := tmpl["spec"].(map[string]any)
		if pod == nil {
			continue
		}
		for _, c := range pod["containers"].([]any) {
			c := c.(map[string]any)
			images[id] = c["image"].(string)
			if id == "Deployment/tugboat-controller" && !strings.Contains(strings.Join(toStrings(c["args"]), " "), "--otlp-endpoint=http://tugboat-agent-otlp.tugboat-system.svc:4318") {
				t.Errorf("the controller sends no traces to the agents: %v", c["args"])
			}
		}
	}
	golden(t, "install", "export-observe-objects", strings.Join(ids, "\n")+"\n")
	want := map[string]string{
		"Deployment/tugboat-controller":    "registry.example/tugboat:v9",
		"Deployment/tugboat-agent-cluster": "registry.example/tugboat:v9",
		"DaemonSet/tugboat-agent":          "registry.example/tugboat:v9",
		"StatefulSet/clickhouse":           "registry.example/clickhouse:v1",
	}
	for id, img := range want {
		if images[id] != img {
			t.Errorf("%s runs %q, want %q", id, images[id], img)
		}
	}

	out.Reset()
	errOut.Reset()
	if code := Execute(context.Background(), []string{"install", "--export", "--store-image", "x/y:z", "--kubeconfig", "/nonexistent"}, &out, &errOut); code != ExitUsage ||
		!strings.Contains(errOut.String(), "--store-image needs --observe") {
		t.Errorf("--store-image without --observe: exit %d, %s", code, errOut.String())
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, s := range l {
		out[i], _ = s.(string)
	}
	return out
}
