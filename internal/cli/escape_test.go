package cli

import "testing"

func TestEscapeCell(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain text and non-ASCII letters stay as they are": {in: "größe ✓ 日本", want: "größe ✓ 日本"},
		"newlines, tabs and carriage returns are shown":     {in: "a\nb\tc\rd", want: `a\nb\tc\rd`},
		"an ANSI colour sequence is shown, not run":         {in: "\x1b[31mred\x1b[0m", want: `\e[31mred\e[0m`},
		"a window-title sequence ending in BEL is shown":    {in: "\x1b]0;pwned\x07", want: `\e]0;pwned\x07`},
		"the one-character CSI of C1 is shown":              {in: "\u009b2J", want: `\x9b2J`},
		"backspace and NUL are shown":                       {in: "a\bb\x00", want: `a\x08b\x00`},
		"a bidi override is shown":                          {in: "\u202eevil\u202c", want: `\u202eevil\u202c`},
		"bytes that are not UTF-8 are shown":                {in: "a\xffb\x9b", want: `a\xffb\x9b`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := escapeCell(tc.in); got != tc.want {
				t.Errorf("escapeCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
