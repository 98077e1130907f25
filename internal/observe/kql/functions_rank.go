package kql

// rankFunctions are Kusto's row_rank_min and row_rank_dense: the rank of
// a row's value in a serialized input, rows of equal values sharing the
// minimal rank (dense: ranks without gaps). Kusto ranks runs of equal
// values in the row order; when that order is by the value itself, as in
// Kusto's examples, a run is all the rows of one value and SQL's rank()
// is the same. Other orders, and the restart argument, are refused rather
// than ranked differently.
var rankFunctions = map[string]funcDef{
	"row_rank_min":   sig(1, 2, TypeLong, argScalar, argBool).with(checkRank("row_rank_min")),
	"row_rank_dense": sig(1, 2, TypeLong, argScalar, argBool).with(checkRank("row_rank_dense")),
}

func checkRank(fn string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		if len(a) == 2 {
			ck.fail(c.Args[1].Position(), "the restart argument of %s is not supported yet; sort by the restart column and the value instead", fn)
		}
		return mkCall(fn, TypeLong, a...)
	}
}

func rankSQL(fn string) sqlFunc {
	return func(c sqlCall) frag {
		name := c.e.fn
		c.pl.windowOver(name)
		col, ok := c.e.args[0].(*tColumn)
		if !ok || c.cols[col.idx] != c.pl.window[0].of {
			c.pl.fail("%s needs the rows sorted by its value first (| sort by Value asc, then %s(Value))", name, name)
		}
		return raw("CAST(" + fn + "() OVER (ORDER BY " + orderBy(c.pl.window[:1]) + ") AS BIGINT)")
	}
}

var duckdbRank = map[string]sqlFunc{
	"row_rank_min":   rankSQL("rank"),
	"row_rank_dense": rankSQL("dense_rank"),
}

// keepOrderSources is the order after a project: a key still copies its
// column only when the project passes that column on unchanged.
func keepOrderSources(order []orderKey, in, names []string, exprs []texpr) []orderKey {
	out := make([]orderKey, len(order))
	for i, k := range order {
		out[i] = k
		if k.of == "" {
			continue
		}
		out[i].of = ""
		for j, e := range exprs {
			if c, ok := e.(*tColumn); ok && names[j] == k.of && in[c.idx] == k.of {
				out[i].of = k.of
			}
		}
	}
	return out
}
