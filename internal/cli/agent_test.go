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
		"an unknown collector":          {[]string{"--collect", "logs,bogus"}, `unknown collector "bogus"`},
		"a zero scrape interval":        {[]string{"--interval", "0s"}, "intervals must be positive"},
		"node mode without a log dir":   {[]string{"--node", "n1", "--log-dir", ""}, "--log-dir"},
		"an empty data directory":       {[]string{"--data-dir", ""}, "--data-dir is empty"},
		"a negative inventory interval": {[]string{"--inventory-interval", "-1m"}, "intervals must be positive"},
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
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../config/agent")
	if err != nil {
		t.Fatalf("kustomize build config/agent: %v", err)
	}
	found := 0
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
		for _, c := range obj.Spec.Template.Spec.Containers {
			if len(c.Args) == 0 || c.Args[0] != "agent" {
				t.Fatalf("%s/%s runs %v, want the agent verb", r.GetKind(), r.GetName(), c.Args)
			}
			var f agentFlags
			fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
			f.register(fs)
			var args []string
			for _, a := range c.Args[1:] {
				args = append(args, strings.ReplaceAll(a, "$(NODE_NAME)", "node-1"))
			}
			if err := fs.Parse(args); err != nil {
				t.Fatalf("%s/%s: %v", r.GetKind(), r.GetName(), err)
			}
			if _, err := f.options(); err != nil {
				t.Errorf("%s/%s: %v", r.GetKind(), r.GetName(), err)
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
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../config/default")
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	found := 0
	for _, r := range res.Resources() {
		if r.GetKind() != "Deployment" || r.GetName() != "tugboat-controller" {
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
		for _, c := range obj.Spec.Template.Spec.Containers {
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
