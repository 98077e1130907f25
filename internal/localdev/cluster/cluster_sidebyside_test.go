package cluster

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func TestTwoControlPlanesRunSideBySide(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	second, err := Start(ctx, Options{Dir: testDir(t)})
	if err != nil {
		t.Fatalf("failed to start a second control plane beside the shared one: %v", err)
	}
	defer second.Stop()
	if second.Server == shared.Server {
		t.Fatalf("both control planes serve on %s", second.Server)
	}

	a := kubernetes.NewForConfigOrDie(shared.RESTConfig)
	b := kubernetes.NewForConfigOrDie(second.RESTConfig)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-second"}}
	if _, err := b.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("failed to create namespace in the second control plane: %v", err)
	}
	if _, err := b.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("second control plane lost its namespace: %v", err)
	}
	if _, err := a.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the shared control plane sees the second one's namespace (err %v): they share state", err)
	}
}
