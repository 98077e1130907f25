package cluster

import (
	"fmt"
	"net"
	"strconv"
)

// freePort asks the kernel for a loopback port nobody is listening on. The port is free
// when we return it; a component binds it a moment later, and a lost race shows up as a
// start failure naming the port rather than as a silent clash.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether port can be bound on the loopback address now.
func portFree(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// keepOrPickPort returns port when it is still free (a restarted cluster keeps its
// address) and a new free port otherwise.
func keepOrPickPort(port int) (int, error) {
	if portFree(port) {
		return port, nil
	}
	return freePort()
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
