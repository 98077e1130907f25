package kql

// stringFunctions are Kusto's string functions.
var stringFunctions = map[string]funcDef{
	"indexof":                        sig(2, 3, TypeLong, argString, argString, argWhole),
	"reverse":                        sig(1, 1, TypeString, argString),
	"replace_string":                 sig(3, 3, TypeString, argString, argString, argString),
	"replace_regex":                  sig(3, 3, TypeString, argString, argConstString, argString).with(checkReplaceRegex(1)),
	"replace":                        sig(3, 3, TypeString, argConstString, argString, argString).with(checkReplaceRegex(0)),
	"strrep":                         sig(2, 3, TypeString, argString, argWhole, argString),
	"trim_start":                     sig(2, 2, TypeString, argConstString, argString).with(checkTrim("trim_start")),
	"trim_end":                       sig(2, 2, TypeString, argConstString, argString).with(checkTrim("trim_end")),
	"translate":                      sig(3, 3, TypeString, argString, argString, argString),
	"countof":                        sig(2, 3, TypeLong, argString, argString, argConstString).with(checkCountof),
	"extract_all":                    sig(2, 2, TypeDynamic, argConstString, argString).with(checkExtractAll),
	"strcmp":                         sig(2, 2, TypeLong, argString, argString),
	"strcat_delim":                   sig(3, variadic, TypeString).with(checkStrcatDelim),
	"base64_encode_tostring":         sig(1, 1, TypeString, argString),
	"base64_decode_tostring":         sig(1, 1, TypeString, argString),
	"url_decode":                     sig(1, 1, TypeString, argString),
	"to_utf8":                        sig(1, 1, TypeDynamic, argString).alias("unicode_codepoints_from_string"),
	"unicode_codepoints_from_string": sig(1, 1, TypeDynamic, argString),
	"unicode_codepoints_to_string":   sig(1, variadic, TypeString).with(checkCodepoints),
	"make_string":                    sig(1, variadic, TypeString, argWhole),
	"isascii":                        sig(1, 1, TypeBool, argString),
	"string_size":                    sig(1, 1, TypeLong, argString),
	"toguid":                         sig(1, 1, TypeGUID, argAny).with(checkToGUID),
}

func checkReplaceRegex(reArg int) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		ck.checkRegex(c, reArg, a)
		if reArg == 0 {
			// replace(regex, rewrite, text) is replace_regex(text, regex, rewrite).
			a = []texpr{a[2], a[0], a[1]}
		}
		return mkCall("replace_regex", TypeString, a...)
	}
}

func checkTrim(fn string) func(ck *checker, c *Call, a []texpr) texpr {
	return func(ck *checker, c *Call, a []texpr) texpr {
		ck.checkRegex(c, 0, a)
		return mkCall(fn, TypeString, a...)
	}
}

func checkCountof(ck *checker, c *Call, a []texpr) texpr {
	if len(a) == 3 {
		kind, _ := constString(a[2])
		switch kind {
		case "normal":
			a = a[:2]
		case "regex":
			ck.checkRegex(c, 1, a)
			return mkCall("countof_regex", TypeLong, a[0], a[1])
		default:
			ck.fail(c.Args[2].Position(), "the kind of countof must be \"normal\" or \"regex\"")
		}
	}
	return mkCall("countof", TypeLong, a...)
}

// maxExtractGroups bounds the SQL of a several-group extract_all, which
// extracts each group apart.
const maxExtractGroups = 16

func checkExtractAll(ck *checker, c *Call, a []texpr) texpr {
	re := ck.checkRegex(c, 0, a)
	if re.NumSubexp() > maxExtractGroups {
		ck.fail(c.Args[0].Position(), "extract_all takes at most %d capture groups, not %d", maxExtractGroups, re.NumSubexp())
	}
	return mkCall("extract_all", TypeDynamic, a...)
}

func checkStrcatDelim(ck *checker, c *Call, a []texpr) texpr {
	for i, x := range a {
		if x.typ() != TypeString {
			a[i] = mkCall("tostring", TypeString, x)
		}
	}
	return mkCall("strcat_delim", TypeString, a...)
}

func checkCodepoints(ck *checker, c *Call, a []texpr) texpr {
	for i, x := range a {
		ck.need(c, a, i, x.typ() == TypeDynamic || x.typ().isInteger(), "a whole number or an array of them")
	}
	return mkCall("unicode_codepoints_to_string", TypeString, a...)
}

func checkToGUID(ck *checker, c *Call, a []texpr) texpr {
	switch a[0].typ() {
	case TypeGUID:
		return a[0]
	case TypeString, TypeDynamic:
		return mkCall("toguid", TypeGUID, ck.argOfKind(c, 0, a[0], argString))
	}
	ck.need(c, a, 0, false, "a string")
	return nil
}
