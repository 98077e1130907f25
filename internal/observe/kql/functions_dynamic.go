package kql

// dynamicFunctions are Kusto's functions on arrays and property bags.
var dynamicFunctions = map[string]funcDef{
	"pack_array":              sig(1, variadic, TypeDynamic),
	"pack":                    sig(2, variadic, TypeDynamic).with(checkPack),
	"bag_pack":                sig(2, variadic, TypeDynamic).with(checkPack),
	"bag_keys":                sig(1, 1, TypeDynamic, argDynamic),
	"bag_merge":               sig(2, variadic, TypeDynamic, argDynamic),
	"bag_has_key":             sig(2, 2, TypeBool, argDynamic, argString),
	"array_length":            sig(1, 1, TypeLong, argDynamic),
	"array_concat":            sig(1, variadic, TypeDynamic, argDynamic),
	"array_slice":             sig(3, 3, TypeDynamic, argDynamic, argWhole, argWhole),
	"array_index_of":          sig(2, 2, TypeLong, argDynamic, argAny),
	"array_sum":               sig(1, 1, TypeReal, argDynamic),
	"array_reverse":           sig(1, 1, TypeDynamic, argDynamic),
	"array_sort_asc":          sig(1, variadic, TypeDynamic).with(checkArraySortOne(false)),
	"array_sort_desc":         sig(1, variadic, TypeDynamic).with(checkArraySortOne(true)),
	"series_fit_line_dynamic": sig(1, 1, TypeDynamic, argDynamic).with(goCall("_tb_series_fit_line", TypeDynamic)),
	"strcat_array":            sig(2, 2, TypeString, argDynamic, argString),
	"set_union":               sig(2, variadic, TypeDynamic, argDynamic),
	"set_intersect":           sig(2, variadic, TypeDynamic, argDynamic),
	"set_difference":          sig(2, variadic, TypeDynamic, argDynamic),
	"set_has_element":         sig(2, 2, TypeBool, argDynamic, argAny),
	"gettype":                 sig(1, 1, TypeString),
	"array_rotate_left":       sig(2, 2, TypeDynamic, argDynamic, argWhole),
	"array_rotate_right":      sig(2, 2, TypeDynamic, argDynamic, argWhole),
	"array_shift_left":        sig(2, 3, TypeDynamic, argDynamic, argWhole, argAny),
	"array_shift_right":       sig(2, 3, TypeDynamic, argDynamic, argWhole, argAny),
	"array_iff":               sig(3, 3, TypeDynamic, argDynamic, argAny, argAny),
	"array_iif":               sig(3, 3, TypeDynamic, argDynamic, argAny, argAny).alias("array_iff"),
	"bag_remove_keys":         sig(2, 2, TypeDynamic, argDynamic, argDynamic).with(goCall("_tb_bag_remove_keys", TypeDynamic)),
	"range":                   sig(2, 3, TypeDynamic, argAny, argAny, argAny).with(checkRange),
}

// checkPack: keys are strings, at the even positions.
func checkPack(ck *checker, c *Call, a []texpr) texpr {
	if len(a)%2 != 0 {
		ck.fail(c.NamePos, "%s takes pairs of key and value", c.Name)
	}
	for i := 0; i < len(a); i += 2 {
		a[i] = ck.argOfKind(c, i, a[i], argString)
	}
	return mkCall("pack", TypeDynamic, a...)
}
