// Package config holds the manifests that install tugboat in a cluster (CRDs, RBAC, the
// controller Deployment; `kustomize build config/default`) and embeds the CRDs, so the
// tugboat binary can install them itself (`tugboat dev up`, later `tugboat install`).
package config

import "embed"

// CRDs are the generated CustomResourceDefinitions, under crd/bases/.
//
//go:embed crd/bases/*.yaml
var CRDs embed.FS

// Manifests are every kustomize base (default, crd, rbac, manager, policy, agent, store, observe),
// for `tugboat install`, which builds default/ as `kustomize build config/default`
// does.
//
//go:embed default crd rbac manager policy agent store observe
var Manifests embed.FS

// Policies are the admission policies of policy/, which `tugboat dev up` installs
// with the CRDs.
//
//go:embed policy/*.yaml
var Policies embed.FS

// OptionalAnnotation marks an object that `tugboat install` skips, saying why, when
// the cluster does not serve its kind.
const OptionalAnnotation = "config.tugboat.dev/optional"
