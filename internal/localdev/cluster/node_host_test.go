package cluster

import "testing"

// TestStaleNodeLinkTellsAnotherNodesSocketFromTheMachines: a link left by a killed
// node (another cluster's node/containerd/containerd.sock) is replaced; the node's own
// link and anything that is not a tugboat node's socket are left alone.
func TestStaleNodeLinkTellsAnotherNodesSocketFromTheMachines(t *testing.T) {
	l := nodeLayout{dir: "/tmp/tugboat-cluster-2/node"}
	cases := map[string]struct {
		target string
		stale  bool
	}{
		"a killed test cluster's node":         {"/tmp/tugboat-cluster-1/node/containerd/containerd.sock", true},
		"a killed dev cluster's node":          {"/root/.local/share/tugboat/dev/node/containerd/containerd.sock", true},
		"this node's own socket":               {"/tmp/tugboat-cluster-2/node/containerd/containerd.sock", false},
		"the machine's containerd elsewhere":   {"/var/run/containerd/containerd.sock", false},
		"a socket that only ends the same way": {"/srv/mynode/containerd/containerd.sock", false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := staleNodeLink(c.target, l); got != c.stale {
				t.Errorf("staleNodeLink(%q) = %v, want %v", c.target, got, c.stale)
			}
		})
	}
}
