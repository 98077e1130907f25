package kql

import (
	"encoding/json"
	"strings"
)

// Principal is who runs a query, as the Kubernetes apiserver authenticated them
// (the query API's TokenReview): the user name and groups it reported. On AKS with
// Microsoft Entra ID those are the Entra user and group names or object ids, which is
// why Kusto's aaduser= and aadgroup= names are compared with them too.
type Principal struct {
	Name   string
	Groups []string
}

// The principal functions are evaluated while the query is analysed, as Kusto does:
// their value is a constant of the query, not of a row. A query with no principal
// (a local store, `tugboat query --load`) runs as nobody: current_principal() is ""
// and no name is a member.
var principalFunctions = map[string]funcDef{
	"current_principal":              sig(0, 0, TypeString).with(checkCurrentPrincipal),
	"current_principal_is_member_of": sig(1, variadic, TypeBool, argAny).with(checkPrincipalIsMemberOf),
}

func (ck *checker) principal() *Principal {
	if ck.opts == nil {
		return nil
	}
	return ck.opts.Principal
}

// checkCurrentPrincipal names the caller in Kusto's fully qualified form, with
// tugboat's own kind: k8suser=NAME.
func checkCurrentPrincipal(ck *checker, _ *Call, _ []texpr) texpr {
	p := ck.principal()
	if p == nil {
		return &tLiteral{value: "", t: TypeString}
	}
	return &tLiteral{value: "k8suser=" + p.Name, t: TypeString}
}

// checkPrincipalIsMemberOf is true when one of the arguments (constant strings, or
// one constant dynamic array of them) names the caller: k8suser= or aaduser= its user
// name, k8sgroup= or aadgroup= one of its groups. Kusto's ";tenant" suffix is
// ignored, as a Kubernetes identity carries no tenant. Other kinds (aadapp=, msauser=)
// name nobody tugboat can authenticate.
func checkPrincipalIsMemberOf(ck *checker, c *Call, a []texpr) texpr {
	var names []string
	for i, arg := range a {
		if s, ok := constString(arg); ok {
			names = append(names, s)
			continue
		}
		if l, ok := arg.(*tLiteral); ok && l.t == TypeDynamic && len(a) == 1 {
			var list []string
			if s, isText := l.value.(string); isText && json.Unmarshal([]byte(s), &list) == nil {
				names = append(names, list...)
				continue
			}
		}
		ck.fail(c.Args[i].Position(), "the arguments of current_principal_is_member_of must be constant strings, or one constant dynamic array of strings")
	}
	p := ck.principal()
	member := false
	for _, n := range names {
		if p != nil && namesPrincipal(n, p) {
			member = true
		}
	}
	return &tLiteral{value: member, t: TypeBool}
}

func namesPrincipal(fqn string, p *Principal) bool {
	kind, name, ok := strings.Cut(strings.TrimSpace(fqn), "=")
	if !ok {
		return false
	}
	name, _, _ = strings.Cut(name, ";")
	switch strings.ToLower(kind) {
	case "k8suser", "aaduser":
		return name != "" && strings.EqualFold(name, p.Name)
	case "k8sgroup", "aadgroup":
		for _, g := range p.Groups {
			if name != "" && strings.EqualFold(name, g) {
				return true
			}
		}
	}
	return false
}
