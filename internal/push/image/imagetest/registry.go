// Package imagetest starts a real OCI registry inside a test process and writes
// docker config files, for the tests of the image package and of the CLI.
package imagetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The registry's storage and auth back-ends register themselves on import.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// NewRegistry starts a real OCI registry in the test process: CNCF distribution
// (the registry behind Docker Hub, GHCR and Harbor) with in-memory storage. With
// users (name to password) it requires HTTP basic auth, checked against an
// htpasswd file, as a private registry does. It returns host:port; clients speak
// plain HTTP to loopback registries. The registry stops when the test ends.
func NewRegistry(t testing.TB, users map[string]string) string {
	t.Helper()
	return newRegistry(t, users, false)
}

func newRegistry(t testing.TB, users map[string]string, tlsServer bool) string {
	t.Helper()
	logrus.SetOutput(io.Discard) // the registry logs every request through logrus
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.HTTP.Secret = "tugboat-test-secret"
	cfg.Log.AccessLog.Disabled = true
	if len(users) > 0 {
		var lines []string
		for u, pw := range users {
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, u+":"+string(h))
		}
		file := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "tugboat-test", "path": file}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewUnstartedServer(handlers.NewApp(ctx, cfg))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if tlsServer {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Close()
		cancel()
	})
	return strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")
}

// NewTLSRegistry is NewRegistry served over HTTPS with a self-signed certificate
// that no client trusts, like a local registry that needs --insecure.
func NewTLSRegistry(t testing.TB) string {
	t.Helper()
	return newRegistry(t, nil, true)
}

// DockerConfig writes a docker config.json giving user:password for registry and
// points DOCKER_CONFIG at it, as `docker login` would have.
func DockerConfig(t testing.TB, registry, user, password string) {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	data, err := json.Marshal(map[string]any{"auths": map[string]any{registry: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// NoDockerConfig points DOCKER_CONFIG at an empty directory so that the machine's
// own credentials play no part.
func NoDockerConfig(t testing.TB) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}
