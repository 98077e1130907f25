package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// localRegistry is the real node's image registry: go-containerregistry's OCI
// distribution server, in the process that owns the cluster, on loopback. No image can
// come from the internet here, so the pause image and every image a pod of the real
// node runs is pushed to it; containerd pulls from it over plain HTTP (hosts.toml).
// Blobs are kept on disk under the cluster's directory; manifests live in memory, so a
// restarted cluster pushes its images again (containerd keeps what it pulled).
type localRegistry struct {
	host   string // 127.0.0.1:port
	server *http.Server
	done   chan struct{}
}

// maxRegistryHeader bounds request headers; the registry serves only this machine.
const maxRegistryHeader = 64 << 10

func startRegistry(blobDir string, port int) (*localRegistry, error) {
	if err := os.MkdirAll(blobDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create registry directory %s: %w", blobDir, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("failed to listen for the local registry on port %d: %w: %w", port, errPortTaken, err)
	}
	r := &localRegistry{
		host: ln.Addr().String(),
		server: &http.Server{
			Handler: registry.New(
				registry.WithBlobHandler(registry.NewDiskBlobHandler(blobDir)),
				registry.Logger(log.New(io.Discard, "", 0)),
			),
			ReadHeaderTimeout: 10 * time.Second,
			MaxHeaderBytes:    maxRegistryHeader,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(r.done)
		_ = r.server.Serve(ln)
	}()
	return r, nil
}

func (r *localRegistry) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.server.Shutdown(ctx)
	<-r.done
}

// Registry returns the host:port of the real node's local registry, from which its
// containerd pulls over plain HTTP; empty when the cluster has no real node.
func (c *Cluster) Registry() string {
	if c.node == nil {
		return ""
	}
	return c.node.registry.host
}

// HostIP returns the host's address that pods of the real node reach (the one the
// apiserver advertises; pods cannot reach the host's loopback), so that a test server
// on the host, such as a Git server, can serve them; empty without a real node.
func (c *Cluster) HostIP() string { return c.nodeIP }

// PushBinaryImage packs one static executable into an image (the file at /<base name>,
// its entrypoint, followed by args) for this machine's platform and pushes it to ref,
// such as Registry()+"/demo/server:v1". It returns the pushed reference by digest.
// It is how the pause image and test images are built without a base image or the
// internet; the executable must not need a libc (CGO_ENABLED=0).
func PushBinaryImage(ctx context.Context, ref, binary string, args ...string) (string, error) {
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("failed to parse image reference %q: %w", ref, err)
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		return "", fmt.Errorf("failed to read executable for image %s: %w", ref, err)
	}
	base := "/" + filepath.Base(binary)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: base[1:], Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return "", fmt.Errorf("failed to write layer of image %s: %w", ref, err)
	}
	if _, err := tw.Write(data); err != nil {
		return "", fmt.Errorf("failed to write layer of image %s: %w", ref, err)
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("failed to write layer of image %s: %w", ref, err)
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return "", fmt.Errorf("failed to make layer of image %s: %w", ref, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", fmt.Errorf("failed to add layer to image %s: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", fmt.Errorf("failed to read config of image %s: %w", ref, err)
	}
	cfg = cfg.DeepCopy()
	// An image built on the empty base has no platform, and containerd's CRI refuses
	// to run an image whose platform does not match the node's.
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Entrypoint = []string{base}
	cfg.Config.Cmd = args
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return "", fmt.Errorf("failed to set config of image %s: %w", ref, err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("failed to push image %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("failed to compute digest of image %s: %w", ref, err)
	}
	return tag.Context().Digest(digest.String()).String(), nil
}

// errNoPause means the pause program is missing beside the component binary.
var errNoPause = errors.New("the pod sandbox program (pause) is not built")

// pauseBinary returns the pause program hack/cluster/build.sh puts beside binary.
func pauseBinary(binary string) (string, error) {
	p := filepath.Join(filepath.Dir(binary), "pause")
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s is missing; run `%s`", errNoPause, p, BuildCommand)
	}
	return p, nil
}
