package tollgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Config configures an [Authenticator]. The zero value of every optional
// field selects the documented default. Issuer, Audience and at least one
// key are always required; a service that issues tokens also sets
// SigningKey and Users.
type Config struct {
	// Issuer is the "iss" claim of issued tokens and the only issuer
	// accepted in presented ones, e.g. "https://api.example.com". Required.
	Issuer string

	// Audience lists the resource servers the tokens are for (the "aud"
	// claim, RFC 9068 §3). Issued tokens name all of them; a presented token
	// must name at least one. Required.
	Audience []string

	// Realm is the realm of the WWW-Authenticate challenge (RFC 6750 §3).
	// Default: Issuer.
	Realm string

	// SigningKey signs access tokens; its algorithm is the key's own
	// (see [NewKey]). Required to issue tokens; nil makes a verifier-only
	// Authenticator whose TokenHandler is not available.
	SigningKey *Key

	// VerificationKeys are further keys whose tokens are accepted, looked up
	// by "kid": keys rotated out of signing (keep one until the last token it
	// signed has expired, that is AccessTTL after the rotation), or an
	// issuer's public keys in a service that only verifies. SigningKey
	// always verifies too.
	VerificationKeys []*Key

	// Scopes registers every scope of the service, with a description.
	// Scopes not registered are never granted, and requiring one in
	// [Authenticator.RequireScopes] panics at setup.
	Scopes map[string]string

	// Users looks users up for the password grant. Required to issue tokens.
	Users UserStore

	// Refresh keeps refresh tokens. If nil, no refresh tokens are issued and
	// the refresh_token grant is unsupported.
	Refresh RefreshStore

	// Hasher checks passwords. Default: Bcrypt{} (cost [DefaultBcryptCost]).
	Hasher PasswordHasher

	// ClientID is the id of the first-party public client: the client_id
	// claim (RFC 9068 §2.2) of tokens requested without naming a client.
	// Default "tollgate".
	ClientID string

	// Clients, if not nil, lists the public client ids (besides ClientID)
	// that may request tokens; others get invalid_client. If nil, any
	// well-formed client id is accepted, as a public client cannot prove its
	// id anyway (RFC 6749 §2.1). Clients with a secret are not supported:
	// a request that presents a non-empty client secret gets invalid_client.
	Clients []string

	// AccessTTL is the lifetime of access tokens. Default 15 minutes.
	AccessTTL time.Duration

	// RefreshTTL is the lifetime of each refresh token. Default 30 days.
	RefreshTTL time.Duration

	// RefreshFamilyTTL is the absolute lifetime of a login: no rotation
	// extends a family past it. Default 90 days, and at least RefreshTTL.
	RefreshFamilyTTL time.Duration

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

	// LoadUser makes every protected request look the user up in Users and
	// reject tokens of users disabled or deleted since the token was issued
	// (FastAPI's get_current_active_user). The user is then in
	// Principal.User. Default false: access tokens are verified without a
	// store lookup.
	LoadUser bool

	// DisableTokenCache turns off the cache of verified access tokens.
	// Default false: a token that passed every check is remembered, keyed
	// by its exact text, until it expires, so a client that reuses its
	// token skips the signature check and the decoding. Expiry ("exp",
	// "nbf" with Leeway), the scope check and Config.LoadUser still run on
	// every request, and failures are never cached. The cache holds at most
	// 16 384 tokens and 16 MiB of them; past either bound the oldest leave.
	DisableTokenCache bool

	// TokenFromQuery accepts the token in the "access_token" query
	// parameter (RFC 6750 §2.3) when there is no Authorization header.
	// Default false: URLs end up in logs and Referer headers.
	TokenFromQuery bool

	// TokenCookie, if set, is the name of a cookie that may carry the token
	// when there is no Authorization header. Default: cookies are ignored.
	TokenCookie string

	// ErrorHandler writes the response when a request is rejected. It is
	// called after the WWW-Authenticate header is set (the challenge and the
	// 400/401/403 decision are not the handler's to change) and must write
	// the status and body. Default [DefaultErrorHandler].
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// OnEvent, if set, receives security events (logins, refresh rotation
	// and reuse, revocation). It is called synchronously and must not
	// block. Events carry no secrets.
	OnEvent func(ctx context.Context, e Event)

	// Logger receives server-side failures (a store error, for example).
	// Tokens and passwords are never logged. Default slog.Default().
	Logger *slog.Logger

	// LoginThrottle limits failed password logins per username and per
	// client IP; over a limit the token endpoint answers 429 with
	// Retry-After and runs no hash. Default (nil): on, with the
	// [ThrottleConfig] defaults (10 failures per username and 50 per IP in
	// 15 minutes); set its Disabled field to turn it off.
	LoginThrottle *ThrottleConfig

	// MaxConcurrentHashes bounds the password hashes (bcrypt, Argon2id)
	// that run at once, so a login flood queues for CPU instead of piling
	// up goroutines and, for Argon2id, memory. Default 2×GOMAXPROCS.
	MaxConcurrentHashes int

	// HashQueueWait is how long a login waits for a hashing slot when all
	// MaxConcurrentHashes are taken; past it the token endpoint answers 503
	// temporarily_unavailable with Retry-After. Default 1 second; a
	// negative value means no wait.
	HashQueueWait time.Duration

	// Denylist, if set, makes access tokens revocable: every protected
	// request checks the token's "jti" against it (a token without jti is
	// then rejected), [Authenticator.RevokeHandler] denies an access token
	// presented to it, and revoking a refresh-token family denies the
	// access tokens issued with it. Default nil: access tokens stay valid
	// until they expire. memstore.Denylist is an in-memory one.
	Denylist Denylist
}

// Defaults and bounds of Config.
const (
	DefaultAccessTTL        = 15 * time.Minute
	DefaultRefreshTTL       = 30 * 24 * time.Hour
	DefaultRefreshFamilyTTL = 90 * 24 * time.Hour
	DefaultLeeway           = 30 * time.Second
	DefaultClientID         = "tollgate"
	maxLeeway               = 5 * time.Minute
	maxGracePeriod          = time.Minute
)

// An Authenticator issues and verifies tokens. It is safe for concurrent
// use; its configuration is fixed by [New].
type Authenticator struct {
	cfg     Config
	scopes  scopeRegistry
	users   UserStore
	refresh RefreshStore
	hasher  PasswordHasher
	logger  *slog.Logger
	errh    func(http.ResponseWriter, *http.Request, error)
	now     func() time.Time

	dummyHash []byte
	challenge string // `Bearer realm="..."`
	clients   map[string]bool
	keys      keyRing

	hardening // login throttle, hash bound, denylist (throttle.go)
}

// New checks cfg, fills in defaults and returns an Authenticator. All
// configuration errors are reported together.
func New(cfg Config) (*Authenticator, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("tollgate: "+format, args...)) }

	if cfg.Issuer == "" {
		bad("Config.Issuer is empty")
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
	if cfg.Realm == "" {
		cfg.Realm = cfg.Issuer
	}
	if strings.ContainsAny(cfg.Realm, "\"\\\r\n") {
		bad("Config.Realm must not contain quotes, backslashes or line breaks")
	}
	if cfg.Users != nil && cfg.SigningKey == nil {
		bad("Config.Users is set but Config.SigningKey is nil: nothing to sign tokens with")
	}
	if cfg.SigningKey != nil && !cfg.SigningKey.canSign() {
		bad("Config.SigningKey holds no private key")
	}
	if cfg.Refresh != nil && cfg.Users == nil {
		bad("Config.Refresh is set but Config.Users is nil")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	clients := map[string]bool{cfg.ClientID: true}
	for _, c := range cfg.Clients {
		if !validClientID(c) {
			bad("Config.Clients: %q is not a valid client id", c)
		}
		clients[c] = true
	}
	if !validClientID(cfg.ClientID) {
		bad("Config.ClientID %q is not a valid client id", cfg.ClientID)
	}
	if cfg.Clients == nil {
		clients = nil
	}
	setDefault(&cfg.AccessTTL, DefaultAccessTTL)
	setDefault(&cfg.RefreshTTL, DefaultRefreshTTL)
	setDefault(&cfg.RefreshFamilyTTL, max(DefaultRefreshFamilyTTL, cfg.RefreshTTL))
	setDefault(&cfg.Leeway, DefaultLeeway)
	switch {
	case cfg.AccessTTL < 0 || cfg.RefreshTTL < 0:
		bad("negative token lifetime")
	case cfg.RefreshFamilyTTL < cfg.RefreshTTL:
		bad("Config.RefreshFamilyTTL (%v) is shorter than Config.RefreshTTL (%v)", cfg.RefreshFamilyTTL, cfg.RefreshTTL)
	case cfg.RefreshGracePeriod < 0 || cfg.RefreshGracePeriod > maxGracePeriod:
		bad("Config.RefreshGracePeriod must be between 0 and %v", maxGracePeriod)
	case cfg.Leeway > maxLeeway:
		bad("Config.Leeway must be at most %v", maxLeeway)
	}
	if cfg.Leeway < 0 {
		cfg.Leeway = 0
	}
	if cfg.LoadUser && cfg.Users == nil {
		bad("Config.LoadUser needs Config.Users")
	}
	scopes, err := newScopeRegistry(cfg.Scopes)
	if err != nil {
		errs = append(errs, err)
	}
	keys, err := newKeyRing(cfg.SigningKey, cfg.VerificationKeys)
	if err != nil {
		errs = append(errs, err)
	}
	hard, herrs := newHardening(&cfg)
	errs = append(errs, herrs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	a := &Authenticator{
		cfg:       cfg,
		scopes:    scopes,
		users:     cfg.Users,
		refresh:   cfg.Refresh,
		hasher:    cfg.Hasher,
		logger:    cfg.Logger,
		errh:      cfg.ErrorHandler,
		now:       time.Now,
		challenge: `Bearer realm="` + cfg.Realm + `"`,
		clients:   clients,
		keys:      keys,
		hardening: hard,
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if cfg.SigningKey != nil && cfg.SigningKey.generated {
		a.logger.Warn("tollgate: WARNING: signing with a key generated in memory; every token it signs dies with this process. Load a key file (LoadKeyFile) in production.",
			"kid", cfg.SigningKey.ID(), "alg", cfg.SigningKey.Algorithm())
	}
	if a.hasher == nil {
		a.hasher = Bcrypt{}
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if a.errh == nil {
		a.errh = DefaultErrorHandler
	}
	if a.users != nil {
		a.dummyHash, err = a.hasher.Hash(dummyPassword)
		if err != nil {
			return nil, fmt.Errorf("tollgate: Config.Hasher: %w", err)
		}
	}
	return a, nil
}

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

	// User is the user as the UserStore returned it on this request; set
	// only with Config.LoadUser.
	User *User
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

// EventType names a security event.
type EventType string

// The events tollgate reports through Config.OnEvent.
const (
	EventLoginSucceeded    EventType = "login_succeeded"
	EventLoginFailed       EventType = "login_failed"        // Reason: unknown_user, wrong_password, user_disabled
	EventRefreshRotated    EventType = "refresh_rotated"     // a refresh token was spent and replaced
	EventRefreshReused     EventType = "refresh_reused"      // a spent refresh token came back: family revoked
	EventRefreshGraceReuse EventType = "refresh_grace_reuse" // a just-spent token honoured within the grace period
	EventRefreshRejected   EventType = "refresh_rejected"    // Reason: user_disabled, unknown_user
	EventTokenRevoked      EventType = "token_revoked"       // RFC 7009 revocation of a refresh family
)

// An Event is a security-relevant fact for audit logs. It never holds a
// password or a token.
type Event struct {
	Type       EventType
	Time       time.Time
	Subject    string // "sub" of the user concerned, when known
	Username   string // the username given or stored
	ClientID   string
	Family     string // the refresh-token family concerned
	Reason     string
	RemoteAddr string
	TokenID    string // "jti" of the access token concerned; an id, not a secret
}

// emit delivers e to Config.OnEvent.
func (a *Authenticator) emit(ctx context.Context, r *http.Request, e Event) {
	if a.cfg.OnEvent == nil {
		return
	}
	e.Time = a.now()
	if r != nil {
		e.RemoteAddr = r.RemoteAddr
	}
	a.cfg.OnEvent(ctx, e)
}

// writeError answers a token or revocation endpoint request with err
// (RFC 6749 §5.2). Server faults are logged with their cause.
func (a *Authenticator) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	// A 503 is load shedding (errBusy), not a fault: logging each would
	// turn a flood into a log flood.
	if !errors.As(err, &e) || e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		// A client that went away (its request context canceled) is not
		// a server fault; nobody reads the answer, so it is not logged.
		if r.Context().Err() == nil || !errors.Is(err, context.Canceled) {
			a.logger.ErrorContext(r.Context(), "tollgate: server error", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if e == nil {
			err = ErrServer.with(ErrServer.Description, err)
		}
	}
	if e != nil && e.Code == ErrInvalidClient.Code && e.Status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a 401 names the scheme the client used.
		w.Header().Set("WWW-Authenticate", `Basic realm="`+a.cfg.Realm+`", charset="UTF-8"`)
	}
	if secs, ok := retryAfterSeconds(err); ok {
		w.Header().Set("Retry-After", secs) // 429 throttled, 503 busy
	}
	a.errh(w, r, err)
}
