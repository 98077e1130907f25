// Package health judges whether applied objects are ready: workload rollouts by
// kubectl's own rollout-status rules, and a Kustomization's objects by kstatus (Judge,
// with when to look again: NextLook). Its functions are pure: callers read the objects.
package health
