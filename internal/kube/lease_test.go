package kube

import (
	"fmt"
	"os"
	"testing"
)

func TestParseLeaseHolder(t *testing.T) {
	for name, c := range map[string]struct {
		id   string
		host string
		pid  int
		ok   bool
	}{
		"an identity of ours":                {"devbox_4242_0a1b2c3d", "devbox", 4242, true},
		"a host name with underscores":       {"my_box_17_deadbeef", "my_box", 17, true},
		"controller-runtime's host and uuid": {"devbox_6f1c2a9e-1b2c-4d5e-8f90-123456789abc", "", 0, false},
		"a suffix that is not hex":           {"devbox_4242_zzzzzzzz", "", 0, false},
		"a pid that is not a number":         {"devbox_x_0a1b2c3d", "", 0, false},
		"no host":                            {"_4242_0a1b2c3d", "", 0, false},
		"a negative pid":                     {"devbox_-1_0a1b2c3d", "", 0, false},
		"empty":                              {"", "", 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			host, pid, ok := ParseLeaseHolder(c.id)
			if host != c.host || pid != c.pid || ok != c.ok {
				t.Errorf("ParseLeaseHolder(%q) = %q, %d, %v; want %q, %d, %v", c.id, host, pid, ok, c.host, c.pid, c.ok)
			}
		})
	}
}

func TestLeaseHolderNamesThisProcess(t *testing.T) {
	a, err := LeaseHolder()
	if err != nil {
		t.Fatal(err)
	}
	b, err := LeaseHolder()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two identities of one process are equal (%q): processes sharing host and pid would both lead", a)
	}
	me, _ := os.Hostname()
	host, pid, ok := ParseLeaseHolder(a)
	if !ok || host != me || pid != os.Getpid() {
		t.Errorf("ParseLeaseHolder(LeaseHolder()) = %q, %d, %v; want %q, %d", host, pid, ok, me, os.Getpid())
	}
	if got, want := DescribeLeaseHolder(a), fmt.Sprintf("process %d on %s", os.Getpid(), me); got != want {
		t.Errorf("DescribeLeaseHolder = %q, want %q", got, want)
	}
}
