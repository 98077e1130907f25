package receiver

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// The vectors are GitHub's documented example (secret "It's a Secret to Everybody",
// payload "Hello, World!"); the SHA-1 and SHA-512 ones were computed independently with
// `printf 'Hello, World!' | openssl dgst -sha512 -hmac "It's a Secret to Everybody"`.
const (
	vectorToken  = "It's a Secret to Everybody"
	vectorBody   = "Hello, World!"
	vectorSHA256 = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	vectorSHA1   = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"
	vectorSHA512 = "sha512=11ed355a617e98134e842012a7944ccf59c10256cb182357bd7e3a42013ff07c376f8c14cf5cc1923da20b51d64256b2fb8ebbf100aa67a61326f61fea8111bc"
)

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestVerify(t *testing.T) {
	tests := map[string]struct {
		typ     string
		events  []string
		header  http.Header
		body    string
		wantErr error // nil, errUnauthenticated or errEventNotAllowed
		wantMsg string
		ping    bool
		event   string
		sha256  bool // the Receiver's require-sha256 annotation
	}{
		"with SHA-256 required a GitHub push signed with SHA-256 is accepted": {
			typ: "github", sha256: true,
			header: headers(headerGitHubSignature256, vectorSHA256, headerGitHubEvent, "push"), event: "push",
		},
		"with SHA-256 required a GitHub push signed only with SHA-1 is refused": {
			typ: "github", sha256: true,
			header:  headers(headerGitHubSignature, vectorSHA1, headerGitHubEvent, "push"),
			wantErr: errUnauthenticated, wantMsg: "signed with sha1, and the Receiver requires sha256",
		},
		"with SHA-256 required a generic call without signature is refused": {
			typ: "generic", sha256: true,
			wantErr: errUnauthenticated, wantMsg: "carries no signature",
		},
		"with SHA-256 required a GitLab token is refused": {
			typ: "gitlab", sha256: true, header: headers(headerGitLabToken, vectorToken, headerGitLabEvent, "Push Hook"),
			wantErr: errUnauthenticated, wantMsg: "carries no signature",
		},
		"a GitHub push signed with SHA-256 is accepted": {
			typ: "github", events: []string{"push"},
			header: headers(headerGitHubSignature256, vectorSHA256, headerGitHubEvent, "push"), event: "push",
		},
		"a GitHub push signed only with the legacy SHA-1 header is accepted": {
			typ:    "github",
			header: headers(headerGitHubSignature, vectorSHA1, headerGitHubEvent, "push"), event: "push",
		},
		"a GitHub event is matched to spec.events without regard to case": {
			typ: "github", events: []string{"Push"},
			header: headers(headerGitHubSignature256, vectorSHA256, headerGitHubEvent, "push"), event: "push",
		},
		"a GitHub ping is answered without acting even when not in spec.events": {
			typ: "github", events: []string{"push"},
			header: headers(headerGitHubSignature256, vectorSHA256, headerGitHubEvent, "ping"), ping: true, event: "ping",
		},
		"a GitHub event not in spec.events is refused": {
			typ: "github", events: []string{"push"},
			header:  headers(headerGitHubSignature256, vectorSHA256, headerGitHubEvent, "issues"),
			wantErr: errEventNotAllowed, wantMsg: "event 'issues' is not in spec.events",
		},
		"a GitHub call without a signature is refused": {
			typ: "github", header: headers(headerGitHubEvent, "push"),
			wantErr: errUnauthenticated, wantMsg: "header X-Hub-Signature is missing",
		},
		"a GitHub ping without a signature is refused": {
			typ: "github", header: headers(headerGitHubEvent, "ping"),
			wantErr: errUnauthenticated,
		},
		"a GitHub call signed with another token is refused": {
			typ:     "github",
			header:  headers(headerGitHubSignature256, "sha256=0000000000000000000000000000000000000000000000000000000000000000", headerGitHubEvent, "push"),
			wantErr: errUnauthenticated, wantMsg: "does not match the body",
		},
		"a GitHub call whose body was altered is refused": {
			typ: "github", body: vectorBody + " ",
			header:  headers(headerGitHubSignature256, vectorSHA256, headerGitHubEvent, "push"),
			wantErr: errUnauthenticated, wantMsg: "does not match the body",
		},
		"a signature with an unknown algorithm is refused": {
			typ: "github", header: headers(headerGitHubSignature256, "md5=65a8e27d8879283831b664bd8b7f0ad4"),
			wantErr: errUnauthenticated, wantMsg: "unknown algorithm 'md5'",
		},
		"a signature that is not hex is refused": {
			typ: "github", header: headers(headerGitHubSignature256, "sha256=zz"),
			wantErr: errUnauthenticated, wantMsg: "is not hex",
		},
		"a signature without an algorithm prefix is refused": {
			typ: "github", header: headers(headerGitHubSignature256, strings.TrimPrefix(vectorSHA256, "sha256=")),
			wantErr: errUnauthenticated, wantMsg: "is not '<algorithm>=<hex digest>'",
		},
		"a generic-hmac call signed with SHA-256 is accepted": {
			typ: "generic-hmac", header: headers(headerSignature, vectorSHA256),
		},
		"a generic-hmac call signed with SHA-1 is accepted": {
			typ: "generic-hmac", header: headers(headerSignature, vectorSHA1),
		},
		"a generic-hmac call signed with SHA-512 is accepted": {
			typ: "generic-hmac", header: headers(headerSignature, vectorSHA512),
		},
		"a generic-hmac call with GitHub's header instead of X-Signature is refused": {
			typ: "generic-hmac", header: headers(headerGitHubSignature256, vectorSHA256),
			wantErr: errUnauthenticated, wantMsg: "header X-Signature is missing",
		},
		"a generic-hmac call with a wrong signature is refused": {
			typ: "generic-hmac", header: headers(headerSignature, strings.Replace(vectorSHA512, "11ed", "11ee", 1)),
			wantErr: errUnauthenticated,
		},
		"a generic call needs no signature": {
			typ: "generic", header: headers(),
		},
		"a GitLab call with the token is accepted": {
			typ: "gitlab", events: []string{"Push Hook"},
			header: headers(headerGitLabToken, vectorToken, headerGitLabEvent, "Push Hook"), event: "Push Hook",
		},
		"a GitLab call with a wrong token is refused": {
			typ:     "gitlab",
			header:  headers(headerGitLabToken, vectorToken+"x", headerGitLabEvent, "Push Hook"),
			wantErr: errUnauthenticated, wantMsg: "X-Gitlab-Token does not match the token",
		},
		"a GitLab call without the token header is refused": {
			typ: "gitlab", header: headers(headerGitLabEvent, "Push Hook"),
			wantErr: errUnauthenticated, wantMsg: "X-Gitlab-Token is missing",
		},
		"a GitLab event not in spec.events is refused": {
			typ: "gitlab", events: []string{"Push Hook"},
			header:  headers(headerGitLabToken, vectorToken, headerGitLabEvent, "Tag Push Hook"),
			wantErr: errEventNotAllowed,
		},
		"a Bitbucket Server call is signed like GitHub's and names its event in X-Event-Key": {
			typ: "bitbucket", events: []string{"repo:refs_changed"},
			header: headers(headerGitHubSignature, vectorSHA256, headerBitbucketEvent, "repo:refs_changed"), event: "repo:refs_changed",
		},
		"a Harbor call carries the token in Authorization": {
			typ: "harbor", header: headers(headerAuthorization, vectorToken),
		},
		"a Harbor call with another Authorization is refused": {
			typ: "harbor", header: headers(headerAuthorization, "Bearer "+vectorToken),
			wantErr: errUnauthenticated,
		},
		"a type tugboat does not implement is refused": {
			typ: "quay", header: headers(),
			wantErr: errUnauthenticated, wantMsg: "receiver type 'quay' is not supported",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			body := tc.body
			if body == "" {
				body = vectorBody
			}
			v, err := verify(tc.typ, []byte(vectorToken), tc.events, tc.sha256, call{header: tc.header, body: []byte(body)})
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("error %q does not say %q", err, tc.wantMsg)
				}
				if strings.Contains(err.Error(), vectorToken) {
					t.Errorf("error %q contains the token", err)
				}
				return
			}
			if v.ping != tc.ping || v.event != tc.event {
				t.Errorf("got %+v, want ping=%v event=%q", v, tc.ping, tc.event)
			}
		})
	}
}

func TestSignMatchesGitHubsVector(t *testing.T) {
	if got := Sign([]byte(vectorToken), []byte(vectorBody)); got != vectorSHA256 {
		t.Errorf("got %s, want %s", got, vectorSHA256)
	}
}
