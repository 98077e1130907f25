// Package changelist is the contract between the GitOps controllers and the delivery
// tables for what a reconcile changed: the controller writes the list into an event's
// note, one "Kind/namespace/name action" line per object as Flux's events do, and the
// agent parses it back. It is a leaf: it imports no wing.
package changelist

import "strings"

// Action says what a reconcile did to one object; only these three are listed.
type Action string

// The actions, spelled as Flux spells them in its events.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Deleted    Action = "deleted"
)

// Listed reports whether a is one of the actions a change list holds.
func (a Action) Listed() bool {
	return a == Created || a == Configured || a == Deleted
}

// Change is one object a reconcile changed.
type Change struct {
	// Object names it as Flux's change lines do: 'Deployment/default/podinfo', or
	// 'Namespace/apps' when cluster-scoped.
	Object string
	Action Action
}

// List is what a reconcile changed, in the order applied.
type List []Change

// Format writes the list as an event note: one "Object action" line per change, ""
// when nothing changed.
func (l List) Format() string {
	lines := make([]string, 0, len(l))
	for _, c := range l {
		lines = append(lines, c.Object+" "+string(c.Action))
	}
	return strings.Join(lines, "\n")
}

// Parse reads the change lines of an event note; other lines (a success event's
// "Health check passed in 1.2s") are not changes and are skipped.
func Parse(note string) List {
	var out List
	for _, line := range strings.Split(note, "\n") {
		obj, action, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.Contains(obj, "/") || !Action(action).Listed() {
			continue
		}
		out = append(out, Change{Object: obj, Action: Action(action)})
	}
	return out
}
