package build

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/tugboatcd/tugboat/api/meta"
)

// Limits bound what one build may read, make and take, so that no commit
// can exhaust the controller: every input is hostile. A build past one fails
// with a *Error whose Reason is meta.LimitExceededReason and whose message
// names the limit and the file (docs/security.md lists them).
type Limits struct {
	// ManifestBytes bounds each file a build reads, and the same file with
	// its YAML aliases expanded: kustomize inflates every alias when it
	// reads a manifest, so 400 bytes of nested aliases would otherwise
	// become gigabytes.
	ManifestBytes int64
	// Objects bounds the objects one build makes.
	Objects int
	// Timeout bounds one build. kustomize cannot be interrupted, so a build
	// past it stops at its next file read, and after kustomize, before
	// postBuild.
	Timeout time.Duration
}

// DefaultLimits are the limits of a build whose Input sets none. A manifest
// of 16 MiB is five times the largest single-file installs seen (Argo CD's
// install.yaml, the Prometheus operator's CRD bundle, ~4 MiB); 10,000
// objects is twice the largest real Kustomization we know of; a build of
// the benchmark's app takes ~1 ms, so 2 minutes only stops runaways.
var DefaultLimits = Limits{
	ManifestBytes: 16 << 20,
	Objects:       10_000,
	Timeout:       2 * time.Minute,
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.ManifestBytes <= 0 {
		l.ManifestBytes = DefaultLimits.ManifestBytes
	}
	if l.Objects <= 0 {
		l.Objects = DefaultLimits.Objects
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultLimits.Timeout
	}
	return l
}

// limitError is a build stopped by one of its Limits.
func limitError(file, format string, args ...any) *Error {
	return &Error{Reason: meta.LimitExceededReason, Path: file, Message: fmt.Sprintf(format, args...)}
}

// checkManifest refuses the file r when it is larger than max bytes, or
// when its YAML, aliases expanded, would be. Files that are no YAML are
// left to kustomize, which reports them.
func checkManifest(r string, data []byte, max int64) error {
	if int64(len(data)) > max {
		return limitError(r, "%s is %d bytes, more than the limit of %d bytes per manifest (ManifestBytes)", r, len(data), max)
	}
	// An alias is written '*name' after an anchor '&name': without both
	// characters there is nothing to expand, and most files stop here.
	if bytes.IndexByte(data, '&') < 0 || bytes.IndexByte(data, '*') < 0 {
		return nil
	}
	allowed := min(max, aliasAllowance(len(data)))
	size, err := expandedSize(data, allowed)
	if err != nil {
		return nil //nolint:nilerr // kustomize reports the syntax error with its position
	}
	if size > allowed {
		return limitError(r, "%s expands its YAML aliases to more than %d bytes: aliases may make a manifest at most "+
			"%d times its size (at least %d bytes) and never more than the limit per manifest (ManifestBytes, %d bytes); "+
			"write the repeated parts out", r, allowed, aliasRatio, aliasFloor, max)
	}
	return nil
}

// Aliases may make a manifest aliasRatio times its size, and at least
// aliasFloor bytes. kustomize's cost follows the nodes it holds, not the
// bytes of the file (631 KB of expanded aliases took it 1 s and far more
// memory than the same bytes written out do), so a file's aliases are held to
// its own size rather than only to ManifestBytes; anchors in real manifests
// (a shared env block, a repeated selector) stay well within 10 times. The
// same idea as the ratio yaml.v3 allows when decoding into Go values.
const (
	aliasRatio = 10
	aliasFloor = 64 << 10
)

func aliasAllowance(size int) int64 {
	return max(aliasFloor, aliasRatio*int64(size))
}

// expandedSize estimates the bytes of data's YAML documents with every alias
// replaced by what it names: each node counts its value plus one. Each node
// is weighed once (aliases reuse the weight of their anchor), so this is
// linear in the size of data, and the sum saturates just past max.
func expandedSize(data []byte, max int64) (int64, error) {
	dec := kyaml.NewDecoder(bytes.NewReader(data))
	weights := map[*kyaml.Node]int64{}
	var weigh func(n *kyaml.Node, depth int) int64
	weigh = func(n *kyaml.Node, depth int) int64 {
		if n == nil {
			return 0
		}
		if w, ok := weights[n]; ok {
			return w
		}
		// A node reached again through its own aliases (which the parser
		// refuses, but cheaply guarded) weighs as much as the limit.
		weights[n] = max + 1
		if depth > 10_000 {
			return max + 1
		}
		w := int64(1 + len(n.Value))
		if n.Kind == kyaml.AliasNode {
			w += weigh(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			w += weigh(c, depth+1)
			if w > max {
				w = max + 1
				break
			}
		}
		weights[n] = w
		return w
	}
	var total int64
	for {
		var doc kyaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return 0, err
		}
		total += weigh(&doc, 0)
		if total > max {
			return max + 1, nil
		}
	}
}
