package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KubernetesVersion is the version of the components hack/cluster builds. It must match
// the k8s.io/kubernetes requirement in hack/cluster/go.mod (a test checks it).
const KubernetesVersion = "v1.37.2"

// BinaryName is the multi-call binary that hack/cluster builds.
const BinaryName = "tugboat-k8s"

// CacheEnv overrides the root of the component cache (default ~/.cache/tugboat/cluster).
const CacheEnv = "TUGBOAT_CLUSTER_CACHE"

// BuildCommand is what a user runs to build the components.
const BuildCommand = "make cluster"

// ErrNotBuilt means the component binary is missing from the cache.
var ErrNotBuilt = errors.New("the local Kubernetes components are not built")

// DefaultBinaryPath returns where hack/cluster puts the component binary for
// KubernetesVersion: $TUGBOAT_CLUSTER_CACHE/<version>/tugboat-k8s, or under
// ~/.cache/tugboat/cluster when the variable is unset.
func DefaultBinaryPath() string {
	root := os.Getenv(CacheEnv)
	if root == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			root = filepath.Join(cache, "tugboat", "cluster")
		} else {
			root = filepath.Join(os.TempDir(), "tugboat", "cluster")
		}
	}
	return filepath.Join(root, KubernetesVersion, BinaryName)
}

// checkBinary returns ErrNotBuilt, with the command that builds it, when path is not an
// executable file.
func checkBinary(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%w: %s is missing; run `%s` (about 20 minutes the first time) or set %s to a cache that holds it: %w",
			ErrNotBuilt, path, BuildCommand, CacheEnv, notBuiltCause(err))
	}
	return nil
}

func notBuiltCause(err error) error {
	if err != nil {
		return err
	}
	return errors.New("not an executable file")
}
