package cluster

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// The configuration of the real node's containerd, CNI and kubelet. Like args.go, these
// are plain functions of the node's layout so that a reader sees every setting, and why,
// in one file. The reasons were measured on Debian 12 with kernel 6.18 and cgroup v1,
// without loadable modules and without CAP_SYS_RESOURCE (see
// docs/design/2026-12-06-real-node.md).

const (
	// RealNodeName is the name the real node registers under.
	RealNodeName = "tugboat-node"
	// RealNodeTaint keeps pods that do not tolerate it off the real node, so that
	// benchmarks and tests of scale stay on kwok's nodes; a pod that must run a container
	// tolerates it and selects RealNodeLabel.
	RealNodeTaint = "tugboat.dev/real-node"
	// RealNodeLabel is set to "true" on the real node.
	RealNodeLabel = "tugboat.dev/real-node"
	// PodCIDR is the real node's pod network: apart from kwok's 10.244.0.0/16 (which
	// routes nowhere) and from ServiceCIDR.
	PodCIDR = "10.85.0.0/24"
	// bridgeName is the host bridge the CNI bridge plugin creates for the pods.
	bridgeName = "tugboat0"
	// cniBinDir is where Debian's containernetworking-plugins installs the plugins.
	cniBinDir = "/usr/lib/cni"
	// pauseImageRepo is the repository of the pod sandbox image in the local registry.
	pauseImageRepo = "tugboat/pause"
	pauseImageTag  = "3.10-go"
)

// nodeLayout is where the real node keeps its state, all under the cluster's directory
// except what the kubelet and cAdvisor insist on (/var/log/pods, /run/containerd).
type nodeLayout struct {
	dir string // <cluster>/node
}

func (l nodeLayout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dir}, elem...)...)
}

func (l nodeLayout) containerdConfig() string { return l.path("containerd", "config.toml") }
func (l nodeLayout) containerdSocket() string { return l.path("containerd", "containerd.sock") }
func (l nodeLayout) registryHosts() string    { return l.path("containerd", "certs.d") }
func (l nodeLayout) cniConfDir() string       { return l.path("cni", "net.d") }
func (l nodeLayout) kubeletDir() string       { return l.path("kubelet") }
func (l nodeLayout) kubeletConfig() string    { return l.path("kubelet-config.yaml") }
func (l nodeLayout) proxyConfig() string      { return l.path("kube-proxy-config.yaml") }
func (l nodeLayout) corefile() string         { return l.path("Corefile") }
func (l nodeLayout) hostState() string        { return l.path("host-changes.json") }

// containerdConfig is containerd 1.6's configuration (format version 2).
func containerdConfig(l nodeLayout, pauseImage string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
# The real node's containerd is not the machine's: its own socket, directories and
# runc root, so that it neither sees nor disturbs another containerd's containers.
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  # Without it every sandbox fails ("can't get final child's PID from pipe"): runc may
  # not set the oom_score_adj of -998 that CRI asks for on a machine without
  # CAP_SYS_RESOURCE.
  restrict_oom_score_adj = true
  # Pod network namespaces under the state directory rather than /var/run/netns, so
  # that a node that did not stop cleanly leaves them where its cleanup looks.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[7]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[8]q
    conf_dir = %[9]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    # hosts.toml per registry: the local registry is plain HTTP.
    config_path = %[10]q
`, l.path("containerd", "root"), l.path("containerd", "state"), l.containerdSocket(),
		l.path("containerd", "containerd-ttrpc.sock"), l.path("containerd", "opt"), pauseImage,
		l.path("containerd", "runc"), cniBinDir, l.cniConfDir(), l.registryHosts())
}

// registryHostsTOML tells containerd to reach the local registry at host over plain
// HTTP; containerd would otherwise try HTTPS.
func registryHostsTOML(host string) string {
	return fmt.Sprintf(`server = "http://%[1]s"

[host."http://%[1]s"]
  capabilities = ["pull", "resolve"]
`, host)
}

// cniConfig is the pod network: one bridge with host-local addresses. No IP
// masquerade (pods reach nothing beyond this machine, and it would add iptables rules)
// and no portmap (hostPort is not offered; it would add iptables chains that outlive
// the node).
func cniConfig(l nodeLayout) ([]byte, error) {
	gateway, _, err := net.ParseCIDR(PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("failed to parse pod CIDR %s: %w", PodCIDR, err)
	}
	gateway = gateway.To4()
	gateway[3]++
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "tugboat",
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      bridgeName,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": PodCIDR, "gateway": gateway.String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": l.path("cni", "ipam"),
				},
			},
			map[string]any{"type": "loopback"},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// nodePorts are the kubelet's ports, picked free like the control plane's.
type nodePorts struct {
	Kubelet      int `json:"kubelet"`
	Healthz      int `json:"healthz"`
	ProxyHealthz int `json:"proxyHealthz"`
	ProxyMetrics int `json:"proxyMetrics"`
	DNS          int `json:"dns"`
	DNSReady     int `json:"dnsReady"`
}

// kubeletConfig is the KubeletConfiguration of the real node.
func kubeletConfig(l nodeLayout, pkiDir, nodeIP string, ports nodePorts) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[1]s
port: %[2]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[3]d
containerRuntimeEndpoint: unix://%[4]s
# Kubernetes 1.37 refuses cgroup v1 unless told otherwise; this machine has only v1.
failCgroupV1: false
# containerd 1.6 lacks the CRI RuntimeConfig call through which the kubelet would learn
# the driver; this machine has no systemd to drive cgroups anyway.
cgroupDriver: cgroupfs
# Without CAP_SYS_RESOURCE the kubelet cannot lower its own oom_score_adj to -999.
oomScoreAdj: 0
# Otherwise the kubelet drops non-loopback traffic to 127.0.0.0/8, which the control
# plane's components and tests on this machine rely on.
makeIPTablesUtilChains: false
failSwapOn: false
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %[5]s
authorization:
  mode: Webhook
registerWithTaints:
- key: %[6]s
  value: "true"
  effect: NoSchedule
# The node shares its disk with everything else on the machine: evict only when it is
# really full rather than at the default 85%% of the image filesystem.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  imagefs.available: 1%%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
resolvConf: /etc/resolv.conf
clusterDNS: [%[7]s]
clusterDomain: %[8]s
maxPods: 110
`, nodeIP, ports.Kubelet, ports.Healthz, l.containerdSocket(), filepath.Join(pkiDir, caCertFile), RealNodeTaint,
		ClusterDNSIP, ClusterDomain)
}

func kubeletArgs(l nodeLayout, clusterDir, nodeIP string) []string {
	return []string{
		"--config=" + l.kubeletConfig(),
		"--kubeconfig=" + filepath.Join(clusterDir, kubeletIdentity.file+".kubeconfig"),
		"--root-dir=" + l.kubeletDir(),
		"--cert-dir=" + l.path("kubelet-pki"),
		"--hostname-override=" + RealNodeName,
		"--node-ip=" + nodeIP,
		"--node-labels=" + strings.Join([]string{RealNodeLabel + "=true", "type=real"}, ","),
		"--v=1",
	}
}

func healthzURL(ports nodePorts) string {
	return "http://127.0.0.1:" + strconv.Itoa(ports.Healthz) + "/healthz"
}

// kubeProxyConfig is the KubeProxyConfiguration of the real node: ClusterIP Services
// for its pods and the host, in iptables mode (nft or legacy, whichever the host's
// iptables is). It leaves the host's conntrack limits and route_localnet alone.
func kubeProxyConfig(clusterDir string, ports nodePorts) string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %[1]s
hostnameOverride: %[2]s
mode: iptables
clusterCIDR: %[3]s
healthzBindAddress: 127.0.0.1:%[4]d
metricsBindAddress: 127.0.0.1:%[5]d
# Without CAP_SYS_RESOURCE it may not lower its oom_score_adj to -999.
oomScoreAdj: 0
iptables:
  # NodePorts on 127.0.0.1 would need net.ipv4.conf.all.route_localnet=1.
  localhostNodePorts: false
# NodePorts only on the node's own address, not on every interface of the machine.
nodePortAddresses: ["primary"]
conntrack:
  # 0 leaves the machine's conntrack table size and timeouts as they are.
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, filepath.Join(clusterDir, kubeProxyIdentity.file+".kubeconfig"), RealNodeName, PodCIDR, ports.ProxyHealthz, ports.ProxyMetrics)
}
