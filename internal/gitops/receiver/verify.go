package receiver

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // GitHub's legacy X-Hub-Signature and Flux's generic-hmac accept SHA-1.
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"

	"github.com/tugboatcd/tugboat/api/meta"
	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

// Why the checks are written here rather than taken from go-github's ValidatePayload
// (which Flux uses): they are a few lines over crypto/hmac, and go-github would be a
// large dependency for them; the table tests pin the same header names, prefixes and
// algorithms.

// Errors of a refused call; the server answers each with its own status code.
var (
	// errUnauthenticated: a signature or token is missing or wrong (401).
	errUnauthenticated = errors.New("unauthenticated")
	// errEventNotAllowed: the call is authentic but its event is not in spec.events (400,
	// as Flux answers).
	errEventNotAllowed = errors.New("event not allowed")
)

// Headers read from webhook calls, spelled as the senders send them.
const (
	headerGitHubEvent        = "X-GitHub-Event"
	headerGitHubSignature    = "X-Hub-Signature"
	headerGitHubSignature256 = "X-Hub-Signature-256"
	headerGitLabToken        = "X-Gitlab-Token"
	headerGitLabEvent        = "X-Gitlab-Event"
	headerBitbucketEvent     = "X-Event-Key"
	headerSignature          = "X-Signature"
	headerAuthorization      = "Authorization"
)

// pingEvent is what GitHub sends when a webhook is created; it is answered without
// acting, whatever spec.events says.
const pingEvent = "ping"

// SupportedTypes are the spec.type values this package can authenticate.
var SupportedTypes = []string{
	notificationv1.GenericReceiver,
	notificationv1.GenericHMACReceiver,
	notificationv1.GitHubReceiver,
	notificationv1.GitLabReceiver,
	notificationv1.BitbucketReceiver,
	notificationv1.HarborReceiver,
}

// call is what a verdict needs from a webhook request: its headers and raw body.
type call struct {
	header http.Header
	body   []byte
}

// verdict is the decision on an authenticated call.
type verdict struct {
	// event is the sender's event type, when the provider names one.
	event string
	// ping: answer 200 and act on nothing.
	ping bool
}

// verify authenticates c for a Receiver of type typ with token, and checks its event
// against events (empty allows all). It returns an error wrapping errUnauthenticated or
// errEventNotAllowed, with a message that never contains the token.
//
// With sha256Only (the Receiver's require-sha256 annotation), a SHA-1 signature is
// refused and so is a type that carries no signature.
func verify(typ string, token []byte, events []string, sha256Only bool, c call) (verdict, error) {
	var v verdict
	if sha256Only && !signs(typ) {
		return v, fmt.Errorf("%w: receiver type '%s' carries no signature, and SHA-256 is required", errUnauthenticated, typ)
	}
	checkHMAC := func(signature string, body, token []byte, header string) error {
		return checkHMAC(signature, body, token, header, sha256Only)
	}
	switch typ {
	case notificationv1.GenericReceiver:
		// The secret path is the only credential, as in Flux.
		return v, nil
	case notificationv1.GenericHMACReceiver:
		if err := checkHMAC(c.header.Get(headerSignature), c.body, token, headerSignature); err != nil {
			return v, err
		}
		return v, nil
	case notificationv1.GitHubReceiver, notificationv1.BitbucketReceiver:
		// Bitbucket Server signs like GitHub (X-Hub-Signature, sha256=...).
		header, sig := headerGitHubSignature256, c.header.Get(headerGitHubSignature256)
		if sig == "" {
			header, sig = headerGitHubSignature, c.header.Get(headerGitHubSignature)
		}
		if err := checkHMAC(sig, c.body, token, header); err != nil {
			return v, err
		}
		if typ == notificationv1.GitHubReceiver {
			v.event = c.header.Get(headerGitHubEvent)
			if v.event == pingEvent {
				v.ping = true
				return v, nil
			}
		} else {
			v.event = c.header.Get(headerBitbucketEvent)
		}
	case notificationv1.GitLabReceiver:
		if err := checkToken(c.header.Get(headerGitLabToken), token, headerGitLabToken); err != nil {
			return v, err
		}
		v.event = c.header.Get(headerGitLabEvent)
	case notificationv1.HarborReceiver:
		if err := checkToken(c.header.Get(headerAuthorization), token, headerAuthorization); err != nil {
			return v, err
		}
		return v, nil
	default:
		return v, fmt.Errorf("%w: receiver type '%s' is not supported", errUnauthenticated, typ)
	}
	if !eventAllowed(events, v.event) {
		return v, fmt.Errorf("%w: event '%s' is not in spec.events %v", errEventNotAllowed, v.event, events)
	}
	return v, nil
}

// eventAllowed reports whether event is in events, ignoring case as Flux does; an
// empty list allows every event.
func eventAllowed(events []string, event string) bool {
	if len(events) == 0 {
		return true
	}
	for _, e := range events {
		if strings.EqualFold(e, event) {
			return true
		}
	}
	return false
}

// checkToken compares a header holding the token itself in constant time.
func checkToken(got string, token []byte, header string) error {
	if got == "" {
		return fmt.Errorf("%w: header %s is missing", errUnauthenticated, header)
	}
	if subtle.ConstantTimeCompare([]byte(got), token) != 1 {
		return fmt.Errorf("%w: header %s does not match the token", errUnauthenticated, header)
	}
	return nil
}

// checkHMAC verifies a signature of the form '<algorithm>=<hex>' (sha1, sha256 or
// sha512, the prefixes GitHub and Flux's generic-hmac accept) over body keyed by token.
func checkHMAC(signature string, body, token []byte, header string, sha256Only bool) error {
	if signature == "" {
		return fmt.Errorf("%w: header %s is missing", errUnauthenticated, header)
	}
	algorithm, digest, ok := strings.Cut(signature, "=")
	if !ok {
		return fmt.Errorf("%w: header %s is not '<algorithm>=<hex digest>'", errUnauthenticated, header)
	}
	var h func() hash.Hash
	switch algorithm {
	case "sha1":
		if sha256Only {
			return fmt.Errorf("%w: header %s is signed with sha1, and the Receiver requires sha256 (%s)", errUnauthenticated, header, meta.RequireSHA256Annotation)
		}
		h = sha1.New
	case "sha256":
		h = sha256.New
	case "sha512":
		h = sha512.New
	default:
		return fmt.Errorf("%w: header %s has unknown algorithm '%s' (want sha1, sha256 or sha512)", errUnauthenticated, header, algorithm)
	}
	want, err := hex.DecodeString(digest)
	if err != nil {
		return fmt.Errorf("%w: header %s is not hex after '%s='", errUnauthenticated, header, algorithm)
	}
	mac := hmac.New(h, token)
	_, _ = mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), want) {
		return fmt.Errorf("%w: header %s does not match the body", errUnauthenticated, header)
	}
	return nil
}

// Sign returns the signature header value a sender computes for body with token:
// 'sha256=' + hex(HMAC-SHA256(token, body)). Tests and tugboat's own clients use it.
func Sign(token, body []byte) string {
	mac := hmac.New(sha256.New, token)
	_, _ = mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
