// Package bench holds tugboat's end-to-end benchmarks: the GitOps shape of
// flux-benchmark (N Kustomizations of the podinfo app) on the real local cluster,
// each measured beside the apiserver's own floor in the same run. Run them with
// `make bench`; results and the machine are in docs/benchmarks.md.
//
// gitops_test.go holds the benchmarks; scenario_test.go starts a fresh cluster and
// runs one measure on it (the floor's plain client, or tugboat's controller);
// measure_test.go reads what a measure used (CPU by process, RSS, API requests,
// where the time went); stats_test.go turns pairs of measures into the reported
// figures; bound_test.go measures a minimal controller of the same shape (the bound).
package bench
