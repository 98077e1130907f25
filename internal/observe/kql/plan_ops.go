package kql

import "strings"

func (pl *planner) join(r *relJoin) stage {
	left, right := pl.relation(r.left), pl.relation(r.right)
	la, ra := pl.alias(), pl.alias()
	ch := pl.d == ClickHouse
	lkeys := make([]string, len(r.leftKeys))
	rkeys := make([]string, len(r.rightKeys))
	for i := range r.leftKeys {
		lkeys[i] = quoteIdent(left.cols[r.leftKeys[i]])
		rkeys[i] = quoteIdent(right.cols[r.rightKeys[i]])
	}
	names := pl.sqlNames(r.cols, nil)
	switch r.kind {
	case "leftsemi", "leftanti", "rightsemi", "rightanti":
		keep, other, keepKeys, otherKeys := left, right, lkeys, rkeys
		if strings.HasPrefix(r.kind, "right") {
			keep, other, keepKeys, otherKeys = right, left, rkeys, lkeys
		}
		notNull := make([]string, len(otherKeys))
		for i, k := range otherKeys {
			notNull[i] = k + " IS NOT NULL"
		}
		sub := cat("(SELECT ", strings.Join(otherKeys, ", "), " FROM ", other.src, " AS ", pl.alias(), " WHERE ", strings.Join(notNull, " AND "), ")")
		op := " IN "
		if strings.HasSuffix(r.kind, "anti") {
			op = " NOT IN "
		}
		tuple := strings.Join(keepKeys, ", ")
		if len(keepKeys) > 1 {
			tuple = "(" + tuple + ")"
		}
		list := make([]frag, len(keep.cols))
		for i, c := range keep.cols {
			list[i] = raw(quoteIdent(c) + " AS " + quoteIdent(names[i]))
		}
		return stage{src: pl.selectFrom(joinFrags(list, ", "), keep, cat(" WHERE ", tuple, op, sub)), cols: names}
	}
	if ch {
		// ClickHouse 18.16 mixes up same-named columns of the two sides
		// (outer joins fail, filters above the join break), so each side
		// gets unique column names first.
		// A right key column selected from the join breaks a filter
		// above it, and is missing from right-only rows of outer joins,
		// so the ON clause uses a copy of each right key.
		// Left keys likewise: ClickHouse fills them from the right for
		// right-only rows.
		left = pl.renamed(left, r.leftKeys)
		right = pl.renamed(right, r.rightKeys)
		for i := range r.leftKeys {
			lkeys[i] = quoteIdent(left.cols[len(left.cols)-len(r.leftKeys)+i])
			rkeys[i] = quoteIdent(right.cols[len(right.cols)-len(r.rightKeys)+i])
		}
	}
	lsrc := left.src
	if r.kind == "innerunique" {
		// Kusto's default join keeps one (arbitrary) left row per key.
		if ch {
			// With a known row order, the first row of each key, as on DuckDB:
			// LIMIT BY keeps the first rows in the order given.
			order := ""
			if len(left.order) > 0 {
				order = " ORDER BY " + orderBy(left.order)
			}
			lsrc = cat("(SELECT * FROM ", left.src, " AS ", pl.alias(), order, " LIMIT 1 BY ", strings.Join(lkeys, ", "), ")")
		} else {
			// With a known row order, the first row of each key, as the
			// documentation's examples show.
			tail := ""
			if len(left.order) > 0 {
				tail = " ORDER BY " + strings.Join(lkeys, ", ") + ", " + orderBy(left.order)
			}
			lsrc = cat("(SELECT DISTINCT ON (", strings.Join(lkeys, ", "), ") * FROM ", left.src, " AS ", pl.alias(), tail, ")")
		}
	}
	joinKw := map[string]string{"innerunique": "INNER JOIN", "inner": "INNER JOIN", "leftouter": "LEFT JOIN",
		"rightouter": "RIGHT JOIN", "fullouter": "FULL JOIN"}[r.kind]
	if ch {
		joinKw = "ALL " + joinKw
	}
	var on []string
	for i := range lkeys {
		on = append(on, la+"."+lkeys[i]+" = "+ra+"."+rkeys[i])
	}
	list := make([]frag, len(r.out))
	for i, o := range r.out {
		if o.right {
			list[i] = raw(ra + "." + quoteIdent(right.cols[o.idx]) + " AS " + quoteIdent(names[i]))
		} else {
			list[i] = raw(la + "." + quoteIdent(left.cols[o.idx]) + " AS " + quoteIdent(names[i]))
		}
	}
	src := cat("(SELECT ", joinFrags(list, ", "), " FROM ", lsrc, " AS ", la, " ", joinKw, " ", right.src, " AS ", ra,
		" ON ", strings.Join(on, " AND "), ")")
	return stage{src: src, cols: names}
}

// renamed gives every column of a stage a fresh internal name.
// Copies of the columns at the indexes in copies are appended.
func (pl *planner) renamed(in stage, copies []int) stage {
	cols := make([]string, 0, len(in.cols)+len(copies))
	list := make([]frag, 0, len(in.cols)+len(copies))
	for _, c := range in.cols {
		cols = append(cols, pl.internal("j"))
		list = append(list, raw(quoteIdent(c)+" AS "+quoteIdent(cols[len(cols)-1])))
	}
	for _, i := range copies {
		cols = append(cols, pl.internal("j"))
		list = append(list, raw(quoteIdent(in.cols[i])+" AS "+quoteIdent(cols[len(cols)-1])))
	}
	// The input's order columns come along, hidden, so that a join can still
	// tell which row of a key came first.
	for _, c := range hiddenCols(in.order) {
		list = append(list, raw(quoteIdent(c)))
	}
	return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: cols, order: in.order}
}

func (pl *planner) union(r *relUnion) stage {
	names := pl.sqlNames(r.cols, nil)
	var branches []frag
	for i, in := range r.inputs {
		st := pl.relation(in)
		list := make([]frag, len(r.cols))
		for j, c := range r.cols {
			if k := r.maps[i][j]; k >= 0 {
				list[j] = raw(pl.d.unionColumn(quoteIdent(st.cols[k]), c.Type) + " AS " + quoteIdent(names[j]))
			} else {
				list[j] = raw(pl.d.unionNull(c.Type) + " AS " + quoteIdent(names[j]))
			}
		}
		branches = append(branches, cat("SELECT ", joinFrags(list, ", "), " FROM ", st.src, " AS ", pl.alias()))
	}
	return stage{src: cat("(", joinFrags(branches, " UNION ALL "), ")"), cols: names}
}

func (pl *planner) mvExpand(r *relMvExpand) stage {
	if pl.d == ClickHouse {
		pl.fail("mv-expand is not supported on ClickHouse 18.16, which cannot split JSON arrays")
	}
	in := pl.relation(r.in)
	names := pl.sqlNames(r.cols, hiddenCols(in.order))
	lists := make([]frag, len(r.items))
	for i, it := range r.items {
		x := pl.expr(it.expr, in.cols)
		bag := cat("list_transform(json_keys(", x, "), k -> json_object(k, ", x, " -> k))")
		if r.kindArray {
			bag = cat("list_transform(json_keys(", x, "), k -> to_json([to_json(k), ", x, " -> k]))")
		}
		l := cat("(CASE WHEN json_type(", x, ") = 'ARRAY' THEN CAST(", x, " AS JSON[]) WHEN json_type(", x, ") = 'OBJECT' THEN ", bag, " WHEN ", x, " IS NULL THEN [NULL::JSON] ELSE [", x, "] END)")
		if r.limit > 0 {
			n, _ := inlineNumber(float64(r.limit))
			l = cat("list_slice(", l, ", 1, "+n+")")
		}
		lists[i] = l
	}
	list := make([]frag, 0, len(r.cols))
	for i := range r.cols {
		if k := r.itemAt(i); k >= 0 {
			e := cat("unnest(", lists[k], ")")
			if t := r.cols[i].Type; t != TypeDynamic {
				e = pl.fromJSON(e, t)
			}
			list = append(list, cat(e, " AS ", quoteIdent(names[i])))
			continue
		}
		if i == r.index {
			lens := make([]frag, len(lists))
			for k, l := range lists {
				lens[k] = cat("len(", l, ")")
			}
			n := lens[0]
			if len(lens) > 1 {
				n = cat("greatest(", joinFrags(lens, ", "), ")")
			}
			list = append(list, cat("unnest(range(CAST(", n, " AS BIGINT))) AS ", quoteIdent(names[i])))
			continue
		}
		list = append(list, raw(quoteIdent(in.cols[i])+" AS "+quoteIdent(names[i])))
	}
	return stage{src: pl.selectFrom(joinFrags(list, ", "), in, frag{}), cols: names}
}

// itemAt is the item expanded into output column col, or -1.
func (r *relMvExpand) itemAt(col int) int {
	for k, it := range r.items {
		if it.col == col {
			return k
		}
	}
	return -1
}

// fromJSON converts a DuckDB JSON value to a scalar type.
func (pl *planner) fromJSON(x frag, t Type) frag {
	s := cat("(", x, " ->> '$')")
	if t == TypeString || t == TypeGUID {
		return s
	}
	return cat("TRY_CAST(", s, " AS ", pl.d.sqlType(t), ")")
}
