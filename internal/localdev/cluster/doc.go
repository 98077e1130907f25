// Package cluster runs a real local Kubernetes control plane — etcd, kube-apiserver and,
// when asked, kube-controller-manager, kube-scheduler and kwok fake nodes — as child
// processes of the caller. Tests and `tugboat dev` use it instead of a fake client, so
// what passes here passes against a real apiserver.
//
// The components come from one multi-call binary built by hack/cluster into a cache
// outside the repository (see BinaryPath). Every child runs in its own process group and
// is killed when its parent dies, so no component outlives its owner.
package cluster
