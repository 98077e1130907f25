package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func TestAgentRejectsBadFlags(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"an unknown collector":           {[]string{"--collect", "logs,bogus"}, `unknown collector "bogus"`},
		"a zero scrape interval":         {[]string{"--interval", "0s"}, "intervals must be positive"},
		"node mode without a log dir":    {[]string{"--node", "n1", "--log-dir", ""}, "--log-dir"},
		"an empty data directory":        {[]string{"--data-dir", ""}, "--data-dir is empty"},
		"a negative inventory interval":  {[]string{"--inventory-interval", "-1m"}, "intervals must be positive"},
		"a negative buffer":              {[]string{"--buffer-bytes", "-1Mi"}, "want a byte count"},
		"a buffer that is not a size":    {[]string{"--buffer-bytes", "lots"}, "want a byte count"},
		"a buffer too small to be meant": {[]string{"--buffer-bytes", "100"}, "--buffer-bytes 100 is out of range"},
		"an absurd buffer":               {[]string{"--buffer-bytes", "1Ti"}, "--buffer-bytes 1099511627776 is out of range"},
		"a negative append timeout":      {[]string{"--append-timeout", "-5s"}, "--append-timeout -5s is out of range"},
		"a one-byte message cap":         {[]string{"--max-message-bytes", "1"}, "--max-message-bytes 1 is out of range"},
		"an absurd OTLP request size":    {[]string{"--otlp-max-request-bytes", "100Gi"}, "--otlp-max-request-bytes 107374182400 is out of range"},
		"in-flight room for no request": {[]string{"--otlp-max-request-bytes", "8Mi", "--otlp-max-inflight-bytes", "4Mi"},
			"--otlp-max-inflight-bytes 4194304 is less than --otlp-max-request-bytes 8388608"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			dir := t.TempDir()
			args := append([]string{"agent", "--data-dir", dir}, tc.args...)
			code := Execute(context.Background(), args, &out, &errOut)
			if code != ExitUsage {
				t.Fatalf("exit code %d, want %d (stderr: %s)", code, ExitUsage, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not name %q", errOut.String(), tc.want)
			}
		})
	}
}

// TestAgentManifestsUseValidFlags builds config/agent and checks that every agent
// container's arguments parse and validate as `tugboat agent` flags.
func TestAgentManifestsUseValidFlags(t *testing.T) {
	found := 0
	for _, w := range manifestWorkloads(t, "../../config/agent") {
		for _, c := range w.pod.Containers {
			if len(c.Args) == 0 || c.Args[0] != "agent" {
				t.Fatalf("%s runs %v, want the agent verb", w.name, c.Args)
			}
			var f agentFlags
			fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
			f.register(fs)
			var args []string
			for _, a := range c.Args[1:] {
				args = append(args, strings.ReplaceAll(a, "$(NODE_NAME)", "node-1"))
			}
			if err := fs.Parse(args); err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			if _, err := f.options(); err != nil {
				t.Errorf("%s: %v", w.name, err)
			}
			found++
		}
	}
	if found != 2 {
		t.Fatalf("found %d agent containers, want 2 (the DaemonSet and the cluster Deployment)", found)
	}
}

// TestControllerManifestUsesValidFlags builds config/default and checks that the
// controller Deployment's arguments parse as `tugboat controller` flags.
func TestControllerManifestUsesValidFlags(t *testing.T) {
	found := 0
	for _, w := range manifestWorkloads(t, "../../config/default") {
		if w.name != "Deployment/tugboat-controller" {
			continue
		}
		for _, c := range w.pod.Containers {
			if len(c.Args) == 0 || c.Args[0] != "controller" {
				t.Fatalf("the controller Deployment runs %v, want the controller verb", c.Args)
			}
			if err := newControllerCommand(streams{}).ParseFlags(c.Args[1:]); err != nil {
				t.Errorf("the controller Deployment's arguments: %v", err)
			}
			found++
		}
	}
	if found != 1 {
		t.Fatalf("found %d controller containers, want 1", found)
	}
}

// workload is a DaemonSet or Deployment of a kustomize build: "Kind/name" and its pod.
type workload struct {
	name string
	pod  corev1.PodSpec
}

// manifestWorkloads builds the kustomization in dir and returns its DaemonSets and
// Deployments.
func manifestWorkloads(t *testing.T, dir string) []workload {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []workload
	for _, r := range res.Resources() {
		if r.GetKind() != "DaemonSet" && r.GetKind() != "Deployment" {
			continue
		}
		data, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatal(err)
		}
		out = append(out, workload{name: r.GetKind() + "/" + r.GetName(), pod: obj.Spec.Template.Spec})
	}
	return out
}
