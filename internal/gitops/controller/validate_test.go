package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

func TestKustomizationChecksRefuseUnimplementedFieldsAndCrossNamespaceRefs(t *testing.T) {
	lockdown := Tenancy{NoCrossNamespaceRefs: true}
	cases := map[string]struct {
		tenancy     Tenancy
		spec        func(*kustomizev1.KustomizationSpec)
		wantReason  string // "" = passes
		wantMessage string
	}{
		"a plain spec passes": {spec: func(*kustomizev1.KustomizationSpec) {}},
		"kubeConfig is refused, not applied here": {
			spec:       func(s *kustomizev1.KustomizationSpec) { s.KubeConfig = &meta.KubeConfigReference{} },
			wantReason: meta.KubeConfigNotSupportedReason, wantMessage: "spec.kubeConfig",
		},
		"decryption is refused": {
			spec:       func(s *kustomizev1.KustomizationSpec) { s.Decryption = &kustomizev1.Decryption{Provider: "sops"} },
			wantReason: meta.DecryptionNotSupportedReason, wantMessage: "spec.decryption",
		},
		"healthCheckExprs are refused": {
			spec: func(s *kustomizev1.KustomizationSpec) {
				s.HealthCheckExprs = []kustomizev1.CustomHealthCheck{{}}
			},
			wantReason: meta.HealthCheckExprsNotSupportedReason, wantMessage: "spec.healthCheckExprs",
		},
		"validation none is refused": {
			spec:       func(s *kustomizev1.KustomizationSpec) { s.Validation = "none" },
			wantReason: meta.ValidationNotSupportedReason, wantMessage: "spec.validation",
		},
		"validation client is refused": {
			spec:       func(s *kustomizev1.KustomizationSpec) { s.Validation = "client" },
			wantReason: meta.ValidationNotSupportedReason, wantMessage: "'client'",
		},
		"validation server is what tugboat does": {
			spec: func(s *kustomizev1.KustomizationSpec) { s.Validation = "server" },
		},
		"a sourceRef into another namespace passes without the lockdown": {
			spec: func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Namespace = "other" },
		},
		"a sourceRef into another namespace is denied with the lockdown": {
			tenancy:    lockdown,
			spec:       func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Namespace = "other" },
			wantReason: meta.AccessDeniedReason, wantMessage: "spec.sourceRef: can't access 'GitRepository/other/repo'",
		},
		"a sourceRef naming its own namespace passes the lockdown": {
			tenancy: lockdown,
			spec:    func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Namespace = "tenant" },
		},
		"a dependsOn into another namespace is denied with the lockdown": {
			tenancy: lockdown,
			spec: func(s *kustomizev1.KustomizationSpec) {
				s.DependsOn = []kustomizev1.DependencyReference{{Name: "a"}, {Name: "b", Namespace: "other"}}
			},
			wantReason: meta.AccessDeniedReason, wantMessage: "spec.dependsOn[1]: can't access 'Kustomization/other/b'",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			k := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant", Name: "app"},
				Spec: kustomizev1.KustomizationSpec{SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "repo"}}}
			c.spec(&k.Spec)
			o, ok := reconcile.Validate(k, kustomizationChecks(c.tenancy)...)
			checkRefusal(t, o, ok, c.wantReason, c.wantMessage)
		})
	}
}

func TestGitRepositoryChecksRefuseUnimplementedFields(t *testing.T) {
	cases := map[string]struct {
		spec        func(*sourcev1.GitRepositorySpec)
		wantReason  string
		wantMessage string
	}{
		"a plain spec passes": {spec: func(*sourcev1.GitRepositorySpec) {}},
		"verify is refused": {
			spec:       func(s *sourcev1.GitRepositorySpec) { s.Verification = &sourcev1.GitRepositoryVerification{} },
			wantReason: meta.VerifyNotSupportedReason, wantMessage: "spec.verify",
		},
		"include is refused": {
			spec:       func(s *sourcev1.GitRepositorySpec) { s.Include = []sourcev1.GitRepositoryInclude{{}} },
			wantReason: meta.IncludeNotSupportedReason, wantMessage: "spec.include",
		},
		"sparseCheckout is refused": {
			spec:       func(s *sourcev1.GitRepositorySpec) { s.SparseCheckout = []string{"app/"} },
			wantReason: meta.SparseCheckoutNotSupportedReason, wantMessage: "spec.sparseCheckout",
		},
		"recurseSubmodules is refused": {
			spec:       func(s *sourcev1.GitRepositorySpec) { s.RecurseSubmodules = true },
			wantReason: meta.RecurseSubmodulesNotSupportedReason, wantMessage: "spec.recurseSubmodules",
		},
		"provider github is refused": {
			spec:       func(s *sourcev1.GitRepositorySpec) { s.Provider = "github" },
			wantReason: meta.ProviderNotSupportedReason, wantMessage: "spec.provider",
		},
		"provider generic is what tugboat does": {
			spec: func(s *sourcev1.GitRepositorySpec) { s.Provider = "generic" },
		},
		"proxySecretRef is refused": {
			spec:       func(s *sourcev1.GitRepositorySpec) { s.ProxySecretRef = &meta.LocalObjectReference{Name: "proxy"} },
			wantReason: meta.ProxySecretRefNotSupportedReason, wantMessage: "spec.proxySecretRef",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			g := &sourcev1.GitRepository{Spec: sourcev1.GitRepositorySpec{URL: "https://example.invalid/repo"}}
			c.spec(&g.Spec)
			o, ok := reconcile.Validate(g, gitRepositoryChecks...)
			checkRefusal(t, o, ok, c.wantReason, c.wantMessage)
		})
	}
}

func checkRefusal(t *testing.T, o reconcile.Outcome, ok bool, wantReason, wantMessage string) {
	t.Helper()
	if wantReason == "" {
		if !ok {
			t.Fatalf("refused: %s: %s", o.Reason, o.Message)
		}
		return
	}
	if ok {
		t.Fatalf("passed; want %s", wantReason)
	}
	if o.Reason != wantReason || !o.Stalled || o.Ready != metav1.ConditionFalse || !strings.Contains(o.Message, wantMessage) {
		t.Errorf("got %+v; want Ready=False Stalled %s with %q", o, wantReason, wantMessage)
	}
}
