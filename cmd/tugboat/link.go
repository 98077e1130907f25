package main

// The DuckDB bindings link with -rdynamic, which exports every symbol of the binary —
// 180,000 of them, Go's included — into its dynamic symbol table. The dynamic loader
// then resolves libc's and libstdc++'s symbols through that table at every start,
// which maps a large part of it into every tugboat process (the GitOps benchmark
// reports the controller's peak RSS; docs/design/2026-11-26-gitops-cpu-budget.md). Nothing
// loads code into tugboat that would need those exports: DuckDB's extensions are
// linked in statically.

// #cgo LDFLAGS: -Wl,--no-export-dynamic
import "C"
