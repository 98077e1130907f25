package build

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// scalarTemplates are objects whose '$'s are all in scalars substituteScalars
// can fill: as a whole value, inside a longer one, twice in one, in lists, in
// values kustomize has to quote, after non-ASCII text, with a default.
const scalarTemplates = `apiVersion: example.com/v1
kind: Thing
metadata:
  name: thing-${A}
  labels:
    app: "${A}"
spec:
  whole: ${A}
  prefix: x-${A}
  suffix: ${A}-x
  pair: ${A}${B}
  colon: "${A}: after"
  spaced: " ${A} "
  apostrophe: "it's ${A}"
  image: repo/app:${A}
  withDefault: ${UNSET:=d}
  unicode: żółw-${A}
  escaped: $${A}
  number: 42
  list:
  - ${A}
  - "${B}"
  - {name: "${B}"}
  empty: {}
---
apiVersion: example.com/v1
kind: Other
metadata:
  name: other
spec:
  replicas: ${B:=0}
`

// scalarValues are values for A and B that YAML reads in different ways, and
// ones that would change the YAML around them.
var scalarValues = []string{
	"1app", "42", "-1", "4.5", "1e3", "0x1F", "012", "1_000", ".5", "true", "yes", "on", "No", "null", "~", "",
	"2024-01-01", "a b", "a: b", "a:b", "a:", "a#b", "a #b", "#a", "[a]", "{a}", "a,b", `a"b`, "a'b", `a\b`,
	"*a", "&a", "!a", "|", ">", "%a", "@a", "`a", "-", "- a", "---", "...", "....", "... a", ".../a", "?a", ":a", "a\tb", "\x7f", "żółw", "${A}", "$$", ".inf", "x.local",
}

// TestScalarSubstitutionIsFluxsPath substitutes every pair of scalarValues
// into kustomize's text of scalarTemplates and wants substituteScalars, when
// it answers, to give what Flux's path (envsubst, YAMLToJSON, json.Unmarshal)
// gives; and it must answer for plain values, or it would be tested for nothing.
func TestScalarSubstitutionIsFluxsPath(t *testing.T) {
	texts := kustomizeTexts(t, scalarTemplates)
	answered := 0
	for _, text := range texts {
		slots := readSlots(text)
		if !slots.ok {
			t.Fatalf("readSlots declined kustomize's text:\n%s", text)
		}
		for _, a := range scalarValues {
			for _, b := range scalarValues {
				if sameAsFluxsPath(t, slots, text, map[string]string{"A": a, "B": b}, false) {
					answered++
				}
			}
		}
		for _, strict := range []bool{false, true} {
			if !sameAsFluxsPath(t, slots, text, map[string]string{"A": "1app", "B": "2"}, strict) {
				t.Errorf("substituteScalars declined plain values (strict %v) in:\n%s", strict, text)
			}
		}
		// Strict, an unset variable fails Flux's path, and so may not be answered.
		if sameAsFluxsPath(t, slots, text, map[string]string{"A": "1app"}, true) && strings.Contains(string(text), "${B}") {
			t.Errorf("substituteScalars answered a strict substitution without B in:\n%s", text)
		}
	}
	t.Logf("substituteScalars answered %d of %d substitutions", answered, len(texts)*len(scalarValues)*len(scalarValues))
}

// FuzzScalarSubstitution is TestScalarSubstitutionIsFluxsPath for any values.
func FuzzScalarSubstitution(f *testing.F) {
	for _, v := range scalarValues {
		f.Add(v, "1")
	}
	texts := kustomizeTexts(f, scalarTemplates)
	slots := make([]scalarSlots, len(texts))
	for i, text := range texts {
		slots[i] = readSlots(text)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for i, text := range texts {
			sameAsFluxsPath(t, slots[i], text, map[string]string{"A": a, "B": b}, false)
		}
	})
}

// sameAsFluxsPath fails t when substituteScalars answers otherwise than Flux's
// path, and reports whether it answered.
func sameAsFluxsPath(t *testing.T, slots scalarSlots, text []byte, vars map[string]string, strict bool) bool {
	t.Helper()
	var want map[string]any
	data, wantErr := varSubstitution(text, vars, strict)
	if wantErr == nil {
		wantErr = json.Unmarshal(data, &want)
	}
	substituted, err := substituteText(text, vars, strict, math.MaxInt64)
	if err != nil {
		if wantErr == nil {
			t.Errorf("vars %q: substituteText failed (%v), Flux's path did not", vars, err)
		}
		return false
	}
	got, ok := slots.substituteScalars(text, substituted, lookup(vars, strict))
	if !ok {
		return false
	}
	if wantErr != nil {
		t.Errorf("vars %q: substituteScalars answered %v where Flux's path fails: %v", vars, got, wantErr)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("vars %q:\n got %s\nwant %s", vars, g, w)
	}
	return true
}

// kustomizeTexts is the text of each object kustomize builds from docs, as
// finish substitutes it.
func kustomizeTexts(t testing.TB, docs string) [][]byte {
	p, _, err := prepare(bytesOf(map[string]string{"app/objects.yaml": docs}), nil, Input{Path: "app", Spec: postBuild})
	if err != nil {
		t.Fatal(err)
	}
	var texts [][]byte
	for i := range p.objects {
		texts = append(texts, p.objects[i].text)
	}
	return texts
}

func TestReadSlots(t *testing.T) {
	const head = "apiVersion: v1\nkind: T\nmetadata:\n  name: x\n"
	cases := map[string]struct {
		text  string
		slots []string // the text of each slot; nil when readSlots declines
	}{
		"plain, quoted and inner values": {
			text:  head + "a: ${A}\nb: \"${A}: b\"\nc: 'x ${A}'\nd:\n- p-${A}-q\n",
			slots: []string{"${A}", "${A}: b", "x ${A}", "p-${A}-q"},
		},
		"a value after non-ASCII text on its line": {
			text:  head + "a: {ż: b}\nc: żółw-${A}\n",
			slots: []string{"żółw-${A}"},
		},
		"no dollar at all":              {text: head + "a: b\n", slots: []string{}},
		"a dollar in a key":             {text: head + "${A}: v\n"},
		"a dollar in a block scalar":    {text: head + "a: |\n  ${A}\n"},
		"a dollar in a comment":         {text: head + "a: b # $A\n"},
		"a scalar over two lines":       {text: head + "a: x\n  ${A}\n"},
		"an escape in a quoted scalar":  {text: head + "a: \"\\t${A}\"\n"},
		"a doubled quote":               {text: head + "a: 'it''s ${A}'\n"},
		"an alias":                      {text: head + "a: &x ${A}\nb: *x\n"},
		"a tag":                         {text: head + "a: !!str ${A}\n"},
		"a flow sequence":               {text: head + "a: [${A}, b]\n"},
		"a key YAML 1.1 reads as true":  {text: head + "yes: ${A}\n"},
		"a second document with a $":    {text: head + "---\na: ${A}\n"},
		"a merge key":                   {text: head + "a:\n  <<: {b: c}\n  d: ${A}\n"},
		"not YAML":                      {text: head + "a: [${A}\n"},
		"a list at the top":             {text: "- ${A}\n"},
		"a dollar that is not a var":    {text: head + "a: x$\n", slots: []string{"x$"}},
		"a slot before unicode on line": {text: head + "a: ${A} ż\n", slots: []string{"${A} ż"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := readSlots([]byte(tc.text))
			if tc.slots == nil {
				if s.ok {
					t.Fatalf("readSlots took it, with %d slots", len(s.slots))
				}
				return
			}
			if !s.ok {
				t.Fatal("readSlots declined it")
			}
			got := []string{}
			for _, slot := range s.slots {
				got = append(got, tc.text[slot.start:slot.end])
			}
			if strings.Join(got, "|") != strings.Join(tc.slots, "|") {
				t.Errorf("slots %q, want %q", got, tc.slots)
			}
		})
	}
}
