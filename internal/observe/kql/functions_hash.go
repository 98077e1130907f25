package kql

import (
	"encoding/binary"
	"time"

	"github.com/cespare/xxhash/v2"
)

// hashFunctions are Kusto's hash functions. hash and hash_xxhash64 are
// xxhash64 with seed 0, as Kusto documents: of a string's UTF-8 bytes, of a
// datetime's ticks (100 ns since 0001-01-01) as 8 little-endian bytes. Kusto
// does not document how it hashes other types, nor how hash_combine and
// hash_many combine hashes, so those are refused rather than answered with
// a different number. The modulo is of the unsigned 64-bit hash, so it is
// between 0 and mod - 1 as documented.
var hashFunctions = map[string]funcDef{
	"hash":          sig(1, 2, TypeLong, argAny, argWhole).with(checkXXHash),
	"hash_xxhash64": sig(1, 2, TypeLong, argAny, argWhole).with(checkXXHash),
	"hash_md5":      sig(1, 1, TypeString, argAny).with(checkDigest("hash_md5")),
	"hash_sha1":     sig(1, 1, TypeString, argAny).with(checkDigest("hash_sha1")),
	"hash_sha256":   sig(1, 1, TypeString, argAny).with(checkDigest("hash_sha256")),
}

// ticksAtUnixEpoch is 1970-01-01 in .NET ticks.
const ticksAtUnixEpoch = 621355968000000000

func checkXXHash(ck *checker, c *Call, a []texpr) texpr {
	t := a[0].typ()
	ck.need(c, a, 0, t == TypeString || t == TypeDatetime || t == TypeGUID, "a string or a datetime (Kusto documents xxhash64 of those)")
	if t == TypeGUID {
		a[0] = mkCall("tostring", TypeString, a[0])
	}
	return mkCall("hash_xxhash64", TypeLong, a...)
}

// checkDigest: Kusto hashes the value's text, a datetime as
// 2020-01-01T00:00:00.0000000Z.
func checkDigest(fn string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		switch t := a[0].typ(); t {
		case TypeString:
		case TypeDatetime:
			a[0] = mkCall("kusto_datetime_text", TypeString, a[0])
		case TypeDynamic, TypeGUID, TypeLong, TypeInt, TypeBool:
			a[0] = mkCall("tostring", TypeString, a[0])
		default:
			ck.need(c, a, 0, false, "a string, datetime, whole number, bool, guid or dynamic value")
		}
		return mkCall(fn, TypeString, a...)
	}
}

var _ = registerGo(
	GoFunc{Name: "_tb_xxhash64", Args: []Type{TypeString}, Result: TypeLong, Fn: func(a []any) (any, error) {
		return int64(xxhash.Sum64String(a[0].(string))), nil
	}},
	GoFunc{Name: "_tb_xxhash64_datetime", Args: []Type{TypeDatetime}, Result: TypeLong, Fn: func(a []any) (any, error) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(dotnetTicks(a[0].(time.Time))))
		return int64(xxhash.Sum64(b[:])), nil
	}},
)

func dotnetTicks(t time.Time) int64 {
	return t.Unix()*10_000_000 + int64(t.Nanosecond()/100) + ticksAtUnixEpoch
}

var duckdbHash = map[string]sqlFunc{
	"hash_xxhash64": func(c sqlCall) frag {
		h := cat("_tb_xxhash64(", c.arg(0), ")")
		if c.typ(0) == TypeDatetime {
			h = cat("_tb_xxhash64_datetime(", c.arg(0), ")")
		}
		if len(c.e.args) == 2 {
			return cat("(CASE WHEN ", c.arg(1), " > 0 THEN CAST(((CAST(", h, " AS HUGEINT) + 18446744073709551616) % 18446744073709551616) % ", c.arg(1), " AS BIGINT) END)")
		}
		return h
	},
	"hash_md5":    fn("md5"),
	"hash_sha1":   fn("sha1"),
	"hash_sha256": fn("sha256"),
	"kusto_datetime_text": func(c sqlCall) frag {
		return cat("(strftime(", c.arg(0), ", ", param("%Y-%m-%dT%H:%M:%S.%f"), ") || ", param("0Z"), ")")
	},
}

// ClickHouse 18.16 has no xxHash64 (later releases do).
var clickhouseHash = map[string]sqlFunc{
	"hash_md5":    tmpl("lower(hex(MD5($0)))"),
	"hash_sha1":   tmpl("lower(hex(SHA1($0)))"),
	"hash_sha256": tmpl("lower(hex(SHA256($0)))"),
	"kusto_datetime_text": func(c sqlCall) frag {
		return cat("concat(replaceOne(toString(", c.arg(0), ", 'UTC'), ' ', 'T'), ", param(".0000000Z"), ")")
	},
}

func init() {
	for _, fn := range []string{"hash_combine", "hash_many"} {
		unsupportedFunctions[fn] = "because Kusto does not document how it combines hashes, and a different number would be wrong silently"
	}
}
