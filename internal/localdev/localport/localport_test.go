package localport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickIsBelowTheEphemeralRangeAndBindable(t *testing.T) {
	const start = 32768
	for range 20 {
		port, err := pick(start)
		if err != nil {
			t.Fatal(err)
		}
		if port < lowest || port >= start {
			t.Fatalf("Pick returned %d, outside [%d, %d)", port, lowest, start)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("Pick returned %d, which cannot be bound: %v", port, err)
		}
		_ = l.Close()
	}
}

func TestPickFallsBackWhenNoRoomIsBelowTheRange(t *testing.T) {
	port, err := pick(lowest)
	if err != nil {
		t.Fatal(err)
	}
	if !Free(port) {
		t.Errorf("pick(%d) returned %d, which cannot be bound", lowest, port)
	}
	// The fallback is the kernel's choice, from its ephemeral range.
	if start := ephemeralStart(); port < start {
		t.Errorf("pick(%d) returned %d, below the ephemeral range that starts at %d: it did not fall back", lowest, port, start)
	}
}

func TestFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if Free(port) {
		t.Errorf("Free(%d) = true while a listener holds it", port)
	}
	_ = l.Close()
	if !Free(port) {
		t.Errorf("Free(%d) = false after its listener closed", port)
	}
	for _, p := range []int{0, -1, 65536} {
		if Free(p) {
			t.Errorf("Free(%d) = true for an invalid port", p)
		}
	}
}

func TestParseRangeStart(t *testing.T) {
	for text, want := range map[string]int{
		"32768\t60999\n": 32768,
		"49152 65535":    49152,
		"":               defaultEphemeralStart,
		"abc 1":          defaultEphemeralStart,
		"0 10":           defaultEphemeralStart,
		"70000 70001":    defaultEphemeralStart,
	} {
		if got := parseRangeStart(text); got != want {
			t.Errorf("parseRangeStart(%q) = %d, want %d", text, got, want)
		}
	}
}
