package image

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RegistryError is a registry that refused or could not be reached. It names the
// registry and what was being done, and says what to do.
type RegistryError struct {
	// Registry is the registry's host[:port].
	Registry string
	// StatusCode is the HTTP status, 0 when the registry was not reached.
	StatusCode int
	// Reason is the sentence shown to the user.
	Reason string
	// Err is the underlying error.
	Err error
}

func (e *RegistryError) Error() string { return e.Reason }
func (e *RegistryError) Unwrap() error { return e.Err }

// registryError explains err, which happened while doing what (e.g. "push
// registry.example.com/app") against ref's registry. anonymous says whether the
// keychain had no credentials for it, which changes what a 401 means.
func registryError(what string, ref name.Reference, anonymous bool, err error) error {
	reg := ref.Context().RegistryStr()
	// Checked first: go-containerregistry joins the HTTPS failure with the answer of
	// its plain-HTTP retry, which for a TLS-only registry is a 400 that hides the cause.
	var ce *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	if errors.As(err, &ce) || errors.As(err, &ua) || errors.As(err, &he) {
		return &RegistryError{Registry: reg, Err: err, Reason: fmt.Sprintf("failed to %s: registry %s is unreachable: its TLS certificate is not trusted (%v): add --insecure for a local registry, or install its CA", what, reg, certCause(err))}
	}
	var te *transport.Error
	if errors.As(err, &te) {
		re := &RegistryError{Registry: reg, StatusCode: te.StatusCode, Err: err}
		switch {
		case te.StatusCode == http.StatusUnauthorized && anonymous:
			re.Reason = fmt.Sprintf("failed to %s: registry %s requires credentials and none were found for it: run `docker login %s` (tugboat reads the docker config in $DOCKER_CONFIG or ~/.docker)", what, reg, reg)
		case te.StatusCode == http.StatusUnauthorized:
			re.Reason = fmt.Sprintf("failed to %s: registry %s rejected the credentials (401 Unauthorized): check the entry for %s in the docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json) or run `docker login %s`", what, reg, reg, reg)
		case te.StatusCode == http.StatusForbidden:
			re.Reason = fmt.Sprintf("failed to %s: registry %s denied access to %s (403 Forbidden): the credentials are valid but may not do this", what, reg, ref.Context().Name())
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode):
			re.Reason = fmt.Sprintf("failed to %s: %s not found in registry %s", what, ref.String(), reg)
		default:
			re.Reason = fmt.Sprintf("failed to %s: registry %s answered: %v", what, reg, err)
		}
		return re
	}
	if unreachable(err) {
		hint := ""
		if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
			hint = "; it speaks plain HTTP: add --insecure"
		}
		cause := err
		var oe *net.OpError
		if errors.As(err, &oe) {
			cause = oe // "dial tcp host:port: connect: connection refused", without the URLs tried
		}
		return &RegistryError{Registry: reg, Err: err, Reason: fmt.Sprintf("failed to %s: registry %s is unreachable: %v%s", what, reg, cause, hint)}
	}
	return fmt.Errorf("failed to %s: %w", what, err)
}

// certCause is the certificate error alone, without the URLs tried.
func certCause(err error) error {
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return ce.Err
	}
	return err
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// unreachable reports a failure to talk to the registry at all: DNS, refused or
// reset connections, timeouts, TLS.
func unreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	var ce *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de) || errors.As(err, &ce) ||
		errors.As(err, &ua) || errors.As(err, &he) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// isAnonymous reports whether the keychain has no credentials for ref's registry.
func isAnonymous(kc authn.Keychain, ref name.Reference) bool {
	a, err := kc.Resolve(ref.Context())
	return err == nil && a == authn.Anonymous
}
