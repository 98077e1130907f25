// Package kube holds what every part of tugboat shares to talk to the cluster: the
// scheme of tugboat's kinds (NewScheme), a client of objects of any kind found through
// discovery (Dynamic), the wait until what was just applied is usable (WaitFor,
// WaitServed), the controllers' shared leader lease (lease.go) and which apiserver
// failures pass by themselves (Transient). It is a leaf: it imports api/ and client-go, never a wing of internal/.
package kube
