package cluster

import (
	"net"
	"path/filepath"
	"strconv"
)

// The flags of each component. They are plain functions of the state so that a reader
// sees the whole command line of every component in one file.

func etcdArgs(dir string, st state, temporary bool) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(st.EtcdClientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(st.EtcdPeerPort)
	args := []string{
		"--name=tugboat",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=tugboat=" + peer,
		"--log-level=warn",
		"--quota-backend-bytes=8589934592",
	}
	if temporary {
		// A throw-away cluster needs no durability; fsync dominates etcd's write latency.
		args = append(args, "--unsafe-no-fsync")
	}
	return args
}

// apiServerArgs are the apiserver's flags; nodeIP is the real node's address, empty
// without one.
func apiServerArgs(dir string, st state, nodeIP string) []string {
	pki := func(f string) string { return filepath.Join(dir, "pki", f) }
	authorization := "RBAC"
	if nodeIP != "" {
		// A kubelet may read only what its pods need.
		authorization = "Node,RBAC"
	}
	args := []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(st.EtcdClientPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// No pod can reach the apiserver (kwok pods do not run), and the endpoint
		// reconciler refuses a loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(st.APIServerPort),
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--tls-cert-file=" + pki(serverCertFile),
		"--tls-private-key-file=" + pki(serverKeyFile),
		"--client-ca-file=" + pki(caCertFile),
		"--authorization-mode=" + authorization,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki(serviceAccountPub),
		"--service-account-signing-key-file=" + pki(serviceAccountKey),
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--allow-privileged=true",
		"--profiling=false",
		// Benchmarks apply thousands of objects at once from several controllers.
		"--max-requests-inflight=800",
		"--max-mutating-requests-inflight=400",
	}
	if nodeIP != "" {
		args = append(args, realNodeAPIServerArgs(dir, nodeIP)...)
	}
	return args
}

func controllerManagerArgs(dir string) []string {
	pki := func(f string) string { return filepath.Join(dir, "pki", f) }
	kubeconfig := filepath.Join(dir, controllerManagerIdentity.file+".kubeconfig")
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + pki(serviceAccountKey),
		"--root-ca-file=" + pki(caCertFile),
		"--service-cluster-ip-range=" + ServiceCIDR,
		// Under load kwok's node heartbeats lag; with the default 50 s grace the
		// node-lifecycle controller marks every pod NotReady and kwok never readies them
		// again. Disabling that controller instead keeps the node's initial not-ready taint.
		"--node-monitor-grace-period=1h",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--concurrent-deployment-syncs=20",
		"--concurrent-replicaset-syncs=20",
	}
}

func schedulerArgs(dir string) []string {
	kubeconfig := filepath.Join(dir, schedulerIdentity.file+".kubeconfig")
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--leader-elect=false",
	}
}

func kwokArgs(dir string) []string {
	return []string{
		"--kubeconfig=" + filepath.Join(dir, kwokIdentity.file+".kubeconfig"),
		"--config=" + filepath.Join(dir, kwokConfigFile),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		"--cidr=10.244.0.1/16",
		"--node-ip=10.0.0.1",
		// Renewed leases are the heartbeat the node-lifecycle controller watches.
		"--node-lease-duration-seconds=40",
	}
}

// kubeletAPIArgs make kwok serve the kubelet API on ip:port and publish it as every
// node's InternalIP and kubelet port, which is where the apiserver's node proxy
// connects (over TLS, with kwok's self-signed certificate: the apiserver does not
// verify kubelets without --kubelet-certificate-authority).
func kubeletAPIArgs(ip string, port int) []string {
	return []string{
		"--server-address=" + net.JoinHostPort(ip, strconv.Itoa(port)),
		"--node-port=" + strconv.Itoa(port),
		"--node-ip=" + ip,
	}
}

// realNodeAPIServerArgs let the real node's kubelet in: NodeRestriction (it may change
// only its own Node and pods), and the client certificate the apiserver shows the
// kubelet. They also make the apiserver reachable from the node's pods, which cannot
// reach the host's loopback: it listens on every address and advertises the node's,
// which the endpoint reconciler then puts behind the kubernetes Service (10.96.0.1).
// The later flags override the earlier ones of apiServerArgs.
func realNodeAPIServerArgs(dir, nodeIP string) []string {
	pki := func(f string) string { return filepath.Join(dir, "pki", f) }
	return []string{
		"--enable-admission-plugins=NodeRestriction",
		"--kubelet-client-certificate=" + pki(apiserverKubeletClientIdentity.file+".crt"),
		"--kubelet-client-key=" + pki(apiserverKubeletClientIdentity.file+".key"),
		"--bind-address=0.0.0.0",
		"--advertise-address=" + nodeIP,
		"--endpoint-reconciler-type=lease",
	}
}
