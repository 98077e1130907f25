package kql

import (
	"errors"
	"testing"
)

// TestOperatorErrors covers the misuse of make-series, evaluate plugins,
// the series_* functions and the other operators added for Kusto's
// documentation examples: each error names what is wrong and where.
func TestOperatorErrors(t *testing.T) {
	tests := map[string]struct {
		query string
		want  string
		ch    bool // compile for ClickHouse
	}{
		"a series function over two numbers": {
			query: "Perf | extend s = series_add(CounterValue, 1)",
			want:  "1:19: series_add needs at least one dynamic array; for two numbers use the arithmetic operators",
		},
		"a series function over a string": {
			query: `Perf | extend s = series_add(dynamic([1]), Computer)`,
			want:  "1:44: argument 2 of series_add must be a dynamic array or a number, but it is string",
		},
		"a make-series step of the wrong type": {
			query: "Perf | make-series count() on TimeGenerated step 5",
			want:  "1:50: the make-series step must be a timespan for a datetime axis, but it is long",
		},
		"a make-series axis that is a string": {
			query: "Perf | make-series count() on Computer step 1h",
			want:  "1:31: the make-series axis must be a datetime, timespan or number, but it is string",
		},
		"a make-series bound of another type": {
			query: "Perf | make-series count() on TimeGenerated from 1 step 1h",
			want:  "1:50: make-series from must be a datetime like its axis, but it is long",
		},
		"a make-series parameter that does not exist": {
			query: "Perf | make-series kind=dense count() on TimeGenerated step 1h",
			want:  "1:20: make-series parameter kind=dense is not supported; use kind=nonempty",
		},
		"a make-series without an aggregation": {
			query: "Perf | make-series on TimeGenerated step 1h",
			want:  "1:20: expected an aggregation in make-series, such as make-series count() on TimeGenerated step 1h, found \"on\"",
		},
		"a make-series that is not an aggregation": {
			query: "Perf | make-series CounterValue on TimeGenerated step 1h",
			want:  "1:20: summarize needs an aggregation such as count(), sum(x) or avg(x) here; put plain columns in the by clause",
		},
		"a make-series with a step of zero": {
			query: "Perf | make-series count() on TimeGenerated from ago(1h) to now() step 0s",
			want:  "0:0: the make-series step must be positive",
		},
		"a make-series with too many bins": {
			query: "Perf | make-series count() on TimeGenerated from ago(3650d) to now() step 1s",
			want:  "0:0: make-series would make 315360000 bins, more than the limit of 1048576; use a larger step or a shorter range",
		},
		"an unknown plugin": {
			query: "Perf | evaluate autocluster()",
			want:  "1:17: the autocluster plugin is not supported; tugboat's evaluate has bag_unpack, pivot, rows_near, ipv4_lookup, ipv6_lookup, activity_counts_metrics, narrow",
		},
		"bag_unpack of a string": {
			query: "Perf | evaluate bag_unpack(Computer)",
			want:  "1:28: bag_unpack needs a dynamic column, but this is string",
		},
		"bag_unpack with an unknown parameter": {
			query: "Perf | extend d = todynamic(Computer) | evaluate bag_unpack(d, prefix='x')",
			want:  "1:71: bag_unpack has no parameter prefix; its parameters are Column, OutputColumnPrefix, columnsConflict, ignoredProperties",
		},
		"bag_unpack with an unknown conflict rule": {
			query: "Perf | extend d = todynamic(Computer) | evaluate bag_unpack(d, columnsConflict='merge')",
			want:  "1:80: columnsConflict must be error, replace_source or keep_source, not \"merge\"",
		},
		"bag_unpack with ignored properties that are not names": {
			query: "Perf | extend d = todynamic(Computer) | evaluate bag_unpack(d, ignoredProperties=\"a\")",
			want:  "1:82: ignoredProperties must be a constant array of names, such as dynamic(['a', 'b'])",
		},
		"bag_unpack without a schema or an engine to ask": {
			query: "Perf | extend d = todynamic(Computer) | evaluate bag_unpack(d)",
			want:  "1:50: bag_unpack needs an output schema here, such as evaluate bag_unpack(Col) : (Name:string, Age:long)",
		},
		"bag_unpack with a schema column twice": {
			query: "Perf | extend d = todynamic(Computer) | evaluate bag_unpack(d) : (a:long, a:string)",
			want:  "1:50: column a is declared twice in the output schema",
		},
		"mv-apply without a subquery": {
			query: "Perf | mv-apply x = todynamic(Computer) on ()",
			want:  "1:45: expected an operator after |, found \")\"",
		},
		"mv-apply of a string": {
			query: "Perf | mv-apply x = Computer on (take 1)",
			want:  "1:21: mv-expand needs a dynamic array, but this is string",
		},
		"a render inside mv-apply": {
			query: "Perf | mv-apply x = todynamic(Computer) on (render table)",
			want:  "1:45: render is only allowed at the end of the query, not inside mv-apply",
		},
		"mv-apply on ClickHouse": {
			query: "Perf | mv-apply x = todynamic(Computer) on (take 1)",
			want:  "0:0: mv-apply is not supported on ClickHouse 18.16, which cannot split JSON arrays",
			ch:    true,
		},
		"lookup of another kind": {
			query: "Perf | lookup kind=leftanti Perf on Computer",
			want:  "1:8: lookup kind must be leftouter or inner, not leftanti",
		},
		"parse-kv with an unknown option": {
			query: "Perf | parse-kv Computer as (a:long) with (pair_delimiter=',', kv_delimiter='=', greedy='true')",
			want:  "1:82: the parse-kv option greedy is not supported; use pair_delimiter, kv_delimiter and quote",
		},
		"parse-kv of a number": {
			query: "Perf | parse-kv CounterValue as (a:long) with (pair_delimiter=',', kv_delimiter='=')",
			want:  "1:17: parse-kv needs a string to parse, but this is real; convert it with tostring()",
		},
		"toscalar of a column": {
			query: "Perf | extend x = toscalar(CounterValue)",
			want:  "1:28: unknown name CounterValue: only constants and earlier lets can be used here",
		},
		"pivot with a second argument that is not an aggregation": {
			query: "Perf | evaluate pivot(Computer, CounterValue)",
			want:  "1:33: the second argument of pivot must be an aggregation such as sum(x) or count()",
		},
		"pivot on a dynamic value": {
			query: "Perf | evaluate pivot(todynamic(Computer))",
			want:  "1:23: pivot cannot pivot on a dynamic value; convert it with tostring()",
		},
		"pivot without an engine to ask": {
			query: "Perf | evaluate pivot(Computer)",
			want:  "1:17: pivot needs the engine to list the pivot values, which this compilation cannot ask",
		},
	}
	schema := testSchema()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := DuckDB
			if tc.ch {
				d = ClickHouse
			}
			_, err := CompileWithOptions(tc.query, schema, Options{Dialect: d, Now: testNow})
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("Compile(%q) error = %v, want *Error", tc.query, err)
			}
			if kerr.Error() != tc.want {
				t.Fatalf("Compile(%q):\n got %s\nwant %s", tc.query, kerr.Error(), tc.want)
			}
		})
	}
}

// TestOperatorRoundTrip prints the added operators and parses the text
// back to the same tree.
func TestOperatorRoundTrip(t *testing.T) {
	for name, query := range map[string]string{
		"make-series with everything": "T | make-series kind=nonempty s = sum(x) default=1.5, avg(y) on ts from datetime(2024-01-01) to datetime(2024-02-01) step 1d by k, j = tostring(z)",
		"make-series, the range form": "T | make-series count() on ts in range(ago(1d), now(), 1h)",
		"evaluate with a schema":      "T | evaluate hint.distribution=per_node bag_unpack(d, 'p_', columnsConflict='keep_source') : (*, a:long, b:dynamic)",
		"evaluate without a schema":   "T | evaluate bag_unpack(d)",
		"lookup":                      "T | lookup kind=inner (D | where x > 1) on $left.a == $right.b, c",
		"mv-apply":                    "T | mv-apply with_itemindex=i x = a to typeof(long), b limit 3 on (where x > 1 | top 2 by x)",
		"parse-kv":                    "T | parse-kv s as (a:string, ['b c']:long) with (pair_delimiter=',', kv_delimiter='=', quote='\"')",
		"toscalar of a query":         "T | where x == toscalar(U | summarize max(x)) | extend y = toscalar(2)",
		"materialize":                 "let m = materialize(T | take 1); m | join (m) on x",
		"parse-where":                 "T | parse-where kind=regex s with \"a=\" a:long \".*\"",
	} {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkRoundTrip(t, q)
		})
	}
}
