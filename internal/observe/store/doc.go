// Package store holds tugboat's observability tables: their schemas (named like
// Azure Monitor Container Insights, plus tugboat's delivery tables) and the engines
// that keep them — an embedded DuckDB file by default, ClickHouse to scale out —
// behind one interface that appends rows and answers KQL.
package store
