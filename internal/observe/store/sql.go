package store

import (
	"sort"
	"strings"

	"github.com/tugboatcd/tugboat/internal/observe/kql"
)

// DuckDBFile is the database file's name inside the data directory.
const DuckDBFile = "tugboat.duckdb"

func sortedTables(schema kql.Schema) []string {
	names := make([]string, 0, len(schema))
	for n := range schema {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// quoteIdent quotes a table or column name. Names come from the schema and
// are plain identifiers; a quote inside would be doubled anyway.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
