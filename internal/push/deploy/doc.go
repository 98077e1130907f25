// Package deploy is tugboat's push delivery: it sets images on a Deployment,
// StatefulSet or DaemonSet the way `kubectl set image` does, watches the rollout with
// kubectl's rollout-status rules, rolls back through kubectl's own rollbackers, and
// records every deploy in the cluster as a ConfigMap that later reports read.
package deploy
