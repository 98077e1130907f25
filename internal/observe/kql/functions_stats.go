package kql

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// statsFunctions are Kusto's special functions: erf and erfc on both
// engines (ClickHouse has them; DuckDB runs Go's), the beta distribution's
// functions in Go inside DuckDB (gonum's regularized incomplete beta).
// Arguments outside a function's domain give NaN, as Kusto documents.
var statsFunctions = map[string]funcDef{
	"erf":      sig(1, 1, TypeReal, argNumber).with(goCall("erf", TypeReal)),
	"erfc":     sig(1, 1, TypeReal, argNumber).with(goCall("erfc", TypeReal)),
	"beta_cdf": sig(3, 3, TypeReal, argNumber).with(goCall("_tb_beta_cdf", TypeReal)),
	"beta_pdf": sig(3, 3, TypeReal, argNumber).with(goCall("_tb_beta_pdf", TypeReal)),
	"beta_inv": sig(3, 3, TypeReal, argNumber).with(goCall("_tb_beta_inv", TypeReal)),
}

func betaDomain(x, a, b float64) bool {
	return x >= 0 && x <= 1 && a > 0 && b > 0 && !math.IsInf(a, 0) && !math.IsInf(b, 0)
}

var _ = registerGo(
	GoFunc{Name: "_tb_erf", Args: []Type{TypeReal}, Result: TypeReal, Fn: func(a []any) (any, error) {
		return math.Erf(a[0].(float64)), nil
	}},
	GoFunc{Name: "_tb_erfc", Args: []Type{TypeReal}, Result: TypeReal, Fn: func(a []any) (any, error) {
		return math.Erfc(a[0].(float64)), nil
	}},
	GoFunc{Name: "_tb_beta_cdf", Args: []Type{TypeReal, TypeReal, TypeReal}, Result: TypeReal, Fn: func(a []any) (any, error) {
		x, al, be := a[0].(float64), a[1].(float64), a[2].(float64)
		if !betaDomain(x, al, be) {
			return math.NaN(), nil
		}
		return mathext.RegIncBeta(al, be, x), nil
	}},
	GoFunc{Name: "_tb_beta_pdf", Args: []Type{TypeReal, TypeReal, TypeReal}, Result: TypeReal, Fn: func(a []any) (any, error) {
		x, al, be := a[0].(float64), a[1].(float64), a[2].(float64)
		if !betaDomain(x, al, be) {
			return math.NaN(), nil
		}
		return math.Pow(x, al-1) * math.Pow(1-x, be-1) / mathext.Beta(al, be), nil
	}},
	GoFunc{Name: "_tb_beta_inv", Args: []Type{TypeReal, TypeReal, TypeReal}, Result: TypeReal, Fn: func(a []any) (any, error) {
		p, al, be := a[0].(float64), a[1].(float64), a[2].(float64)
		if !betaDomain(p, al, be) {
			return math.NaN(), nil
		}
		return mathext.InvRegIncBeta(al, be, p), nil
	}},
)

var duckdbStats = map[string]sqlFunc{
	"erf":  goSQL("_tb_erf", TypeReal),
	"erfc": goSQL("_tb_erfc", TypeReal),
}

var clickhouseStats = map[string]sqlFunc{
	"erf":  tmpl("erf(toFloat64($0))"),
	"erfc": tmpl("erfc(toFloat64($0))"),
}
