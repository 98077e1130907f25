package queryapi

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tugboatcd/tugboat/config"
)

// The shipped NetworkPolicy is valid for the apiserver and lets the API's
// port be reached only from tugboat-system and labelled namespaces, while
// the webhooks stay open.
func TestTheShippedNetworkPolicyNarrowsTheAPIPort(t *testing.T) {
	data, err := config.Manifests.ReadFile("manager/networkpolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var np networkingv1.NetworkPolicy
	if err := yaml.UnmarshalStrict(data, &np); err != nil {
		t.Fatal(err)
	}
	ensureNamespace(t, np.Namespace)
	if _, err := kube(t).NetworkingV1().NetworkPolicies(np.Namespace).Create(context.Background(), &np, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("the apiserver refuses the shipped NetworkPolicy: %v", err)
	}
	open := map[string]bool{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if len(rule.From) == 0 {
				open[p.Port.String()] = true
				continue
			}
			if p.Port.String() != "http-api" {
				t.Errorf("port %s has sources; only http-api should", p.Port.String())
			}
			for _, from := range rule.From {
				if from.NamespaceSelector != nil && len(from.NamespaceSelector.MatchLabels) == 0 && len(from.NamespaceSelector.MatchExpressions) == 0 {
					t.Errorf("http-api is open to every namespace: %+v", from)
				}
			}
		}
	}
	if open["http-api"] || !open["http-webhook"] {
		t.Errorf("ports open to all: %v; want the webhooks, not the API", open)
	}
}

// The port the NetworkPolicy guards is the one the shipped controller serves the
// API on, and the one its Service leads to: a rule for a port nobody serves, or an
// API on a port the rule does not name, would guard nothing.
func TestTheShippedControllerServesTheAPIOnTheGuardedPort(t *testing.T) {
	var deploy appsv1.Deployment
	readManifest(t, "manager/deployment.yaml", &deploy)
	c := deploy.Spec.Template.Spec.Containers[0]
	var bind string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--http-bind-address="); ok {
			bind = v
		}
	}
	if bind == "" || bind == "0" {
		t.Fatalf("the shipped controller serves no query API: args %v", c.Args)
	}
	_, port, err := net.SplitHostPort(bind)
	if err != nil {
		t.Fatalf("--http-bind-address=%s: %v", bind, err)
	}
	declared := false
	for _, p := range c.Ports {
		if p.Name == "http-api" {
			declared = fmt.Sprint(p.ContainerPort) == port
		}
	}
	if !declared {
		t.Errorf("the container's port http-api is not %s, where --http-bind-address listens: %+v", port, c.Ports)
	}
	data, err := config.Manifests.ReadFile("manager/service.yaml")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var svc corev1.Service
		if err := yaml.Unmarshal([]byte(doc), &svc); err != nil {
			t.Fatal(err)
		}
		for _, p := range svc.Spec.Ports {
			if p.TargetPort.String() == "http-api" {
				found = svc.Name == "tugboat-controller" && p.Name == "http-api"
			}
		}
	}
	if !found {
		t.Errorf("no Service tugboat-controller with a port http-api leads to the API's port")
	}
}

func readManifest(t *testing.T, file string, into any) {
	t.Helper()
	data, err := config.Manifests.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
