package queryapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Authorizer decides who a request comes from and which rows it may read.
type Authorizer interface {
	// Authorize returns the scope of the request's caller, or an error that
	// is errUnauthenticated when the request carries no valid credentials.
	Authorize(ctx context.Context, r *http.Request) (store.Scope, error)
}

// errUnauthenticated is a request without a bearer token the apiserver
// accepts; the API answers 401.
var errUnauthenticated = errors.New("unauthenticated")

// DefaultAuthCacheTTL is how long a token's review and its scope are reused:
// the apiserver's own webhook authenticator caches for 2 minutes and its
// authorizer 30 s for a denial; a short TTL keeps a revoked RoleBinding from
// lasting, and still spares the apiserver a review per query.
const DefaultAuthCacheTTL = 10 * time.Second

// maxAuthCacheEntries bounds the cache: one entry per distinct token.
const maxAuthCacheEntries = 1024

// sarConcurrency bounds the SubjectAccessReviews in flight for one caller.
const sarConcurrency = 8

// KubeAuth authenticates a bearer token with a TokenReview and scopes its
// user with SubjectAccessReviews, as the apiserver's webhook authenticator
// and authorizer do, and as kube-rbac-proxy fronts a service: list pods and
// get pods/log, first across all namespaces, else per namespace.
type KubeAuth struct {
	Client kubernetes.Interface
	// Audiences the token must be meant for; empty means the apiserver's.
	Audiences []string
	// CacheTTL; zero means DefaultAuthCacheTTL.
	CacheTTL time.Duration

	mu    sync.Mutex
	cache map[[32]byte]cachedScope
}

type cachedScope struct {
	scope   store.Scope
	err     error
	expires time.Time
}

// Authorize reviews the request's bearer token and the rights of its user.
func (a *KubeAuth) Authorize(ctx context.Context, r *http.Request) (store.Scope, error) {
	token, ok := bearerToken(r)
	if !ok {
		return store.Scope{}, errUnauthenticated
	}
	key := sha256.Sum256([]byte(token))
	now := time.Now()
	a.mu.Lock()
	if c, ok := a.cache[key]; ok && now.Before(c.expires) {
		a.mu.Unlock()
		return c.scope, c.err
	}
	a.mu.Unlock()
	scope, err := a.review(ctx, token)
	if err != nil && !errors.Is(err, errUnauthenticated) {
		// An apiserver that failed to answer is not remembered.
		return store.Scope{}, err
	}
	ttl := a.CacheTTL
	if ttl <= 0 {
		ttl = DefaultAuthCacheTTL
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cache == nil {
		a.cache = map[[32]byte]cachedScope{}
	}
	if len(a.cache) >= maxAuthCacheEntries {
		for k, c := range a.cache {
			if !now.Before(c.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxAuthCacheEntries {
			a.cache = map[[32]byte]cachedScope{}
		}
	}
	a.cache[key] = cachedScope{scope: scope, err: err, expires: now.Add(ttl)}
	return scope, err
}

// ForwardedAuthorizationHeader carries the caller's "Bearer <token>" through
// the apiserver's service proxy, which authenticates the caller itself and
// removes the Authorization header before it proxies (kubernetes#38775). The
// token is reviewed exactly as one in Authorization: it proves nothing by
// arriving through the apiserver.
const ForwardedAuthorizationHeader = "X-Tugboat-Authorization"

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		h = r.Header.Get(ForwardedAuthorizationHeader)
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (a *KubeAuth) review(ctx context.Context, token string) (store.Scope, error) {
	tr, err := a.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: a.Audiences},
	}, metav1.CreateOptions{})
	if err != nil {
		return store.Scope{}, fmt.Errorf("failed to review the bearer token: %w", err)
	}
	if !tr.Status.Authenticated {
		return store.Scope{}, errUnauthenticated
	}
	user := tr.Status.User
	sc := store.Scope{Principal: &kql.Principal{Name: user.Username, Groups: user.Groups}}
	if sc.AllPods, err = a.allowed(ctx, user, "", "list", ""); err != nil {
		return store.Scope{}, err
	}
	if sc.AllLogs, err = a.allowed(ctx, user, "", "get", "log"); err != nil {
		return store.Scope{}, err
	}
	if sc.AllPods && sc.AllLogs {
		return sc, nil
	}
	nss, err := a.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return store.Scope{}, fmt.Errorf("failed to list namespaces to scope the caller: %w", err)
	}
	pods := make([]bool, len(nss.Items))
	logs := make([]bool, len(nss.Items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sarConcurrency)
	for i, ns := range nss.Items {
		if !sc.AllPods {
			g.Go(func() (err error) {
				pods[i], err = a.allowed(gctx, user, ns.Name, "list", "")
				return err
			})
		}
		if !sc.AllLogs {
			g.Go(func() (err error) {
				logs[i], err = a.allowed(gctx, user, ns.Name, "get", "log")
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return store.Scope{}, err
	}
	for i, ns := range nss.Items {
		if pods[i] {
			sc.Pods = append(sc.Pods, ns.Name)
		}
		if logs[i] {
			sc.Logs = append(sc.Logs, ns.Name)
		}
	}
	return sc, nil
}

// allowed asks the apiserver whether user may verb pods (or their
// subresource) in namespace ("" for all namespaces).
func (a *KubeAuth) allowed(ctx context.Context, user authenticationv1.UserInfo, namespace, verb, subresource string) (bool, error) {
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Resource: "pods", Subresource: subresource,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("failed to review access to pods in namespace %q: %w", namespace, err)
	}
	return sar.Status.Allowed, nil
}
