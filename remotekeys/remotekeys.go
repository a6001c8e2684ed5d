// Package remotekeys gives a resource server the verification keys of an
// issuer it does not share a process with, from the issuer's JWK Set URL
// (RFC 7517 §5; the jwks_uri of RFC 8414 metadata): a [tollgate.KeySource]
// for Config.KeySource. [Discover] starts from the issuer's identifier
// instead, through its RFC 8414 metadata.
//
//	keys, err := remotekeys.New(ctx, "https://as.example.com/.well-known/jwks.json", remotekeys.Options{})
//	if err != nil { ... } // the first fetch failed
//	defer keys.Close()
//	auth, err := tollgate.New(tollgate.Config{
//		Issuer:    "https://as.example.com",
//		Audience:  []string{"https://api.example.com"},
//		KeySource: keys,
//		...
//	})
//
// The set is fetched once by New, then again in the background when its
// Cache-Control max-age runs out (bounded by Options.MinRefresh and
// MaxRefresh), so a key the issuer adds or removes is picked up without a
// restart. A token naming a key id the set lacks makes tollgate ask for
// the set at once, at most once per Options.UnknownKeyInterval: key ids
// are the attacker's to choose, and each one must not cost the issuer a
// request. While the issuer is down, verification goes on with the keys
// fetched last, retried with backoff. Only keys the issuer published
// verify: a fetched set replaces the previous one whole, symmetric keys
// in it are refused (a published secret), and the verified-token cache
// starts anew with each new set, so a removed key's tokens stop working
// at once. Fetch failures and key changes are audit events.
//
// It uses only the standard library and tollgate.
package remotekeys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/audit"
)

// Options are a Set's policy. The zero value is the defaults.
type Options struct {
	// Client fetches the set; default: a client with a 10 s timeout that
	// follows no redirect to another scheme.
	Client *http.Client
	// MinRefresh and MaxRefresh bound the refresh interval taken from the
	// answer's Cache-Control max-age (default 1 minute and 24 hours); an
	// answer without max-age is refreshed every MaxRefresh/24 (1 hour by
	// default).
	MinRefresh, MaxRefresh time.Duration
	// UnknownKeyInterval is the least time between two fetches caused by
	// tokens naming unknown key ids (default 30 seconds).
	UnknownKeyInterval time.Duration
	// OnEvent gets the audit events (audit.KeySetChanged,
	// audit.KeySetFetchFailed), as Config.OnEvent does; nil: none.
	OnEvent func(context.Context, audit.Event)
	// Logger gets the fetch failures at warn level; default slog.Default().
	Logger *slog.Logger
}

// maxSetBytes bounds a fetched set: a JWK Set of a few keys is a few KB.
const maxSetBytes = 1 << 20

// Set is an issuer's JWK Set, kept current. It is a [tollgate.KeySource].
type Set struct {
	url string
	o   Options

	cur atomic.Pointer[snapshot]

	fetchMu     sync.Mutex // one fetch at a time
	lastUnknown time.Time  // the last fetch for an unknown key id, under fetchMu

	stop   context.CancelFunc
	done   chan struct{}
	closed sync.Once
}

// snapshot is one fetched set.
type snapshot struct {
	keys    []*tollgate.Key
	version uint64
	next    time.Duration // the refresh interval its answer asked for
}

var _ tollgate.KeySource = (*Set)(nil)

// New fetches the set at rawURL (https, or http on a loopback address)
// and starts refreshing it in the background until Close. It fails if the
// first fetch does: a resource server with no keys can verify nothing.
func New(ctx context.Context, rawURL string, o Options) (*Set, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return nil, fmt.Errorf("remotekeys: %q: the key set URL must be https (or http on a loopback address)", rawURL)
	}
	if o.Client == nil {
		o.Client = defaultClient(u.Scheme)
	}
	if o.MinRefresh <= 0 {
		o.MinRefresh = time.Minute
	}
	if o.MaxRefresh <= 0 {
		o.MaxRefresh = 24 * time.Hour
	}
	if o.MaxRefresh < o.MinRefresh {
		o.MaxRefresh = o.MinRefresh
	}
	if o.UnknownKeyInterval <= 0 {
		o.UnknownKeyInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Set{url: u.String(), o: o, done: make(chan struct{})}
	if err := s.fetch(ctx); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go s.loop(bg)
	return s, nil
}

// defaultClient is the client of Options.Client's default: a 10 s
// timeout, and a redirect only to a URL New itself would take (https,
// or http on a loopback host) and of the same scheme: never to plain
// http elsewhere, where the keys could be swapped on the way.
func defaultClient(scheme string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		u := req.URL
		secure := u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())
		if u.Scheme != scheme || !secure || len(via) >= 5 {
			return errors.New("remotekeys: redirect refused")
		}
		return nil
	}}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Keys returns the keys fetched last and their version.
func (s *Set) Keys() ([]*tollgate.Key, uint64) {
	c := s.cur.Load()
	return c.keys, c.version
}

// Refresh fetches the set again for a token naming an unknown key id,
// unless such a fetch happened within Options.UnknownKeyInterval, and
// returns the keys then current. A failed fetch keeps the keys.
//
// The fetch does not end with the request that caused it (the client's
// Options.Timeout bounds it): a client that asks with a made-up key id
// and hangs up at once must not use up the interval without a fetch.
func (s *Set) Refresh(ctx context.Context) ([]*tollgate.Key, uint64) {
	s.fetchMu.Lock()
	if time.Since(s.lastUnknown) >= s.o.UnknownKeyInterval {
		s.lastUnknown = time.Now()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = s.fetchLocked(fctx)
		cancel()
	}
	s.fetchMu.Unlock()
	return s.Keys()
}

// Close stops the background refresh. The keys stay usable.
func (s *Set) Close() {
	s.closed.Do(func() {
		s.stop()
		<-s.done
	})
}

// loop refreshes the set when its interval runs out, and retries a
// failed fetch with backoff (5 s doubling, at most the interval).
func (s *Set) loop(ctx context.Context) {
	defer close(s.done)
	failures := 0
	for {
		wait := s.cur.Load().next
		if failures > 0 {
			wait = min(5*time.Second<<min(failures-1, 10), wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.fetch(ctx); err != nil {
			failures++
		} else {
			failures = 0
		}
	}
}

// fetch fetches the set and installs it.
func (s *Set) fetch(ctx context.Context) error {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	return s.fetchLocked(ctx)
}

func (s *Set) fetchLocked(ctx context.Context) error {
	keys, next, err := s.get(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.event(ctx, audit.Event{Type: audit.KeySetFetchFailed, Detail: s.url + ": " + err.Error()})
			s.o.Logger.WarnContext(ctx, "remotekeys: fetching the key set failed; verifying with the keys fetched before", "url", s.url, "err", err)
		}
		return err
	}
	old := s.cur.Load()
	if old != nil && sameKeys(old.keys, keys) {
		s.cur.Store(&snapshot{keys: old.keys, version: old.version, next: next})
		return nil
	}
	var v uint64 = 1
	if old != nil {
		v = old.version + 1
		s.event(ctx, audit.Event{Type: audit.KeySetChanged, Detail: s.url + ": " + diff(old.keys, keys)})
	}
	s.cur.Store(&snapshot{keys: keys, version: v, next: next})
	return nil
}

// get fetches and parses the set, and the refresh interval its answer
// asks for.
func (s *Set) get(ctx context.Context) ([]*tollgate.Key, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" && mt != "application/jwk-set+json" {
			return nil, 0, fmt.Errorf("content type %q is not a JWK Set", ct)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSetBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxSetBytes {
		return nil, 0, fmt.Errorf("the key set is over %d bytes", maxSetBytes)
	}
	keys, err := tollgate.ParseKeySet(body)
	if err != nil {
		return nil, 0, err
	}
	if len(keys) == 0 {
		return nil, 0, errors.New("the key set holds no key")
	}
	return keys, s.interval(resp.Header.Get("Cache-Control")), nil
}

// interval is the refresh interval for a Cache-Control header: its
// max-age bounded by MinRefresh and MaxRefresh (no-store and no-cache
// mean MinRefresh), or MaxRefresh/24 without one.
func (s *Set) interval(cc string) time.Duration {
	d := time.Duration(-1)
	for _, dir := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return s.o.MinRefresh
		case "max-age":
			if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
				d = time.Duration(min(n, int64(s.o.MaxRefresh/time.Second))) * time.Second
			}
		}
	}
	if d < 0 {
		d = s.o.MaxRefresh / 24
	}
	return min(max(d, s.o.MinRefresh), s.o.MaxRefresh)
}

func (s *Set) event(ctx context.Context, e audit.Event) {
	if s.o.OnEvent != nil {
		e.Time = time.Now()
		s.o.OnEvent(ctx, e)
	}
}

// sameKeys reports whether a and b hold the same keys, in any order and
// however often each is listed.
func sameKeys(a, b []*tollgate.Key) bool {
	for _, k := range a {
		if !slices.ContainsFunc(b, k.Equal) {
			return false
		}
	}
	for _, k := range b {
		if !slices.ContainsFunc(a, k.Equal) {
			return false
		}
	}
	return true
}

// diff describes the change from old to keys by key id.
func diff(old, keys []*tollgate.Key) string {
	var added, removed []string
	for _, k := range keys {
		if !slices.ContainsFunc(old, k.Equal) {
			added = append(added, k.ID())
		}
	}
	for _, k := range old {
		if !slices.ContainsFunc(keys, k.Equal) {
			removed = append(removed, k.ID())
		}
	}
	return "added [" + strings.Join(added, " ") + "], removed [" + strings.Join(removed, " ") + "]"
}
