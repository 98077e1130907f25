package kql

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"
	"unicode/utf8"
)

// gzip_decompress_from_base64_string and zlib_decompress_from_base64_string
// decode base64 and decompress to UTF-8 text (null when the input is not
// that), in Go inside DuckDB. The output is bounded: a small input can
// expand a thousandfold, so past maxDecompressed the query fails with an
// error that says so. The compress functions are refused: another
// compressor's bytes are valid but differ from Kusto's documented output.
var compressFunctions = map[string]funcDef{
	"gzip_decompress_from_base64_string": sig(1, 1, TypeString, argString).with(netCall("_tb_decompress", TypeString, 0)),
	"zlib_decompress_from_base64_string": sig(1, 1, TypeString, argString).with(netCall("_tb_decompress", TypeString, 1)),
}

const maxDecompressed = 16 << 20

func decompress(s string, zlibFormat bool) (any, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, nil
	}
	var r io.ReadCloser
	if zlibFormat {
		r, err = zlib.NewReader(bytes.NewReader(raw))
	} else {
		r, err = gzip.NewReader(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, nil
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, nil
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("failed to decompress a value: its text is larger than %d MiB", maxDecompressed>>20)
	}
	if !utf8.Valid(out) {
		return nil, nil
	}
	return string(out), nil
}

var _ = registerGo(GoFunc{Name: "_tb_decompress", Args: []Type{TypeString, TypeLong}, Result: TypeString, Fn: func(a []any) (any, error) {
	return decompress(a[0].(string), a[1].(int64) == 1)
}})

func init() {
	for _, fn := range []string{"gzip_compress_to_base64_string", "zlib_compress_to_base64_string"} {
		unsupportedFunctions[fn] = "because its bytes would differ from Kusto's compressor's; the decompress functions are supported"
	}
}
