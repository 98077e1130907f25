package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The query API of the installed controller, as config/manager names it.
const (
	queryAPIService = "tugboat-controller"
	queryAPIPort    = "http-api"
)

// maxQueryAnswerBytes bounds the answer read through the apiserver: the API caps
// rows (--query-max-rows), not bytes, and a laptop should not be filled by one query.
const maxQueryAnswerBytes = 256 << 20

// queryCluster posts the query to the installed controller's query API through the
// apiserver's service proxy, with the kubeconfig's credentials: the apiserver
// checks that the caller may reach the API (create services/proxy on
// tugboat-controller:http-api, ClusterRole tugboat-query), then drops the
// Authorization header, so the bearer token also travels in
// X-Tugboat-Authorization for the API to review and scope the rows. token, when
// set (--token-file), is the caller's identity for both, instead of the
// kubeconfig's credentials: one identity per query.
func queryCluster(ctx context.Context, cfg *rest.Config, token, query string) (*store.JSONResult, error) {
	cfg = rest.CopyConfig(cfg)
	if token != "" {
		cfg = rest.AnonymousClientConfig(cfg)
		cfg.BearerToken = token
	}
	// Innermost of client-go's wrappers: it sees the request after the bearer-token,
	// token-file, exec-plugin or auth-provider wrapper has set Authorization.
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return forwardAuthorization{next: rt}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to make a client of the cluster: %w", err)
	}
	body, err := json.Marshal(queryapi.QueryRequest{Query: query})
	if err != nil {
		return nil, fmt.Errorf("failed to encode the query: %w", err)
	}
	res := cs.CoreV1().RESTClient().Post().
		Namespace(controllerNamespace).Resource("services").Name(queryAPIService+":"+queryAPIPort).
		SubResource("proxy").Suffix("api", "v1", "query").
		SetHeader("Content-Type", "application/json").Body(body).
		// client-go would retry a 503 with Retry-After (the store down) ten times,
		// silently, for most of a minute: say it at once instead.
		MaxRetries(0).Do(ctx)
	var code int
	res.StatusCode(&code)
	raw, err := res.Raw()
	if errors.Is(err, errAnswerTooLarge) {
		return nil, fmt.Errorf("the query API answered more than %d MiB; ask for fewer rows (| take, | summarize)", maxQueryAnswerBytes>>20)
	}
	if code == http.StatusOK && err == nil {
		var out store.JSONResult
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("failed to read the query API's answer: %w", err)
		}
		return &out, nil
	}
	if code == 0 {
		// No answer at all: the apiserver is not reachable.
		return nil, fmt.Errorf("failed to reach the cluster's apiserver at %s: %w", cfg.Host, err)
	}
	qerr := clusterQueryError(code, raw, err)
	if errors.Is(qerr, errNoEndpoints) {
		// The proxy answers the same for a Service that does not exist and one
		// without ready pods: ask which.
		_, gerr := cs.CoreV1().Services(controllerNamespace).Get(ctx, queryAPIService, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(gerr):
			return nil, fmt.Errorf("no query API in this cluster: Service %s/%s does not exist; install tugboat (tugboat install --observe)", controllerNamespace, queryAPIService)
		case gerr != nil:
			return nil, fmt.Errorf("%w, or tugboat is not installed (tugboat install --observe)", qerr)
		}
	}
	return nil, qerr
}

// errNoEndpoints marks the apiserver's answer that nothing serves the Service.
var errNoEndpoints = errors.New("no ready pod behind")

// clusterQueryError names what went wrong: the apiserver's own refusal (a Status:
// forbidden, no such Service, no ready controller) or the query API's answer.
func clusterQueryError(code int, raw []byte, err error) error {
	var status struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	var api queryapi.ErrorResponse
	where := fmt.Sprintf("Service %s/%s port %s", controllerNamespace, queryAPIService, queryAPIPort)
	if json.Unmarshal(raw, &status) == nil && status.Kind == "Status" {
		switch code {
		case http.StatusForbidden:
			return fmt.Errorf("forbidden: the apiserver does not let you reach the query API (%s): %s; "+
				"a cluster admin grants it with a RoleBinding in %s to ClusterRole tugboat-query", where, status.Message, controllerNamespace)
		case http.StatusUnauthorized:
			return fmt.Errorf("the cluster did not accept the kubeconfig's credentials: %s", status.Message)
		case http.StatusNotFound:
			return fmt.Errorf("no query API in this cluster: %s; install tugboat (tugboat install --observe)", status.Message)
		case http.StatusServiceUnavailable, http.StatusBadGateway:
			return fmt.Errorf("the controller does not answer: %w %s (%s); see kubectl -n %s get pods", errNoEndpoints, where, status.Message, controllerNamespace)
		}
		return fmt.Errorf("the apiserver refused the query (%d %s): %s", code, status.Reason, status.Message)
	}
	if json.Unmarshal(raw, &api) == nil && api.Error != "" {
		switch code {
		case http.StatusUnauthorized:
			return errors.New("the query API needs a bearer token and the kubeconfig's user sent none " +
				"(a client certificate does not pass through the apiserver): give --token-file with a token (kubectl create token NAME)")
		case http.StatusServiceUnavailable:
			return errors.New(api.Error)
		}
		// A KQL error arrives formatted, with its line and caret.
		return errors.New(api.Error)
	}
	return fmt.Errorf("the query API answered %d: %w", code, err)
}

// forwardAuthorization copies the request's bearer token into
// X-Tugboat-Authorization, which the apiserver passes on to the service.
type forwardAuthorization struct {
	next http.RoundTripper
}

func (f forwardAuthorization) RoundTrip(req *http.Request) (*http.Response, error) {
	auth := req.Header.Get("Authorization")
	if scheme, _, _ := strings.Cut(auth, " "); strings.EqualFold(scheme, "Bearer") {
		req = req.Clone(req.Context())
		req.Header.Set(queryapi.ForwardedAuthorizationHeader, auth)
	}
	resp, err := f.next.RoundTrip(req)
	if err == nil {
		// client-go reads a whole answer into memory: bound it here.
		resp.Body = &boundedBody{ReadCloser: resp.Body, left: maxQueryAnswerBytes}
	}
	return resp, err
}

// errAnswerTooLarge is an answer past maxQueryAnswerBytes.
var errAnswerTooLarge = errors.New("answer too large")

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errAnswerTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
