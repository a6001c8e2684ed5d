package tollgate

import (
	"errors"

	"github.com/tollgate-go/tollgate/internal/kit"
)

// The test kit's access to minting (package tollgatetest): tokens of any
// subject, scopes, claims and times, signed as Issue signs them.
func init() {
	kit.Mint = func(x any, t kit.Token) (string, error) {
		a, ok := x.(*Authenticator)
		if !ok || a.ring().signing == nil {
			return "", errCannotIssue
		}
		for _, s := range t.Scopes {
			if !validScopeToken(s) {
				return "", errors.New("tollgate: " + safeScope(s) + " is not a scope-token (RFC 6749 §3.3)")
			}
		}
		extra, err := encodeClaims(t.Claims)
		if err != nil {
			return "", err
		}
		g := grantee{subject: t.Subject, username: t.Username, clientID: t.ClientID}
		if g.username == "" {
			g.username = g.subject
		}
		tok, _, err := a.mintAt(g, formatScope(t.Scopes), "", extra, t.IssuedAt, t.ExpiresAt)
		return tok, err
	}
}
