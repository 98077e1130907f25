// Package queryapi serves tugboat's HTTP API on the controller's HTTP port:
// POST /api/v1/query runs KQL against the store and answers JSON rows with
// column names and types, to callers the cluster authenticates (TokenReview)
// and with the rows their RBAC lets them read (SubjectAccessReview).
package queryapi
