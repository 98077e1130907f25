package v1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestWebhookPath pins Flux's formula, '/hook/' + hex(sha256(token + name +
// namespace)), so that webhooks registered for Flux keep working. The want
// value was computed independently with
// `printf 'tokenflux-systemflux-system' | sha256sum`.
func TestWebhookPath(t *testing.T) {
	r := &Receiver{ObjectMeta: metav1.ObjectMeta{Name: "flux-system", Namespace: "flux-system"}}
	want := "/hook/" + "b4ed96657f619deceb967ae4ea5108cc55bc4200b3c288f9482521f19677c392"
	if got := r.GetWebhookPath("token"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
