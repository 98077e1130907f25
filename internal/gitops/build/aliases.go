package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// maxAliasNodes bounds the YAML nodes one document may grow to once its aliases are
// expanded. kustomize's reader expands every alias (kyaml's DeAnchor) with no limit
// and no cycle check: a document whose anchor contains an alias to itself
// (`a: &a [*a]`) overflows the goroutine stack, which no recover catches and which
// takes the controller down, and a "billion laughs" document grows exponentially.
// Kubernetes' own YAML decoder (yaml.v2/v3 into values) refuses both; a million
// nodes is far above any manifest's aliasing and far below the memory it would cost.
const maxAliasNodes = 1 << 20

// checkAliases refuses a YAML file whose aliases refer to their own anchor or expand
// beyond maxAliasNodes, before kustomize's reader sees it. Files without both an
// anchor and an alias marker are not parsed. A file that does not parse is left for
// kustomize to report, with its usual message.
func checkAliases(name string, data []byte) error {
	if !bytes.Contains(data, []byte{'&'}) || !bytes.Contains(data, []byte{'*'}) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return nil //nolint:nilerr // kustomize reports the syntax error, naming the file.
		}
		w := aliasWalk{sizes: map[*yaml.Node]int{}, onPath: map[*yaml.Node]bool{}}
		if _, err := w.expanded(&doc); err != nil {
			return fmt.Errorf("failed to read YAML file '%s': %w", name, err)
		}
	}
}

type aliasWalk struct {
	sizes  map[*yaml.Node]int  // expanded size of the nodes done
	onPath map[*yaml.Node]bool // the nodes being expanded
}

// expanded returns how many nodes n is once its aliases are expanded. Sizes are
// memoised, so the walk is linear in the document however much it aliases.
func (w *aliasWalk) expanded(n *yaml.Node) (int, error) {
	if s, ok := w.sizes[n]; ok {
		return s, nil
	}
	if w.onPath[n] {
		return 0, fmt.Errorf("the YAML alias at line %d refers to an anchor that contains it", n.Line)
	}
	w.onPath[n] = true
	defer delete(w.onPath, n)
	total := 1
	children := n.Content
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		children = []*yaml.Node{n.Alias}
	}
	for _, c := range children {
		s, err := w.expanded(c)
		if err != nil {
			return 0, err
		}
		total += s
		if total > maxAliasNodes {
			return 0, fmt.Errorf("YAML aliases expand to more than %d nodes (at line %d)", maxAliasNodes, n.Line)
		}
	}
	w.sizes[n] = total
	return total, nil
}
