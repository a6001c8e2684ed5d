package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// getMe calls /users/me with client and returns the username.
func getMe(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	resp, err := client.Get(base + "/users/me")
	if err != nil {
		t.Fatalf("GET /users/me: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var me struct{ Username string }
	if err := json.Unmarshal(body, &me); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET /users/me: %d %s", resp.StatusCode, body)
	}
	return me.Username
}

// TestOAuth2Client drives the example with golang.org/x/oauth2, the
// standard Go client: login with PasswordCredentialsToken, calls through
// cfg.Client, and a TokenSource that refreshes by itself (RFC 6749 §6).
func TestOAuth2Client(t *testing.T) {
	tests := []struct {
		name         string
		clientID     string
		style        oauth2.AuthStyle
		wantClientID string // the access token's client_id claim
	}{
		// AutoDetect sends an HTTP Basic header first: "demo-client:" or,
		// with no client id, the empty "Og==".
		{"auto-detect, named client", "demo-client", oauth2.AuthStyleAutoDetect, "demo-client"},
		{"auto-detect, no client id", "", oauth2.AuthStyleAutoDetect, "tollgate"},
		{"in header", "demo-client", oauth2.AuthStyleInHeader, "demo-client"},
		{"in params", "demo-client", oauth2.AuthStyleInParams, "demo-client"},
		{"in params, no client id", "", oauth2.AuthStyleInParams, "tollgate"},
	}
	s := newTestServer(t, nil, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, s.srv.Client())
			cfg := &oauth2.Config{
				ClientID: tt.clientID,
				Endpoint: oauth2.Endpoint{TokenURL: s.srv.URL + "/token", AuthStyle: tt.style},
			}
			tok, err := cfg.PasswordCredentialsToken(ctx, "alice", "wonderland")
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken == "" || time.Until(tok.Expiry) < 10*time.Minute {
				t.Fatalf("token: type %q, refresh token set %v, expiry in %v; want Bearer, true, about 15m",
					tok.TokenType, tok.RefreshToken != "", time.Until(tok.Expiry))
			}
			if got := tok.Extra("scope"); got != "me items:read items:write" {
				t.Errorf("scope = %v, want alice's three scopes", got)
			}
			if _, claims, _, _ := jwtParts(t, tok.AccessToken); claims["client_id"] != tt.wantClientID {
				t.Errorf("client_id claim = %v, want %q", claims["client_id"], tt.wantClientID)
			}
			if got := getMe(t, cfg.Client(ctx, tok), s.srv.URL); got != "alice" {
				t.Errorf("GET /users/me = %q, want alice", got)
			}

			// The client thinks the access token expired: the TokenSource
			// refreshes before the call, and the call succeeds.
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			ts := cfg.TokenSource(ctx, &expired)
			if got := getMe(t, oauth2.NewClient(ctx, ts), s.srv.URL); got != "alice" {
				t.Errorf("GET /users/me after refresh = %q, want alice", got)
			}
			fresh, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
				t.Fatal("the TokenSource did not get a new access token and a rotated refresh token")
			}
			if got := fresh.Extra("scope"); got != "me items:read items:write" {
				t.Errorf("scope after refresh = %v, want the original grant", got)
			}
			if _, claims, _, _ := jwtParts(t, fresh.AccessToken); claims["client_id"] != tt.wantClientID {
				t.Errorf("client_id claim after refresh = %v, want %q", claims["client_id"], tt.wantClientID)
			}

			// RFC 9700 §4.14.2: the spent refresh token, presented again,
			// fails and revokes the family, so the rotated one fails too.
			_, err = cfg.TokenSource(ctx, &expired).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh with the spent token: %v, want invalid_grant", err)
			}
			fresh.Expiry = time.Now().Add(-time.Minute)
			if _, err := cfg.TokenSource(ctx, fresh).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh with the rotated token after reuse: %v, want invalid_grant", err)
			}
		})
	}
}

// TestOAuth2ClientShortAccessTTL: x/oauth2 treats a token as expired 10
// seconds before its expiry, so with a 5-second access lifetime the
// TokenSource refreshes before every call. Each refresh rotates the
// refresh token, and every call succeeds.
func TestOAuth2ClientShortAccessTTL(t *testing.T) {
	s := newTestServer(t, []string{"-access-ttl", "5s"}, nil)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, s.srv.Client())
	cfg := &oauth2.Config{ClientID: "demo-client", Endpoint: oauth2.Endpoint{TokenURL: s.srv.URL + "/token"}}
	tok, err := cfg.PasswordCredentialsToken(ctx, "bob", "builder")
	if err != nil {
		t.Fatalf("PasswordCredentialsToken: %v", err)
	}
	ts := cfg.TokenSource(ctx, tok)
	client := oauth2.NewClient(ctx, ts)
	seen := map[string]bool{tok.RefreshToken: true}
	const calls = 3
	for i := range calls {
		if got := getMe(t, client, s.srv.URL); got != "bob" {
			t.Fatalf("call %d: GET /users/me = %q, want bob", i, got)
		}
		cur, err := ts.Token() // refreshes once more: the token is always "expired"
		if err != nil {
			t.Fatal(err)
		}
		if seen[cur.RefreshToken] {
			t.Fatalf("call %d: refresh token not rotated", i)
		}
		seen[cur.RefreshToken] = true
	}
	if n := strings.Count(s.log.String(), "type=refresh_rotated"); n != 2*calls {
		t.Errorf("%d refresh_rotated events, want %d (one per Token call)", n, 2*calls)
	}
	if strings.Contains(s.log.String(), "type=refresh_reused") {
		t.Error("a refresh token was presented twice")
	}
}
