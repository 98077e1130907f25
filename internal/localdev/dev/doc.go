// Package dev keeps the persistent local cluster behind `tugboat dev`. A supervisor
// process (`tugboat dev serve`, started detached by Up) owns the control plane, so the
// cluster outlives the command that started it while its components still die with
// their owner; Up, Down and Status talk to it through files in the data directory.
package dev
