package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"
)

// Output formats of the verbs that print objects.
const (
	outputTable = "table"
	outputYAML  = "yaml"
	outputJSON  = "json"
)

// checkOutput validates -o against the formats a verb supports.
func checkOutput(value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return &exitError{code: ExitUsage, err: fmt.Errorf("--output must be %s, not %q", strings.Join(allowed, ", "), value)}
}

// usageErrorf is a bad argument or flag value: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// newTable returns kubectl's tab writer: columns padded by three spaces.
func newTable(w io.Writer) *tabwriterFlusher {
	return &tabwriterFlusher{w: printers.GetNewTabWriter(w)}
}

type tabwriterFlusher struct {
	w interface {
		io.Writer
		Flush() error
	}
}

// row writes one tab-separated line.
func (t *tabwriterFlusher) row(cells ...string) {
	fmt.Fprintln(t.w, strings.Join(cells, "\t"))
}

func (t *tabwriterFlusher) flush() error { return t.w.Flush() }

// age prints a timestamp the way kubectl's AGE column does.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// printObjects writes objects as YAML or JSON the way `kubectl get -o` does: one object
// alone, several as a v1 List. managedFields are dropped, as kubectl does by default.
func printObjects(w io.Writer, format string, scheme *runtime.Scheme, objs []runtime.Object) error {
	items := make([]any, 0, len(objs))
	for _, o := range objs {
		m, err := toMap(scheme, o)
		if err != nil {
			return err
		}
		items = append(items, m)
	}
	var doc any
	if len(items) == 1 {
		doc = items[0]
	} else {
		doc = map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{"resourceVersion": ""}}
	}
	return writeDoc(w, format, doc)
}

// toMap turns a typed object into a map with its apiVersion and kind set and no
// managedFields.
func toMap(scheme *runtime.Scheme, o runtime.Object) (map[string]any, error) {
	gvk, err := apiutil.GVKForObject(o, scheme)
	if err != nil {
		return nil, fmt.Errorf("failed to find the kind of %T: %w", o, err)
	}
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("failed to encode %s: %w", gvk.Kind, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("failed to decode %s: %w", gvk.Kind, err)
	}
	m["apiVersion"], m["kind"] = gvk.GroupVersion().String(), gvk.Kind
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
	return m, nil
}

// writeDoc writes one document as indented JSON or YAML.
func writeDoc(w io.Writer, format string, doc any) error {
	if format == outputJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "    ")
		return enc.Encode(doc)
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("failed to encode YAML: %w", err)
	}
	_, err = w.Write(data)
	return err
}

// progress prints what a waiting verb is doing, Flux's way: on a terminal every step
// with its symbol (✚ generating, ► applying, ◎ waiting, ✔ done, ✗ failed) on stderr;
// otherwise only the outcome lines (done, failed), plain, on stdout, so that scripts and
// CI logs get the result without the chatter.
type progress struct {
	tty         bool
	out, errOut io.Writer
}

func newProgress(s streams, quiet bool) *progress {
	return &progress{tty: interactive(s.out) && !quiet, out: s.out, errOut: s.errOut}
}

func (p *progress) step(symbol, format string, args ...any) {
	if p.tty {
		fmt.Fprintf(p.errOut, symbol+" "+format+"\n", args...)
	}
}

// generating, applying and waiting are progress: shown on a terminal only.
func (p *progress) generating(format string, args ...any) { p.step("✚", format, args...) }
func (p *progress) applying(format string, args ...any)   { p.step("►", format, args...) }
func (p *progress) waiting(format string, args ...any)    { p.step("◎", format, args...) }

// success is an outcome: always printed.
func (p *progress) success(format string, args ...any) {
	if p.tty {
		fmt.Fprintf(p.errOut, "✔ "+format+"\n", args...)
		return
	}
	fmt.Fprintf(p.out, format+"\n", args...)
}

// confirm asks a yes/no question on stderr and reads the answer from in; anything but
// y or yes is no.
func confirm(in io.Reader, errOut io.Writer, question string) bool {
	fmt.Fprintf(errOut, "%s [y/N]: ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
