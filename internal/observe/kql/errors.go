package kql

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Pos is a position in the query text.
type Pos struct {
	Offset int // byte offset, 0-based
	Line   int // 1-based
	Col    int // 1-based, counted in runes
}

// String renders the position as line:col.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a problem with the user's query: a syntax error, an unknown name, a
// type mismatch or a construct the target engine cannot run. It always points
// at the place in the query that is at fault.
type Error struct {
	Pos Pos
	Msg string
}

// Error returns "line:col: message".
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// Format renders the error together with the offending source line and a
// caret under the column, the way compilers do, so that a user can see the
// spot without counting characters.
func (e *Error) Format(query string) string {
	var b strings.Builder
	b.WriteString(e.Error())
	line := sourceLine(query, e.Pos.Line)
	b.WriteString("\n")
	b.WriteString(line)
	b.WriteString("\n")
	// Tabs are copied so the caret lines up whatever the tab width.
	col := 1
	for _, r := range line {
		if col >= e.Pos.Col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		col++
	}
	for ; col < e.Pos.Col; col++ {
		b.WriteByte(' ')
	}
	b.WriteString("^")
	return b.String()
}

func sourceLine(query string, line int) string {
	for i := 1; i < line; i++ {
		nl := strings.IndexByte(query, '\n')
		if nl < 0 {
			return ""
		}
		query = query[nl+1:]
	}
	if nl := strings.IndexByte(query, '\n'); nl >= 0 {
		query = query[:nl]
	}
	return strings.TrimSuffix(query, "\r")
}

func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrInternal marks a failure that is a bug in this package rather than a
// problem with the query (a recovered panic). The fuzz target treats it as a
// test failure.
var ErrInternal = errors.New("internal error")

// posAt computes the position of byte offset off in src.
func posAt(src string, off int) Pos {
	p := Pos{Line: 1, Col: 1}
	for i := 0; i < off && i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == '\n' {
			p.Line++
			p.Col = 1
		} else {
			p.Col++
		}
		i += n
	}
	p.Offset = off
	return p
}
