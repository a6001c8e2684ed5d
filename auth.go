package tollgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/logflood"
)

// Config configures an [Authenticator]. The zero value of every optional
// field selects the documented default; [New] applies the defaults once,
// and the Authenticator keeps its own copy. Issuer, Audience and at least
// one key are always required; a service that issues tokens also sets
// SigningKey and Users.
type Config struct {
	// Issuer is the "iss" claim of issued tokens and the only issuer
	// accepted in presented ones. Required. An Authenticator that issues
	// tokens must have an absolute https URL without query or fragment,
	// such as "https://api.example.com" (RFC 8414 §2, the rules of the
	// metadata it publishes), or an http URL on a loopback host for
	// development; a verifier takes its issuer's value as it is.
	Issuer string

	// Audience lists the resource servers the tokens are for (the "aud"
	// claim, RFC 9068 §3). Issued tokens name all of them; a presented token
	// must name at least one. Required.
	Audience []string

	// Realm is the realm of the WWW-Authenticate challenge (RFC 6750 §3).
	// Default: Issuer.
	Realm string

	// ResourceMetadata, if set, is the URL of the service's protected
	// resource metadata ([Authenticator.ResourceMetadataHandler]), named
	// by the resource_metadata parameter of every challenge of protected
	// routes (RFC 9728 §5.1), so that a client that meets a 401 can find
	// the authorization server. An https URL (http on a loopback host).
	ResourceMetadata string

	// SigningKey signs access tokens; its algorithm is the key's own
	// (see [NewKey]). Required to issue tokens; nil makes a verifier-only
	// Authenticator, whose TokenHandler, RevokeHandler and Issue are not
	// available.
	SigningKey *Key

	// VerificationKeys are further keys whose tokens are accepted, looked up
	// by "kid": keys rotated out of signing (keep one until the last token it
	// signed has expired, that is AccessTTL after the rotation), or an
	// issuer's public keys in a service that only verifies. SigningKey
	// always verifies too.
	VerificationKeys []*Key

	// KeySource, if set, supplies further verification keys that change
	// over time: an issuer's JWK Set fetched over HTTP (package
	// remotekeys). When its keys change, tokens are verified against the
	// new set at once, and the verified-token cache starts anew, so a
	// token of a key the issuer removed stops working with it.
	KeySource KeySource

	// Issuers, for a resource server that trusts several authorization
	// servers, lists each with its own name, audiences and keys, in place
	// of Issuer, Audience, VerificationKeys and KeySource (leave those
	// empty): a token is checked only against the keys of the issuer its
	// "iss" names, and with that issuer's audiences. The other settings
	// hold for all. Such an Authenticator only verifies.
	Issuers []Issuer

	// Scopes registers every scope of the service, with a description.
	// Scopes not registered are never granted, and requiring one in
	// [Authenticator.RequireScopes] panics at setup. A user holding an
	// unregistered scope is a setup mistake: New reports it when Users is
	// a [ScopeLister], and otherwise the first login that meets it emits
	// audit.ScopeUnregistered.
	Scopes map[string]string

	// Users looks users up for the password and refresh grants. Required
	// to issue tokens.
	Users UserStore

	// Refresh keeps refresh tokens. If nil, no refresh tokens are issued,
	// the refresh_token grant is unsupported, and the Refresh* settings
	// below must stay zero.
	Refresh RefreshStore

	// Denylist, if set, makes access tokens revocable: every protected
	// request checks the token's "jti" against it (a token without jti is
	// then rejected), [Authenticator.RevokeHandler] denies an access token
	// presented to it, and revoking a refresh-token family denies the
	// access tokens issued with it. Default nil: access tokens stay valid
	// until they expire. memstore.Denylist is an in-memory one.
	Denylist Denylist

	// Clients says which clients may request tokens, and holds the
	// confidential ones (a [Client] with a SecretHash, made with Hasher),
	// which authenticate on every request and may use the
	// client_credentials grant. A request that names no client (no
	// client_id, or an empty HTTP Basic user) is made by the first-party
	// client "tollgate". If nil, any well-formed client id is accepted as
	// a public client (it cannot prove its id anyway, RFC 6749 §2.1), and
	// a request that presents a client secret gets invalid_client. If set,
	// a client it does not know, "tollgate" included, gets invalid_client.
	Clients ClientStore

	// Hasher checks passwords. Default: [Bcrypt](0), cost 12.
	Hasher PasswordHasher

	// AccessTTL is the lifetime of access tokens. Default 15 minutes.
	AccessTTL time.Duration

	// RefreshTTL is the lifetime of each refresh token. Default 30 days.
	RefreshTTL time.Duration

	// RefreshFamilyTTL is the absolute lifetime of a login: no rotation
	// extends a family past it. Default 90 days, and at least RefreshTTL.
	RefreshFamilyTTL time.Duration

	// RefreshMaxSessions bounds the refresh-token families (sessions) one
	// user holds: a login past it ends the user's oldest session. Default
	// 100.
	RefreshMaxSessions int

	// RefreshGracePeriod, when positive, lets a refresh token that was just
	// spent be presented once more within this time without the family
	// being revoked, for a client that lost the response to its refresh
	// (a dropped connection, a crash). The trade-off: a thief who races the
	// client within the period gets one token too, and the family lives on
	// with both. Default 0 (off): any reuse revokes the family, as RFC 9700
	// §4.14.2 describes. At most one minute.
	RefreshGracePeriod time.Duration

	// Leeway is the clock skew allowed when checking "exp", "nbf" and "iat".
	// Default 30 seconds; at most 5 minutes. Use a negative value for none.
	Leeway time.Duration

	// Claims, if set, adds claims of the service's own to every access
	// token it issues to a user (not to a client for itself, with the
	// client_credentials grant: there is no user), given the user it is issued to (as the UserStore
	// returned it, so User.Profile is at hand without a second lookup).
	// The values are written with encoding/json. The registered and
	// protocol claims (iss sub aud exp iat nbf jti scope client_id typ
	// preferred_username) cannot be set, in any case ("SUB" neither):
	// returning one is an issue-time error, as is a claim name that is not
	// UTF-8, more than 4 KiB of JSON, or a token that would be longer than
	// the 8 KiB tollgate verifies (many scopes and many claims). The login
	// then fails with server_error and the cause is logged. Handlers read
	// the claims back with [Principal.DecodeClaims].
	Claims func(ctx context.Context, u *User) (map[string]any, error)

	// LoadUser makes every protected request look the user up in Users and
	// reject tokens of users disabled or deleted since the token was issued
	// (FastAPI's get_current_active_user). The user is then in
	// Principal.User. A client's own token (Principal.Client) has no user:
	// its client is looked up in Clients instead, and refused once gone. Default false: access tokens are verified without a
	// store lookup.
	LoadUser bool

	// Tokens says where protected routes look for the access token
	// besides the Authorization header. Default: the header only.
	Tokens TokenSources

	// Cookies turns on cookie mode for browsers when its Path is set:
	// the refresh token in an HttpOnly cookie only, cross-origin requests
	// refused, and the handlers of [Authenticator.LoginHandler],
	// [Authenticator.RefreshHandler] and [Authenticator.LogoutHandler].
	// Default off.
	Cookies Cookies

	// Cache bounds the cache of verified access tokens. Default: on, with
	// at most 16 384 tokens and 16 MiB.
	Cache TokenCache

	// Logins sets the limits of the password grant: the login throttle and
	// the bound on concurrent password hashes. Default: the [LoginLimits]
	// defaults, all on.
	Logins LoginLimits

	// ErrorHandler writes the response when a request is rejected. It is
	// called after the WWW-Authenticate header is set (the challenge and the
	// 400/401/403 decision are not the handler's to change) and must write
	// the status and body. The error it gets is its own to keep or modify.
	// Default [DefaultErrorHandler].
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// OnEvent, if set, receives security events (logins, refresh rotation
	// and reuse, revocation, rejected requests with the typed cause). It
	// is called synchronously and must not block. Events carry no secrets.
	// audit.Slog writes them to a logger.
	OnEvent func(ctx context.Context, e audit.Event)

	// Logger receives server-side failures (a store error, for example)
	// and, at debug level, the cause of every rejected token. Tokens and
	// passwords are never logged. Default slog.Default().
	Logger *slog.Logger
}

// TokenSources says where protected routes look for an access token
// besides the Authorization header (RFC 6750 §2.1), which is always read.
// A request that sends a token in more than one way is invalid_request.
type TokenSources struct {
	// Query accepts the token in the "access_token" query parameter
	// (RFC 6750 §2.3). Default false: URLs end up in logs and Referer
	// headers.
	Query bool

	// Cookie, if set, is the name of a cookie that may carry the token
	// when there is no Authorization header. A request so authenticated
	// with an unsafe method must pass [http.CrossOriginProtection] (see
	// Config.Cookies.TrustedOrigins), else it is refused with 403
	// ([ErrCrossOrigin]): a cookie is sent by the browser on requests
	// that other sites make. Default: cookies are ignored.
	Cookie string
}

// TokenCache bounds the cache of verified access tokens. A token that
// passed every check is remembered, keyed by its exact text, until it
// expires, so a client that reuses its token skips the signature check
// and the decoding. Expiry ("exp", "nbf" with Leeway), the denylist, the
// scope check and Config.LoadUser still run on every request, and
// failures are never cached. The cache holds MaxEntries distinct tokens
// before any leaves; a full cache admits one new token in 16 and the
// oldest of its shard leaves for it, so that past its capacity a request
// costs no more than without a cache.
type TokenCache struct {
	// Disabled turns the cache off: every request verifies its token.
	Disabled bool
	// MaxEntries bounds the tokens held. Default 16 384.
	MaxEntries int
	// MaxBytes bounds the memory the tokens take, as counted by the
	// cache. Default 16 MiB.
	MaxBytes int
}

// Defaults and bounds of Config.
const (
	defaultAccessTTL        = 15 * time.Minute
	defaultRefreshTTL       = 30 * 24 * time.Hour
	defaultRefreshFamilyTTL = 90 * 24 * time.Hour
	defaultLeeway           = 30 * time.Second
	defaultClientID         = "tollgate"
	defaultCacheEntries     = 16384
	defaultCacheBytes       = 16 << 20
	maxLeeway               = 5 * time.Minute
	maxGracePeriod          = time.Minute
)

// An Authenticator issues and verifies tokens. It is safe for concurrent
// use; its configuration is fixed by [New].
type Authenticator struct {
	cfg    Config // every default applied: the one source of each setting
	scopes scopeRegistry
	keys   atomic.Pointer[keyRing] // replaced when KeySource's keys change; see ring
	ringMu sync.Mutex              // serialises the replacing
	now    func() time.Time

	dummyHash []byte
	challenge string // `Bearer realm="..."`

	cookies cookieMode                  // Config.Cookies, resolved
	origins *http.CrossOriginProtection // the check of cookie-authenticated requests

	throttle *throttle // nil: no login throttle
	hashes   *hashGate // the bound on concurrent password hashes

	// debugLimit bounds the debug lines of rejected tokens.
	debugLimit logflood.Limiter

	// issuers, with Config.Issuers, are the Authenticators of the trusted
	// issuers by "iss", and issuerOrder the same in Config order.
	issuers     map[string]*Authenticator
	issuerOrder []*Authenticator

	// reported holds the unregistered scopes of users already reported.
	reportMu sync.Mutex
	reported map[string]bool
}

// New checks cfg, fills in defaults and returns an Authenticator. All
// configuration errors are reported together.
func New(cfg Config) (*Authenticator, error) {
	if len(cfg.Issuers) > 0 {
		return newTrusting(cfg)
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("tollgate: "+format, args...)) }

	if cfg.Issuer == "" {
		bad("Config.Issuer is empty")
	} else if err := checkIssuer(cfg.Issuer); err != nil && cfg.SigningKey != nil {
		errs = append(errs, err)
	}
	if len(cfg.Audience) == 0 {
		bad("Config.Audience is empty")
	}
	for _, aud := range cfg.Audience {
		if aud == "" {
			bad("Config.Audience has an empty entry")
		}
	}
	cfg.Audience = append([]string(nil), cfg.Audience...)
	setDefault(&cfg.Realm, cfg.Issuer)
	if strings.ContainsAny(cfg.Realm, "\"\\\r\n") {
		bad("Config.Realm must not contain quotes, backslashes or line breaks")
	}
	if m := cfg.ResourceMetadata; m != "" {
		if u, err := url.Parse(m); err != nil || !u.IsAbs() || u.Host == "" || strings.ContainsAny(m, "\"\\ \r\n") ||
			!(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			bad("Config.ResourceMetadata %q is not an https URL (RFC 9728 §3)", m)
		}
	}
	issues := cfg.SigningKey != nil
	switch {
	case cfg.Users != nil && cfg.SigningKey == nil:
		bad("Config.Users is set but Config.SigningKey is nil: nothing to sign tokens with")
	case cfg.SigningKey != nil && !cfg.SigningKey.canSign():
		bad("Config.SigningKey holds no private key")
	}
	if cfg.Refresh == nil {
		if cfg.RefreshTTL != 0 || cfg.RefreshFamilyTTL != 0 || cfg.RefreshGracePeriod != 0 || cfg.RefreshMaxSessions != 0 {
			bad("Config.RefreshTTL, RefreshFamilyTTL, RefreshGracePeriod and RefreshMaxSessions need Config.Refresh: without a refresh store no refresh token is issued")
		}
	} else if cfg.Users == nil {
		bad("Config.Refresh is set but Config.Users is nil")
	}
	if !issues {
		if cfg.Claims != nil {
			bad("Config.Claims is set but the Authenticator issues no tokens (no Config.SigningKey)")
		}
		if cfg.Clients != nil || cfg.Hasher != nil || cfg.Logins != (LoginLimits{}) {
			bad("Config.Clients, Hasher and Logins are for issuing tokens, and this Authenticator only verifies (no Config.SigningKey)")
		}
	}
	setDefault(&cfg.AccessTTL, defaultAccessTTL)
	if cfg.Refresh != nil {
		setDefault(&cfg.RefreshTTL, defaultRefreshTTL)
		setDefault(&cfg.RefreshFamilyTTL, max(defaultRefreshFamilyTTL, cfg.RefreshTTL))
		setDefault(&cfg.RefreshMaxSessions, defaultMaxSessions)
	}
	setDefault(&cfg.Leeway, defaultLeeway)
	switch {
	case cfg.AccessTTL < 0 || cfg.RefreshTTL < 0 || cfg.RefreshFamilyTTL < 0 || cfg.RefreshMaxSessions < 0:
		bad("negative token lifetime")
	case cfg.RefreshFamilyTTL < cfg.RefreshTTL:
		bad("Config.RefreshFamilyTTL (%v) is shorter than Config.RefreshTTL (%v)", cfg.RefreshFamilyTTL, cfg.RefreshTTL)
	case cfg.RefreshGracePeriod < 0 || cfg.RefreshGracePeriod > maxGracePeriod:
		bad("Config.RefreshGracePeriod must be between 0 and %v", maxGracePeriod)
	case cfg.Leeway > maxLeeway:
		bad("Config.Leeway must be at most %v", maxLeeway)
	}
	cfg.Leeway = max(cfg.Leeway, 0)
	if cfg.LoadUser && cfg.Users == nil {
		bad("Config.LoadUser needs Config.Users")
	}
	cookies, cerrs := resolveCookies(&cfg)
	errs = append(errs, cerrs...)
	if cfg.Tokens.Cookie != "" && !validCookieName(cfg.Tokens.Cookie) {
		bad("Config.Tokens.Cookie %q is not a cookie name", cfg.Tokens.Cookie)
	}
	if cfg.Cache.MaxEntries < 0 || cfg.Cache.MaxBytes < 0 {
		bad("Config.Cache: negative bound")
	}
	setDefault(&cfg.Cache.MaxEntries, defaultCacheEntries)
	setDefault(&cfg.Cache.MaxBytes, defaultCacheBytes)
	errs = append(errs, cfg.Logins.resolve()...)
	setDefault(&cfg.Hasher, Bcrypt(0))
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = DefaultErrorHandler
	}
	setDefault(&cfg.Logger, slog.Default())

	scopes, err := newScopeRegistry(cfg.Scopes)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Scopes = scopes
	var srcKeys []*Key
	var srcVersion uint64
	if cfg.KeySource != nil {
		srcKeys, srcVersion = cfg.KeySource.Keys()
	}
	keys, err := newKeyRing(cfg.SigningKey, append(slices.Clip(cfg.VerificationKeys), srcKeys...), cfg.Cache)
	if err != nil {
		errs = append(errs, err)
	}
	keys.version = srcVersion
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if lister, ok := cfg.Users.(ScopeLister); ok {
		if err := checkHeldScopes(lister, scopes); err != nil {
			if !errors.Is(err, errUnregistered) {
				// The store is down, say: the first login that meets an
				// unregistered scope reports it instead.
				cfg.Logger.Warn("tollgate: could not check the scopes the users hold", "err", err)
			} else {
				return nil, err
			}
		}
	}

	a := &Authenticator{
		cfg:       cfg,
		scopes:    scopes,
		now:       time.Now,
		challenge: challenge(cfg),
		reported:  map[string]bool{},
		cookies:   cookies,
		origins:   newOriginCheck(cfg.Cookies.TrustedOrigins),
	}
	a.keys.Store(&keys)
	a.debugLimit = logflood.Limiter{Window: time.Second, Burst: 10}
	if issues {
		if !cfg.Logins.DisableThrottle {
			a.throttle = newThrottle(cfg.Logins)
		}
		a.hashes = newHashGate(cfg.Logins.ConcurrentHashes)
		a.dummyHash, err = dummyHash(cfg.Hasher)
		if err != nil {
			return nil, fmt.Errorf("tollgate: Config.Hasher: %w", err)
		}
	}
	if cfg.SigningKey != nil && cfg.SigningKey.generated {
		cfg.Logger.Warn("tollgate: WARNING: signing with a key generated in memory; every token it signs dies with this process. Load a key file (LoadKeyFile) in production.",
			"kid", cfg.SigningKey.ID(), "alg", cfg.SigningKey.Algorithm())
	}
	return a, nil
}

// challenge is the WWW-Authenticate challenge of protected routes before
// any error (RFC 6750 §3), with the metadata's URL (RFC 9728 §5.1).
func challenge(cfg Config) string {
	c := `Bearer realm="` + cfg.Realm + `"`
	if cfg.ResourceMetadata != "" {
		c += `, resource_metadata="` + cfg.ResourceMetadata + `"`
	}
	return c
}

// checkIssuer enforces the issuer rules of RFC 8414 §2 (which the
// metadata of issue 9 publishes): an absolute URL with the https scheme
// and no query or fragment; http only on a loopback host, for
// development.
func checkIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("tollgate: Config.Issuer %q is not an absolute URL such as https://api.example.com", iss)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(iss, "#") || u.User != nil {
		return fmt.Errorf("tollgate: Config.Issuer %q must not have a query, fragment or user info (RFC 8414 §2)", iss)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("tollgate: Config.Issuer %q uses http on a host that is not loopback; use https (RFC 8414 §2)", iss)
	}
	return fmt.Errorf("tollgate: Config.Issuer %q: the scheme must be https (or http on a loopback host)", iss)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validCookieName reports whether s is a cookie-name: an HTTP token
// (RFC 6265 §4.1.1).
func validCookieName(s string) bool { return validHeaderName(s) }

// setDefault sets *d to v when *d is the zero value.
func setDefault[T comparable](d *T, v T) {
	var zero T
	if *d == zero {
		*d = v
	}
}

// validClientID reports whether s is a client_id of RFC 6749 Appendix A.1:
// *VSCHAR (printable ASCII), non-empty, at most 255 bytes.
func validClientID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// A Principal is the verified caller of a protected request: the claims of
// its access token. [Authenticator.RequireScopes] stores it in the request
// context; [FromContext] returns it.
type Principal struct {
	Subject   string    // "sub": the user's stable id
	Username  string    // the login name ("preferred_username", or Subject)
	ClientID  string    // "client_id": the client the token was issued to
	Scopes    []string  // "scope": the granted scopes
	TokenID   string    // "jti"
	IssuedAt  time.Time // "iat"
	ExpiresAt time.Time // "exp"

	// Client says that the caller is a client acting for itself, with a
	// token of the client_credentials grant (RFC 6749 §4.4), not a user:
	// Subject and ClientID are then both the client's id (RFC 9068 §2.2).
	Client bool

	// User is the user as the UserStore returned it on this request; set
	// only with Config.LoadUser.
	User *User

	token string // the verified token, for DecodeClaims
	sid   string // "sid": its refresh-token family, with a denylist
}

// HasScope reports whether the token was granted scope.
func (p *Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// DecodeClaims decodes the claims of the verified access token into v
// with encoding/json, as json.Unmarshal does: a struct of the handler's
// own picks the claims it wants, those of Config.Claims included, by
// their JSON names. The claims were verified with the token; decoding
// runs only when called. A Principal made by hand, not by verification,
// has no claims: DecodeClaims then returns an error.
func (p *Principal) DecodeClaims(v any) error {
	payload, err := tokenPayload(p.token)
	if err != nil {
		return err
	}
	return jsonUnmarshal(payload, v)
}

// principalKey is the context key for *Principal values.
type principalKey struct{}

// NewContext returns a copy of ctx that carries p. Tests of handlers that
// sit behind [Authenticator.RequireScopes] use it to fake a caller.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal stored in ctx by
// [Authenticator.RequireScopes], if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// defaultConcurrentHashes is the default bound on concurrent hashes.
func defaultConcurrentHashes() int { return runtime.GOMAXPROCS(0) }
