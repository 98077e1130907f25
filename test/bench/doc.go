// Package bench holds tugboat's end-to-end benchmarks: the GitOps shape of
// flux-benchmark (N Kustomizations of the podinfo app) on the real local cluster,
// each measured beside the apiserver's own floor in the same run. Run them with
// `make bench`; results and the machine are in docs/benchmarks.md.
package bench
