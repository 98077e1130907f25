package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// What the real node needs of the host, and the changes it makes there: a real node
// cannot be contained in its directory alone. The kubelet sets kernel parameters and
// makes its root directory a shared mount, the bridge plugin creates a bridge and turns
// on IP forwarding, containerd mounts root filesystems and network namespaces, and
// cAdvisor finds containerd only at /run/containerd/containerd.sock. Each of those is
// recorded before it happens and undone when the node stops (undoHostChanges), also
// after a crash, from the record in the node's directory.

// ErrRealNodeUnavailable means this machine cannot run the real node; the error says
// what is missing and how to add it.
var ErrRealNodeUnavailable = errors.New("this machine cannot run a real node")

// PrerequisitesCommand installs what the real node needs of the host.
const PrerequisitesCommand = "make node-prereqs"

// hostCommands are the programs the real node runs, with the Debian package of each.
var hostCommands = map[string]string{
	"containerd": "containerd",
	"runc":       "runc",
	"iptables":   "iptables",
	"ip":         "iproute2",
}

// cniPlugins are the CNI plugins of cniConfig.
var cniPlugins = []string{"bridge", "host-local", "loopback"}

// CheckRealNode reports whether this machine can run the real node: root, the Debian
// packages containerd, runc, containernetworking-plugins and iptables, cgroups and
// overlayfs. The error lists everything missing at once, with the command that fixes it.
func CheckRealNode() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root: the kubelet and containerd manage cgroups, mounts and network namespaces (run as root, e.g. with sudo)")
	}
	var packages []string
	names := make([]string, 0, len(hostCommands))
	for cmd := range hostCommands {
		names = append(names, cmd)
	}
	sort.Strings(names)
	for _, cmd := range names {
		if _, err := exec.LookPath(cmd); err != nil {
			packages = append(packages, hostCommands[cmd])
		}
	}
	for _, p := range cniPlugins {
		if _, err := os.Stat(filepath.Join(cniBinDir, p)); err != nil {
			packages = append(packages, "containernetworking-plugins")
			break
		}
	}
	if len(packages) > 0 {
		missing = append(missing, fmt.Sprintf("Debian packages %s (run `%s`, or `apt-get install %s`)",
			strings.Join(packages, ", "), PrerequisitesCommand, strings.Join(packages, " ")))
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		if _, err2 := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err2 != nil {
			missing = append(missing, "cgroups: neither cgroup v1 (/sys/fs/cgroup/memory) nor v2 (/sys/fs/cgroup/cgroup.controllers) is mounted")
		}
	}
	if fs, err := os.ReadFile("/proc/filesystems"); err != nil || !strings.Contains(string(fs), "\toverlay\n") {
		missing = append(missing, "the overlay filesystem in the kernel (containerd's snapshotter)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w; missing: %s", ErrRealNodeUnavailable, strings.Join(missing, "; "))
	}
	return nil
}

// hostSysctls are the kernel parameters the kubelet (vm.overcommit_memory,
// kernel.panic, kernel.panic_on_oops), the bridge plugin (net.ipv4.ip_forward) and
// kube-proxy (route_localnet, bridge-nf-call-iptables) may change.
var hostSysctls = []string{
	"vm/overcommit_memory",
	"kernel/panic",
	"kernel/panic_on_oops",
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/route_localnet",
	"net/bridge/bridge-nf-call-iptables",
}

// criSocketLink is where cAdvisor, inside the kubelet, looks for containerd.
const criSocketLink = "/run/containerd/containerd.sock"

// hostRecord is what the node changed on the host, saved before the change.
type hostRecord struct {
	// Sysctls holds the values before the node started, by /proc/sys path.
	Sysctls map[string]string `json:"sysctls"`
	// SocketLink is set when the node made criSocketLink point at its containerd.
	SocketLink bool `json:"socketLink"`
	// MadeRunContainerd is set when the node created /run/containerd.
	MadeRunContainerd bool `json:"madeRunContainerd"`
	// Binary is the component binary, whose kube-proxy --cleanup removes kube-proxy's
	// rules.
	Binary string `json:"binary"`
}

// recordHost saves the host's state before the node changes it. A record already there
// is from a node that did not stop cleanly: its values are the true originals, and are
// kept.
func recordHost(l nodeLayout, binary string) (hostRecord, error) {
	var rec hostRecord
	if data, err := os.ReadFile(l.hostState()); err == nil {
		if err := json.Unmarshal(data, &rec); err != nil {
			return rec, fmt.Errorf("failed to read %s: %w", l.hostState(), err)
		}
		return rec, nil
	}
	rec.Sysctls = map[string]string{}
	rec.Binary = binary
	for _, s := range hostSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", s))
		if err != nil {
			continue // not on this kernel (br_netfilter not built in, say)
		}
		rec.Sysctls[s] = strings.TrimSpace(string(v))
	}
	return rec, saveHostRecord(l, rec)
}

func saveHostRecord(l nodeLayout, rec hostRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode host record: %w", err)
	}
	if err := os.WriteFile(l.hostState(), data, 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", l.hostState(), err)
	}
	return nil
}

// linkCRISocket points /run/containerd/containerd.sock at the node's containerd unless
// something else is there (the machine's own containerd), in which case the kubelet's
// cAdvisor misses pod network stats and nothing else. A link to another tugboat node's
// containerd is stale (a node killed before it could undo its changes): the caller
// holds the machine's real-node lock, so no other node runs. It is replaced.
func linkCRISocket(l nodeLayout, rec *hostRecord) error {
	target, err := os.Readlink(criSocketLink)
	if err == nil && target == l.containerdSocket() {
		return nil
	}
	if err == nil && staleNodeLink(target, l) {
		if err := os.Remove(criSocketLink); err != nil {
			return fmt.Errorf("failed to remove %s, a stale link to %s: %w", criSocketLink, target, err)
		}
	} else if _, err := os.Lstat(criSocketLink); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Dir(criSocketLink)); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(criSocketLink), 0o711); err != nil {
			return fmt.Errorf("failed to create %s: %w", filepath.Dir(criSocketLink), err)
		}
		rec.MadeRunContainerd = true
	}
	if err := os.Symlink(l.containerdSocket(), criSocketLink); err != nil {
		return fmt.Errorf("failed to link %s to the node's containerd: %w", criSocketLink, err)
	}
	rec.SocketLink = true
	return saveHostRecord(l, *rec)
}

// staleNodeLink tells whether target, where criSocketLink points, is the containerd
// socket of a tugboat node other than l: a path shaped like nodeLayout's.
func staleNodeLink(target string, l nodeLayout) bool {
	suffix := string(filepath.Separator) + filepath.Join(filepath.Base(l.dir), "containerd", "containerd.sock")
	return target != l.containerdSocket() && strings.HasSuffix(target, suffix)
}

// undoHostChanges reverts what the node changed on the host, once every process of
// the node has stopped. It goes on after an error, and returns them all.
func undoHostChanges(l nodeLayout) error {
	data, err := os.ReadFile(l.hostState())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var errs []error
	var rec hostRecord
	if err != nil {
		errs = append(errs, fmt.Errorf("failed to read %s: %w", l.hostState(), err))
	} else if err := json.Unmarshal(data, &rec); err != nil {
		errs = append(errs, fmt.Errorf("failed to read %s: %w", l.hostState(), err))
	}
	errs = append(errs, unmountUnder(l.dir)...)
	if rec.Binary != "" {
		// kube-proxy leaves its rules behind on exit, by design (a restarted kube-proxy
		// keeps Services working meanwhile); --cleanup removes them.
		if out, err := exec.Command(rec.Binary, "kube-proxy", "--cleanup", "--v=0").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("failed to remove kube-proxy's rules: %w: %s", err, lastLines(string(out), 5)))
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", bridgeName)); err == nil {
		if out, err := exec.Command("ip", "link", "delete", bridgeName).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("failed to delete bridge %s: %w: %s", bridgeName, err, out))
		}
	}
	errs = append(errs, removeKubeletChains()...)
	errs = append(errs, removeKubepodsCgroups()...)
	keys := make([]string, 0, len(rec.Sysctls))
	for k := range rec.Sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join("/proc/sys", k)
		cur, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(cur)) == rec.Sysctls[k] {
			continue
		}
		if err := os.WriteFile(p, []byte(rec.Sysctls[k]), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("failed to restore %s to %s: %w", p, rec.Sysctls[k], err))
		}
	}
	if rec.SocketLink {
		if target, err := os.Readlink(criSocketLink); err == nil && target == l.containerdSocket() {
			_ = os.Remove(criSocketLink)
		}
	}
	if rec.MadeRunContainerd {
		// containerd's shims keep their sockets in /run/containerd/s whatever its state
		// directory; a killed shim leaves its socket. No other containerd uses the
		// directory that the node created.
		shims := filepath.Join(filepath.Dir(criSocketLink), "s")
		if entries, err := os.ReadDir(shims); err == nil {
			for _, e := range entries {
				if e.Type()&os.ModeSocket != 0 {
					_ = os.Remove(filepath.Join(shims, e.Name()))
				}
			}
		}
		_ = os.Remove(shims)
		_ = os.Remove(filepath.Dir(criSocketLink))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to undo the real node's changes to this machine (record kept in %s): %w", l.hostState(), err)
	}
	if err := os.Remove(l.hostState()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %w", l.hostState(), err)
	}
	return nil
}

// unmountUnder unmounts every mount point under dir, deepest first: root filesystems
// and shm of containers, and the kubelet's shared bind mount of its own directory.
func unmountUnder(dir string) []error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []error{fmt.Errorf("failed to read mounts: %w", err)}
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if p == dir || strings.HasPrefix(p, dir+"/") {
			points = append(points, p)
		}
	}
	// Deepest first; a path mounted twice (the kubelet's bind mount) appears twice.
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("failed to unmount %s: %w", p, err))
		}
	}
	return errs
}

// unescapeMount decodes the octal escapes (\040 for a space) of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeKubeletChains deletes the chains that the kubelet and kube-proxy make and
// kube-proxy's --cleanup leaves, by design, for a kubelet that would still run: the
// kubelet's KUBE-KUBELET-CANARY chains (made to notice a flush of iptables, even with
// makeIPTablesUtilChains off) and the KUBE-FIREWALL chain with its jumps from INPUT
// and OUTPUT (empty here: its one rule comes with localhost NodePorts, which are off).
func removeKubeletChains() []error {
	var errs []error
	run := func(bin string, args ...string) error {
		out, err := exec.Command(bin, append([]string{"-w"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("failed to run %s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue
		}
		for _, table := range []string{"mangle", "nat", "filter"} {
			if run(bin, "-t", table, "-n", "-L", "KUBE-KUBELET-CANARY") != nil {
				continue // no such chain
			}
			if err := run(bin, "-t", table, "-X", "KUBE-KUBELET-CANARY"); err != nil {
				errs = append(errs, err)
			}
		}
		if run(bin, "-t", "filter", "-n", "-L", "KUBE-FIREWALL") != nil {
			continue
		}
		for _, from := range []string{"INPUT", "OUTPUT"} {
			for run(bin, "-t", "filter", "-C", from, "-j", "KUBE-FIREWALL") == nil {
				if err := run(bin, "-t", "filter", "-D", from, "-j", "KUBE-FIREWALL"); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
		if err := run(bin, "-t", "filter", "-F", "KUBE-FIREWALL"); err != nil {
			errs = append(errs, err)
		} else if err := run(bin, "-t", "filter", "-X", "KUBE-FIREWALL"); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// removeKubepodsCgroups removes the kubelet's empty kubepods cgroups (the pods' own
// are gone with their sandboxes); a cgroup that still holds a process stays.
func removeKubepodsCgroups() []error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if st, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil && st.IsDir() {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			_ = syscall.Rmdir(d)
		}
	}
	return nil
}
