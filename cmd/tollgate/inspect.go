package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
)

// why says what each reason of a rejected token means, in the words of
// the rule it breaks.
var why = map[audit.Reason]string{
	audit.Malformed:         "it is not a compact JWS (RFC 7515 §7.1), or its header, claims JSON or scope claim is malformed",
	audit.TooLarge:          "it is longer than the 8 KiB tollgate reads",
	audit.BadSignature:      "the signature does not verify with the key its kid names",
	audit.UnknownKey:        "no key of the key set has its kid",
	audit.WrongAlgorithm:    "its alg is not its key's (RFC 8725 §3.1)",
	audit.WrongType:         `its typ is not "at+jwt" (RFC 9068 §4)`,
	audit.UnsupportedHeader: "its header has crit, jku, x5u, jwk, x5c, b64 or zip (RFC 8725 §3.10)",
	audit.WrongIssuer:       "its iss is missing or not the issuer (RFC 9068 §4)",
	audit.WrongAudience:     "its aud names none of the audiences (RFC 9068 §4)",
	audit.NoSubject:         "it has no sub (RFC 9068 §2.2)",
	audit.NoExpiry:          "it has no exp (RFC 9068 §2.2)",
	audit.Expired:           "it is past its exp, beyond the leeway (RFC 7519 §4.1.4)",
	audit.NotYetValid:       "its nbf or iat is in the future, beyond the leeway (RFC 7519 §4.1.5)",
	audit.InvalidRequest:    "it is not a token that can be sent as a Bearer credential (RFC 6750 §2.1)",
}

// inspect: tollgate inspect [-jwks URL|FILE] [-issuer ISS] [-audience AUD] TOKEN|-.
func inspect(e env, args []string) error {
	fs := flags(e, "inspect")
	keysFrom := fs.String("jwks", "", "verify with the JWK Set at `URL` (https, or http on loopback) or in FILE")
	issuer := fs.String("issuer", "", "the issuer the token must name (default: the token's own iss, which then proves nothing)")
	audience := fs.String("audience", "", "an audience the token must name (default: the token's first aud)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, e, "give one token, or - to read it from standard input")
	}
	token := pos[0]
	if token == "-" {
		line, err := bufio.NewReader(io.LimitReader(e.stdin, 64<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		token = strings.TrimSpace(line)
	}
	header, claims, err := decode(token)
	if err != nil {
		fmt.Fprintf(e.stdout, "invalid: %v\n", err)
		return errFailed
	}
	fmt.Fprintf(e.stdout, "header: %s\nclaims: %s\n", header, claims)
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Exp *float64        `json:"exp"`
	}
	_ = json.Unmarshal(claims, &c)
	if c.Exp != nil {
		exp := time.Unix(int64(*c.Exp), 0)
		if d := time.Until(exp).Round(time.Second); d > 0 {
			fmt.Fprintf(e.stdout, "expires: %s (in %s)\n", exp.UTC().Format(time.RFC3339), d)
		} else {
			fmt.Fprintf(e.stdout, "expired: %s (%s ago)\n", exp.UTC().Format(time.RFC3339), -d)
		}
	}
	if *keysFrom == "" {
		fmt.Fprintln(e.stdout, "signature: not checked (give -jwks URL|FILE to verify)")
		return nil
	}
	keys, err := loadKeySet(*keysFrom)
	if err != nil {
		return err
	}
	iss, aud := *issuer, *audience
	if iss == "" {
		iss = c.Iss
		fmt.Fprintln(e.stdout, "note: no -issuer: the token's own iss is taken, which proves nothing")
	}
	if aud == "" {
		aud = firstAudience(c.Aud)
		fmt.Fprintln(e.stdout, "note: no -audience: the token's own aud is taken, which proves nothing")
	}
	if iss == "" || aud == "" {
		fmt.Fprintln(e.stdout, "invalid: the token names no iss or aud, and -issuer or -audience is not given")
		return errFailed
	}
	a, err := tollgate.New(tollgate.Config{
		Issuer: iss, Audience: []string{aud}, VerificationKeys: keys,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	p, err := a.Authenticate(r)
	if err != nil {
		reason := audit.ReasonOf(err)
		var te *tollgate.Error
		if reason == "" && errors.As(err, &te) && te.Code == "invalid_request" {
			reason = audit.InvalidRequest
		}
		text := why[reason]
		if text == "" {
			text = err.Error()
		}
		fmt.Fprintf(e.stdout, "invalid: %s: %s\n", reason, text)
		return errFailed
	}
	fmt.Fprintf(e.stdout, "valid: subject %q, scopes %q, client %q, issuer %q, audience %q\n", p.Subject, strings.Join(p.Scopes, " "), p.ClientID, iss, aud)
	return nil
}

// decode returns the header and claims of a compact JWS as indented
// JSON, without verifying anything.
func decode(token string) (header, claims []byte, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("not a compact JWS: %d segments, want 3 (RFC 7515 §7.1)", len(parts))
	}
	var out [2][]byte
	for i, name := range []string{"header", "claims"} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, nil, fmt.Errorf("the %s is not base64url without padding: %v", name, err)
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return nil, nil, fmt.Errorf("the %s is not JSON: %v", name, err)
		}
		out[i] = buf.Bytes()
	}
	return out[0], out[1], nil
}

// firstAudience returns the first audience of an aud claim (a string or
// an array of strings, RFC 7519 §4.1.3).
func firstAudience(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many[0]
	}
	return ""
}

// loadKeySet reads a JWK Set from a URL or a file; a file may also hold
// one key (PEM or JWK), of which the public half verifies.
func loadKeySet(from string) ([]*tollgate.Key, error) {
	if strings.HasPrefix(from, "https://") || strings.HasPrefix(from, "http://") {
		if !secureURL(from, true) {
			// Keys fetched over plain http can be swapped on the way: a
			// forged token would read "valid".
			return nil, fmt.Errorf("-jwks %s: use https (http only on a loopback host)", from)
		}
		body, err := fetch(from)
		if err != nil {
			return nil, err
		}
		return tollgate.ParseKeySet(body)
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return nil, err
	}
	if keys, err := tollgate.ParseKeySet(data); err == nil {
		return keys, nil
	}
	k, err := tollgate.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s holds neither a JWK Set nor a key: %w", from, err)
	}
	return []*tollgate.Key{k.Public()}, nil
}

// fetchClient follows a redirect only to a URL fetch would take itself:
// https (or http on a loopback host), never a downgrade to plain http.
var fetchClient = &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || !secureURL(req.URL.String(), true) {
		return fmt.Errorf("redirect to %s refused: not https", req.URL.Redacted())
	}
	return nil
}}

// fetch GETs a JSON document of at most 1 MiB.
func fetch(u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := fetchClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(body) > 1<<20 {
		return nil, fmt.Errorf("GET %s: more than 1 MiB", u)
	}
	return body, nil
}
