package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

// kubeFlags are kubectl's connection flags (--kubeconfig, --context, -n/--namespace,
// --server, --token, ...), persistent on the root command so every verb that talks to
// a cluster reads them the same way kubectl does. cli-runtime's ConfigFlags is the
// implementation kubectl itself uses; we add nothing to it.
type kubeFlags struct {
	*genericclioptions.ConfigFlags
}

func addKubeFlags(cmd *cobra.Command) *kubeFlags {
	k := &kubeFlags{ConfigFlags: genericclioptions.NewConfigFlags(true)}
	k.AddFlags(cmd.PersistentFlags())
	return k
}

// restConfig returns the client configuration the flags select.
func (k *kubeFlags) restConfig() (*rest.Config, error) {
	cfg, err := k.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("failed to load the kubeconfig: %w", err)
	}
	return cfg, nil
}

// namespace returns -n, else the kubeconfig context's namespace, else "default".
func (k *kubeFlags) namespace() (string, error) {
	ns, _, err := k.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("failed to read the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}
