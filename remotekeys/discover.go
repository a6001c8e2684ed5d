package remotekeys

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// wellKnown is the RFC 8414 §3 well-known suffix.
const wellKnown = "/.well-known/oauth-authorization-server"

// Discover starts a Set from an issuer's identifier, such as
// "https://as.example.com": it fetches the issuer's RFC 8414 metadata (at
// the well-known URL of §3.1), checks that the metadata names exactly this
// issuer (§3.3: a document that names another issuer must not be used, or
// one issuer could pass for another), and fetches the set at its
// jwks_uri, as New does.
func Discover(ctx context.Context, issuer string, o Options) (*Set, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return nil, fmt.Errorf("remotekeys: %q is not an issuer identifier: an https URL without query or fragment (RFC 8414 §2)", issuer)
	}
	meta := *u
	meta.Path, meta.RawPath = wellKnown+strings.TrimSuffix(u.Path, "/"), ""
	client := o.Client
	if client == nil {
		client = defaultClient(u.Scheme)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meta.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("remotekeys: metadata of %s: %w", issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("remotekeys: metadata of %s: status %d", issuer, resp.StatusCode)
	}
	var m struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxSetBytes)).Decode(&m); err != nil {
		return nil, fmt.Errorf("remotekeys: metadata of %s: %w", issuer, err)
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("remotekeys: the metadata at %s names the issuer %q, not %q (RFC 8414 §3.3)", meta.String(), m.Issuer, issuer)
	}
	if m.JWKSURI == "" {
		return nil, fmt.Errorf("remotekeys: the metadata of %s has no jwks_uri", issuer)
	}
	return New(ctx, m.JWKSURI, o)
}
