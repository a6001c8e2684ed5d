package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// wellKnown is the RFC 8414 §3 well-known suffix.
const wellKnown = "/.well-known/oauth-authorization-server"

// metadata: tollgate metadata URL.
func metadata(e env, args []string) error {
	fs := flags(e, "metadata")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, e, "give the issuer URL or its metadata URL")
	}
	metaURL, issuer, err := metadataURLs(pos[0])
	if err != nil {
		return err
	}
	if !secureURL(metaURL, true) {
		return fmt.Errorf("%s: use https (http only on a loopback host)", metaURL)
	}
	body, err := fetch(metaURL)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		fmt.Fprintf(e.stdout, "FAIL the metadata is not a JSON object (RFC 8414 §3.2): %v\n", err)
		return errFailed
	}
	fmt.Fprintf(e.stdout, "metadata: %s\n", metaURL)
	failed := false
	for _, c := range checkMetadata(m, issuer) {
		mark := "ok  "
		if !c.ok {
			mark, failed = "FAIL", true
		}
		fmt.Fprintf(e.stdout, "%s %s\n", mark, c.what)
	}
	if failed {
		return errFailed
	}
	return nil
}

// metadataURLs returns the metadata URL for u and the issuer it must
// name: u is the issuer, or the metadata URL itself; the well-known part
// goes between the host and the issuer's path (RFC 8414 §3.1).
func metadataURLs(u string) (metaURL, issuer string, err error) {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || (p.Scheme != "https" && p.Scheme != "http") {
		return "", "", fmt.Errorf("%q is not an http or https URL", u)
	}
	if rest, ok := strings.CutPrefix(p.Path, wellKnown); ok {
		iss := *p
		iss.Path, iss.RawPath = rest, ""
		return u, strings.TrimSuffix(iss.String(), "/"), nil
	}
	// The issuer is compared exactly as given (RFC 8414 §3.3); only the
	// well-known path drops a trailing slash (§3.1).
	issuer = u
	m := *p
	m.Path, m.RawPath = wellKnown+strings.TrimSuffix(p.Path, "/"), ""
	return m.String(), issuer, nil
}

// A check is one rule and whether the metadata keeps it.
type check struct {
	what string
	ok   bool
}

// checkMetadata checks m, an authorization server's metadata, by RFC 8414
// §2 and §3.3, for the issuer it was fetched for.
func checkMetadata(m map[string]any, issuer string) []check {
	var out []check
	add := func(ok bool, format string, args ...any) { out = append(out, check{fmt.Sprintf(format, args...), ok}) }
	iss, _ := m["issuer"].(string)
	add(iss == issuer, "issuer %q is the issuer the metadata was fetched for, %q (RFC 8414 §3.3)", iss, issuer)
	add(secureURL(iss, false), "issuer is an https URL without query or fragment (RFC 8414 §2)")
	for _, name := range []string{"token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint", "authorization_endpoint"} {
		v, present := m[name]
		s, isString := v.(string)
		switch {
		case name == "token_endpoint" && !present:
			add(false, "token_endpoint is present (RFC 8414 §2)")
		case present:
			add(isString && secureURL(s, true), "%s %q is an https URL (RFC 8414 §2)", name, s)
		}
	}
	grants := stringList(m, "grant_types_supported", &out)
	if grants == nil {
		grants = []string{"authorization_code", "implicit"} // the default (§2)
	}
	if slices.Contains(grants, "authorization_code") || slices.Contains(grants, "implicit") {
		_, ok := m["authorization_endpoint"]
		add(ok, "authorization_endpoint is present, as the grant types %q use it (RFC 8414 §2)", grants)
	}
	_, ok := m["response_types_supported"]
	add(ok, "response_types_supported is present (RFC 8414 §2; empty for a server without an authorization endpoint)")
	stringList(m, "response_types_supported", &out)
	stringList(m, "scopes_supported", &out)
	stringList(m, "token_endpoint_auth_methods_supported", &out)
	stringList(m, "revocation_endpoint_auth_methods_supported", &out)
	stringList(m, "introspection_endpoint_auth_methods_supported", &out)
	return out
}

// stringList returns the member name of m if it is a JSON array of
// strings, and records a failed check if it is present and is not.
func stringList(m map[string]any, name string, out *[]check) []string {
	v, ok := m[name]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	list := make([]string, 0, len(arr))
	for _, x := range arr {
		s, isString := x.(string)
		ok = ok && isString
		list = append(list, s)
	}
	if !ok {
		*out = append(*out, check{name + " is a JSON array of strings (RFC 8414 §2)", false})
		return nil
	}
	return list
}

// secureURL reports whether s is an https URL (or http on a loopback
// host, for development) without a fragment, and without a query unless
// query is allowed (endpoints may have one; the issuer may not).
func secureURL(s string, query bool) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || strings.Contains(s, "#") || (!query && u.RawQuery != "") {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback())
}
