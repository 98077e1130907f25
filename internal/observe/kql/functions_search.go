package kql

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// searchFunctions look for text: indexof_regex (Go's RE2, the syntax
// Kusto's regular expressions have), has_any_index (has's whole-term
// match of each lookup), and new_guid. DuckDB runs the first two in Go;
// ClickHouse 18.16 refuses all three.
var searchFunctions = map[string]funcDef{
	"indexof_regex": sig(2, 5, TypeLong, argString, argConstString, argWhole, argWhole, argWhole).with(checkIndexofRegex),
	"has_any_index": sig(2, 2, TypeLong, argString, argDynamic).with(goCall("_tb_has_any_index", TypeLong)),
	"new_guid":      sig(0, 0, TypeGUID),
}

func checkIndexofRegex(ck *checker, c *Call, a []texpr) texpr {
	ck.checkRegex(c, 1, a)
	defaults := []int64{0, -1, 1}
	for i := len(a); i < 5; i++ {
		a = append(a, &tLiteral{value: defaults[i-2], t: TypeLong})
	}
	return mkCall("_tb_indexof_regex", TypeLong, a...)
}

// regexCache holds the compiled expressions of indexof_regex, which are
// constants of the query: one compile per expression, not per row.
var regexCache sync.Map

const maxCachedRegexes = 256

func cachedRegex(s string) (*regexp.Regexp, bool) {
	if re, ok := regexCache.Load(s); ok {
		return re.(*regexp.Regexp), true
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, false
	}
	n := 0
	regexCache.Range(func(any, any) bool { n++; return n < maxCachedRegexes })
	if n < maxCachedRegexes {
		regexCache.Store(s, re)
	}
	return re, true
}

// indexofRegex is the character index of the occurrence-th match (not
// overlapping) in source[start:start+length]; -1 when there is none, null
// for a negative start or occurrence below 1.
func indexofRegex(source, pattern string, start, length, occurrence int64) any {
	re, ok := cachedRegex(pattern)
	if !ok || start < 0 || occurrence < 1 || length < -1 {
		return nil
	}
	runes := []rune(source)
	if start > int64(len(runes)) {
		return int64(-1)
	}
	end := int64(len(runes))
	if length >= 0 {
		end = min(end, start+length)
	}
	text := string(runes[start:end])
	matches := re.FindAllStringIndex(text, int(min(occurrence, 1<<20)))
	if int64(len(matches)) < occurrence {
		return int64(-1)
	}
	return start + int64(utf8.RuneCountInString(text[:matches[occurrence-1][0]]))
}

// hasAnyIndex is the index of the first lookup that source has as whole
// terms (case-insensitive), or -1.
func hasAnyIndex(source, lookups string) any {
	var l []any
	if json.Unmarshal([]byte(lookups), &l) != nil {
		return int64(-1)
	}
	src := strings.ToLower(source)
	for i, x := range l {
		if i >= maxNetList {
			break
		}
		s, ok := x.(string)
		if ok && s != "" && hasTerm(src, strings.ToLower(s)) {
			return int64(i)
		}
	}
	return int64(-1)
}

func hasTerm(src, term string) bool {
	for start := 0; start < len(src); {
		i := strings.Index(src[start:], term)
		if i < 0 {
			return false
		}
		i += start
		end := i + len(term)
		if (i == 0 || !isAlnum(src[i-1])) && (end == len(src) || !isAlnum(src[end])) {
			return true
		}
		start = i + 1
	}
	return false
}

var _ = registerGo(
	GoFunc{Name: "_tb_indexof_regex", Args: []Type{TypeString, TypeString, TypeLong, TypeLong, TypeLong}, Result: TypeLong, Fn: func(a []any) (any, error) {
		return indexofRegex(a[0].(string), a[1].(string), a[2].(int64), a[3].(int64), a[4].(int64)), nil
	}},
	GoFunc{Name: "_tb_has_any_index", Args: []Type{TypeString, TypeDynamic}, Result: TypeLong, Fn: func(a []any) (any, error) {
		return hasAnyIndex(a[0].(string), a[1].(string)), nil
	}},
)

var duckdbSearch = map[string]sqlFunc{
	"new_guid": tmpl("CAST(gen_random_uuid() AS VARCHAR)"),
}
