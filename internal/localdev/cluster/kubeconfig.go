package cluster

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// contextName names the cluster, user and context in every kubeconfig written here.
const contextName = "tugboat-local"

// writeKubeconfig writes a kubeconfig for identity id that embeds its credentials, so the
// file works wherever it is copied.
func writeKubeconfig(path, server, pkiDir string, id clientIdentity) error {
	ca, err := os.ReadFile(filepath.Join(pkiDir, caCertFile))
	if err != nil {
		return fmt.Errorf("failed to read CA for kubeconfig: %w", err)
	}
	cert, err := os.ReadFile(filepath.Join(pkiDir, id.file+".crt"))
	if err != nil {
		return fmt.Errorf("failed to read client certificate for kubeconfig: %w", err)
	}
	key, err := os.ReadFile(filepath.Join(pkiDir, id.file+".key"))
	if err != nil {
		return fmt.Errorf("failed to read client key for kubeconfig: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName, Namespace: "default"}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("failed to write kubeconfig %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
