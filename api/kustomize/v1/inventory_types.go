package v1

// ResourceInventory lists the objects a Kustomization applied. Its entry
// format is Flux's (fluxcd/kustomize-controller api/v1/inventory_types.go),
// so that `flux tree` and `flux trace` read tugboat's inventories. The ID is
// cli-utils' object.ObjMetadata string; build and parse it with that library
// rather than by hand, since it transcodes the ':' of RBAC names.
type ResourceInventory struct {
	// Entries are the applied objects.
	Entries []ResourceRef `json:"entries"`
}

// ResourceRef locates one applied object.
type ResourceRef struct {
	// ID is '<namespace>_<name>_<group>_<kind>', e.g.
	// 'default_podinfo_apps_Deployment'; the namespace is empty for
	// cluster-scoped objects and the group for the core group.
	ID string `json:"id"`

	// Version is the API version of the object's kind, e.g. 'v1'.
	Version string `json:"v"`
}
