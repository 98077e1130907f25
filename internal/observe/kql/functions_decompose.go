package kql

import (
	"sort"
	"strings"
)

// series_decompose(Series[, Seasonality, Trend, Test_points,
// Seasonality_threshold]) splits a series as Kusto's page orders it: the
// seasonal component is the median of the points in the same phase of the
// period (0: none), the trend is taken from the series less its seasonal
// part (avg: its average; linefit: series_fit_line's line over x = 1..n;
// none), baseline = seasonal + trend, residual = series - baseline. The
// last Test_points points are left out of the medians, the average and the
// fit, which still cover them. Seasonality -1, the default, detects the
// period with series_periods_detect, whose scoring Kusto does not document,
// so it is refused rather than guessed: give the period, or 0.

// undocumentedFunctions are series functions whose results rest on rules
// Kusto does not document (a score, a detection, where a split falls):
// refused with the reason rather than answered with other numbers.
var undocumentedFunctions = map[string]string{
	"series_outliers":            "because Kusto does not document how it scores a point (the percentile method and the score formula of its \"ctukey\" test)",
	"series_periods_validate":    "because Kusto does not document how it scores a period",
	"series_periods_detect":      "because Kusto does not document how it detects and scores periods",
	"series_fit_2lines":          "because Kusto does not document which side of the split its index belongs to or the x of the right line",
	"series_fit_2lines_dynamic":  "because Kusto does not document which side of the split its index belongs to or the x of the right line",
	"series_decompose_anomalies": "because it scores the residuals with series_outliers, whose scoring Kusto does not document",
	"series_decompose_forecast":  "yet; series_decompose with a given period is supported",
}

var decomposeParts = []string{"baseline", "seasonal", "trend", "residual"}

func checkSeriesDecompose(ck *checker, c *Call, a []texpr) ([]tupleCol, bool) {
	ck.need(c, a, 0, a[0].typ() == TypeDynamic, "a dynamic array of numbers")
	period, trend, test := int64(-1), "avg", int64(0)
	if len(a) > 1 {
		p, ok := constInt(a[1])
		ck.need(c, a, 1, ok, "a constant whole number (the period in bins, or 0)")
		period = p
	}
	if period < 0 {
		ck.fail(c.NamePos, "series_decompose needs its seasonality: give the period in bins, or 0 for none; detecting it (-1, the default) uses series_periods_detect, whose scoring Kusto does not document")
	}
	if len(a) > 2 {
		t, ok := constString(a[2])
		t = strings.ToLower(t)
		ck.need(c, a, 2, ok && (t == "avg" || t == "linefit" || t == "none"), `"avg", "linefit" or "none"`)
		trend = t
	}
	if len(a) > 3 {
		n, ok := constInt(a[3])
		ck.need(c, a, 3, ok && n >= 0, "a constant whole number of test points, not negative")
		test = n
	}
	if len(a) > 4 {
		ck.need(c, a, 4, a[4].typ().isNumeric(), "a number")
	}
	parts := mkCall("_tb_series_decompose", TypeDynamic, a[0], &tLiteral{value: period, t: TypeLong}, &tLiteral{value: trend, t: TypeString}, &tLiteral{value: test, t: TypeLong})
	cols := make([]tupleCol, len(decomposeParts))
	for i, p := range decomposeParts {
		cols[i] = tupleCol{name: ck.tupleName(c, p), e: &tPath{x: parts, path: []pathElem{{key: p}}}}
	}
	return cols, true
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// decompose computes the four components of y.
func decompose(y []float64, period int, trend string, test int) map[string]any {
	n := len(y)
	learn := n - test
	if learn < 1 {
		return nil
	}
	seasonal := make([]float64, n)
	if period > 0 {
		for phase := 0; phase < period && phase < n; phase++ {
			var pts []float64
			for i := phase; i < learn; i += period {
				pts = append(pts, y[i])
			}
			if len(pts) == 0 {
				continue
			}
			m := median(pts)
			for i := phase; i < n; i += period {
				seasonal[i] = m
			}
		}
	}
	des := make([]float64, n)
	for i := range y {
		des[i] = y[i] - seasonal[i]
	}
	trendPart := make([]float64, n)
	switch trend {
	case "avg":
		var sum float64
		for _, v := range des[:learn] {
			sum += v
		}
		for i := range trendPart {
			trendPart[i] = sum / float64(learn)
		}
	case "linefit":
		if fit := fitLine(des[:learn]); fit != nil {
			slope, _ := fit["slope"].(float64)
			icpt, _ := fit["interception"].(float64)
			for i := range trendPart {
				trendPart[i] = icpt + slope*float64(i+1)
			}
		}
	}
	out := map[string][]any{}
	for _, p := range decomposeParts {
		out[p] = make([]any, n)
	}
	for i := range y {
		base := seasonal[i] + trendPart[i]
		out["baseline"][i] = jsonNumber(base)
		out["seasonal"][i] = jsonNumber(seasonal[i])
		out["trend"][i] = jsonNumber(trendPart[i])
		out["residual"][i] = jsonNumber(y[i] - base)
	}
	res := map[string]any{}
	for k, v := range out {
		res[k] = v
	}
	return res
}

var _ = registerGo(GoFunc{Name: "_tb_series_decompose", Args: []Type{TypeDynamic, TypeLong, TypeString, TypeLong}, Result: TypeDynamic, Fn: func(a []any) (any, error) {
	y, ok := numericSeries(a[0].(string))
	if !ok {
		return nil, nil
	}
	period, test := a[1].(int64), a[3].(int64)
	if period > int64(len(y)) {
		period = int64(len(y))
	}
	if test > int64(len(y)) {
		return nil, nil
	}
	return dynamicResult(decompose(y, int(period), a[2].(string), int(test)))
}})
