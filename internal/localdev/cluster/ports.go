package cluster

import (
	"fmt"
	"net"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
)

// keepOrPickPort returns port when it is still free (a restarted cluster keeps its
// address) and a new free port otherwise.
func keepOrPickPort(port int) (int, error) {
	if localport.Free(port) {
		return port, nil
	}
	return localport.Pick()
}

// hostIP returns the first non-loopback unicast address of this machine. The
// apiserver refuses to proxy to loopback addresses ("address not allowed"), so a node
// whose kubelet API the node proxy must reach needs one of these.
func hostIP() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("failed to list network addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
			return n.IP.String(), nil
		}
	}
	return "", fmt.Errorf("no non-loopback IPv4 address on this machine: the apiserver's node proxy cannot reach kwok's kubelet API on loopback")
}
