package queryapi

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// TokenAuth admits the callers that send one bearer token, with every row: the
// local dev cluster's store (tugboat dev), whose token is a file beside the
// cluster's admin kubeconfig, so that whoever holds it may read everything the
// cluster has anyway. A cluster's API uses KubeAuth.
type TokenAuth struct {
	// Token is the one bearer token admitted; an empty Token admits nobody.
	Token string
}

// Authorize admits a request that carries Token.
func (a TokenAuth) Authorize(_ context.Context, r *http.Request) (store.Scope, error) {
	token, ok := bearerToken(r)
	// Compared in constant time: the API listens where other local users can reach it.
	if !ok || a.Token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(a.Token)) != 1 {
		return store.Scope{}, errUnauthenticated
	}
	return store.Unrestricted, nil
}
