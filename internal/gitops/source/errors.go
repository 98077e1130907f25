package source

import (
	"errors"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// The two classes of failure a fetch reports; the controller maps them to
// Flux's FetchFailed reasons. Check them with errors.Is.
var (
	// ErrAuthentication: the credentials were refused or cannot be built
	// from the Secret (reason AuthenticationFailed).
	ErrAuthentication = errors.New("authentication failed")
	// ErrGitOperation: the remote is unreachable, the URL is bad, or the
	// reference or commit does not exist (reason GitOperationFailed).
	ErrGitOperation = errors.New("git operation failed")
	// ErrLimitExceeded: the tree went past one of the Client's Limits
	// (reason LimitExceeded).
	ErrLimitExceeded = errors.New("limit exceeded")
	// ErrInsecure: the URL is refused as unsafe whatever the remote says:
	// file://, or credentials over plain http:// (reason InvalidSpec).
	ErrInsecure = errors.New("insecure source")
)

// Error is a fetch failure: Kind is ErrAuthentication, ErrGitOperation,
// ErrLimitExceeded or ErrInsecure and Err the cause. Its message never holds credentials: URLs lose their
// userinfo and the secret values of the Auth in use are masked.
type Error struct {
	Kind error
	Err  error
	msg  string
}

func (e *Error) Error() string   { return e.msg }
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// newError builds an Error whose message is "<what>: <cause>", scrubbed of
// the secrets in auth and of the userinfo of rawURL.
func newError(kind error, auth *Auth, rawURL, what string, cause error) *Error {
	msg := what
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &Error{Kind: kind, Err: cause, msg: scrub(msg, auth, rawURL)}
}

// classify picks the kind of a go-git or transport error.
func classify(err error) error {
	switch {
	case errors.Is(err, ErrAuthentication):
		return ErrAuthentication
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return ErrAuthentication
	}
	s := err.Error()
	for _, m := range []string{"unable to authenticate", "knownhosts:", "host key mismatch", "ssh: handshake failed: ssh: no auth"} {
		if strings.Contains(s, m) {
			return ErrAuthentication
		}
	}
	return ErrGitOperation
}

// RedactURL returns raw without its userinfo, for messages and logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

func scrub(msg string, auth *Auth, rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		msg = strings.ReplaceAll(msg, rawURL, RedactURL(rawURL))
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "***")
		}
	}
	if auth != nil {
		for _, s := range []string{auth.Password, auth.BearerToken, auth.SSHPassword} {
			if len(s) >= 3 { // masking one or two characters would mangle the message, not protect anything
				msg = strings.ReplaceAll(msg, s, "***")
			}
		}
	}
	return msg
}
