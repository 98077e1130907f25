package kql

import "testing"

// scan, top-nested and top-hitters print back to KQL that parses to the same tree.
func TestScanRoundTrip(t *testing.T) {
	for name, q := range map[string]string{
		"all clauses": `T | scan with_match_id = m declare (a:long = -1, b:string) with (step s1: x > 0 => a = s1.a + 1, b = "x"; step ['s 2'] output = last: s1.a > 2; step s3 output=none: true;)`,
		"bare":        `T | scan with (step s: true;) | take 1`,
		"top-nested":  `T | top-nested 2 of A by sum(x), top-nested of B = tostring(y) with others = "o" by C = count() asc | take 3`,
		"top-hitters": `T | top-hitters 5 of strcat(a, b) by x`,
		"search in":   `search kind=case_sensitive in (A, ['b c']) "x*" or y > 2 | take 1`,
		"search":      `T | search kind=case_sensitive "a*b" and (c:"d*" or x > 1 or "*e") | search *`,
	} {
		t.Run(name, func(t *testing.T) {
			parsed, err := Parse(q)
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, parsed)
		})
	}
}
