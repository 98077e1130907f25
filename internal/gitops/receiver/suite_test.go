package receiver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
)

// The suite's shared world: one control plane, the CRDs, a Git smart-HTTP server, and
// tugboat's controller manager (GitRepository, Kustomization, Receiver and the webhook
// server) running in this process, reached over real HTTP.
var (
	env      *cluster.Cluster
	k8s      client.Client // direct client, no cache: tests see what the apiserver holds
	cached   client.Reader // the manager's cache, where the webhook server finds Receivers
	git      *gitserver.Server
	hookBase string // http://127.0.0.1:<port> of the webhook server
)

func TestMain(m *testing.M) {
	var addr string // the webhook server's, picked free once the cluster holds its ports
	testenv.Main(m, testenv.Options{
		Cluster: cluster.Options{Workloads: true},
		CRDs:    true,
		Scheme:  kube.NewScheme(),
		Git:     true,
		Manager: func(ctx context.Context, cfg *rest.Config) (ctrl.Manager, error) {
			var err error
			if addr, err = freeAddr(); err != nil {
				return nil, err
			}
			hookBase = "http://" + addr
			return app.NewControllerManager(ctx, cfg, app.ControllerOptions{
				Controller:   controller.Options{Concurrent: 20, MetricsAddr: "0", HealthAddr: "0"},
				ReceiverAddr: addr,
			})
		},
		Ready: func(ctx context.Context, s *testenv.Suite) error {
			env, k8s, git, cached = s.Cluster, s.Client, s.Git, s.Manager.GetCache()
			return waitListening(ctx, addr)
		},
	})
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false, nil
		}
		_ = c.Close()
		return true, nil
	})
}

// newNamespace creates a namespace of the test's own.
func newNamespace(t testing.TB) string { return testenv.Namespace(t, k8s) }

// newRepo creates a Git repository on the test server holding files on branch main.
func newRepo(t testing.TB, name string, files map[string]string) (*gitserver.Workdir, string) {
	return testenv.Repo(t, git, name, files)
}

func create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("failed to create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func tokenSecret(ns, name, token string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{"token": []byte(token)}}
}

func gitRepository(ns, name, url string, labels map[string]string) *sourcev1.GitRepository {
	return &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: sourcev1.GitRepositorySpec{
			URL: url, Interval: metav1.Duration{Duration: time.Hour},
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
		},
	}
}

func kustomization(ns, name, path, source string) *kustomizev1.Kustomization {
	return &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: kustomizev1.KustomizationSpec{
			Interval:        metav1.Duration{Duration: time.Hour},
			Path:            path,
			TargetNamespace: ns,
			SourceRef:       kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: source},
		},
	}
}

func receiverObj(ns, name, typ, secret string, events []string, resources ...notificationv1.CrossNamespaceObjectReference) *notificationv1.Receiver {
	return &notificationv1.Receiver{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: notificationv1.ReceiverSpec{
			Type: typ, Events: events, Resources: resources,
			SecretRef: meta.LocalObjectReference{Name: secret},
		},
	}
}

// poll waits until check holds, failing the test with what the last check said.
func poll(t testing.TB, what string, check func(ctx context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		ok, msg := check(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s never happened; last seen: %s", what, last)
	}
}

// waitReceiverReady waits for the Receiver to be Ready and returns its webhook path.
func waitReceiverReady(t testing.TB, ns, name string) string {
	t.Helper()
	var r notificationv1.Receiver
	poll(t, "Receiver "+name+" Ready", func(ctx context.Context) (bool, string) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &r); err != nil {
			return false, err.Error()
		}
		return meta.IsReady(&r) && r.Status.WebhookPath != "", fmt.Sprintf("%+v", r.Status)
	})
	waitServed(t, ns, name, r.Status.WebhookPath)
	return r.Status.WebhookPath
}

// waitServed waits until the manager's cache holds the Receiver with status.webhookPath
// path. The webhook server finds a call's Receiver in that cache, which sees a status a
// moment after the apiserver answers a direct read of it (as in Flux's
// notification-controller); a call in that moment is answered 404.
func waitServed(t testing.TB, ns, name, path string) {
	t.Helper()
	poll(t, "Receiver "+name+" served at "+path, func(ctx context.Context) (bool, string) {
		var r notificationv1.Receiver
		if err := cached.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &r); err != nil {
			return false, err.Error()
		}
		return r.Status.WebhookPath == path, r.Status.WebhookPath
	})
}

// post sends a webhook call and returns the status code and body.
func post(t testing.TB, method, path string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, hookBase+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}
