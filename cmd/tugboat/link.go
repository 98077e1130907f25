package main

// The DuckDB bindings link with -rdynamic, which exports every symbol of the binary —
// 180,000 of them, Go's included — into its dynamic symbol table. The dynamic loader
// then resolves libc's and libstdc++'s symbols through that table at every start,
// which maps 19 MiB of it into each process (measured: RssFile of the controller at
// start 85 → 66 MiB; the GitOps benchmark reports the controller's peak RSS). Nothing
// loads code into tugboat that would need those exports: DuckDB's extensions are
// linked in statically.

// #cgo LDFLAGS: -Wl,--no-export-dynamic
import "C"
