// Package health judges whether applied objects are ready: workload rollouts by
// kubectl's own rollout-status rules, everything else by kstatus.
package health
