package kql

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// canonicalDynamic turns the text inside dynamic(...) into compact JSON. KQL
// accepts single-quoted strings and unquoted-key-free JSON; the canonical form
// lets the printer and the planner treat the value as plain JSON text.
func canonicalDynamic(src string) (string, error) {
	d := &dynParser{src: src}
	var b strings.Builder
	if err := d.value(&b, 0); err != nil {
		return "", err
	}
	d.skipSpace()
	if d.off != len(d.src) {
		return "", fmt.Errorf("unexpected %q after the value", d.src[d.off:])
	}
	return b.String(), nil
}

type dynParser struct {
	src string
	off int
}

const maxDynamicDepth = 64

func (d *dynParser) skipSpace() {
	for d.off < len(d.src) && strings.IndexByte(" \t\r\n", d.src[d.off]) >= 0 {
		d.off++
	}
}

func (d *dynParser) value(b *strings.Builder, depth int) error {
	if depth > maxDynamicDepth {
		return fmt.Errorf("nested too deeply")
	}
	d.skipSpace()
	if d.off >= len(d.src) {
		return fmt.Errorf("missing value")
	}
	switch c := d.src[d.off]; {
	case c == '[':
		d.off++
		b.WriteByte('[')
		d.skipSpace()
		if d.off < len(d.src) && d.src[d.off] == ']' {
			d.off++
			b.WriteByte(']')
			return nil
		}
		for {
			if err := d.value(b, depth+1); err != nil {
				return err
			}
			d.skipSpace()
			if d.off < len(d.src) && d.src[d.off] == ',' {
				d.off++
				b.WriteByte(',')
				continue
			}
			if d.off < len(d.src) && d.src[d.off] == ']' {
				d.off++
				b.WriteByte(']')
				return nil
			}
			return fmt.Errorf("expected , or ] in array")
		}
	case c == '{':
		d.off++
		b.WriteByte('{')
		d.skipSpace()
		if d.off < len(d.src) && d.src[d.off] == '}' {
			d.off++
			b.WriteByte('}')
			return nil
		}
		for {
			d.skipSpace()
			if d.off >= len(d.src) || (d.src[d.off] != '"' && d.src[d.off] != '\'') {
				return fmt.Errorf("expected a quoted property name in object")
			}
			if err := d.str(b); err != nil {
				return err
			}
			d.skipSpace()
			if d.off >= len(d.src) || d.src[d.off] != ':' {
				return fmt.Errorf("expected : after property name")
			}
			d.off++
			b.WriteByte(':')
			if err := d.value(b, depth+1); err != nil {
				return err
			}
			d.skipSpace()
			if d.off < len(d.src) && d.src[d.off] == ',' {
				d.off++
				b.WriteByte(',')
				continue
			}
			if d.off < len(d.src) && d.src[d.off] == '}' {
				d.off++
				b.WriteByte('}')
				return nil
			}
			return fmt.Errorf("expected , or } in object")
		}
	case c == '"' || c == '\'':
		return d.str(b)
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.off
		d.off++
		for d.off < len(d.src) && strings.IndexByte("0123456789.eE+-", d.src[d.off]) >= 0 {
			d.off++
		}
		num := d.src[start:d.off]
		if i, err := strconv.ParseInt(num, 10, 64); err == nil {
			b.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", num)
		}
		b.WriteString(formatReal(f))
		return nil
	default:
		for _, word := range []string{"true", "false", "null"} {
			if strings.HasPrefix(d.src[d.off:], word) {
				d.off += len(word)
				b.WriteString(word)
				return nil
			}
		}
		r, _ := utf8.DecodeRuneInString(d.src[d.off:])
		return fmt.Errorf("unexpected %q", r)
	}
}

// str reads a single- or double-quoted KQL string and writes it as JSON.
func (d *dynParser) str(b *strings.Builder) error {
	lx := &lexer{src: d.src, off: d.off, line: 1, col: 1}
	tok, err := lx.lexString(lx.pos(), false)
	if err != nil {
		return fmt.Errorf("unterminated or invalid string")
	}
	d.off = lx.off
	js, err := json.Marshal(tok.Value.(string))
	if err != nil {
		return fmt.Errorf("failed to encode string: %w", err)
	}
	b.Write(js)
	return nil
}
