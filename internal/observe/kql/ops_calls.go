package kql

import "encoding/json"

// Functions whose argument is not a scalar: estimate_data_size takes
// columns or *, column_names_of a table.

// specialCall checks the calls above, or returns nil for any other.
func (ck *checker) specialCall(c *Call, cols []Column) texpr {
	if b, ok := ck.lets[c.Name]; ok && b.fn != nil {
		return nil
	}
	switch c.Name {
	case "estimate_data_size":
		return ck.estimateDataSize(c, cols)
	case "column_names_of":
		return ck.columnNamesOf(c)
	}
	return nil
}

// estimateDataSize is the bytes of the given columns (or of all, for *):
// 8 for long, real, datetime and timespan, 4 for int, 1 for bool, 16 for
// guid, the UTF-8 bytes of a string and of a dynamic value's JSON text,
// as the documentation's example counts (a long is 8, a string its length).
func (ck *checker) estimateDataSize(c *Call, cols []Column) texpr {
	if len(c.Args) == 0 {
		ck.fail(c.NamePos, "estimate_data_size needs columns, or * for all of them")
	}
	var parts []texpr
	for _, a := range c.Args {
		if _, ok := a.(*Star); ok {
			for i, col := range cols {
				parts = append(parts, &tColumn{idx: i, t: col.Type})
			}
			continue
		}
		parts = append(parts, ck.expr(a, cols))
	}
	var sum texpr = &tLiteral{value: int64(0), t: TypeLong}
	for _, e := range parts {
		var size texpr
		switch e.typ() {
		case TypeLong, TypeReal, TypeDatetime, TypeTimespan:
			size = &tLiteral{value: int64(8), t: TypeLong}
		case TypeInt:
			size = &tLiteral{value: int64(4), t: TypeLong}
		case TypeBool:
			size = &tLiteral{value: int64(1), t: TypeLong}
		case TypeGUID:
			size = &tLiteral{value: int64(16), t: TypeLong}
		default:
			s := e
			if e.typ() != TypeString {
				s = mkCall("tostring", TypeString, e)
			}
			size = mkCall("coalesce", TypeLong, mkCall("string_size", TypeLong, s), &tLiteral{value: int64(0), t: TypeLong})
		}
		sum = &tBinary{op: "+", l: sum, r: size, t: TypeLong}
	}
	return sum
}

// columnNamesOf is the names of a table's columns, known when the query
// is checked: column_names_of(T), of a tabular let or a tabular function's
// result, column_names_of(F(args)).
func (ck *checker) columnNamesOf(c *Call) texpr {
	if len(c.Args) != 1 {
		ck.fail(c.NamePos, "column_names_of takes one table")
	}
	var rel relation
	switch a := c.Args[0].(type) {
	case *Ident:
		rel = ck.source(&TableRef{NamePos: a.NamePos, Name: a.Name})
	case *Call:
		if b, ok := ck.lets[a.Name]; !ok || b.fn == nil {
			ck.fail(a.NamePos, "column_names_of takes a table, or a call of a tabular function defined with let; %s is not one", a.Name)
		}
		rel = ck.callTabularFunc(&FuncSource{NamePos: a.NamePos, Name: a.Name, Args: a.Args, ArgNames: a.ArgNames})
	default:
		ck.fail(c.Args[0].Position(), "column_names_of takes a table or a tabular let by name, or a call of a tabular function")
	}
	names := columnNames(rel.columns())
	b, err := json.Marshal(names)
	if err != nil {
		panic(err)
	}
	return &tLiteral{value: string(b), t: TypeDynamic}
}

// The SQL of the functions the operators above and in ops_*.go make, by
// engine; ClickHouse lacks the others.
var duckdbOps = map[string]sqlFunc{
	"_tb_rows_near":  rowsNearSQL,
	"_tb_row_index":  rowIndexSQL,
	"_tb_range_time": rangeTimeSQL,
}

var clickhouseOps = map[string]sqlFunc{
	"string_size":   tmpl("toInt64(length($0))"),
	"_tb_row_index": rowIndexSQL,
	"_tb_range_time": func(c sqlCall) frag {
		c.pl.fail("function range is not supported on ClickHouse 18.16; DuckDB has it")
		return frag{}
	},
}

// checkRange is range(start, stop[, step]) of numbers, or of datetimes or
// timespans with a timespan step (which they need).
func checkRange(ck *checker, c *Call, a []texpr) texpr {
	t := a[0].typ()
	if t != TypeDatetime && t != TypeTimespan {
		for i := range a {
			a[i] = ck.argOfKind(c, i, a[i], argNumber)
		}
		return mkCall("range", TypeDynamic, a...)
	}
	if len(a) != 3 {
		ck.fail(c.NamePos, "range of %ss needs a timespan step, such as range(start, stop, 1h)", t)
	}
	if a[1].typ() != t {
		ck.fail(c.Args[1].Position(), "the stop of range must be a %s like its start, but it is %s", t, a[1].typ())
	}
	if a[2].typ() != TypeTimespan {
		ck.fail(c.Args[2].Position(), "the step of range must be a timespan, but it is %s", a[2].typ())
	}
	return mkCall("_tb_range_time", TypeDynamic, a...)
}

// rangeTimeSQL: as range of numbers, stop included, at most 1,048,576
// elements, written as Kusto writes datetimes and timespans in dynamic
// values.
func rangeTimeSQL(c sqlCall) frag {
	us := func(i int) frag { return cat("epoch_us(", c.arg(i), ")") }
	n := cat("least(greatest(CAST(floor((", us(1), " - ", us(0), ") / ", us(2), ") AS BIGINT) + 1, 0), 1048576)")
	elem := cat("(", c.arg(0), " + to_microseconds(i * ", us(2), "))")
	return cat("(CASE WHEN ", us(2), " = 0 THEN NULL ELSE to_json(list_transform(range(", n, "), i -> ", c.pl.duckJSON(elem, c.typ(0)), ")) END)")
}
