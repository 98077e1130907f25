package cluster

import (
	"context"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The real node's cluster DNS: CoreDNS as a component of the cluster (not a pod: it
// must answer before any pod runs, and the node is tainted), on the node's address,
// behind the kube-dns Service that the kubelet writes into every pod's resolv.conf.

const (
	// ClusterDNSIP is the kube-dns Service's address, the tenth of ServiceCIDR as in
	// kubeadm's clusters.
	ClusterDNSIP = "10.96.0.10"
	// ClusterDomain is the suffix of Service names: <svc>.<ns>.svc.cluster.local.
	ClusterDomain = "cluster.local"
)

// corefile answers the cluster's names from the apiserver and forwards the rest to the
// host's resolvers (which may answer nothing here: there is no internet).
func corefile(clusterDir, nodeIP string, ports nodePorts) string {
	return fmt.Sprintf(`.:%[1]d {
    bind %[2]s
    errors
    ready 127.0.0.1:%[3]d
    kubernetes %[4]s in-addr.arpa ip6.arpa {
        kubeconfig %[5]s %[6]s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
`, ports.DNS, nodeIP, ports.DNSReady, ClusterDomain,
		filepath.Join(clusterDir, corednsIdentity.file+".kubeconfig"), contextName)
}

// ensureClusterDNS gives CoreDNS read access to what it serves, and puts it behind
// the kube-dns Service: an EndpointSlice of the node's address and CoreDNS's port,
// which kube-proxy follows like any other.
func ensureClusterDNS(ctx context.Context, clients kubernetes.Interface, nodeIP string, port int) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "tugboat:coredns"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "namespaces", "pods"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	if _, err := clients.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tugboat:coredns"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: corednsIdentity.user}},
	}
	if _, err := clients.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create ClusterRoleBinding %s: %w", binding.Name, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: metav1.NamespaceSystem, Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: ClusterDNSIP,
			Ports: []corev1.ServicePort{
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
				{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53},
			},
		},
	}
	if _, err := clients.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	p := int32(port)
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns, dnsTCP := "dns", "dns-tcp"
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "kube-dns-tugboat",
			Namespace: metav1.NamespaceSystem,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: "kube-dns",
				// Not the EndpointSlice controller's: the Service has no selector.
				discoveryv1.LabelManagedBy: "tugboat-local-cluster",
			},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{nodeIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports: []discoveryv1.EndpointPort{
			{Name: &dns, Protocol: &udp, Port: &p},
			{Name: &dnsTCP, Protocol: &tcp, Port: &p},
		},
	}
	slices := clients.DiscoveryV1().EndpointSlices(slice.Namespace)
	// The node's address and CoreDNS's port may differ from the last start.
	if _, err := slices.Create(ctx, slice, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		old, err := slices.Get(ctx, slice.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("failed to read EndpointSlice %s/%s: %w", slice.Namespace, slice.Name, err)
		}
		slice.ResourceVersion = old.ResourceVersion
		if _, err := slices.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("failed to update EndpointSlice %s/%s: %w", slice.Namespace, slice.Name, err)
		}
	} else if err != nil {
		return fmt.Errorf("failed to create EndpointSlice %s/%s: %w", slice.Namespace, slice.Name, err)
	}
	return nil
}
