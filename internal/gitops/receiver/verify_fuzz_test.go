package receiver

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the fuzz oracle checks the legacy SHA-1 signatures verify accepts.
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"testing"

	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

// FuzzVerify feeds any signature header, token header, event and body to the webhook
// verifiers of every receiver type: a call from the internet must be refused or
// accepted without a panic; an accepted call to a signing type must carry the HMAC of
// its body under the token (computed here independently); a refusal must be one of
// the two refusal errors; and no message may contain the token unless the caller sent
// it. The seed corpus runs in `make test`; `make fuzz` runs it for a fixed budget.
func FuzzVerify(f *testing.F) {
	f.Add(vectorToken, vectorBody, vectorSHA256, "push", "push")
	f.Add(vectorToken, vectorBody, vectorSHA1, "ping", "")
	f.Add(vectorToken, vectorBody, vectorSHA512, "repo:push", "Push")
	f.Add(vectorToken, vectorBody, "sha256=", "", "push")
	f.Add("t", "", "md5=00", "x", "")
	f.Add("", "", "=", "", "")
	f.Add("token", "{}", "sha256=zz", "Push Hook", "push hook")
	f.Add("s3cr#t", "{}", "s3cr#t", "push", "")
	f.Add("s3cr#t", "{}", "sha1=s3cr#t", "tag", "push")
	f.Fuzz(func(t *testing.T, token, body, sig, event, allowed string) {
		var events []string
		if allowed != "" {
			events = strings.Split(allowed, ",")
		}
		for _, c := range fuzzVerifyCases() {
			typ := c.typ
			h := headers(
				headerSignature, sig,
				headerGitHubSignature256, sig,
				headerGitLabToken, sig,
				headerAuthorization, sig,
				headerGitHubEvent, event,
				headerGitLabEvent, event,
				headerBitbucketEvent, event,
			)
			v, err := verify(typ, []byte(token), events, c.sha256Only, call{header: h, body: []byte(body)})
			if err != nil {
				if !errors.Is(err, errUnauthenticated) && !errors.Is(err, errEventNotAllowed) {
					t.Fatalf("%s: verify returned an unclassified error: %v", typ, err)
				}
				// Only tokens with a '#' are checked: the messages' own words (the
				// header names, "token") hold none, so such a token found in a
				// message came from the token or from what the caller sent.
				if strings.Contains(token, "#") && strings.Contains(err.Error(), token) &&
					!strings.Contains(sig+event+allowed+typ, token) {
					t.Fatalf("%s: the error message %q contains the token", typ, err)
				}
				continue
			}
			switch typ {
			case notificationv1.GenericHMACReceiver, notificationv1.GitHubReceiver, notificationv1.BitbucketReceiver:
				if !signedBy(sig, token, body) {
					t.Fatalf("%s: accepted signature %q that is not the HMAC of the body", typ, sig)
				}
			case notificationv1.GitLabReceiver, notificationv1.HarborReceiver:
				if sig != token || sig == "" {
					t.Fatalf("%s: accepted header %q that is not the token", typ, sig)
				}
			}
			if v.ping && typ != notificationv1.GitHubReceiver {
				t.Fatalf("%s: a ping verdict from a type without pings", typ)
			}
		}
	})
}

// signedBy reports whether sig is '<algorithm>=<hex HMAC of body keyed by token>'.
func signedBy(sig, token, body string) bool {
	algorithm, digest, _ := strings.Cut(sig, "=")
	hashes := map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}
	h, ok := hashes[algorithm]
	if !ok {
		return false
	}
	mac := hmac.New(h, []byte(token))
	mac.Write([]byte(body))
	want, err := hex.DecodeString(digest)
	return err == nil && bytes.Equal(mac.Sum(nil), want)
}

// fuzzVerifyCase is one way verify is called: a Receiver type, with or without the
// require-sha256 annotation.
type fuzzVerifyCase struct {
	typ        string
	sha256Only bool
}

// fuzzVerifyCases is every supported type, each with and without require-sha256, so
// both paths of verify see every input.
func fuzzVerifyCases() []fuzzVerifyCase {
	var cases []fuzzVerifyCase
	for _, typ := range SupportedTypes {
		cases = append(cases, fuzzVerifyCase{typ, false}, fuzzVerifyCase{typ, true})
	}
	return cases
}
