// Package kit connects package tollgatetest to package tollgate's
// minting without an exported name in tollgate: tollgate sets Mint in an
// init function, and tollgatetest, which imports tollgate, calls it.
package kit

import "time"

// A Token is what the test kit asks to be minted.
type Token struct {
	Subject, Username, ClientID string
	Scopes                      []string
	Claims                      map[string]any // the service's own, as Config.Claims returns them
	IssuedAt, ExpiresAt         time.Time
}

// Mint signs t with the signing key of a, a *tollgate.Authenticator.
// Set by package tollgate.
var Mint func(a any, t Token) (string, error)
