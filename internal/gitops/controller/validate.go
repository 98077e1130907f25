package controller

import (
	"fmt"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// Tenancy is the lockdown of a multi-tenant cluster, Flux's
// --default-service-account and --no-cross-namespace-refs.
type Tenancy struct {
	// DefaultServiceAccount is the ServiceAccount, in the Kustomization's own
	// namespace, that a Kustomization without spec.serviceAccountName applies and
	// prunes as. Empty: such a Kustomization acts as the controller itself.
	DefaultServiceAccount string
	// NoCrossNamespaceRefs refuses a sourceRef or dependsOn that names another
	// namespace (Ready=False, Stalled, reason AccessDenied).
	NoCrossNamespaceRefs bool
}

// serviceAccount is the ServiceAccount a Kustomization acts as, or "" for the
// controller's own identity: spec.serviceAccountName, else the default, as Flux.
func (t Tenancy) serviceAccount(obj *kustomizev1.Kustomization) string {
	if obj.Spec.ServiceAccountName != "" {
		return obj.Spec.ServiceAccountName
	}
	return t.DefaultServiceAccount
}

// kustomizationChecks is the validate step of a Kustomization: fields tugboat does
// not implement, then the tenancy lockdown. The order is the order of the report.
func kustomizationChecks(t Tenancy) []reconcile.Check[*kustomizev1.Kustomization] {
	checks := []reconcile.Check[*kustomizev1.Kustomization]{
		func(k *kustomizev1.Kustomization) *reconcile.Refusal {
			if k.Spec.KubeConfig == nil {
				return nil
			}
			return notSupported(meta.KubeConfigNotSupportedReason, "spec.kubeConfig",
				"applying to a remote cluster is not implemented; nothing is applied to this cluster instead")
		},
		func(k *kustomizev1.Kustomization) *reconcile.Refusal {
			if k.Spec.Decryption == nil {
				return nil
			}
			return notSupported(meta.DecryptionNotSupportedReason, "spec.decryption", "SOPS decryption is not implemented")
		},
		func(k *kustomizev1.Kustomization) *reconcile.Refusal {
			if len(k.Spec.HealthCheckExprs) == 0 {
				return nil
			}
			return notSupported(meta.HealthCheckExprsNotSupportedReason, "spec.healthCheckExprs", "CEL health checks are not implemented")
		},
		func(k *kustomizev1.Kustomization) *reconcile.Refusal {
			// Every apply is validated by the apiserver (server-side apply): 'server'
			// is what tugboat does; 'none' or 'client' would ask for something else.
			if k.Spec.Validation == "" || k.Spec.Validation == "server" {
				return nil
			}
			return notSupported(meta.ValidationNotSupportedReason, "spec.validation",
				fmt.Sprintf("'%s' is not implemented: objects are always validated by the apiserver (remove the field or set 'server')", k.Spec.Validation))
		},
	}
	if t.NoCrossNamespaceRefs {
		checks = append(checks, func(k *kustomizev1.Kustomization) *reconcile.Refusal {
			if ns := k.Spec.SourceRef.Namespace; ns != "" && ns != k.Namespace {
				return accessDenied("spec.sourceRef", k.Spec.SourceRef.Kind, ns, k.Spec.SourceRef.Name)
			}
			for i, d := range k.Spec.DependsOn {
				if d.Namespace != "" && d.Namespace != k.Namespace {
					return accessDenied(fmt.Sprintf("spec.dependsOn[%d]", i), kustomizev1.KustomizationKind, d.Namespace, d.Name)
				}
			}
			return nil
		})
	}
	return checks
}

// gitRepositoryChecks is the validate step of a GitRepository: fields tugboat does
// not implement.
var gitRepositoryChecks = []reconcile.Check[*sourcev1.GitRepository]{
	func(g *sourcev1.GitRepository) *reconcile.Refusal {
		if g.Spec.Verification == nil {
			return nil
		}
		return notSupported(meta.VerifyNotSupportedReason, "spec.verify",
			"commit signature verification is not implemented; an unverified commit is not fetched instead")
	},
	func(g *sourcev1.GitRepository) *reconcile.Refusal {
		if len(g.Spec.Include) == 0 {
			return nil
		}
		return notSupported(meta.IncludeNotSupportedReason, "spec.include", "including other GitRepositories is not implemented")
	},
	func(g *sourcev1.GitRepository) *reconcile.Refusal {
		if len(g.Spec.SparseCheckout) == 0 {
			return nil
		}
		return notSupported(meta.SparseCheckoutNotSupportedReason, "spec.sparseCheckout", "sparse checkout is not implemented")
	},
	func(g *sourcev1.GitRepository) *reconcile.Refusal {
		if !g.Spec.RecurseSubmodules {
			return nil
		}
		return notSupported(meta.RecurseSubmodulesNotSupportedReason, "spec.recurseSubmodules", "Git submodules are not implemented")
	},
	func(g *sourcev1.GitRepository) *reconcile.Refusal {
		// 'generic' (credentials from spec.secretRef) is what tugboat does.
		if g.Spec.Provider == "" || g.Spec.Provider == "generic" {
			return nil
		}
		return notSupported(meta.ProviderNotSupportedReason, "spec.provider",
			fmt.Sprintf("'%s' is not implemented: only 'generic' (credentials from spec.secretRef)", g.Spec.Provider))
	},
	func(g *sourcev1.GitRepository) *reconcile.Refusal {
		if g.Spec.ProxySecretRef == nil {
			return nil
		}
		return notSupported(meta.ProxySecretRefNotSupportedReason, "spec.proxySecretRef",
			"a proxy is not implemented; the repository is not fetched without it instead")
	},
}

func notSupported(reason, field, why string) *reconcile.Refusal {
	return &reconcile.Refusal{Reason: reason, Message: fmt.Sprintf("%s is not supported by tugboat: %s", field, why)}
}

// accessDenied words the refusal as Flux's acl.AccessDeniedError does.
func accessDenied(field, kind, ns, name string) *reconcile.Refusal {
	return &reconcile.Refusal{Reason: meta.AccessDeniedReason,
		Message: fmt.Sprintf("%s: can't access '%s/%s/%s', cross-namespace references have been blocked (--no-cross-namespace-refs)", field, kind, ns, name)}
}
