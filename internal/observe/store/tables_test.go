package store

import "testing"

func TestEveryTableStartsWithTimeGenerated(t *testing.T) {
	for name, cols := range Tables() {
		if len(cols) == 0 || cols[0].Name != "TimeGenerated" {
			t.Errorf("table %s: first column is not TimeGenerated", name)
		}
		seen := map[string]bool{}
		for _, c := range cols {
			if seen[c.Name] {
				t.Errorf("table %s: column %s twice", name, c.Name)
			}
			seen[c.Name] = true
		}
	}
}
