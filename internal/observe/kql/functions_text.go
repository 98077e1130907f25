package kql

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// textFunctions are Kusto's string functions that DuckDB runs in Go
// (gofuncs.go): the ones whose rules (punycode, URLs, paths, several
// replacements at once) would be long and fragile as SQL. ClickHouse 18.16
// refuses them.
var textFunctions = map[string]funcDef{
	"replace_strings":             sig(3, 3, TypeString, argString, argDynamic, argDynamic).with(goCall("_tb_replace_strings", TypeString)),
	"punycode_from_string":        sig(1, 1, TypeString, argString).with(goCall("_tb_punycode_from_string", TypeString)),
	"punycode_to_string":          sig(1, 1, TypeString, argString).with(goCall("_tb_punycode_to_string", TypeString)),
	"punycode_domain_from_string": sig(1, 1, TypeString, argString).with(goCall("_tb_punycode_domain_from_string", TypeString)),
	"punycode_domain_to_string":   sig(1, 1, TypeString, argString).with(goCall("_tb_punycode_domain_to_string", TypeString)),
	"parse_path":                  sig(1, 1, TypeDynamic, argString).with(goCall("_tb_parse_path", TypeDynamic)),
	"parse_url":                   sig(1, 1, TypeDynamic, argString).with(goCall("_tb_parse_url", TypeDynamic)),
	"parse_urlquery":              sig(1, 1, TypeDynamic, argString).with(goCall("_tb_parse_urlquery", TypeDynamic)),
	"base64_decode_toarray":       sig(1, 1, TypeDynamic, argString).with(goCall("_tb_base64_decode_toarray", TypeDynamic)),
	"base64_encode_fromguid":      sig(1, 1, TypeString, argAny).with(checkBase64FromGUID),
	"base64_decode_toguid":        sig(1, 1, TypeGUID, argString).with(goCall("_tb_base64_decode_toguid", TypeGUID)),
	"url_encode":                  sig(1, 1, TypeString, argString).with(netCall("_tb_url_encode", TypeString, 0)),
	"url_encode_component":        sig(1, 1, TypeString, argString).with(netCall("_tb_url_encode", TypeString, 1)),
	"tohex":                       sig(1, 2, TypeString, argWhole, argWhole).with(netCall("_tb_tohex", TypeString, 0)),
}

// goCall calls the Go function name with the checked arguments.
func goCall(name string, t Type) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr { return mkCall(name, t, a...) }
}

func checkBase64FromGUID(ck *checker, c *Call, a []texpr) texpr {
	switch a[0].typ() {
	case TypeGUID, TypeString, TypeDynamic:
	default:
		ck.need(c, a, 0, false, "a guid")
	}
	return mkCall("_tb_base64_encode_fromguid", TypeString, mkCall("tostring", TypeString, a[0]))
}

// maxReplacements bounds the lookups of one replace_strings call.
const maxReplacements = 1024

func replaceStrings(text, lookups, rewrites string) (any, error) {
	var l, r []any
	if json.Unmarshal([]byte(lookups), &l) != nil || json.Unmarshal([]byte(rewrites), &r) != nil {
		return text, nil
	}
	var pairs []string
	for i, x := range l {
		if i >= maxReplacements {
			break
		}
		from, ok1 := x.(string)
		if !ok1 || from == "" || i >= len(r) {
			continue
		}
		// A rewrite that is not a string makes no replacement.
		to, ok2 := r[i].(string)
		if !ok2 {
			to = from
		}
		pairs = append(pairs, from, to)
	}
	if len(pairs) == 0 {
		return text, nil
	}
	// strings.Replacer matches left to right, without overlaps, the earlier
	// lookup first at one position: Kusto's documented order.
	return strings.NewReplacer(pairs...).Replace(text), nil
}

// punycodeFromString is RFC 3492's encoding of s, without the xn-- of a
// domain label. idna encodes labels, so a string with a dot is not one.
func punycodeFromString(s string) (any, error) {
	if strings.ContainsRune(s, '.') || !utf8.ValidString(s) {
		return "", nil
	}
	enc, err := idna.Punycode.ToASCII(s)
	if err != nil {
		return "", nil
	}
	if e, ok := strings.CutPrefix(enc, "xn--"); ok {
		return e, nil
	}
	// All basic code points: RFC 3492 ends them with the delimiter.
	return s + "-", nil
}

func punycodeToString(s string) (any, error) {
	if strings.ContainsRune(s, '.') {
		return "", nil
	}
	if strings.HasSuffix(s, "-") && !strings.ContainsFunc(s[:len(s)-1], func(r rune) bool { return r == '-' || r >= utf8.RuneSelf }) {
		return s[:len(s)-1], nil
	}
	dec, err := idna.Punycode.ToUnicode("xn--" + s)
	if err != nil || dec == "xn--"+s {
		return "", nil
	}
	return dec, nil
}

var schemeRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+)://`)

// parsePath splits a Windows or POSIX path as Kusto's parse_path does:
// scheme://, a drive root, directories, the file name, its extension and
// an alternate data stream (file:stream).
func parsePath(p string) (any, error) {
	out := map[string]string{"Scheme": "", "RootPath": "", "DirectoryPath": "", "DirectoryName": "", "Filename": "", "Extension": "", "AlternateDataStreamName": ""}
	rest := p
	if m := schemeRe.FindStringSubmatch(rest); m != nil {
		out["Scheme"] = m[1]
		rest = rest[len(m[0]):]
	}
	if len(rest) >= 2 && rest[1] == ':' && isLetter(rest[0]) {
		out["RootPath"] = rest[:2]
	}
	sep := strings.LastIndexAny(rest, `/\`)
	dir, file := "", rest
	if sep >= 0 {
		dir, file = rest[:sep], rest[sep+1:]
	}
	if i := strings.IndexByte(file, ':'); i >= 0 && (sep >= 0 || i != 1) {
		file, out["AlternateDataStreamName"] = file[:i], file[i+1:]
	}
	out["DirectoryPath"] = dir
	if i := strings.LastIndexAny(dir, `/\`); i >= 0 {
		out["DirectoryName"] = dir[i+1:]
	} else if dir != out["RootPath"] {
		out["DirectoryName"] = dir
	}
	out["Filename"] = file
	if i := strings.LastIndexByte(file, '.'); i >= 0 {
		out["Extension"] = file[i+1:]
	}
	return orderedJSON(out, "Scheme", "RootPath", "DirectoryPath", "DirectoryName", "Filename", "Extension", "AlternateDataStreamName"), nil
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// orderedJSON writes the keys in Kusto's order.
func orderedJSON(m map[string]string, keys ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(m[k])
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.String()
}

// queryParams is a query string's parameters, decoded, the last of a
// repeated name winning, in a JSON object in their order.
func queryParams(q string) string {
	vals := map[string]string{}
	var keys []string
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	return orderedJSON(vals, keys...)
}

// parseURL splits an absolute URL into Kusto's parts; text that is not one
// gives an empty bag.
func parseURL(s string) (any, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "{}", nil
	}
	pass, _ := u.User.Password()
	m := map[string]string{"Scheme": u.Scheme, "Host": u.Hostname(), "Port": u.Port(), "Path": u.EscapedPath(), "Username": u.User.Username(), "Password": pass, "Fragment": u.Fragment}
	head := orderedJSON(m, "Scheme", "Host", "Port", "Path", "Username", "Password")
	frag, _ := json.Marshal(u.Fragment)
	return head[:len(head)-1] + `,"Query Parameters":` + queryParams(u.RawQuery) + `,"Fragment":` + string(frag) + "}", nil
}

func toHex(v int64, minLen int64) string {
	s := strconv.FormatUint(uint64(v), 16)
	if minLen > int64(len(s)) && minLen <= 1<<10 {
		s = strings.Repeat("0", int(minLen)-len(s)) + s
	}
	return s
}

// urlEncode is .NET's HttpUtility.UrlEncode, which Kusto's url_encode
// follows: letters, digits and -_.!*() stay, a space is + (%20 for
// url_encode_component), the other bytes of the UTF-8 text are %xx in
// lower case.
func urlEncode(s string, component bool) string {
	const hexd = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c), strings.IndexByte("-_.!*()", c) >= 0:
			b.WriteByte(c)
		case c == ' ' && !component:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		}
	}
	return b.String()
}

var _ = registerGo(
	GoFunc{Name: "_tb_url_encode", Args: []Type{TypeString, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		return urlEncode(a[0].(string), a[1].(int64) == 1), nil
	}},
	GoFunc{Name: "_tb_replace_strings", Args: []Type{TypeString, TypeDynamic, TypeDynamic}, Result: TypeString, Fn: func(a []any) (any, error) {
		return replaceStrings(a[0].(string), a[1].(string), a[2].(string))
	}},
	GoFunc{Name: "_tb_punycode_from_string", Args: []Type{TypeString}, Result: TypeString, Fn: func(a []any) (any, error) {
		return punycodeFromString(a[0].(string))
	}},
	GoFunc{Name: "_tb_punycode_to_string", Args: []Type{TypeString}, Result: TypeString, Fn: func(a []any) (any, error) {
		return punycodeToString(a[0].(string))
	}},
	GoFunc{Name: "_tb_punycode_domain_from_string", Args: []Type{TypeString}, Result: TypeString, Fn: func(a []any) (any, error) {
		s, err := idna.Punycode.ToUnicode(a[0].(string))
		if err != nil {
			return "", nil
		}
		return s, nil
	}},
	GoFunc{Name: "_tb_punycode_domain_to_string", Args: []Type{TypeString}, Result: TypeString, Fn: func(a []any) (any, error) {
		s, err := idna.Punycode.ToASCII(a[0].(string))
		if err != nil {
			return "", nil
		}
		return s, nil
	}},
	GoFunc{Name: "_tb_parse_path", Args: []Type{TypeString}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
		return parsePath(a[0].(string))
	}},
	GoFunc{Name: "_tb_parse_url", Args: []Type{TypeString}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
		return parseURL(a[0].(string))
	}},
	GoFunc{Name: "_tb_parse_urlquery", Args: []Type{TypeString}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
		return `{"Query Parameters":` + queryParams(strings.TrimPrefix(a[0].(string), "?")) + "}", nil
	}},
	GoFunc{Name: "_tb_base64_decode_toarray", Args: []Type{TypeString}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
		b, err := base64.StdEncoding.DecodeString(a[0].(string))
		if err != nil {
			return nil, nil
		}
		n := make([]int, len(b))
		for i, x := range b {
			n[i] = int(x)
		}
		j, _ := json.Marshal(n)
		return string(j), nil
	}},
	GoFunc{Name: "_tb_base64_encode_fromguid", Args: []Type{TypeString}, Result: TypeString, Fn: func(a []any) (any, error) {
		b, ok := guidBytes(a[0].(string))
		if !ok {
			return nil, nil
		}
		return base64.StdEncoding.EncodeToString(b[:]), nil
	}},
	GoFunc{Name: "_tb_base64_decode_toguid", Args: []Type{TypeString}, Result: TypeGUID, Fn: func(a []any) (any, error) {
		b, err := base64.StdEncoding.DecodeString(a[0].(string))
		if err != nil || len(b) != 16 {
			return nil, nil
		}
		return guidText(b), nil
	}},
	GoFunc{Name: "_tb_tohex", Args: []Type{TypeLong, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		return toHex(a[0].(int64), a[1].(int64)), nil
	}},
)

// guidBytes is a GUID in .NET's byte order (the first three groups little
// endian), as Kusto's base64_encode_fromguid encodes it.
func guidBytes(s string) ([16]byte, bool) {
	var b [16]byte
	h := strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	if len(h) != 32 || len(s) > 38 {
		return b, false
	}
	for i := range 16 {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return b, false
		}
		b[i] = byte(v)
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b, true
}

func guidText(b []byte) string {
	x := make([]byte, 16)
	copy(x, b)
	x[0], x[1], x[2], x[3] = x[3], x[2], x[1], x[0]
	x[4], x[5] = x[5], x[4]
	x[6], x[7] = x[7], x[6]
	const hexd = "0123456789abcdef"
	var s strings.Builder
	for i, v := range x {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s.WriteByte('-')
		}
		s.WriteByte(hexd[v>>4])
		s.WriteByte(hexd[v&15])
	}
	return s.String()
}
