package reconcile

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateStallsOnTheFirstRefusal(t *testing.T) {
	pass := func(string) *Refusal { return nil }
	refuse := func(reason string) Check[string] {
		return func(obj string) *Refusal { return &Refusal{Reason: reason, Message: obj + ": " + reason} }
	}
	cases := map[string]struct {
		checks     []Check[string]
		wantOK     bool
		wantReason string
	}{
		"no checks pass":                      {wantOK: true},
		"passing checks pass":                 {checks: []Check[string]{pass, pass}, wantOK: true},
		"the first refusal is the one told":   {checks: []Check[string]{pass, refuse("First"), refuse("Second")}, wantReason: "First"},
		"a refusal after passes is still one": {checks: []Check[string]{pass, pass, refuse("Last")}, wantReason: "Last"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			o, ok := Validate("obj", c.checks...)
			if ok != c.wantOK {
				t.Fatalf("ok = %t; want %t (%+v)", ok, c.wantOK, o)
			}
			if ok {
				return
			}
			if o.Reason != c.wantReason || o.Message != "obj: "+c.wantReason || !o.Stalled || o.Ready != metav1.ConditionFalse || o.Requeue != 0 {
				t.Errorf("got %+v; want Ready=False, Stalled, reason %s, no requeue", o, c.wantReason)
			}
		})
	}
}
