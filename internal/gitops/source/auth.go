package source

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// Auth is what a GitRepository's secretRef provides.
type Auth struct {
	Username, Password string
	BearerToken        string
	SSHIdentity        []byte
	SSHKnownHosts      []byte
	SSHPassword        string
	CAData             []byte
}

// Secret keys, as Flux names them.
const (
	keyUsername    = "username"
	keyPassword    = "password"
	keyBearerToken = "bearerToken"
	keyIdentity    = "identity"
	keyKnownHosts  = "known_hosts"
	keyCA          = "ca.crt"
	keyCAFile      = "caFile" // Flux's older spelling of ca.crt
)

// AuthFromSecret reads Flux's Secret keys: username and password (basic
// auth), bearerToken, identity and known_hosts (SSH; password then unlocks an
// encrypted identity) and ca.crt. It checks each value's form, so a bad
// Secret fails here, with the key named, rather than as a remote error; the
// error never holds a value and wraps ErrAuthentication.
func AuthFromSecret(data map[string][]byte) (*Auth, error) {
	a := &Auth{
		Username:      string(data[keyUsername]),
		Password:      string(data[keyPassword]),
		BearerToken:   string(data[keyBearerToken]),
		SSHIdentity:   data[keyIdentity],
		SSHKnownHosts: data[keyKnownHosts],
		CAData:        data[keyCA],
	}
	if len(a.CAData) == 0 {
		a.CAData = data[keyCAFile]
	}
	bad := func(format string, args ...any) (*Auth, error) {
		return nil, fmt.Errorf("invalid Secret: "+format+": %w", append(args, ErrAuthentication)...)
	}
	if len(a.SSHIdentity) > 0 {
		// With an identity, 'password' is its passphrase, not an HTTP one.
		a.SSHPassword, a.Password = a.Password, ""
		if _, err := ssh.ParsePrivateKey(a.SSHIdentity); err != nil {
			var missing *ssh.PassphraseMissingError
			if !errors.As(err, &missing) {
				return bad("key %q is not a PEM or OpenSSH private key", keyIdentity)
			}
			if a.SSHPassword == "" {
				return bad("key %q is encrypted but key %q is missing", keyIdentity, keyPassword)
			}
			if _, err := ssh.ParsePrivateKeyWithPassphrase(a.SSHIdentity, []byte(a.SSHPassword)); err != nil {
				return bad("key %q cannot be decrypted with key %q", keyIdentity, keyPassword)
			}
		}
	}
	if len(a.SSHKnownHosts) > 0 {
		if _, _, _, _, _, err := ssh.ParseKnownHosts(a.SSHKnownHosts); err != nil {
			return bad("key %q holds no valid known_hosts line", keyKnownHosts)
		}
	}
	if a.Password != "" && a.Username == "" && a.BearerToken == "" {
		return bad("key %q requires key %q", keyPassword, keyUsername)
	}
	if len(a.CAData) > 0 {
		if b, _ := pem.Decode(a.CAData); b == nil {
			return bad("key %q holds no PEM certificate", keyCA)
		} else if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return bad("key %q holds an invalid certificate", keyCA)
		}
	}
	return a, nil
}

// identity is a digest of the credentials, for cache keys: two GitRepositories
// share fetched trees only when they present the same credentials.
func (a *Auth) identity() string {
	if a == nil {
		return "none"
	}
	h := sha256.New()
	for _, b := range [][]byte{[]byte(a.Username), []byte(a.Password), []byte(a.BearerToken), a.SSHIdentity, a.SSHKnownHosts, []byte(a.SSHPassword), a.CAData} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (a *Auth) caBundle() []byte {
	if a == nil {
		return nil
	}
	return a.CAData
}

// method builds the go-git transport auth for u. For http(s) a bearer
// token wins over basic auth, and credentials in the URL are the fallback,
// as in Flux (fluxcd/pkg git/options.go). SSH requires an identity and
// known_hosts: host keys are always verified.
func (a *Auth) method(u *url.URL) (transport.AuthMethod, error) {
	if a == nil {
		a = &Auth{}
	}
	switch u.Scheme {
	case "http", "https":
		if a.BearerToken != "" {
			return &githttp.TokenAuth{Token: a.BearerToken}, nil
		}
		user, pass := a.Username, a.Password
		if user == "" && u.User != nil {
			user = u.User.Username()
		}
		if pass == "" && u.User != nil {
			pass, _ = u.User.Password()
		}
		if user == "" && pass == "" {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	case "ssh":
		if len(a.SSHIdentity) == 0 {
			return nil, fmt.Errorf("ssh URL needs a Secret with key %q: %w", keyIdentity, ErrAuthentication)
		}
		if len(a.SSHKnownHosts) == 0 {
			return nil, fmt.Errorf("ssh URL needs a Secret with key %q (host keys are always verified): %w", keyKnownHosts, ErrAuthentication)
		}
		user := "git"
		if u.User != nil && u.User.Username() != "" {
			user = u.User.Username()
		}
		pk, err := gitssh.NewPublicKeys(user, a.SSHIdentity, a.SSHPassword)
		if err != nil {
			return nil, fmt.Errorf("failed to load key %q: %w", keyIdentity, ErrAuthentication)
		}
		db, err := knownHostsDB(a.SSHKnownHosts)
		if err != nil {
			return nil, err
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "22")
		}
		pk.HostKeyCallback = db.HostKeyCallback()
		// Offer only the algorithms known_hosts has keys for, or the server
		// may pick another of its keys and fail verification.
		pk.HostKeyAlgorithms = db.HostKeyAlgorithms(host)
		return pk, nil
	}
	return nil, fmt.Errorf("unsupported URL scheme %q (want https, http or ssh): %w", u.Scheme, ErrGitOperation)
}

// knownHostsDB parses known_hosts bytes. The library reads files only, so
// the bytes pass through a private temporary file removed at once.
func knownHostsDB(data []byte) (*knownhosts.HostKeyDB, error) {
	f, err := os.CreateTemp("", "tugboat-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("failed to stage known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("failed to stage known_hosts: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("failed to stage known_hosts: %w", err)
	}
	db, err := knownhosts.NewDB(f.Name())
	if err != nil {
		return nil, fmt.Errorf("invalid Secret: key %q cannot be parsed: %w", keyKnownHosts, ErrAuthentication)
	}
	return db, nil
}
