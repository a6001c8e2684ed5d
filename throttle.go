package tollgate

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-go/tollgate/audit"
	"github.com/tollgate-go/tollgate/internal/jose"
)

// This file holds the brute-force and overload defences of the token
// endpoint: the login throttle (failed logins per username and per client
// IP) and the bound on concurrent password hashes.

// LoginLimits are the defences of the password grant (Config.Logins):
// the login throttle and the bound on concurrent password hashes. The zero
// value of every field selects the documented default.
//
// The throttle: each username and each client IP has a window that opens
// with its first failed login and lasts Window. Once a window holds the
// maximum number of failures, further logins for that username, or from
// that IP, are answered 429 with Retry-After (the end of the window)
// without looking the user up or running the password hash. A successful
// login clears its username's window and does not count against its IP.
// Attempts still being checked count as failures until they succeed, so a
// burst of concurrent guesses cannot slip past the limit while the hashes
// run.
//
// The per-username limit protects one account against guessing from many
// addresses. So that it is not a free denial of service against the user
// (OWASP Authentication Cheat Sheet, "Account Lockout"), a locked username
// stays open to the addresses it logged in from in the last 30 days, each
// with its own FailuresPerUsername; what an attacker who knows a username
// can still do is keep it locked for addresses it never logged in from
// (a new device, a new network), for the Window at a time, answered with
// Retry-After, while the user's tokens and refresh tokens keep working.
// Unknown usernames are throttled exactly like known ones, so the throttle
// says nothing about which accounts exist.
//
// The hash bound: at most ConcurrentHashes password hashes (bcrypt,
// Argon2id) run at once, so a login flood queues for CPU instead of piling
// up goroutines and, for Argon2id, memory. A login that waits longer than
// HashQueueWait for a slot is answered 503 temporarily_unavailable with
// Retry-After. The slots are shared fairly between client addresses: a
// freed slot goes to the waiting login whose address made the fewest
// logins in the window, so a flood from many addresses cannot keep a
// login from a quiet one waiting. The bound cannot be turned off.
type LoginLimits struct {
	// DisableThrottle turns the throttle off (the hash bound stays), for a
	// service throttled in front of it. Default false.
	DisableThrottle bool

	// FailuresPerUsername is the number of failed logins allowed per
	// username in one Window. Default 10.
	FailuresPerUsername int

	// FailuresPerIP is the number of failed logins allowed per client IP
	// (IPv6: per /64 network, the usual allocation to one host or site) in
	// one Window. Default 50, to leave room for several users behind one
	// NAT. A login shed for want of a hashing slot (503) counts as a
	// failure: it costs the client what a checked one costs.
	FailuresPerIP int

	// SuccessesPerUsername and SuccessesPerIP bound successful logins in
	// one Window, so that holding an account (or a few) does not buy the
	// hashing slots: a client looping successful logins is answered 429
	// like a guesser. Defaults 30 and 300.
	SuccessesPerUsername int
	SuccessesPerIP       int

	// Window is how long failures are remembered, counted from the first
	// failure of the window. Default 15 minutes.
	Window time.Duration

	// MaxEntries bounds the usernames and the IPs tracked (each table
	// separately), so that a flood of distinct usernames or addresses
	// cannot grow memory without bound: past it the oldest windows are
	// forgotten. An entry takes about 100 bytes (usernames are kept as
	// 64-bit keyed hashes, not as text). Default 100 000.
	MaxEntries int

	// TrustedProxyHeader names a request header set by a reverse proxy in
	// front of the service that holds the client's address, such as
	// "X-Forwarded-For" or "X-Real-IP". The right-most address of the
	// header (its last value, last comma-separated element) is used: the
	// one the nearest proxy appended. Default "": the address is taken from
	// the connection (http.Request.RemoteAddr).
	//
	// Set it only when every request reaches the service through a proxy
	// that sets or appends this header: otherwise a client writes the
	// header itself and chooses its own address, escaping the per-IP limit
	// (and can throttle another address). With several proxies in a chain
	// the right-most address is the second proxy's, not the client's; name
	// a header that the outermost proxy sets instead. When the header is
	// missing or not an IP address, RemoteAddr is used.
	TrustedProxyHeader string

	// ConcurrentHashes bounds the password hashes that run at once.
	// Default GOMAXPROCS: hashes are CPU-bound, so more slots than cores
	// add no throughput and only lengthen each login.
	ConcurrentHashes int

	// HashQueueWait is how long a login waits for a hashing slot when all
	// are taken, before the 503. Default 1 second.
	HashQueueWait time.Duration

	// Shared, if set, also counts every attempt in a store that all the
	// replicas of the service share (redisstore's Counters), with the
	// same limits, so that N replicas do not allow N times the guesses: a
	// username locked on one replica is locked on all, and an address
	// that logged in through one is known to all. The local throttle
	// stays in front of it. A login that cannot reach the store is
	// refused with 503 (brute force must not get through while the
	// counters are out of reach). Counter keys hold no username, only a
	// hash of it.
	Shared CounterStore
}

// Defaults of LoginLimits.
const (
	defaultFailuresPerUsername = 10
	defaultFailuresPerIP       = 50
	defaultSuccessesPerUser    = 30
	defaultSuccessesPerIP      = 300
	defaultThrottleWindow      = 15 * time.Minute
	defaultThrottleMaxEntries  = 100_000
	defaultHashQueueWait       = time.Second
)

// resolve checks l and applies its defaults.
func (l *LoginLimits) resolve() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("tollgate: "+format, args...)) }
	if l.FailuresPerUsername < 0 || l.FailuresPerIP < 0 || l.SuccessesPerUsername < 0 || l.SuccessesPerIP < 0 || l.Window < 0 || l.MaxEntries < 0 || l.ConcurrentHashes < 0 || l.HashQueueWait < 0 {
		bad("Config.Logins: negative limit")
	}
	if l.Shared != nil && l.DisableThrottle {
		bad("Config.Logins.Shared counts the throttle's attempts, and DisableThrottle turns the throttle off")
	}
	if l.TrustedProxyHeader != "" && !validHeaderName(l.TrustedProxyHeader) {
		bad("Config.Logins.TrustedProxyHeader %q is not a header name", l.TrustedProxyHeader)
	}
	setDefault(&l.FailuresPerUsername, defaultFailuresPerUsername)
	setDefault(&l.FailuresPerIP, defaultFailuresPerIP)
	setDefault(&l.SuccessesPerUsername, defaultSuccessesPerUser)
	setDefault(&l.SuccessesPerIP, defaultSuccessesPerIP)
	setDefault(&l.Window, defaultThrottleWindow)
	setDefault(&l.MaxEntries, defaultThrottleMaxEntries)
	setDefault(&l.ConcurrentHashes, defaultConcurrentHashes())
	setDefault(&l.HashQueueWait, defaultHashQueueWait)
	return errs
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 §5.1).
func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(jose.IsB64URL(c) || strings.IndexByte("!#$%&'*+.^`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// retryAfterError is an *Error answered with a Retry-After header
// (RFC 9110 §10.2.3).
type retryAfterError struct {
	err   *Error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// retryAfterSeconds returns the Retry-After value of err, if it has one:
// whole seconds, rounded up, at least 1.
func retryAfterSeconds(err error) (string, bool) {
	var ra *retryAfterError
	if !errors.As(err, &ra) {
		return "", false
	}
	s := int64((ra.after + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10), true
}

// Causes of the load-shedding answers, for errors.Is and logs.
var (
	errThrottled = errors.New("tollgate: too many failed logins")
	errHashBusy  = errors.New("tollgate: too many password hashes at once")
)

// busy returns the answer to a login that found every hashing slot taken.
func (a *Authenticator) busy() error {
	return &retryAfterError{err: kindUnavailable.new("", errHashBusy), after: a.cfg.Logins.HashQueueWait}
}

// acquireHash takes a hashing slot for a login of priority prio (see
// hashGate), waiting at most Config.Logins.HashQueueWait.
func (a *Authenticator) acquireHash(ctx context.Context, prio int) error {
	if !a.hashes.acquire(ctx, prio, a.cfg.Logins.HashQueueWait) {
		return a.busy()
	}
	return nil
}

// releaseHash gives back a slot taken by acquireHash.
func (a *Authenticator) releaseHash() { a.hashes.release() }

// verifyHash runs the hasher's Verify within the bound on concurrent
// hashes. Every password comparison of a login, the one against the dummy
// hash for unknown users included, goes through it.
func (a *Authenticator) verifyHash(ctx context.Context, prio int, hash []byte, password string) (bool, error) {
	if err := a.acquireHash(ctx, prio); err != nil {
		return false, err
	}
	defer a.releaseHash()
	return a.cfg.Hasher.Verify(hash, password)
}

// hashPassword runs the hasher's Hash within the bound on concurrent
// hashes.
func (a *Authenticator) hashPassword(ctx context.Context, prio int, password string) ([]byte, error) {
	if err := a.acquireHash(ctx, prio); err != nil {
		return nil, err
	}
	defer a.releaseHash()
	return a.cfg.Hasher.Hash(password)
}

// loginTicket is a login attempt counted by the throttle, settled by
// endLogin. prio is the number of logins its client address made in the
// window before it, the login's place among the waiters for a hashing
// slot (hashGate).
type loginTicket struct {
	user       uint64
	ip         netip.Addr
	counted    bool
	known      bool // the username is locked, and this is an address it logged in from
	sketched   bool // counted in the overflow sketch, the table being full of lockouts
	ipSketched bool // the address likewise
	prio       int

	username string        // with LoginLimits.Shared
	shared   *sharedTicket // the attempt in the shared counters, or nil
}

// startLogin counts a login attempt against the throttle, before the user
// is looked up, or refuses it with 429 when the username or the client IP
// is over one of its limits.
func (a *Authenticator) startLogin(r *http.Request, username, eventName, clientID string) (loginTicket, error) {
	t := a.throttle
	if t == nil {
		return loginTicket{}, nil
	}
	tk := loginTicket{user: maphash.String(t.seed, username), ip: t.clientIP(r), counted: true, username: username}
	retry, which := t.begin(&tk, a.now())
	if which == "" && a.cfg.Logins.Shared != nil {
		// The same limits over every replica's attempts.
		st, sretry, swhich, prio, err := a.sharedBegin(r.Context(), username, tk.ip)
		if err != nil || swhich != "" {
			t.refund(tk) // not counted here either
		}
		if err != nil {
			return loginTicket{}, err
		}
		retry, which = sretry, swhich
		tk.shared, tk.prio = &st, max(tk.prio, prio)
	}
	if which != "" {
		a.emit(r.Context(), r, audit.Event{Type: audit.LoginThrottled, Reason: which, Username: eventName, ClientID: clientID})
		return loginTicket{}, &retryAfterError{err: kindSlowDown.new("", errThrottled), after: retry}
	}
	return tk, nil
}

// endLogin settles an attempt: a success clears the username's failures
// and counts against the success limits instead of the IP's failures; a
// login shed for want of a hashing slot stays counted against its
// address, as a login that runs no hash must cost the attacker what one
// that does costs; any other server fault is not the client's and is
// refunded; a failure stays counted.
func (a *Authenticator) endLogin(ctx context.Context, tk loginTicket, ok bool, err error, now time.Time) {
	if !tk.counted {
		return
	}
	outcome := loginFailed
	switch {
	case ok:
		a.throttle.succeeded(tk, now)
		outcome = loginOK
	case errors.Is(err, errHashBusy):
		// Shed: its address pays, as for a checked guess; the username
		// does not, as no guess was checked (a user retrying during a
		// flood must not lock herself out).
		a.throttle.refundUser(tk)
		outcome = loginShed
	case err != nil:
		a.throttle.refund(tk)
		outcome = loginFault
	}
	if tk.shared != nil {
		// Settled even if the client went away, within a bound.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		a.sharedEnd(sctx, *tk.shared, tk.username, outcome)
		cancel()
	}
}

// throttle counts failed logins per username and per client IP in fixed
// windows, and successful ones likewise (with their own, higher limits).
// It starts no goroutine: expired windows are dropped lazily, on the next
// attempt, and each table is bounded by MaxEntries.
type throttle struct {
	seed   maphash.Seed // keys usernames; random, so collisions cannot be aimed
	header string       // the trusted proxy header, or ""
	window time.Duration

	mu           sync.Mutex
	users, okUsr windows[uint64]
	ips, okIPs   windows[netip.Addr]

	// known remembers the addresses each username logged in from (for
	// knownFor), and pairs counts the failures of a username from one of
	// them: a locked username stays open to its own known addresses, at
	// their own limit, so an attacker who knows a username cannot lock
	// its user out of the places the user logs in from.
	known knownPairs
	pairs windows[userIP]

	// overflow and ipOverflow count the failures of usernames and
	// addresses their tables have no room for (they are full of lockouts).
	overflow, ipOverflow sketch

	// nets counts every attempt per network (IPv4 /24, IPv6 /48), the
	// priority of its logins at the hash gate; never a limit.
	nets windows[netip.Addr]
}

// newThrottle makes the throttle of l, whose defaults are applied.
func newThrottle(c LoginLimits) *throttle {
	return &throttle{
		seed:   maphash.MakeSeed(),
		header: http.CanonicalHeaderKey(c.TrustedProxyHeader),
		window: c.Window,
		users:  newWindows[uint64](c.FailuresPerUsername, c.MaxEntries),
		ips:    newWindows[netip.Addr](c.FailuresPerIP, c.MaxEntries),
		okUsr:  newWindows[uint64](c.SuccessesPerUsername, c.MaxEntries),
		okIPs:  newWindows[netip.Addr](c.SuccessesPerIP, c.MaxEntries),
		known:  knownPairs{max: c.MaxEntries, perUser: maxKnownPerUser},
		pairs:  newWindows[userIP](c.FailuresPerUsername, c.MaxEntries),
		nets:   newWindows[netip.Addr](math.MaxInt, c.MaxEntries),
	}
}

// begin counts an attempt for tk and sets its priority, or, when its
// username or IP is over a limit, reports which (audit.ThrottledUsername
// or audit.ThrottledIP) and how long until the window ends. A refused
// attempt is not counted.
func (t *throttle) begin(tk *loginTicket, now time.Time) (time.Duration, audit.Reason) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.okUsr.expire(now, t.window)
	if d, over := t.okUsr.over(tk.user, now, t.window); over {
		return d, audit.ThrottledUsername
	}
	t.users.expire(now, t.window)
	if d, over := t.overflow.over(tk.user, now, t.window, t.users.limit); over && t.users.count(tk.user, now, t.window) == 0 {
		return d, audit.ThrottledUsername
	}
	if d, over := t.users.over(tk.user, now, t.window); over {
		// A locked username is still open to an address it logged in
		// from before (OWASP Authentication Cheat Sheet, account
		// lockout), at that address's own limit.
		pair := userIP{tk.user, tk.ip}
		if !tk.ip.IsValid() || !t.known.has(pair, now) {
			return d, audit.ThrottledUsername
		}
		t.pairs.expire(now, t.window)
		if d, over := t.pairs.over(pair, now, t.window); over {
			return d, audit.ThrottledUsername
		}
		tk.known = true
	}
	if tk.ip.IsValid() {
		for _, w := range []*windows[netip.Addr]{&t.ips, &t.okIPs} {
			w.expire(now, t.window)
			if d, over := w.over(tk.ip, now, t.window); over {
				return d, audit.ThrottledIP
			}
		}
		if t.ips.count(tk.ip, now, t.window) == 0 {
			if d, over := t.ipOverflow.over(ipKey(t.seed, tk.ip), now, t.window, t.ips.limit); over {
				return d, audit.ThrottledIP
			}
		}
		// The priority among waiters for a hashing slot comes from the
		// address's network (/24, /48), so that an attacker who takes a
		// fresh address per request is not always first.
		net := prefixOf(tk.ip)
		t.nets.expire(now, t.window)
		tk.prio = t.nets.count(net, now, t.window)
		t.nets.add(net, now, t.window)
	}
	// Both tables must take the attempt, or neither counts it: a table
	// full of lockouts refuses new keys rather than forget one. An attempt
	// through a known address counts in the pairs table instead of the
	// (locked) username's.
	users := func() (time.Duration, bool) { return t.users.add(tk.user, now, t.window) }
	undo := func() { t.users.sub(tk.user) }
	if tk.known {
		pair := userIP{tk.user, tk.ip}
		users = func() (time.Duration, bool) { return t.pairs.add(pair, now, t.window) }
		undo = func() { t.pairs.sub(pair) }
	}
	if _, ok := users(); !ok {
		// The table is full of lockouts: count this username in the
		// overflow sketch instead, which never evicts and never refuses
		// for want of room, so a flood of lockouts neither flushes one
		// nor locks every other username out.
		if d, over := t.overflow.over(tk.user, now, t.window, t.users.limit); over {
			return d, audit.ThrottledUsername
		}
		t.overflow.add(tk.user, now, t.window)
		tk.sketched = true
		undo = func() { t.overflow.sub(tk.user) }
	}
	if tk.ip.IsValid() {
		if _, ok := t.ips.add(tk.ip, now, t.window); !ok {
			// The address table is full of lockouts: the same overflow
			// as for usernames, keyed by the address's hash.
			h := ipKey(t.seed, tk.ip)
			if d, over := t.ipOverflow.over(h, now, t.window, t.ips.limit); over {
				undo()
				return d, audit.ThrottledIP
			}
			t.ipOverflow.add(h, now, t.window)
			tk.ipSketched = true
		}
	}
	return 0, ""
}

// succeeded settles a successful attempt: the username's failures are
// forgotten (unless it came through a known address of a locked username),
// the IP's failure taken back, the address remembered as known for the
// username, and the success counted (a success table full of lockouts does
// not count it).
func (t *throttle) succeeded(tk loginTicket, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case tk.known:
		// A success through a known address of a locked username does not
		// lift the lockout for other addresses: the guesses came from
		// elsewhere.
	case tk.sketched:
		t.overflow.sub(tk.user)
	default:
		t.users.remove(tk.user)
	}
	t.okUsr.add(tk.user, now, t.window)
	if tk.ip.IsValid() {
		t.unIP(tk)
		t.okIPs.add(tk.ip, now, t.window)
		pair := userIP{tk.user, tk.ip}
		t.pairs.remove(pair)
		t.known.add(pair, now)
	}
}

// refundUser takes back the username's count of an attempt, not the IP's.
func (t *throttle) refundUser(tk loginTicket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unUser(tk)
}

// unUser takes back tk's count for its username, wherever it was counted.
func (t *throttle) unUser(tk loginTicket) {
	switch {
	case tk.known:
		t.pairs.sub(userIP{tk.user, tk.ip})
	case tk.sketched:
		t.overflow.sub(tk.user)
	default:
		t.users.sub(tk.user)
	}
}

// unIP takes back tk's count for its address, wherever it was counted.
func (t *throttle) unIP(tk loginTicket) {
	if tk.ipSketched {
		t.ipOverflow.sub(ipKey(t.seed, tk.ip))
	} else {
		t.ips.sub(tk.ip)
	}
}

func (t *throttle) refund(tk loginTicket) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unUser(tk)
	if tk.ip.IsValid() {
		t.unIP(tk)
	}
}

// clientIP returns the address the per-IP limit applies to: from the
// trusted proxy header when configured and usable, else from RemoteAddr.
// IPv4-mapped IPv6 addresses are unmapped, and IPv6 addresses are reduced
// to their /64 network. The zero Addr means unknown: no per-IP limit.
func (t *throttle) clientIP(r *http.Request) netip.Addr {
	var ip netip.Addr
	if t.header != "" {
		if vs := r.Header[t.header]; len(vs) > 0 {
			v := vs[len(vs)-1]
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				v = v[i+1:]
			}
			ip = parseIP(strings.TrimSpace(v))
		}
	}
	if !ip.IsValid() {
		ip = parseIP(r.RemoteAddr)
	}
	if !ip.IsValid() {
		return ip
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		ip = p.Addr()
	}
	return ip
}

// parseIP parses "host:port", "[v6]:port" or a bare address.
func parseIP(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr()
	}
	ip, _ := netip.ParseAddr(s)
	return ip
}
