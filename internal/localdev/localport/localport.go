// Package localport picks loopback TCP ports for the processes tugboat starts itself
// (etcd, the apiserver, kwok, ClickHouse, a controller under test), which bind the
// port a moment after it is picked.
//
// Asking the kernel for port 0 and closing the listener, the usual way, hands out a port
// from the ephemeral range. Every outgoing connection on the machine draws its local
// port from that same range, so with many tests running side by side one of them can
// take the port before the component binds it ("bind: address already in use"). Ports
// picked here lie below the ephemeral range, where only another listener can take them.
package localport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

const (
	// lowest is the first port Pick considers: well above the registered services
	// that a developer machine commonly runs (databases, proxies) below 10000.
	lowest = 10000
	// defaultEphemeralStart is Linux's default start of the ephemeral range, used when
	// the kernel's setting cannot be read.
	defaultEphemeralStart = 32768
	// attempts bounds the random candidates tried before falling back to the kernel.
	attempts = 64
)

// rangeFile holds the kernel's ephemeral port range ("32768\t60999").
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Pick returns a loopback port that nobody listens on now. It prefers a random port
// below the ephemeral range; when none of those is free, or the range leaves no room
// below it, it falls back to a port the kernel chooses.
func Pick() (int, error) {
	return pick(ephemeralStart())
}

// pick is Pick for an ephemeral range that starts at start.
func pick(start int) (int, error) {
	if start > lowest {
		for range attempts {
			port := lowest + rand.IntN(start-lowest)
			if Free(port) {
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Free reports whether port can be bound on the loopback address now.
func Free(port int) bool {
	if port <= 0 || port > 65535 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// ephemeralStart returns the first port of the kernel's ephemeral range.
func ephemeralStart() int {
	data, err := os.ReadFile(rangeFile)
	if err != nil {
		return defaultEphemeralStart
	}
	return parseRangeStart(string(data))
}

// parseRangeStart reads the first number of ip_local_port_range, falling back to the
// Linux default when the text is not what the kernel writes.
func parseRangeStart(text string) int {
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return defaultEphemeralStart
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n <= 0 || n > 65535 {
		return defaultEphemeralStart
	}
	return n
}
