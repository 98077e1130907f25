package diff

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestMaskSecretsHidesEveryValue(t *testing.T) {
	before := map[string]any{"data": map[string]any{"same": "c2FtZQ==", "changed": "b2xk", "gone": "eA=="}}
	after := map[string]any{"data": map[string]any{"same": "c2FtZQ==", "changed": "bmV3", "added": "eQ=="}}
	maskSecrets(before, after)
	want := map[string]string{"same": "***", "changed": "*** (before)", "gone": "*** (before)"}
	for k, v := range want {
		if got := before["data"].(map[string]any)[k]; got != v {
			t.Errorf("before[%s] = %v, want %v", k, got, v)
		}
	}
	want = map[string]string{"same": "***", "changed": "*** (after)", "added": "*** (after)"}
	for k, v := range want {
		if got := after["data"].(map[string]any)[k]; got != v {
			t.Errorf("after[%s] = %v, want %v", k, got, v)
		}
	}
}

// TestMaskSecretsHidesTheLastAppliedConfiguration puts a Secret's values
// everywhere kubectl and people put them: data, stringData, kubectl's
// last-applied-configuration (as JSON, base64 and plain), another
// annotation, a label. No value may survive, in either encoding.
func TestMaskSecretsHidesTheLastAppliedConfiguration(t *testing.T) {
	secret := func(password, token string) map[string]any {
		b64 := base64.StdEncoding.EncodeToString([]byte(password))
		last := fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"creds"},"data":{"password":%q},"stringData":{"token":%q}}`, b64, token)
		return map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{
				"name": "creds",
				"annotations": map[string]any{
					corev1.LastAppliedConfigAnnotation: last,
					"example.com/note":                 "rotated from " + password,
				},
				"labels": map[string]any{"token": token},
			},
			"data":       map[string]any{"password": b64},
			"stringData": map[string]any{"token": token},
		}
	}
	before, after := secret("s3cret-one", "tok-one"), secret("s3cret-two", "tok-two")
	maskSecrets(before, after)
	text, err := unifiedDiff(before, after, "Secret/creds")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"s3cret-one", "s3cret-two", "tok-one", "tok-two"} {
		for _, enc := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(text, enc) {
				t.Errorf("the diff shows %q:\n%s", enc, text)
			}
		}
	}
	// The annotation stays an object's JSON, masked as data is.
	var last map[string]any
	ann := before["metadata"].(map[string]any)["annotations"].(map[string]any)
	if err := json.Unmarshal([]byte(ann[corev1.LastAppliedConfigAnnotation].(string)), &last); err != nil {
		t.Fatalf("last-applied-configuration is no longer JSON: %v", err)
	}
	if got := last["data"].(map[string]any)["password"]; got != "*** (before)" {
		t.Errorf("last-applied data.password = %v, want *** (before)", got)
	}
	if !strings.Contains(text, "Secret/creds") || !strings.Contains(text, "example.com/note") {
		t.Errorf("the diff lost its shape:\n%s", text)
	}
}
