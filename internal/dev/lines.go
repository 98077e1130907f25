package dev

import "strings"

// stringsBuilder collects written text and splits it into lines.
type stringsBuilder struct{ strings.Builder }

func (b *stringsBuilder) lines() []string {
	s := strings.TrimRight(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
