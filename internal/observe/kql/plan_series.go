package kql

import (
	"fmt"
	"strings"
)

// makeSeries crosses the groups with the bins, left-joins the aggregated
// rows and collects each group's arrays in bin order (see ops_series.go).
func (pl *planner) makeSeries(r *relMakeSeries) stage {
	if pl.d == ClickHouse {
		pl.fail("make-series is not supported on ClickHouse 18.16, which cannot build JSON arrays")
	}
	step, end, hasEnd := pl.seriesBounds(r)
	in := pl.relation(r.in)
	keys, bin, aggs := in.cols[:r.nkeys], in.cols[r.nkeys], in.cols[r.nkeys+1:]
	ms, present := pl.internal("ms"), pl.internal("p")
	pl.ctes = append(pl.ctes, cat(quoteIdent(ms), " AS (SELECT *, 1 AS "+quoteIdent(present)+" FROM ", in.src, " AS "+pl.alias()+")"))

	start := raw("0")
	if !r.fromSet {
		start = raw("(SELECT min(" + quoteIdent(bin) + ") FROM " + quoteIdent(ms) + ")")
	}
	stop := raw("(SELECT max(" + quoteIdent(bin) + ") + 1 FROM " + quoteIdent(ms) + ")")
	if hasEnd {
		e, _ := inlineNumber(float64(end))
		stop = raw(e)
	}
	limit, _ := inlineNumber(maxSeriesBins)
	n := cat("(", stop, " - ", start, ")")
	bounds := cat("(SELECT ", start, " AS _tb_s, (CASE WHEN ", n, " > "+limit+" THEN error(", param(fmt.Sprintf("make-series would make more bins than the limit of %d; use a larger step or a shorter range", maxSeriesBins)), ") ELSE greatest(", n, ", 0) END) AS _tb_n)")

	var groups frag
	var keyList, onList []string
	for _, k := range keys {
		keyList = append(keyList, quoteIdent(k))
		onList = append(onList, "gr."+quoteIdent(k)+" IS NOT DISTINCT FROM m."+quoteIdent(k))
	}
	switch {
	case len(keys) > 0:
		groups = raw("(SELECT DISTINCT " + strings.Join(keyList, ", ") + " FROM " + quoteIdent(ms) + ")")
	case r.keepEmpty:
		groups = raw("(SELECT 1 AS _tb_g)")
	default:
		groups = raw("(SELECT DISTINCT 1 AS _tb_g FROM " + quoteIdent(ms) + ")")
	}
	grid := cat("(SELECT g.*, bnd._tb_s + unnest(range(bnd._tb_n)) AS _tb_k FROM ", groups, " AS g, ", bounds, " AS bnd)")
	onList = append(onList, "gr._tb_k = m."+quoteIdent(bin))

	names := pl.sqlNames(r.cols, nil)
	var list []frag
	for i, k := range keys {
		list = append(list, raw("gr."+quoteIdent(k)+" AS "+quoteIdent(names[i])))
	}
	for j, a := range aggs {
		t := r.in.columns()[r.nkeys+1+j].Type
		def := pl.duckJSON(pl.expr(r.defaults[j], nil), r.defaults[j].typ())
		val := pl.duckJSON(raw("m."+quoteIdent(a)), t)
		list = append(list, cat("to_json(list(CASE WHEN m."+quoteIdent(present)+" IS NULL THEN ", def, " ELSE ", val, " END ORDER BY gr._tb_k)) AS "+quoteIdent(names[r.nkeys+j])))
	}
	list = append(list, cat("to_json(list(", pl.seriesAxis(r, step), " ORDER BY gr._tb_k)) AS "+quoteIdent(names[len(names)-1])))
	tail := ""
	if len(keys) > 0 {
		tail = " GROUP BY " + strings.Join(prefixAll("gr.", keyList), ", ")
	} else if !r.keepEmpty {
		tail = " HAVING count(*) > 0"
	}
	src := cat("(SELECT ", joinFrags(list, ", "), " FROM ", grid, " AS gr LEFT JOIN "+quoteIdent(ms)+" AS m ON "+strings.Join(onList, " AND ")+tail+")")
	return stage{src: src, cols: names}
}

// seriesAxis is bin gr._tb_k of the axis as a JSON value: datetimes in
// Kusto's text with seven fraction digits, as its documentation shows them.
func (pl *planner) seriesAxis(r *relMakeSeries, step float64) frag {
	s, err := inlineNumber(step)
	if err != nil {
		pl.fail("the make-series step is not a finite number")
	}
	o := pl.expr(r.origin, nil)
	switch r.axisType {
	case TypeDatetime:
		return cat("to_json(strftime(", o, " + to_microseconds(CAST(gr._tb_k * "+s+" AS BIGINT)), '%Y-%m-%dT%H:%M:%S.%f') || '0Z')")
	case TypeTimespan:
		return cat("to_json(", pl.toString(cat("to_microseconds(CAST(epoch_us(", o, ") + gr._tb_k * "+s+" AS BIGINT))"), TypeTimespan), ")")
	}
	return cat("to_json(", o, " + gr._tb_k * "+s+")")
}

func prefixAll(p string, s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = p + x
	}
	return out
}
