package queryapi

import (
	"context"
	"testing"

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
