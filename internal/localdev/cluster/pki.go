package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of the control plane's public key infrastructure, relative to its pki directory.
const (
	caCertFile        = "ca.crt"
	caKeyFile         = "ca.key"
	serverCertFile    = "apiserver.crt"
	serverKeyFile     = "apiserver.key"
	serviceAccountKey = "sa.key"
	serviceAccountPub = "sa.pub"
)

// clientIdentity is a client certificate's subject: the user name and groups the
// apiserver's x509 authenticator derives from it.
type clientIdentity struct {
	file   string // base name of the .crt/.key pair
	user   string
	groups []string
}

var (
	adminIdentity             = clientIdentity{file: "admin", user: "tugboat-admin", groups: []string{"system:masters"}}
	controllerManagerIdentity = clientIdentity{file: "controller-manager", user: "system:kube-controller-manager"}
	schedulerIdentity         = clientIdentity{file: "scheduler", user: "system:kube-scheduler"}
	// kwok patches the status of every node and pod; the bootstrap roles have nothing
	// that narrow for a fake kubelet, so it runs as a cluster admin.
	kwokIdentity = clientIdentity{file: "kwok", user: "kwok", groups: []string{"system:masters"}}
	// The real node's kubelet is a node to the Node authorizer: its name after
	// "system:node:", in the group system:nodes.
	kubeletIdentity = clientIdentity{file: "kubelet", user: "system:node:" + RealNodeName, groups: []string{"system:nodes"}}
	// kube-proxy's bootstrap binding, system:node-proxier, names this user.
	kubeProxyIdentity = clientIdentity{file: "kube-proxy", user: "system:kube-proxy"}
	// CoreDNS reads Services and EndpointSlices (ClusterRole tugboat:coredns).
	corednsIdentity = clientIdentity{file: "coredns", user: "tugboat:coredns"}
	// The apiserver shows itself to the kubelet (logs, exec, stats through the node
	// proxy) under the name kubeadm uses, bound to system:kubelet-api-admin.
	apiserverKubeletClientIdentity = clientIdentity{file: "apiserver-kubelet-client", user: "kube-apiserver-kubelet-client"}
)

// clientIdentities are every identity ensurePKI issues a certificate for.
var clientIdentities = []clientIdentity{
	adminIdentity, controllerManagerIdentity, schedulerIdentity, kwokIdentity,
	kubeletIdentity, kubeProxyIdentity, corednsIdentity, apiserverKubeletClientIdentity,
}

// certLifetime is long because a `tugboat dev` cluster lives for months.
const certLifetime = 10 * 365 * 24 * time.Hour

// ensurePKI creates the CA, the apiserver serving certificate, the client certificates
// and the service-account signing key in dir, keeping any that already exist so that a
// restarted cluster keeps its identity and its issued tokens stay valid.
func ensurePKI(dir string, serviceIP net.IP) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create pki directory: %w", err)
	}
	caCert, caKey, err := loadOrCreateCA(dir)
	if err != nil {
		return err
	}
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, serviceIP},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if err := ensureSigned(dir, "apiserver", server, caCert, caKey); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		client := &x509.Certificate{
			Subject:     pkix.Name{CommonName: id.user, Organization: id.groups},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if err := ensureSigned(dir, id.file, client, caCert, caKey); err != nil {
			return err
		}
	}
	return ensureServiceAccountKey(dir)
}

func loadOrCreateCA(dir string) (*x509.Certificate, crypto.Signer, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	if exists(certPath) && exists(keyPath) {
		cert, err := readCert(certPath)
		if err != nil {
			return nil, nil, err
		}
		key, err := readKey(keyPath)
		if err != nil {
			return nil, nil, err
		}
		return cert, key, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "tugboat-local-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse CA certificate: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// ensureSigned writes name.crt and name.key signed by the CA unless both exist.
func ensureSigned(dir, name string, tmpl *x509.Certificate, ca *x509.Certificate, caKey crypto.Signer) error {
	certPath, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if exists(certPath) && exists(keyPath) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("failed to generate key for %s: %w", name, err)
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(certLifetime)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("failed to sign certificate for %s: %w", name, err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

func ensureServiceAccountKey(dir string) error {
	keyPath, pubPath := filepath.Join(dir, serviceAccountKey), filepath.Join(dir, serviceAccountPub)
	if exists(keyPath) && exists(pubPath) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("failed to generate service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("failed to encode service-account public key: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writePEM(pubPath, "PUBLIC KEY", pub, 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial would still be valid.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("failed to encode key %s: %w", path, err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

func readCert(path string) (*x509.Certificate, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse certificate %s: %w", path, err)
	}
	return cert, nil
}

func readKey(path string) (crypto.Signer, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to parse key %s: %w", path, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key %s cannot sign", path)
	}
	return signer, nil
}

func readPEM(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	return block, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
