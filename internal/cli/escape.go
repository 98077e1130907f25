package cli

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeCell makes a stored value safe to print on a terminal, on one line.
// Log lines are written by whatever runs in the cluster, so a cell may carry
// escape sequences that recolour the terminal, move the cursor, rewrite the
// window title or hide text (\r, backspace, bidi overrides). Every control
// character (C0, DEL, C1), every bidi control and every byte that is not
// UTF-8 is printed as a Go-style escape, visibly. kubectl's
// printers.EscapeTerminal is not used: it replaces only ESC and \r, which
// leaves the one-byte CSI (0x9b), backspace and bidi overrides through.
func escapeCell(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == 0x1b:
			b.WriteString(`\e`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return true
		}
		i += size
	}
	return false
}
