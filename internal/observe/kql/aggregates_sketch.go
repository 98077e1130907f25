package kql

// Kusto's sketches: hll/hll_if/hll_merge/dcount_hll for distinct counts and
// tdigest/tdigest_merge/percentile_tdigest/percentiles_array_tdigest for
// percentiles, meant to be stored and merged later. tugboat's sketches are
// exact: an hll is the array of the distinct values, a t-digest the sorted
// array of the values, so dcount_hll and percentile_tdigest give what
// dcount and percentile (nearest rank) would over the rows merged. Their
// text is not Kusto's binary layout, so a sketch is for these functions,
// not for display. The accuracy argument is accepted; weighted tdigest is
// refused. DuckDB only.
var sketchFunctions = map[string]funcDef{
	"dcount_hll":                sig(1, 1, TypeLong, argDynamic).with(goCall("dcount_hll", TypeLong)),
	"percentile_tdigest":        sig(2, 2, TypeReal, argDynamic, argNumber).with(goCall("percentile_tdigest", TypeReal)),
	"percentiles_array_tdigest": sig(2, variadic, TypeDynamic, argDynamic, argNumber).with(goCall("percentiles_array_tdigest", TypeDynamic)),
}

func init() {
	aggregates["hll"] = agg(1, 2, fixed(TypeDynamic), argScalar, argConstWhole)
	aggregates["hll_if"] = agg(2, 3, fixed(TypeDynamic), argScalar, argBool, argConstWhole).named("hll_if")
	aggregates["hll_merge"] = agg(1, 1, fixed(TypeDynamic), argDynamic)
	aggregates["tdigest"] = agg(1, 1, fixed(TypeDynamic), argNumber)
	aggregates["tdigest_merge"] = agg(1, 1, fixed(TypeDynamic), argDynamic)
	aggregates["merge_tdigest"] = agg(1, 1, fixed(TypeDynamic), argDynamic).alias("tdigest_merge").named("tdigest_merge")

	duckdbAggregates["hll"] = func(c aggSQL) frag {
		return cat("COALESCE(to_json(list(DISTINCT ", c.pl.duckJSON(c.arg(0), c.a.args[0].typ()), ") FILTER (WHERE ", c.arg(0), " IS NOT NULL)), CAST('[]' AS JSON))")
	}
	duckdbAggregates["hll_if"] = func(c aggSQL) frag {
		return cat("COALESCE(to_json(list(DISTINCT ", c.pl.duckJSON(c.arg(0), c.a.args[0].typ()), ") FILTER (WHERE ", c.arg(0), " IS NOT NULL AND ", c.arg(1), ")), CAST('[]' AS JSON))")
	}
	duckdbAggregates["hll_merge"] = func(c aggSQL) frag {
		return cat("COALESCE(to_json(list_distinct(flatten(list(CAST(", c.arg(0), " AS JSON[])) FILTER (WHERE json_type(", c.arg(0), ") = 'ARRAY')))), CAST('[]' AS JSON))")
	}
	duckdbAggregates["tdigest"] = func(c aggSQL) frag {
		return cat("COALESCE(to_json(list_sort(list(CAST(", c.arg(0), " AS DOUBLE)) FILTER (WHERE ", c.arg(0), " IS NOT NULL))), CAST('[]' AS JSON))")
	}
	duckdbAggregates["tdigest_merge"] = func(c aggSQL) frag {
		return cat("COALESCE(to_json(list_sort(flatten(list(CAST(", c.arg(0), " AS DOUBLE[])) FILTER (WHERE json_type(", c.arg(0), ") = 'ARRAY')))), CAST('[]' AS JSON))")
	}
}

// tdigestAt is the nearest-rank percentile p of a sorted JSON array of
// numbers, as SQL.
func tdigestAt(digest frag, p frag) frag {
	l := cat("CAST(", digest, " AS DOUBLE[])")
	return cat("(CASE WHEN len(", l, ") = 0 OR ", p, " < 0 OR ", p, " > 100 THEN NULL ELSE ", l, "[CAST(greatest(1, ceil(", p, " / 100.0 * len(", l, "))) AS BIGINT)] END)")
}

var duckdbSketch = map[string]sqlFunc{
	"dcount_hll": tmpl("(CASE WHEN json_type($0) = 'ARRAY' THEN CAST(json_array_length($0) AS BIGINT) END)"),
	"percentile_tdigest": func(c sqlCall) frag {
		return tdigestAt(c.arg(0), c.arg(1))
	},
	"percentiles_array_tdigest": func(c sqlCall) frag {
		parts := make([]frag, len(c.e.args)-1)
		for i := 1; i < len(c.e.args); i++ {
			parts[i-1] = tdigestAt(c.arg(0), c.arg(i))
		}
		return cat("to_json([", joinFrags(parts, ", "), "])")
	},
}
