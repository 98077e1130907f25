package changelist

import (
	"reflect"
	"testing"
)

func TestParseReadsWhatFormatWrites(t *testing.T) {
	for name, tc := range map[string]struct {
		list List
		note string
	}{
		"nothing changed is an empty note": {
			list: nil, note: "",
		},
		"one line per change, namespaced and cluster-scoped": {
			list: List{{Object: "Deployment/shop/web", Action: Configured}, {Object: "Namespace/shop", Action: Created},
				{Object: "Service/shop/old", Action: Deleted}},
			note: "Deployment/shop/web configured\nNamespace/shop created\nService/shop/old deleted",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := tc.list.Format(); got != tc.note {
				t.Errorf("Format() = %q, want %q", got, tc.note)
			}
			if got := Parse(tc.note); !reflect.DeepEqual(got, tc.list) {
				t.Errorf("Parse(%q) = %#v, want %#v", tc.note, got, tc.list)
			}
		})
	}
}

func TestParseSkipsLinesThatAreNotChanges(t *testing.T) {
	for name, tc := range map[string]struct {
		note string
		want List
	}{
		"a success event's verdict line": {
			note: "Deployment/shop/web created\nHealth check passed in 1.2s",
			want: List{{Object: "Deployment/shop/web", Action: Created}},
		},
		"an action the list does not hold": {
			note: "Deployment/shop/web unchanged\nService/shop/web skipped",
		},
		"an object without a kind": {
			note: "web created",
		},
		"indented lines are read": {
			note: "  ConfigMap/shop/cfg configured  ",
			want: List{{Object: "ConfigMap/shop/cfg", Action: Configured}},
		},
		"a message with words after the action": {
			note: "Applied revision: main@sha1:abc",
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Parse(tc.note); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tc.note, got, tc.want)
			}
		})
	}
}
