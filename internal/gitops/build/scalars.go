package build

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/pkg/envsubst"
)

// Flux substitutes variables in an object's YAML text and reads the whole text
// back (YAMLToJSON), which is most of what a postBuild costs, and a fleet of
// Kustomizations sharing one directory pays it once per Kustomization
// (BenchmarkFleet; figures in docs/design/2026-11-26-build-cache.md). When every '$'
// of the text sits in a scalar that takes a value on one line, and what
// substitution puts there reads back as one scalar of the same kind, the text
// read back is the template read back with those scalars replaced. scalarSlots
// finds those scalars once per object (the template is shared by every
// Kustomization that builds the directory); substituteScalars then fills them
// in without reading YAML, and hands back to Flux's path whenever it cannot
// show that the result is the one Flux's path would give.

// scalarSlots is an object's text read once for substituteScalars. ok is false
// when some '$' is where substituteScalars cannot follow it (a key, a comment,
// a block scalar, a scalar over several lines or in a flow collection, a tag,
// a second document) or the text has an anchor: then every substitution takes
// Flux's path.
type scalarSlots struct {
	ok bool
	// base is the text as YAMLToJSON reads it. Kept as JSON rather than
	// decoded, it keeps a cache entry less than half as large for a little
	// more CPU per build (docs/design/2026-11-26-build-cache.md).
	base  []byte
	slots []scalarSlot // in the order of the text
}

// scalarSlot is one scalar value of the template with a '$' in it.
type scalarSlot struct {
	start, end int   // its text between the quotes, if any, in the template
	quote      byte  // '"', '\'' or 0 for a plain scalar
	path       []any // map keys (string) and list indices (int) from the root of base
}

// readSlots finds the slots of text. It walks kyaml's nodes (which know where
// they are written) beside what Flux's reader (sigs.k8s.io/yaml) makes of the
// text, and only returns ok when the two agree: every mapping has as many keys
// in both, every list as many items, and each slot's value is a string there.
func readSlots(text []byte) scalarSlots {
	var doc kyaml.Node
	if err := kyaml.Unmarshal(text, &doc); err != nil || doc.Kind != kyaml.DocumentNode || len(doc.Content) != 1 {
		return scalarSlots{}
	}
	data, err := yaml.YAMLToJSON(text)
	if err != nil {
		return scalarSlots{}
	}
	var base map[string]any
	if err := json.Unmarshal(data, &base); err != nil || base == nil {
		return scalarSlots{}
	}
	lines := lineStarts(text)
	s := scalarSlots{ok: true, base: data}
	var walk func(n *kyaml.Node, read any, path []any, inFlow bool)
	walk = func(n *kyaml.Node, read any, path []any, inFlow bool) {
		if !s.ok {
			return
		}
		// An alias repeats a node elsewhere, so one slot would be several.
		if n.Anchor != "" || n.Kind == kyaml.AliasNode {
			s.ok = false
			return
		}
		inFlow = inFlow || n.Style&kyaml.FlowStyle != 0
		switch n.Kind {
		case kyaml.MappingNode:
			m, ok := read.(map[string]any)
			if !ok || len(m)*2 != len(n.Content) {
				s.ok = false
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i]
				v, ok := m[key.Value]
				if key.Kind != kyaml.ScalarNode || !ok {
					s.ok = false
					return
				}
				walk(n.Content[i+1], v, append(slices.Clip(path), key.Value), inFlow)
			}
		case kyaml.SequenceNode:
			l, ok := read.([]any)
			if !ok || len(l) != len(n.Content) {
				s.ok = false
				return
			}
			for i, c := range n.Content {
				walk(c, l[i], append(slices.Clip(path), i), inFlow)
			}
		case kyaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return
			}
			// In a flow collection ',' and brackets end a scalar, and a tag
			// decides a scalar's type whatever it holds.
			if read != n.Value || inFlow || n.Style&kyaml.TaggedStyle != 0 {
				s.ok = false
				return
			}
			slot, ok := locate(text, lines, n, path)
			if !ok {
				s.ok = false
				return
			}
			s.slots = append(s.slots, slot)
		default:
			s.ok = false
		}
	}
	walk(doc.Content[0], base, nil, false)
	if !s.ok || !everyDollarInSlots(text, s.slots) {
		return scalarSlots{}
	}
	return s
}

// locate finds where the scalar n's value is written in text: on one line, as
// its value exactly (so no escapes, no folding).
func locate(text []byte, lines []int, n *kyaml.Node, path []any) (scalarSlot, bool) {
	if n.Line < 1 || n.Line > len(lines) || strings.ContainsAny(n.Value, "\n\r") {
		return scalarSlot{}, false
	}
	// kyaml counts columns in characters.
	start := lines[n.Line-1]
	for range n.Column - 1 {
		if start >= len(text) {
			return scalarSlot{}, false
		}
		_, size := utf8.DecodeRune(text[start:])
		start += size
	}
	var quote byte
	switch n.Style {
	case kyaml.DoubleQuotedStyle:
		quote = '"'
	case kyaml.SingleQuotedStyle:
		quote = '\''
	case 0:
	default: // literal or folded
		return scalarSlot{}, false
	}
	if quote != 0 {
		if start >= len(text) || text[start] != quote || strings.ContainsAny(n.Value, `"'\`) {
			return scalarSlot{}, false
		}
		start++
	}
	end := start + len(n.Value)
	if end > len(text) || string(text[start:end]) != n.Value {
		return scalarSlot{}, false
	}
	if quote != 0 && (end >= len(text) || text[end] != quote) {
		return scalarSlot{}, false
	}
	return scalarSlot{start: start, end: end, quote: quote, path: path}, true
}

func lineStarts(text []byte) []int {
	starts := []int{0}
	for i, c := range text {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func everyDollarInSlots(text []byte, slots []scalarSlot) bool {
	i := 0
	for pos, c := range text {
		if c != '$' {
			continue
		}
		for i < len(slots) && slots[i].end <= pos {
			i++
		}
		if i == len(slots) || pos < slots[i].start {
			return false
		}
	}
	return true
}

// substituteScalars returns what Flux's path makes of the template's text
// after substitution, given that text (substituted, as envsubst made it with
// mapping): the object as json.Unmarshal reads YAMLToJSON's output. ok is false
// when it cannot show the result is Flux's; the caller then takes Flux's path.
func (s *scalarSlots) substituteScalars(text []byte, substituted string, mapping func(string) (string, bool)) (map[string]any, bool) {
	if !s.ok {
		return nil, false
	}
	values := make([]any, len(s.slots))
	var b strings.Builder
	b.Grow(len(substituted))
	prev := 0
	for i, slot := range s.slots {
		inner, err := envsubst.Eval(string(text[slot.start:slot.end]), mapping)
		if err != nil {
			return nil, false
		}
		v, ok := scalarValue(inner, slot.quote)
		if !ok {
			return nil, false
		}
		values[i] = v
		b.Write(text[prev:slot.start])
		b.WriteString(inner)
		prev = slot.end
	}
	b.Write(text[prev:])
	// The substituted text must be the template with only the slots changed:
	// then, each new value being a scalar of its slot's kind, YAML reads it
	// as the template with those values.
	if b.String() != substituted {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(s.base, &m); err != nil {
		return nil, false
	}
	for i, slot := range s.slots {
		set(m, slot.path, values[i])
	}
	return m, true
}

// scalarValue is what the YAML reader makes of inner written in a slot quoted
// by quote, and whether inner is sure to stay one scalar there. Every
// character must be one YAML prints as itself (no control character, no
// Unicode line break). Quoted, inner is a string if it holds neither the
// quote nor a backslash. Plain, it must not begin with an indicator or a
// space, nor hold ": " or " #", nor end with ':' or a space; it is then read
// alone, as a mapping's value, by the same reader, which gives it the type
// Flux's path would (42 a number, true a boolean).
func scalarValue(inner string, quote byte) (any, bool) {
	for _, r := range inner {
		if !printable(r) || r == rune(quote) || r == '\\' {
			return nil, false
		}
	}
	if quote != 0 {
		return inner, true
	}
	if inner == "" || inner[0] == ' ' || strings.HasSuffix(inner, " ") || strings.HasSuffix(inner, ":") ||
		strings.Contains(inner, ": ") || strings.Contains(inner, " #") ||
		strings.IndexByte("?:,[]{}#&*!|>'\"%@`", inner[0]) >= 0 ||
		inner[0] == '-' && (len(inner) == 1 || !strings.ContainsRune("0123456789.", rune(inner[1]))) {
		return nil, false
	}
	// The reader (go.yaml.in/yaml/v2, resolve.go) takes a plain scalar for a
	// string without looking further when its first character is none of
	// "+-.~", a digit or a letter of yes/no/true/false/on/off/null; reading
	// the rest alone costs ~10 µs, a third of the substitution's time.
	if !strings.ContainsRune("+-.~0123456789yYnNtTfFoO", rune(inner[0])) {
		return inner, true
	}
	// Read as a mapping's value, where a slot is: alone at the start of a
	// document, "..." would end it.
	data, err := yaml.YAMLToJSON([]byte("v: " + inner))
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || len(m) != 1 {
		return nil, false
	}
	switch v := m["v"].(type) {
	case string, float64, bool, nil:
		return v, true
	}
	return nil, false
}

// printable reports whether YAML reads r inside a scalar as itself: the
// reader's printable characters less line breaks, tabs and the byte order mark.
func printable(r rune) bool {
	switch {
	case r == utf8.RuneError, r == 0x2028, r == 0x2029, r == 0xFEFF:
		return false
	case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

// set puts v at path in m, where readSlots found a string.
func set(m map[string]any, path []any, v any) {
	var parent any = m
	for i, p := range path {
		last := i == len(path)-1
		switch k := p.(type) {
		case string:
			pm := parent.(map[string]any)
			if last {
				pm[k] = v
				return
			}
			parent = pm[k]
		case int:
			pl := parent.([]any)
			if last {
				pl[k] = v
				return
			}
			parent = pl[k]
		}
	}
}
