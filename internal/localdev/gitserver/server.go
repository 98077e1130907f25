// Package gitserver is a real Git smart-HTTP server for tests and demos: it
// serves bare repositories through `git http-backend`, optionally behind basic
// or bearer-token auth, and makes commits with the real `git` CLI.
//
// It needs git (with http-backend, any release since 2.x) on PATH; CI has it
// on the Go machine. Nothing here is faked: clients speak the same protocol
// to it as to a Git forge, so what passes here passes against one.
package gitserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves the bare repositories under a root directory over smart HTTP.
type Server struct {
	root string

	user, pass string
	token      string
	tls        bool
	caPEM      []byte
	host       string

	mu       sync.Mutex
	listener net.Listener
	http     *http.Server
	url      string
	fault    Fault

	uploadPacks  atomic.Int64
	receivePacks atomic.Int64
	refAdverts   atomic.Int64
	rejected     atomic.Int64
}

// New returns a server for the bare repositories under root; a repository
// root/a.git is served at <url>/a.git.
func New(root string) *Server {
	return &Server{root: root}
}

// WithBasicAuth makes every request require HTTP basic auth with these
// credentials (a bearer token set with WithBearerToken is accepted too).
func (s *Server) WithBasicAuth(user, pass string) *Server {
	s.user, s.pass = user, pass
	return s
}

// WithBearerToken makes every request require "Authorization: Bearer token"
// (basic credentials set with WithBasicAuth are accepted too).
func (s *Server) WithBearerToken(token string) *Server {
	s.token = token
	return s
}

// WithHost makes Start listen on this IP address instead of 127.0.0.1: pods of the
// local cluster's real node cannot reach the host's loopback, and reach the address
// its apiserver advertises (cluster.Cluster.HostIP).
func (s *Server) WithHost(ip string) *Server {
	s.host = ip
	return s
}

// WithTLS makes Start serve HTTPS, with a self-signed certificate for
// 127.0.0.1 made at Start; CACert returns it for clients to trust.
func (s *Server) WithTLS() *Server {
	s.tls = true
	return s
}

// CACert returns the PEM certificate of a WithTLS server after Start, the
// "ca.crt" a client needs; nil otherwise.
func (s *Server) CACert() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caPEM
}

// Root returns the directory holding the bare repositories.
func (s *Server) Root() string { return s.root }

// Start listens on 127.0.0.1 (or WithHost's address) with a random port and returns the base URL,
// e.g. "http://127.0.0.1:41234". After Close it listens on the same address.
func (s *Server) Start() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http != nil {
		return s.url, nil
	}
	git, err := exec.LookPath("git")
	if err != nil {
		return "", fmt.Errorf("failed to find git on PATH (gitserver runs git http-backend): %w", err)
	}
	root, err := filepath.Abs(s.root)
	if err != nil {
		return "", fmt.Errorf("failed to resolve root %q: %w", s.root, err)
	}
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
		},
		InheritEnv: []string{"PATH", "HOME"},
	}
	// After Close, listen on the same address again, so that clients see the
	// server come back rather than move.
	addr := "127.0.0.1:0"
	if s.host != "" {
		addr = net.JoinHostPort(s.host, "0")
	}
	if s.url != "" {
		addr = strings.TrimPrefix(s.url, "http://")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("failed to listen on %s: %w", addr, err)
	}
	s.url = "http://" + l.Addr().String()
	if s.tls {
		cert, caPEM, err := selfSigned()
		if err != nil {
			l.Close()
			return "", err
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		s.caPEM = caPEM
		s.url = "https://" + l.Addr().String()
	}
	s.listener = l
	srv := &http.Server{Handler: s.handler(backend), ReadHeaderTimeout: 10 * time.Second}
	s.http = srv
	go func() { _ = srv.Serve(l) }()
	return s.url, nil
}

// URL returns the base URL, or "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// RepoURL returns the HTTP address of the repository name (e.g. "app.git").
func (s *Server) RepoURL(name string) string {
	return s.URL() + "/" + strings.TrimPrefix(name, "/")
}

// Close stops the server; it closes the listener so later requests fail
// with "connection refused".
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.http == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	s.http = nil
}

// Stats counts the requests the server answered, so tests can prove what a
// client did (for instance that it did not clone).
type Stats struct {
	// RefAdvertisements counts GET .../info/refs (ls-remote, and the first
	// step of every fetch or push).
	RefAdvertisements int64
	// UploadPacks counts POST .../git-upload-pack: one per fetch or clone
	// by a protocol v0/v1 client such as go-git; the git CLI speaks
	// protocol v2 and also POSTs its ls-refs command there.
	UploadPacks int64
	// ReceivePacks counts POST .../git-receive-pack: one per push.
	ReceivePacks int64
	// Rejected counts requests refused for missing or wrong credentials.
	Rejected int64
}

// Stats returns the request counters since Start (or the last ResetStats).
func (s *Server) Stats() Stats {
	return Stats{
		RefAdvertisements: s.refAdverts.Load(),
		UploadPacks:       s.uploadPacks.Load(),
		ReceivePacks:      s.receivePacks.Load(),
		Rejected:          s.rejected.Load(),
	}
}

// ResetStats sets every counter back to zero.
func (s *Server) ResetStats() {
	s.refAdverts.Store(0)
	s.uploadPacks.Store(0)
	s.receivePacks.Store(0)
	s.rejected.Store(0)
}

func (s *Server) handler(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.faulted(w, r) {
			return
		}
		if !s.authorized(r) {
			s.rejected.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="gitserver"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			s.refAdverts.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			s.uploadPacks.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
			s.receivePacks.Add(1)
		}
		backend.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	if s.user == "" && s.token == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	if s.token != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok && equal(tok, s.token) {
			return true
		}
	}
	if s.user != "" {
		if u, p, ok := r.BasicAuth(); ok && equal(u, s.user) && equal(p, s.pass) {
			return true
		}
	}
	return false
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// InitRepo creates the bare repository root/name whose HEAD points at
// branch, with pushes over HTTP allowed. It is empty until a Workdir pushes.
func (s *Server) InitRepo(name, branch string) error {
	if branch == "" {
		return errors.New("failed to init repository: branch must not be empty")
	}
	dir := filepath.Join(s.root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", dir, err)
	}
	if _, err := runGit(dir, "init", "--bare", "--quiet", "--initial-branch="+branch); err != nil {
		return fmt.Errorf("failed to init repository %q: %w", name, err)
	}
	// Anonymous pushes are refused by http-backend unless receivepack is on.
	if _, err := runGit(dir, "config", "http.receivepack", "true"); err != nil {
		return fmt.Errorf("failed to enable pushes to %q: %w", name, err)
	}
	return nil
}

// gitEnv isolates git from the user's and the system's configuration, so
// commits are reproducible and never prompt.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=tugboat test",
		"GIT_AUTHOR_EMAIL=test@tugboat.invalid",
		"GIT_COMMITTER_NAME=tugboat test",
		"GIT_COMMITTER_EMAIL=test@tugboat.invalid",
	)
}

func runGit(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// selfSigned makes a certificate for 127.0.0.1, valid for a day, that is its
// own CA.
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("failed to generate a TLS key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "tugboat gitserver"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("failed to make a TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
