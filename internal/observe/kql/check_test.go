package kql

import (
	"errors"
	"strings"
	"testing"
)

func columnsString(cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ":" + c.Type.String()
	}
	return strings.Join(parts, ", ")
}

func TestCheck(t *testing.T) {
	tests := map[string]struct {
		query string
		want  string // result columns as Name:type, ...
	}{
		"a table keeps its columns": {
			query: "TugboatDeployments",
			want:  "TimeGenerated:datetime, Name:string, Namespace:string, Revision:string, Status:string, Duration:timespan",
		},
		"project names columns and derives names": {
			query: "Perf | project Computer, v = CounterValue * 2, CounterValue + 1, tostring(SampleCount)",
			want:  "Computer:string, v:real, Column1:real, SampleCount:string",
		},
		"extend replaces a column in place and adds new ones": {
			query: "TugboatDeployments | extend Status = strlen(Status), Late = Duration > 5m, Twice = Late",
			want:  "TimeGenerated:datetime, Name:string, Namespace:string, Revision:string, Status:long, Duration:timespan, Late:bool, Twice:bool",
		},
		"project-away and project-rename": {
			query: "TugboatDeployments | project-away TimeGenerated, Revision | project-rename Deployment = Name",
			want:  "Deployment:string, Namespace:string, Status:string, Duration:timespan",
		},
		"default aggregate names": {
			query: "Perf | summarize count(), countif(CounterValue > 1), sum(SampleCount), sumif(CounterValue, true), avg(CounterValue), dcount(Computer), min(TimeGenerated), any(ObjectName), make_list(Computer), make_set(Computer) by Computer",
			want:  "Computer:string, count_:long, countif_:long, sum_SampleCount:long, sumif_CounterValue:real, avg_CounterValue:real, dcount_Computer:long, min_TimeGenerated:datetime, any_ObjectName:string, list_Computer:dynamic, set_Computer:dynamic",
		},
		"a binned key keeps the column name": {
			query: "Perf | summarize avg(CounterValue) by bin(TimeGenerated, 5m), Computer",
			want:  "TimeGenerated:datetime, Computer:string, avg_CounterValue:real",
		},
		"percentile and percentiles names": {
			query: "Perf | summarize percentile(CounterValue, 95), percentiles(SampleCount, 50, 99.9)",
			want:  "percentile_CounterValue_95:real, percentile_SampleCount_50:long, percentile_SampleCount_99_9:long",
		},
		"arg_max with star returns the row without repeating keys": {
			query: "TugboatDeployments | summarize arg_max(TimeGenerated, *) by Name",
			want:  "Name:string, TimeGenerated:datetime, Namespace:string, Revision:string, Status:string, Duration:timespan",
		},
		"a named arg_max renames the first column": {
			query: "KubePodInventory | extend ContainerLastStatus=todynamic(ContainerLastStatus) | summarize RestartCount = arg_max(ContainerRestartCount, Computer, Namespace, ContainerLastStatus.reason) by Name",
			want:  "Name:string, RestartCount:int, Computer:string, Namespace:string, ContainerLastStatus_reason:dynamic",
		},
		"aggregates inside expressions": {
			query: "Perf | summarize ratio = todouble(countif(CounterValue > 0)) / count() by Computer",
			want:  "Computer:string, ratio:real",
		},
		"the count operator makes Count": {
			query: "KubeEvents | count",
			want:  "Count:long",
		},
		"sort, top and take keep the columns": {
			query: "KubeEvents | sort by TimeGenerated desc | top 5 by Name asc | take 2 | project Name",
			want:  "Name:string",
		},
		"distinct columns": {
			query: "KubeNodeInventory | distinct ClusterId, Computer",
			want:  "ClusterId:string, Computer:string",
		},
		"join suffixes clashing right columns": {
			query: "TugboatDeployments | join kind=inner (TugboatReconciliations | project Name, Result, Revision) on Name",
			want:  "TimeGenerated:datetime, Name:string, Namespace:string, Revision:string, Status:string, Duration:timespan, Name1:string, Result:string, Revision1:string",
		},
		"semi joins keep one side": {
			query: "TugboatDeployments | join kind=leftsemi TugboatReconciliations on $left.Revision == $right.Revision | project Name",
			want:  "Name:string",
		},
		"union takes the union of columns": {
			query: "TugboatDeployments | project Name, Status | union (TugboatReconciliations | project Name, Result)",
			want:  "Name:string, Status:string, Result:string",
		},
		"parse adds typed columns": {
			query: `KubeEvents | parse Message with * "pulled " Image:string " in " Ms:long "ms" *`,
			want:  "TimeGenerated:datetime, ClusterId:string, Computer:string, Count:real, FirstSeen:datetime, LastSeen:datetime, KubeEventType:string, Message:string, Name:string, Namespace:string, ObjectKind:string, Reason:string, SourceComponent:string, Image:string, Ms:long",
		},
		"mv-expand with a type": {
			query: "ContainerLogV2 | project PodName, KubernetesMetadata | mv-expand Label = KubernetesMetadata.podLabels to typeof(string)",
			want:  "PodName:string, KubernetesMetadata:dynamic, Label:string",
		},
		"scalar and tabular lets": {
			query: "let since = ago(1h); let Recent = KubeEvents | where TimeGenerated > since; Recent | summarize n = count() by Reason",
			want:  "Reason:string, n:long",
		},
		"dynamic comparisons convert implicitly": {
			query: `ContainerLogV2 | where LogMessage.level == "error" and LogMessage.code > 400 | project m = LogMessage["msg"]`,
			want:  "m:dynamic",
		},
		"iff and case find a common type": {
			query: "Perf | project a = iff(CounterValue > 1, 1, 2.5), b = case(CounterValue > 9, \"hi\", CounterValue > 5, \"mid\", \"lo\")",
			want:  "a:real, b:string",
		},
		"datetime arithmetic": {
			query: "KubeEvents | project age = now() - LastSeen, next = LastSeen + 1h, half = (LastSeen - FirstSeen) / 2, ratio = (LastSeen - FirstSeen) / 1m",
			want:  "age:timespan, next:datetime, half:timespan, ratio:real",
		},
		"all-column search": {
			query: `ContainerLogV2 | where * has "timeout" | count`,
			want:  "Count:long",
		},
	}
	schema := testSchema()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			c, err := Check(q, schema)
			if err != nil {
				var kerr *Error
				if errors.As(err, &kerr) {
					t.Fatalf("Check: %s", kerr.Format(tc.query))
				}
				t.Fatalf("Check: %v", err)
			}
			if got := columnsString(c.Columns); got != tc.want {
				t.Fatalf("columns:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestCheckErrors(t *testing.T) {
	tests := map[string]struct {
		query string
		want  string
	}{
		"an unknown table with a suggestion": {
			query: `ContainerLogv2 | where LogLevel == "Error"`,
			want:  "1:1: unknown table ContainerLogv2; did you mean ContainerLogV2?",
		},
		"an unknown table without a close match": {
			query: "Nothing | take 1",
			want:  "1:1: unknown table Nothing",
		},
		"an unknown column with a suggestion": {
			query: "Perf | where CounterVal > 1",
			want:  "1:14: unknown column CounterVal; did you mean CounterValue?",
		},
		"a column removed by project is unknown afterwards": {
			query: "Perf | project Computer | where CounterValue > 1",
			want:  "1:33: unknown column CounterValue",
		},
		"an unknown function with a suggestion": {
			query: "Perf | extend x = tostrng(CounterValue)",
			want:  "1:19: unknown function tostrng; did you mean tostring?",
		},
		"an unsupported function": {
			query: "Perf | extend x = extent_id()",
			want:  "1:19: function extent_id is not supported because tugboat's tables have no extents",
		},
		"an aggregate outside summarize": {
			query: "Perf | extend n = count()",
			want:  "1:19: count() is an aggregation and is only allowed in summarize",
		},
		"a plain column in the aggregate list": {
			query: "Perf | summarize Computer by ObjectName",
			want:  "1:18: summarize needs an aggregation such as count(), sum(x) or avg(x) here; put plain columns in the by clause",
		},
		"where needs a bool": {
			query: "Perf | where CounterValue",
			want:  "1:14: where needs a bool condition, but this expression is real",
		},
		"comparing a datetime with a string": {
			query: `Perf | where TimeGenerated > "2024-01-01"`,
			want:  "1:28: cannot compare datetime with string using >; write the time as datetime(2024-01-31 10:00) or convert with todatetime()",
		},
		"adding strings": {
			query: `Perf | extend x = Computer + "a"`,
			want:  "1:28: cannot apply + to string and string; use strcat() to join strings",
		},
		"wrong argument type": {
			query: "Perf | where TimeGenerated > ago(5)",
			want:  "1:34: argument 1 of ago must be a timespan, but it is long",
		},
		"wrong argument count": {
			query: "Perf | extend x = strlen(Computer, 1)",
			want:  "1:19: strlen takes 1 argument(s), not 2",
		},
		"has needs a constant": {
			query: "Perf | where Computer has ObjectName",
			want:  "1:27: has needs a constant string on the right, such as x has \"error\"",
		},
		"an invalid regular expression": {
			query: `Perf | where Computer matches regex "a("`,
			want:  "1:37: invalid regular expression: error parsing regexp: missing closing ): `a(`",
		},
		"take needs a constant": {
			query: "Perf | take SampleCount",
			want:  "1:13: unknown name SampleCount: only constants and earlier lets can be used here",
		},
		"an unknown join kind": {
			query: "Perf | join kind=innr Perf on Computer",
			want:  `1:8: unknown join kind "innr"; did you mean "inner"?`,
		},
		"a join column missing on the right": {
			query: "Perf | join (KubeEvents) on CounterName",
			want:  "1:29: join column CounterName is not in the right side",
		},
		"join columns of different types": {
			query: "Perf | join KubeEvents on $left.CounterValue == $right.Name",
			want:  "1:33: join columns must have the same type, but CounterValue is real and Name is string",
		},
		"render not last": {
			query: "Perf | render timechart | take 1",
			want:  "1:8: render must be the last operator of the query",
		},
		"an unknown visualization": {
			query: "Perf | render timechar",
			want:  `1:8: unknown visualization "timechar"; did you mean "timechart"?`,
		},
		"duplicate names in project": {
			query: "Perf | project a = 1, a = 2",
			want:  "1:23: column a is declared twice in project; rename one with Name = ...",
		},
		"a scalar let used as a table": {
			query: "let x = 1; x | take 1",
			want:  "1:12: x is a scalar let, not a table",
		},
		"sorting by dynamic": {
			query: "ContainerLogV2 | sort by LogMessage",
			want:  "1:26: cannot sort by a dynamic value; convert it with tostring(), tolong() or todouble()",
		},
		"property access on a string": {
			query: "Perf | extend x = Computer.name",
			want:  "1:19: only dynamic values have properties or elements, but this is string; convert it with todynamic()",
		},
		"a percentile out of range": {
			query: "Perf | summarize percentile(CounterValue, 150)",
			want:  "1:43: the percentile must be between 0 and 100",
		},
		"union with conflicting types": {
			query: "Perf | project x = CounterValue | union (KubeEvents | project x = Name)",
			want:  "1:35: union: column x is real in one input and string in input 2; convert one side so the types match",
		},
	}
	schema := testSchema()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = Check(q, schema)
			var kerr *Error
			if !errors.As(err, &kerr) {
				t.Fatalf("Check(%q) error = %v, want *Error", tc.query, err)
			}
			if kerr.Error() != tc.want {
				t.Fatalf("Check(%q):\n got %s\nwant %s", tc.query, kerr.Error(), tc.want)
			}
		})
	}
}

// A function both implemented and listed as refused never reaches its
// refusal, and the list then misleads its readers (reverse and
// make_datetime stayed listed as "not supported yet" after they landed):
// every listed name must give its refusal.
func TestRefusedFunctionsAreRefused(t *testing.T) {
	refused := map[string]string{}
	for name, reason := range unsupportedFunctions {
		refused[name] = reason
	}
	for name, reason := range undocumentedFunctions {
		refused[name] = reason
	}
	schema := testSchema()
	for name, reason := range refused {
		t.Run(name, func(t *testing.T) {
			query := "print x = " + name + "()"
			q, err := Parse(query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", query, err)
			}
			_, err = Check(q, schema)
			want := "function " + name + " is not supported " + reason
			if err == nil || !strings.HasSuffix(err.Error(), want) {
				t.Fatalf("Check(%q) = %v, want the refusal %q; remove the name from the refused list if it is implemented", query, err, want)
			}
		})
	}
}
