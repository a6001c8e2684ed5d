package main

// The upstream providers: their endpoints, and how their userinfo answer
// names the user.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"
)

// maxUserinfo bounds the userinfo answer read.
const maxUserinfo = 1 << 20

// An identity is who the provider says the user is: subject is the
// provider's immutable identifier of the account (GitHub's numeric id,
// OpenID Connect's "sub"); the rest is informational and may change.
type identity struct {
	subject string
	profile map[string]any
}

// A provider is the upstream of the logins.
type provider struct {
	name, title string
	oauth       oauth2.Config
	userinfoURL string
	accept      string // the userinfo request's Accept header
	parse       func([]byte) (identity, error)
}

// A preset is a provider's configuration before the flags' overrides.
type preset struct {
	title       string
	endpoint    oauth2.Endpoint
	userinfoURL string
	scopes      []string
	accept      string
	parse       func([]byte) (identity, error)
	needsSecret bool
}

// presets are the providers -provider names.
var presets = map[string]preset{
	// GitHub's OAuth apps: the public profile needs no scope; GitHub
	// takes the client credentials in the body (RFC 6749 §2.3.1 allows
	// it) and answers JSON to Accept: application/json, as x/oauth2 asks.
	"github": {
		title:       "GitHub",
		endpoint:    withAuthStyle(endpoints.GitHub, oauth2.AuthStyleInParams),
		userinfoURL: "https://api.github.com/user",
		accept:      "application/vnd.github+json",
		parse:       parseGitHubUser,
		needsSecret: true,
	},
	// Google as an OpenID Connect provider: its userinfo endpoint
	// (Core §5.3) answers "sub", and "email" with the scope email.
	"google": {
		title:       "Google",
		endpoint:    withAuthStyle(endpoints.Google, oauth2.AuthStyleInParams),
		userinfoURL: "https://openidconnect.googleapis.com/v1/userinfo",
		scopes:      []string{"openid", "email"},
		accept:      "application/json",
		parse:       parseOIDCUser,
		needsSecret: true,
	},
	// Any other provider with an OpenID Connect userinfo endpoint; the
	// client authenticates with HTTP Basic, which RFC 6749 §2.3.1 makes
	// every server support, or as a public client (no secret: PKCE alone).
	"custom": {
		title:    "the provider",
		endpoint: oauth2.Endpoint{AuthStyle: oauth2.AuthStyleInHeader},
		scopes:   []string{"openid"},
		accept:   "application/json",
		parse:    parseOIDCUser,
	},
}

// withAuthStyle returns e with its client authentication fixed: without
// it x/oauth2 probes, and sends a refused code a second time.
func withAuthStyle(e oauth2.Endpoint, s oauth2.AuthStyle) oauth2.Endpoint {
	e.AuthStyle = s
	return e
}

// providerNames lists the presets.
func providerNames() []string {
	return []string{"github", "google", "custom"}
}

// newProvider builds the provider of o: its preset with the flags'
// overrides, each URL checked.
func newProvider(o options) (*provider, error) {
	ps, ok := presets[o.provider]
	if !ok {
		return nil, fmt.Errorf("-provider %q: use one of %s", o.provider, strings.Join(providerNames(), ", "))
	}
	if o.clientID == "" {
		return nil, errors.New("-client-id is required: register a client (an OAuth app) at the provider, with the redirect URL <base-url>" + callbackPath)
	}
	if ps.needsSecret && o.clientSecret == "" {
		return nil, fmt.Errorf("%s needs the client secret: set %s (or -client-secret)", ps.title, secretEnv)
	}
	p := &provider{
		name: o.provider, title: ps.title, userinfoURL: ps.userinfoURL, accept: ps.accept, parse: ps.parse,
		oauth: oauth2.Config{
			ClientID: o.clientID, ClientSecret: o.clientSecret,
			Endpoint: ps.endpoint, Scopes: slices.Clone(ps.scopes),
		},
	}
	if o.clientSecret == "" {
		p.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams // client_id alone, RFC 6749 §4.1.3
	}
	for _, u := range []struct {
		flag string
		over string
		dst  *string
	}{
		{"-auth-url", o.authURL, &p.oauth.Endpoint.AuthURL},
		{"-token-url", o.tokenURL, &p.oauth.Endpoint.TokenURL},
		{"-userinfo-url", o.uiURL, &p.userinfoURL},
	} {
		if u.over != "" {
			*u.dst = u.over
		}
		if *u.dst == "" {
			return nil, fmt.Errorf("%s is required with -provider %s", u.flag, o.provider)
		}
		if err := checkURL(u.flag, *u.dst); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// errUserinfo is the cause of every userinfo failure; the details go to
// the log, never to the browser.
var errUserinfo = errors.New("userinfo")

// userinfo asks the provider who holds the upstream access token.
func (p *provider) userinfo(ctx context.Context, client *http.Client, accessToken string) (identity, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.userinfoURL, nil)
	if err != nil {
		return identity{}, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken) // RFC 6750 §2.1
	req.Header.Set("Accept", p.accept)
	resp, err := client.Do(req)
	if err != nil {
		return identity{}, fmt.Errorf("%w: %v", errUserinfo, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserinfo+1))
	switch {
	case err != nil:
		return identity{}, fmt.Errorf("%w: reading the answer: %v", errUserinfo, err)
	case resp.StatusCode != http.StatusOK:
		return identity{}, fmt.Errorf("%w: status %d", errUserinfo, resp.StatusCode)
	case len(body) > maxUserinfo:
		return identity{}, fmt.Errorf("%w: the answer is larger than %d bytes", errUserinfo, maxUserinfo)
	}
	id, err := p.parse(body)
	if err != nil {
		return identity{}, fmt.Errorf("%w: %v", errUserinfo, err)
	}
	return id, nil
}

// githubID is a GitHub user id: a positive integer, as a JSON number.
var githubID = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)

// parseGitHubUser reads GitHub's GET /user: {"id": 12345, "login": "octocat"}.
// The id is the subject; the login can be renamed, and another account
// can take a login given up.
func parseGitHubUser(body []byte) (identity, error) {
	var u struct {
		ID    json.RawMessage `json:"id"`
		Login string          `json:"login"`
	}
	if err := decodeObject(body, &u); err != nil {
		return identity{}, err
	}
	if !githubID.Match(u.ID) {
		return identity{}, errors.New(`no numeric "id"`)
	}
	return identity{subject: string(u.ID), profile: map[string]any{"login": u.Login}}, nil
}

// parseOIDCUser reads an OpenID Connect userinfo answer (Core §5.3.2):
// "sub" is the subject, at most 255 ASCII characters (Core §2); the
// email is kept only if verified, and never keys the user.
func parseOIDCUser(body []byte) (identity, error) {
	var u struct {
		Sub           string `json:"sub"`
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
	}
	if err := decodeObject(body, &u); err != nil {
		return identity{}, err
	}
	if !validSubject(u.Sub) {
		return identity{}, errors.New(`no "sub" of 1 to 255 printable ASCII characters`)
	}
	profile := map[string]any{}
	if u.EmailVerified == true && u.Email != "" {
		profile["email"] = u.Email
	}
	return identity{subject: u.Sub, profile: profile}, nil
}

// decodeObject decodes body, one JSON object, into v.
func decodeObject(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errors.New("not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("not a JSON object of the expected shape")
	}
	return nil
}

// validSubject reports whether s is 1 to 255 printable ASCII characters.
func validSubject(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
