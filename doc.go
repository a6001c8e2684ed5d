// Package tollgate gives a net/http service the OAuth 2.0 password flow
// with JWT access tokens, scopes and rotating refresh tokens, as small
// composable middleware: what FastAPI's security utilities give a Python
// service, held to the standards rather than the tutorials. It follows
// RFC 6749 (the password and refresh_token grants and their error
// answers), RFC 6750 (Bearer tokens, WWW-Authenticate, 401 versus 403),
// RFC 7009 (revocation), RFC 7519 and RFC 8725 (JWT and its best current
// practice), RFC 9068 (the JWT access token profile) and RFC 9700 (refresh
// token rotation with reuse detection).
//
// The main path has three steps. [New] builds an [Authenticator] from a
// [Config]: a [UserStore], a [RefreshStore] (package memstore has
// in-memory ones), a signing [Key], the issuer and audience, and the
// registry of scopes. Mount [Authenticator.TokenHandler] at POST /token
// (and [Authenticator.RevokeHandler], [Authenticator.JWKSHandler]). Wrap
// each protected handler with [Authenticator.RequireScopes]; inside it,
// [FromContext] returns the verified caller as a [*Principal]. A service
// that only verifies tokens builds its Authenticator from the issuer's
// public keys alone ([ParseKeySet]).
//
// tollgate fails closed. The algorithm comes from the key, never from the
// token; "typ", "iss", "aud" and "exp" are required and checked; scopes
// are granted only when registered and held by the user, never because
// they were asked for. Passwords are hashed with bcrypt and checked in
// constant time, unknown users included. Refresh tokens are opaque 256-bit
// secrets stored only as hashes; each use rotates them, and a spent token
// presented again revokes its whole family. No password, token or secret
// is ever logged.
package tollgate
