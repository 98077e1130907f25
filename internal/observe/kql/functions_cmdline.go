package kql

import (
	"fmt"
	"strings"
)

// parse_command_line(command_line, "windows") splits a command line as
// Windows' CommandLineToArgvW does, the only parser type Kusto documents.
// The rules (Microsoft's CommandLineToArgvW and "Parsing C command-line
// arguments" pages): arguments are separated by spaces and tabs; the first
// one, the program name, ends at the next space unless it starts with a
// double quote, then at the next double quote, and backslashes are literal
// in it. In the others, 2n backslashes before a double quote give n
// backslashes and the quote opens or closes a quoted part, 2n+1 give n
// backslashes and a literal quote, backslashes before anything else are
// literal, and inside a quoted part "" is a literal quote that ends the
// quoted part (CommandLineToArgvW keeps the rule C run-times had before
// 2008). Written here
// rather than taken from a library: Go's own copy of these rules is in
// os/exec and only built for Windows.
var cmdlineFunctions = map[string]funcDef{
	"parse_command_line": sig(2, 2, TypeDynamic, argString, argConstString).with(checkParseCommandLine),
}

func checkParseCommandLine(ck *checker, c *Call, a []texpr) texpr {
	if s, _ := constString(a[1]); !strings.EqualFold(s, "windows") {
		ck.fail(c.Args[1].Position(), "the parser type of parse_command_line must be \"windows\", the only one Kusto supports")
	}
	return mkCall("_tb_parse_command_line", TypeDynamic, a[0])
}

// maxCommandLine bounds the text parse_command_line reads; Windows' own
// limit is 32,767 characters.
const maxCommandLine = 1 << 20

func splitWindowsCommandLine(s string) []string {
	args := []string{}
	i := 0
	skipBlanks := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	skipBlanks()
	if i >= len(s) {
		return args
	}
	// The program name.
	if s[i] == '"' {
		end := strings.IndexByte(s[i+1:], '"')
		if end < 0 {
			return append(args, s[i+1:])
		}
		args = append(args, s[i+1:i+1+end])
		i += end + 2
	} else {
		start := i
		for i < len(s) && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		args = append(args, s[start:i])
	}
	for {
		skipBlanks()
		if i >= len(s) {
			return args
		}
		var b strings.Builder
		quoted := false
		for i < len(s) {
			c := s[i]
			if (c == ' ' || c == '\t') && !quoted {
				break
			}
			if c == '\\' {
				n := 0
				for i < len(s) && s[i] == '\\' {
					n++
					i++
				}
				if i < len(s) && s[i] == '"' {
					b.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						b.WriteByte('"')
						i++
					}
					continue
				}
				b.WriteString(strings.Repeat(`\`, n))
				continue
			}
			if c == '"' {
				if quoted && i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					quoted = false
					i += 2
					continue
				}
				quoted = !quoted
				i++
				continue
			}
			b.WriteByte(c)
			i++
		}
		args = append(args, b.String())
	}
}

var _ = registerGo(GoFunc{Name: "_tb_parse_command_line", Args: []Type{TypeString}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	s, _ := a[0].(string)
	if len(s) > maxCommandLine {
		return nil, fmt.Errorf("parse_command_line reads at most %d bytes of command line, but it got %d", maxCommandLine, len(s))
	}
	return dynamicResult(splitWindowsCommandLine(s))
}})
