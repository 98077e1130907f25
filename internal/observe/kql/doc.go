// Package kql parses, type-checks and compiles the subset of the Kusto Query
// Language that tugboat supports into a single read-only SQL SELECT for DuckDB
// or ClickHouse 18.16, keeping Kusto's semantics rather than SQL's.
package kql
