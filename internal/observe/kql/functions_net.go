package kql

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
)

// netFunctions are Kusto's IPv4 and IPv6 functions. An address is text,
// with an optional /prefix; an IPv4 address is an IPv6 one mapped into
// ::ffff:0:0/96 (its prefix counts 96 more bits), also when written as
// ::a.b.c.d, as Kusto's examples show. Comparisons use the shortest of the
// prefixes given. They run in Go inside DuckDB (gofuncs.go): the parsing is
// netip's, not a regular expression. ClickHouse 18.16 refuses them.
var netFunctions = map[string]funcDef{
	"parse_ipv4":           sig(1, 1, TypeLong, argString).with(netCall("_tb_parse_ipv4", TypeLong, 32)),
	"parse_ipv4_mask":      sig(2, 2, TypeLong, argString, argWhole).with(netCall("_tb_parse_ipv4", TypeLong)),
	"ipv4_compare":         sig(2, 3, TypeLong, argString, argString, argWhole).with(netCall("_tb_ipv4_compare", TypeLong, 32)),
	"ipv4_is_match":        sig(2, 3, TypeBool, argString, argString, argWhole).with(netCall("_tb_ipv4_is_match", TypeBool, 32)),
	"ipv4_is_in_range":     sig(2, 2, TypeBool, argString, argString).with(netCall("_tb_ipv4_is_in_range", TypeBool)),
	"ipv4_is_in_any_range": sig(2, variadic, TypeBool, argString, argAny).with(netAny("_tb_ipv4_is_in_any_range")),
	"ipv4_is_private":      sig(1, 1, TypeBool, argString).with(netCall("_tb_ipv4_is_private", TypeBool)),
	"ipv4_netmask_suffix":  sig(1, 1, TypeInt, argString).with(netCall("_tb_ipv4_netmask_suffix", TypeInt)),
	"format_ipv4":          sig(1, 2, TypeString, argAny, argNumber).with(checkFormatIPv4("_tb_format_ipv4")),
	"format_ipv4_mask":     sig(1, 2, TypeString, argAny, argNumber).with(checkFormatIPv4("_tb_format_ipv4_mask")),
	"has_ipv4":             sig(2, 2, TypeBool, argString, argString).with(netCall("_tb_has_ipv4", TypeBool)),
	"has_ipv4_prefix":      sig(2, 2, TypeBool, argString, argString).with(netCall("_tb_has_ipv4_prefix", TypeBool)),
	"has_any_ipv4":         sig(2, variadic, TypeBool, argString, argAny).with(netAny("_tb_has_any_ipv4")),
	"has_any_ipv4_prefix":  sig(2, variadic, TypeBool, argString, argAny).with(netAny("_tb_has_any_ipv4_prefix")),
	"parse_ipv6":           sig(1, 1, TypeString, argString).with(netCall("_tb_parse_ipv6", TypeString, 128)),
	"parse_ipv6_mask":      sig(2, 2, TypeString, argString, argWhole).with(netCall("_tb_parse_ipv6", TypeString)),
	"ipv6_compare":         sig(2, 3, TypeLong, argString, argString, argWhole).with(netCall("_tb_ipv6_compare", TypeLong, 128)),
	"ipv6_is_match":        sig(2, 3, TypeBool, argString, argString, argWhole).with(netCall("_tb_ipv6_is_match", TypeBool, 128)),
	"ipv6_is_in_range":     sig(2, 2, TypeBool, argString, argString).with(netCall("_tb_ipv6_is_in_range", TypeBool)),
	"ipv6_is_in_any_range": sig(2, variadic, TypeBool, argString, argAny).with(netAny("_tb_ipv6_is_in_any_range")),
}

// netCall calls Go function name with the arguments; the optional last
// argument, when missing, is the default (a whole-number literal).
func netCall(name string, t Type, def ...int64) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		if len(def) == 1 && len(c.Args) == len(a) && !hasFullArity(name, len(a)) {
			a = append(a, &tLiteral{value: def[0], t: TypeLong})
		}
		return mkCall(name, t, a...)
	}
}

// hasFullArity: the Go functions taking a prefix take it last.
func hasFullArity(name string, n int) bool {
	for _, f := range goFunctions {
		if f.Name == name {
			return len(f.Args) == n
		}
	}
	return true
}

// netAny passes the addresses or ranges, given as several strings or as
// dynamic arrays, as one JSON array.
func netAny(name string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		list := make([]texpr, 0, len(a)-1)
		for i, x := range a[1:] {
			switch x.typ() {
			case TypeString, TypeDynamic:
				list = append(list, x)
			default:
				ck.need(c, a, i+1, false, "a string or a dynamic array of strings")
			}
		}
		return mkCall(name, TypeBool, a[0], mkCall("net_list", TypeDynamic, list...))
	}
}

func checkFormatIPv4(name string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		fn := name
		switch a[0].typ() {
		case TypeString:
		case TypeLong, TypeInt:
			fn += "_long"
		case TypeDynamic, TypeGUID:
			a[0] = mkCall("tostring", TypeString, a[0])
		default:
			ck.need(c, a, 0, false, "a string or a whole number")
		}
		if len(a) == 1 {
			a = append(a, &tLiteral{value: int64(32), t: TypeLong})
		}
		if a[1].typ() == TypeReal {
			// A real prefix is converted as Kusto converts real to long:
			// truncated (a column of masks loaded from JSON can be real).
			a[1] = mkCall("tolong", TypeLong, a[1])
		}
		return mkCall(fn, TypeString, a...)
	}
}

// maxNetText bounds the text the IP functions read: no address is longer,
// and has_ipv4's scan of a source stays linear in it.
const maxNetText = 1 << 20

// ipNet is a parsed address with its prefix, as IPv6 (IPv4 mapped).
type ipNet struct {
	addr   netip.Addr
	prefix int
	v4     bool // written as IPv4 (dotted), so prefixes count 96 more
}

// parseIPv4Net reads a.b.c.d[/n]: four decimal octets, n from 0 to 32.
func parseIPv4Net(s string) (uint32, int, bool) {
	s = strings.TrimSpace(s)
	prefix := 32
	if i := strings.IndexByte(s, '/'); i >= 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 || n > 32 {
			return 0, 0, false
		}
		prefix, s = n, s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, 0, false
	}
	var v uint32
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return 0, 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return 0, 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, prefix, true
}

func maskIPv4(v uint32, prefix int) uint32 {
	if prefix <= 0 {
		return 0
	}
	return v &^ (1<<(32-prefix) - 1)
}

// parseIPNet reads an IPv4 or IPv6 address with an optional prefix.
func parseIPNet(s string) (ipNet, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 64 {
		return ipNet{}, false
	}
	if v, p, ok := parseIPv4Net(s); ok {
		return ipNet{addr: netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), prefix: p + 96, v4: true}, true
	}
	addr, prefix := s, -1
	if i := strings.IndexByte(s, '/'); i >= 0 {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n < 0 {
			return ipNet{}, false
		}
		addr, prefix = s[:i], n
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return ipNet{}, false
	}
	v4 := strings.Contains(addr, ".")
	if v4 {
		// ::a.b.c.d and ::ffff:a.b.c.d are both the IPv4 address.
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case prefix < 0:
		prefix = 128
	case v4:
		prefix += 96
	}
	if prefix > 128 {
		return ipNet{}, false
	}
	return ipNet{addr: a, prefix: prefix, v4: v4}, true
}

// bits is the address as a 128-bit number masked to prefix bits.
func (n ipNet) bits(prefix int) *big.Int {
	b := netip.AddrFrom16(n.addr.As16()).As16()
	x := new(big.Int).SetBytes(b[:])
	if prefix < 128 {
		x.Rsh(x, uint(128-prefix))
		x.Lsh(x, uint(128-prefix))
	}
	return x
}

// compareIPs compares a and b on the shortest prefix; prefix is in IPv6
// bits for IPv6 and in IPv4 bits for IPv4.
func compareIPs(a, b string, prefix int64, v4 bool) (int, bool) {
	x, ok1 := parseIPNet(a)
	y, ok2 := parseIPNet(b)
	if !ok1 || !ok2 || (v4 && (!x.v4 || !y.v4)) {
		return 0, false
	}
	p := min(x.prefix, y.prefix)
	if v4 {
		prefix += 96
	}
	if prefix < 0 || prefix > 128 || (v4 && prefix < 96) {
		return 0, false
	}
	p = min(p, int(prefix))
	return x.bits(p).Cmp(y.bits(p)), true
}

func inRange(ip, rng string, v4 bool) (bool, bool) {
	x, ok1 := parseIPNet(ip)
	r, ok2 := parseIPNet(rng)
	if !ok1 || !ok2 || (v4 && (!x.v4 || !r.v4)) {
		return false, false
	}
	return x.bits(r.prefix).Cmp(r.bits(r.prefix)) == 0, true
}

// privateIPv4 are RFC 1918's ranges, which Kusto's ipv4_is_private checks.
var privateIPv4 = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

// hasIPv4 reports whether ip (a valid IPv4 address, or a prefix of one)
// occurs in source delimited by characters that are not letters or digits.
func hasIPv4(source, ip string, prefix bool) bool {
	if len(source) > maxNetText {
		source = source[:maxNetText]
	}
	if prefix {
		if !validIPv4Prefix(ip) {
			return false
		}
	} else if _, p, ok := parseIPv4Net(ip); !ok || p != 32 || strings.Contains(ip, "/") {
		return false
	}
	ip = strings.TrimSpace(ip)
	for start := 0; start < len(source); {
		i := strings.Index(source[start:], ip)
		if i < 0 {
			return false
		}
		i += start
		end := i + len(ip)
		before := i == 0 || !isAlnum(source[i-1])
		after := end == len(source) || !isAlnum(source[end])
		if prefix && strings.HasSuffix(ip, ".") {
			after = end < len(source) && source[end] >= '0' && source[end] <= '9'
		}
		if before && after {
			return true
		}
		start = i + 1
	}
	return false
}

// validIPv4Prefix: one to four octets, ending with a dot when fewer than
// four, as has_ipv4_prefix documents ("192.168." or "127.0.0.1").
func validIPv4Prefix(p string) bool {
	p = strings.TrimSpace(p)
	parts := strings.Split(strings.TrimSuffix(p, "."), ".")
	if len(parts) > 4 || (len(parts) < 4 && !strings.HasSuffix(p, ".")) {
		return false
	}
	for _, x := range parts {
		n, err := strconv.Atoi(x)
		if err != nil || len(x) > 3 || n < 0 || n > 255 {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// netList reads the JSON array of strings netAny builds.
func netList(s string) []string {
	var raw []any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil
	}
	var out []string
	for _, x := range raw {
		switch v := x.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, y := range v {
				if s, ok := y.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func formatIPv4(v uint32, prefix int64, withMask bool) string {
	if prefix < 0 || prefix > 32 {
		return ""
	}
	v = maskIPv4(v, int(prefix))
	s := fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&255, v>>8&255, v&255)
	if withMask {
		s += "/" + strconv.FormatInt(prefix, 10)
	}
	return s
}

func nullable[T any](v T, ok bool) (any, error) {
	if !ok {
		return nil, nil
	}
	return v, nil
}

var _ = registerGo(
	GoFunc{Name: "_tb_parse_ipv4", Args: []Type{TypeString, TypeLong}, Result: TypeLong, Fn: func(a []any) (any, error) {
		v, p, ok := parseIPv4Net(a[0].(string))
		m := a[1].(int64)
		if !ok || m < 0 || m > 32 {
			return nil, nil
		}
		return int64(maskIPv4(v, min(p, int(m)))), nil
	}},
	GoFunc{Name: "_tb_ipv4_compare", Args: []Type{TypeString, TypeString, TypeLong}, Result: TypeLong, Fn: func(a []any) (any, error) {
		c, ok := compareIPs(a[0].(string), a[1].(string), a[2].(int64), true)
		return nullable(int64(c), ok)
	}},
	GoFunc{Name: "_tb_ipv4_is_match", Args: []Type{TypeString, TypeString, TypeLong}, Result: TypeBool, Fn: func(a []any) (any, error) {
		c, ok := compareIPs(a[0].(string), a[1].(string), a[2].(int64), true)
		return nullable(c == 0, ok)
	}},
	GoFunc{Name: "_tb_ipv4_is_in_range", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return nullable(inRange(a[0].(string), a[1].(string), true))
	}},
	GoFunc{Name: "_tb_ipv4_is_in_any_range", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return anyInRange(a[0].(string), netList(a[1].(string)), true)
	}},
	GoFunc{Name: "_tb_ipv4_is_private", Args: []Type{TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return anyInRange(a[0].(string), privateIPv4, true)
	}},
	GoFunc{Name: "_tb_ipv4_netmask_suffix", Args: []Type{TypeString}, Result: TypeInt, Fn: func(a []any) (any, error) {
		_, p, ok := parseIPv4Net(a[0].(string))
		return nullable(int32(p), ok)
	}},
	GoFunc{Name: "_tb_format_ipv4", Args: []Type{TypeString, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		v, p, ok := parseIPv4Net(a[0].(string))
		if !ok || a[1].(int64) < 0 {
			return "", nil
		}
		return formatIPv4(v, min(int64(p), a[1].(int64)), false), nil
	}},
	GoFunc{Name: "_tb_format_ipv4_long", Args: []Type{TypeLong, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		v := a[0].(int64)
		if v < 0 || v > 1<<32-1 {
			return "", nil
		}
		return formatIPv4(uint32(v), a[1].(int64), false), nil
	}},
	GoFunc{Name: "_tb_format_ipv4_mask", Args: []Type{TypeString, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		v, p, ok := parseIPv4Net(a[0].(string))
		if !ok || a[1].(int64) < 0 {
			return "", nil
		}
		return formatIPv4(v, min(int64(p), a[1].(int64)), true), nil
	}},
	GoFunc{Name: "_tb_format_ipv4_mask_long", Args: []Type{TypeLong, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		v := a[0].(int64)
		if v < 0 || v > 1<<32-1 {
			return "", nil
		}
		return formatIPv4(uint32(v), a[1].(int64), true), nil
	}},
	GoFunc{Name: "_tb_has_ipv4", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return hasIPv4(a[0].(string), a[1].(string), false), nil
	}},
	GoFunc{Name: "_tb_has_ipv4_prefix", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return hasIPv4(a[0].(string), a[1].(string), true), nil
	}},
	GoFunc{Name: "_tb_has_any_ipv4", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return hasAnyIPv4(a[0].(string), netList(a[1].(string)), false), nil
	}},
	GoFunc{Name: "_tb_has_any_ipv4_prefix", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return hasAnyIPv4(a[0].(string), netList(a[1].(string)), true), nil
	}},
	GoFunc{Name: "_tb_parse_ipv6", Args: []Type{TypeString, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
		n, ok := parseIPNet(a[0].(string))
		m := a[1].(int64)
		if !ok || m < 0 || m > 128 {
			return "", nil
		}
		x := n.bits(min(n.prefix, int(m)))
		var b [16]byte
		x.FillBytes(b[:])
		parts := make([]string, 8)
		for i := range parts {
			parts[i] = fmt.Sprintf("%02x%02x", b[2*i], b[2*i+1])
		}
		return strings.Join(parts, ":"), nil
	}},
	GoFunc{Name: "_tb_ipv6_compare", Args: []Type{TypeString, TypeString, TypeLong}, Result: TypeLong, Fn: func(a []any) (any, error) {
		c, ok := compareIPs(a[0].(string), a[1].(string), a[2].(int64), false)
		return nullable(int64(c), ok)
	}},
	GoFunc{Name: "_tb_ipv6_is_match", Args: []Type{TypeString, TypeString, TypeLong}, Result: TypeBool, Fn: func(a []any) (any, error) {
		c, ok := compareIPs(a[0].(string), a[1].(string), a[2].(int64), false)
		return nullable(c == 0, ok)
	}},
	GoFunc{Name: "_tb_ipv6_is_in_range", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return nullable(inRange(a[0].(string), a[1].(string), false))
	}},
	GoFunc{Name: "_tb_ipv6_is_in_any_range", Args: []Type{TypeString, TypeString}, Result: TypeBool, Fn: func(a []any) (any, error) {
		return anyInRange(a[0].(string), netList(a[1].(string)), false)
	}},
)

// maxNetList bounds the addresses one call compares.
const maxNetList = 10000

func anyInRange(ip string, ranges []string, v4 bool) (any, error) {
	if len(ranges) > maxNetList {
		return nil, fmt.Errorf("failed to compare %s: more than %d ranges", ip, maxNetList)
	}
	valid := false
	for _, r := range ranges {
		in, ok := inRange(ip, r, v4)
		if in {
			return true, nil
		}
		valid = valid || ok
	}
	return nullable(false, valid)
}

func hasAnyIPv4(source string, ips []string, prefix bool) bool {
	for i, ip := range ips {
		if i >= maxNetList {
			return false
		}
		if hasIPv4(source, ip, prefix) {
			return true
		}
	}
	return false
}

// net_list builds the JSON array of netAny on DuckDB.
var duckdbNet = map[string]sqlFunc{
	"net_list": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args))
		for i := range c.e.args {
			parts[i] = c.pl.duckJSON(c.arg(i), c.typ(i))
		}
		return cat("to_json([", joinFrags(parts, ", "), "])")
	},
}
