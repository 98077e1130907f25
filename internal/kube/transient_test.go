package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// closedPortError dials a port nobody listens on: the connection refused a stopped
// apiserver gives, as the Go HTTP client reports it.
func closedPortError(t *testing.T) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	resp, err := http.Get("http://" + addr + "/api")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s answered; want connection refused", addr)
	}
	return err
}

func TestTransientTellsAnUnreachableApiserverFromARefusal(t *testing.T) {
	gr := schema.GroupResource{Resource: "configmaps"}
	refused := closedPortError(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	var d net.Dialer
	_, timeout := d.DialContext(ctx, "tcp", "127.0.0.1:1")
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"nil":                   {nil, false},
		"connection refused":    {refused, true},
		"wrapped refused":       {fmt.Errorf("failed to apply ConfigMap/a: %w", refused), true},
		"dial timeout":          {timeout, true},
		"503":                   {apierrors.NewServiceUnavailable("etcd is starting"), true},
		"429":                   {apierrors.NewTooManyRequests("slow down", 1), true},
		"504 server timeout":    {apierrors.NewServerTimeout(gr, "patch", 1), true},
		"500":                   {apierrors.NewInternalError(errors.New("etcdserver: leader changed")), true},
		"404":                   {apierrors.NewNotFound(gr, "a"), false},
		"403":                   {apierrors.NewForbidden(gr, "a", errors.New("no")), false},
		"422 invalid":           {apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "a", nil), false},
		"plain error":           {errors.New("kustomize: no such file"), false},
		"joined, refusal first": {errors.Join(apierrors.NewForbidden(gr, "a", errors.New("no")), fmt.Errorf("failed to apply b: %w", refused)), true},
		"joined, all refusals":  {errors.Join(apierrors.NewForbidden(gr, "a", errors.New("no")), apierrors.NewNotFound(gr, "b")), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Errorf("Transient(%v) = %t, want %t", tc.err, got, tc.want)
			}
		})
	}
}
