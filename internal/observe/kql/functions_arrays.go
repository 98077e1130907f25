package kql

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// array_split(array, index) cuts an array at zero-based indexes (one, or a
// dynamic array of them; a negative one counts from the end) into the
// arrays [0..i1), [i1..i2), ..., [iN..length), the page's formula taken
// literally (unsorted indexes can repeat elements); indexes past either end
// are taken as the end, and a range that runs backwards is empty.
// bag_set_key(bag, key, value) sets a root key, or the property a JSON path
// ($.a.b) names, making the objects on the way; a value that is not a bag
// gives null. Both run in Go on DuckDB.

var arrayFunctions = map[string]funcDef{
	"array_split":             sig(2, 2, TypeDynamic, argDynamic, argAny).with(checkArraySplit),
	"bag_set_key":             sig(3, 3, TypeDynamic, argDynamic, argString, argScalar).with(checkBagSetKey),
	"ipv4_range_to_cidr_list": sig(2, 2, TypeDynamic, argString, argString).with(goCall("_tb_ipv4_range_to_cidr_list", TypeDynamic)),
	"base64_encode_fromarray": sig(1, 1, TypeString, argDynamic).with(goCall("_tb_base64_encode_fromarray", TypeString)),
}

func checkArraySplit(ck *checker, c *Call, a []texpr) texpr {
	idx := a[1]
	switch {
	case idx.typ().isInteger():
		idx = mkCall("pack_array", TypeDynamic, idx)
	case idx.typ() == TypeDynamic:
	default:
		ck.need(c, a, 1, false, "a whole number or a dynamic array of them")
	}
	return mkCall("_tb_array_split", TypeDynamic, a[0], idx)
}

func checkBagSetKey(ck *checker, c *Call, a []texpr) texpr {
	if k, ok := constString(a[1]); ok && strings.HasPrefix(k, "$") {
		if _, ok := jsonPath(k); !ok || k == "$" {
			ck.fail(c.Args[1].Position(), "the key of bag_set_key must be a name or a JSON path of names ($.a.b); array indexes and the root are not supported")
		}
	}
	return mkCall("_tb_bag_set_key", TypeDynamic, a[0], a[1], mkCall("pack_array", TypeDynamic, a[2]))
}

func arraySplit(arr []json.RawMessage, idx []any) []any {
	n := len(arr)
	cuts := []int{0}
	for _, x := range idx {
		f, ok := x.(float64)
		if !ok {
			return nil
		}
		i := int(f)
		if i < 0 {
			i += n
		}
		cuts = append(cuts, min(max(i, 0), n))
	}
	cuts = append(cuts, n)
	out := make([]any, 0, len(cuts)-1)
	for k := 0; k+1 < len(cuts); k++ {
		lo, hi := cuts[k], cuts[k+1]
		part := []json.RawMessage{}
		if hi > lo {
			part = arr[lo:hi]
		}
		out = append(out, part)
	}
	return out
}

var _ = registerGo(GoFunc{Name: "_tb_array_split", Args: []Type{TypeDynamic, TypeDynamic}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	var arr []json.RawMessage
	var idx []any
	if json.Unmarshal([]byte(a[0].(string)), &arr) != nil || json.Unmarshal([]byte(a[1].(string)), &idx) != nil || len(idx) > maxSortElements {
		return nil, nil
	}
	return dynamicResult(arraySplit(arr, idx))
}})

// setPath sets the property at path in an ordered object (decodeOrdered),
// making the objects on the way.
func setPath(m map[string]any, path []string, val any) {
	for i, k := range path {
		_, exists := m[k]
		if !exists {
			m["\x00order"] = append(m["\x00order"].([]string), k)
		}
		if i == len(path)-1 {
			m[k] = val
			return
		}
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{"\x00order": []string{}}
			m[k] = next
		}
		m = next
	}
}

var _ = registerGo(GoFunc{Name: "_tb_bag_set_key", Args: []Type{TypeDynamic, TypeString, TypeDynamic}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	d := json.NewDecoder(strings.NewReader(a[0].(string)))
	d.UseNumber()
	v, err := decodeOrdered(d, 0)
	if err != nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	vd := json.NewDecoder(strings.NewReader(a[2].(string)))
	vd.UseNumber()
	wrapped, err := decodeOrdered(vd, 0)
	if err != nil {
		return nil, nil
	}
	list, ok := wrapped.([]any)
	if !ok || len(list) != 1 {
		return nil, nil
	}
	key := a[1].(string)
	path := []string{key}
	if strings.HasPrefix(key, "$") {
		if path, ok = jsonPath(key); !ok || len(path) == 0 {
			return nil, nil
		}
	}
	setPath(m, path, list[0])
	var b bytes.Buffer
	writeOrdered(&b, m)
	return b.String(), nil
}})

// ipv4RangeToCIDRs is the shortest list of CIDR blocks covering start..end
// (inclusive), in order: ipv4_range_to_cidr_list. An address with a
// prefix, or a start after the end, is not a range (null).
func ipv4RangeToCIDRs(start, end string) []any {
	lo, p1, ok1 := parseIPv4Net(start)
	hi, p2, ok2 := parseIPv4Net(end)
	if !ok1 || !ok2 || p1 != 32 || p2 != 32 || lo > hi {
		return nil
	}
	out := []any{}
	cur, last := uint64(lo), uint64(hi)
	for cur <= last {
		// The largest block aligned at cur that stays within the range.
		size := uint64(1)
		for bits := 0; bits < 32; bits++ {
			next := size << 1
			if cur%next != 0 || cur+next-1 > last {
				break
			}
			size = next
		}
		prefix := 32
		for s := size; s > 1; s >>= 1 {
			prefix--
		}
		out = append(out, fmt.Sprintf("%d.%d.%d.%d/%d", cur>>24&255, cur>>16&255, cur>>8&255, cur&255, prefix))
		cur += size
	}
	return out
}

var _ = registerGo(GoFunc{Name: "_tb_ipv4_range_to_cidr_list", Args: []Type{TypeString, TypeString}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	return dynamicResult(ipv4RangeToCIDRs(a[0].(string), a[1].(string)))
}})

// base64EncodeFromArray is base64_encode_fromarray: the bytes of an array
// of numbers 0-255 as base64; anything else in it makes the result null
// (an empty string, as Kusto shows a null string).
func base64EncodeFromArray(s string) (any, bool) {
	var arr []any
	if json.Unmarshal([]byte(s), &arr) != nil {
		return nil, false
	}
	b := make([]byte, len(arr))
	for i, v := range arr {
		f, ok := v.(float64)
		if !ok || f < 0 || f > 255 || f != float64(int(f)) {
			return nil, false
		}
		b[i] = byte(f)
	}
	return base64.StdEncoding.EncodeToString(b), true
}

var _ = registerGo(GoFunc{Name: "_tb_base64_encode_fromarray", Args: []Type{TypeDynamic}, Result: TypeString, Fn: func(a []any) (any, error) {
	if v, ok := base64EncodeFromArray(a[0].(string)); ok {
		return v, nil
	}
	return nil, nil
}})
