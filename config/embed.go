// Package config holds the manifests that install tugboat in a cluster (CRDs, RBAC, the
// controller Deployment; `kustomize build config/default`) and embeds the CRDs, so the
// tugboat binary can install them itself (`tugboat dev up`, later `tugboat install`).
package config

import "embed"

// CRDs are the generated CustomResourceDefinitions, under crd/bases/.
//
//go:embed crd/bases/*.yaml
var CRDs embed.FS
