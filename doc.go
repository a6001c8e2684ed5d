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
// # The main path
//
// [New] builds an [Authenticator] from a [Config]: a [UserStore], a
// [RefreshStore] (package memstore has in-memory ones), a signing [Key],
// the issuer and audience, and the registry of scopes. Mount
// [Authenticator.TokenHandler] at POST /token (and
// [Authenticator.RevokeHandler], [Authenticator.JWKSHandler]). Wrap each
// protected handler with [Authenticator.RequireScopes]; inside it,
// [FromContext] returns the verified caller as a [*Principal]. A login
// endpoint of the service's own (a form, a passkey, a login with another
// provider) issues the same tokens with [Authenticator.Issue], and
// Config.Claims adds claims of the service's own, which handlers read
// with [Principal.DecodeClaims]. To document the routes as well, declare
// them once as [Route] values: [Authenticator.API] guards each with its
// scopes, and [API.OpenAPI] describes the same table as an OpenAPI 3.1
// document (routes.go, openapi.go).
//
// # The two halves
//
// OAuth 2.0 splits the work between an authorization server, which checks
// passwords and refresh tokens and issues tokens, and a resource server,
// which verifies a token on every request. One Authenticator can be
// either or both; a service behind a separate login service uses only the
// resource-server half, built from the issuer's public keys alone
// ([ParseKeySet], Config.VerificationKeys), or from its JWK Set URL,
// kept current (Config.KeySource with package remotekeys).
//
//   - The resource-server half starts at [Authenticator.RequireScopes]
//     (bearer.go: extraction and the RFC 6750 answers), which calls
//     verification (verify.go: key choice from the key ring, never from the
//     token; the claims policy), the verified-token cache (cache.go), the
//     keys and JWKS (keys.go, the only file that imports jwx; a
//     [KeySource] that changes them, keysource.go) and the optional
//     [Denylist] (denylist.go). The codecs it uses, with no state
//     of their own, are in internal/jose.
//   - The authorization-server half starts at [Authenticator.TokenHandler]
//     (grant.go: the form, client authentication, the password grant),
//     whose password grant and [Authenticator.Issue] share one issuing
//     path (token.go: scopes, minting, own claims), with refresh rotation
//     and revocation
//     (refresh.go), users and password hashing (password.go; Argon2id in
//     package argon2id), the login throttle and the hash bound
//     (throttle.go, its tables in throttletables.go, its counts shared by
//     replicas through a [CounterStore] in sharedthrottle.go) and the
//     clients ([ClientStore], clients.go).
//
// Security events, with a typed reason for every refusal, are in package
// audit; Config.OnEvent receives them and audit.Slog logs them.
//
// # Failing closed
//
// The algorithm comes from the key, never from the token; "typ", "iss",
// "aud" and "exp" are required and checked; scopes are granted only when
// registered and held by the user, never because they were asked for.
// Passwords are hashed with bcrypt and checked in constant time, unknown
// users included. Refresh tokens are opaque 256-bit secrets stored only as
// hashes; each use rotates them, and a spent token presented again revokes
// its whole family. No password, token or secret is ever logged.
package tollgate
