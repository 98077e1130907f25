// Package config holds the manifests that install tugboat in a cluster (CRDs, RBAC, the
// controller Deployment; `kustomize build config/default`) and embeds the CRDs, so the
// tugboat binary can install them itself (`tugboat dev up`, later `tugboat install`).
package config

import "embed"

// CRDs are the generated CustomResourceDefinitions, under crd/bases/.
//
//go:embed crd/bases/*.yaml
var CRDs embed.FS

// Manifests are every kustomize base (default, crd, rbac, manager), for `tugboat
// install`, which builds default/ as `kustomize build config/default` does.
//
//go:embed default crd rbac manager
var Manifests embed.FS
