package cli

import "strings"

// ANSI colours of the diff on a terminal; three escape codes are not worth a library.
const (
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
	ansiReset = "\x1b[0m"
)

// colorize colours a unified diff as git does: removals red, additions green, hunk
// headers cyan. Without color it returns the text unchanged.
func colorize(text string, color bool) string {
	if !color {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		nl := l[len(body):]
		switch {
		case strings.HasPrefix(body, "+++"), strings.HasPrefix(body, "---"):
			b.WriteString(l)
		case strings.HasPrefix(body, "+"):
			b.WriteString(ansiGreen + body + ansiReset + nl)
		case strings.HasPrefix(body, "-"):
			b.WriteString(ansiRed + body + ansiReset + nl)
		case strings.HasPrefix(body, "@@"):
			b.WriteString(ansiCyan + body + ansiReset + nl)
		default:
			b.WriteString(l)
		}
	}
	return b.String()
}
