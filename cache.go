package tollgate

// The verified-token cache. A client reuses its access token for the
// token's whole lifetime, so most requests present a token that was
// verified before. The cache maps the exact token text to what its
// verification established; a hit skips decoding and the signature check
// but never a decision that can change: the time claims are checked again
// on every use (see verifyAccess), and the scope check and Config.LoadUser
// run after it as for any token.
//
// Only a token that passed every check enters; a failure never does. An
// entry leaves when its token expires ("exp" plus Config.Leeway, found on
// use or when a newer entry is added), and the oldest leave first when a
// bound on entries or bytes is reached. The cache belongs to the key ring,
// which is fixed for the life of an Authenticator: a different key set is a
// different ring with an empty cache.

import (
	"slices"
	"sync"
	"time"
)

// Shape of the cache of an Authenticator (its bounds are Config.Cache).
const (
	cacheShardCount = 16

	// entryOverhead approximates the bytes an entry holds besides its
	// strings: the map slot, the entry and the ring slot.
	entryOverhead = 320
)

// A cacheEntry is a verified token. Its Principal is never handed out:
// principal returns a copy, as handlers may modify theirs.
type cacheEntry struct {
	p       Principal
	times   tokenTimes
	key     string    // the token
	expires time.Time // exp + Leeway: the token can never pass after it
	size    int
}

// principalBox holds a Principal and, in one allocation, room for its
// scopes.
type principalBox struct {
	p Principal
	s [4]string
}

// principal returns a fresh copy of the verified Principal that shares
// nothing mutable with the entry.
func (e *cacheEntry) principal() *Principal {
	b := &principalBox{p: e.p}
	switch n := len(e.p.Scopes); {
	case e.p.Scopes == nil:
	case n <= len(b.s):
		copy(b.s[:], e.p.Scopes)
		b.p.Scopes = b.s[:n:n]
	default:
		b.p.Scopes = slices.Clone(e.p.Scopes)
	}
	return &b.p
}

// tokenCache is a bounded map from token to entry, in shards so that
// concurrent requests rarely meet on one lock.
type tokenCache struct {
	shards []cacheShard
	mask   uint64
}

type cacheShard struct {
	mu         sync.RWMutex
	m          map[string]*cacheEntry
	ring       []*cacheEntry // insertion order; stale slots are skipped
	head, n    int           // oldest slot and slots in use
	bytes      int
	maxEntries int
	maxBytes   int
}

// newTokenCache makes a cache of at most maxEntries tokens and maxBytes
// bytes.
func newTokenCache(maxEntries, maxBytes int) *tokenCache {
	shards := cacheShardCount
	for shards > 1 && (maxEntries/shards < 64 || maxBytes/shards < 64<<10) {
		shards /= 2
	}
	c := &tokenCache{shards: make([]cacheShard, shards), mask: uint64(shards - 1)}
	for i := range c.shards {
		c.shards[i].maxEntries = max(1, maxEntries/shards)
		c.shards[i].maxBytes = maxBytes / shards
	}
	return c
}

// shard picks the shard of token from a byte of its signature: a
// cached token's signature is the issuer's, as good as random, and a
// lookup of any other string only costs a miss in whichever shard.
func (c *tokenCache) shard(token string) *cacheShard {
	if c.mask == 0 || len(token) < 2 {
		return &c.shards[0]
	}
	return &c.shards[uint64(token[len(token)-2])&c.mask]
}

// get returns the entry of token, or nil.
func (c *tokenCache) get(token string) *cacheEntry {
	s := c.shard(token)
	s.mu.RLock()
	e := s.m[token]
	s.mu.RUnlock()
	return e
}

// put adds a verified token that can be used until expires. The oldest
// entries leave first, to stay within the bounds, and any at the head that
// has expired by now.
func (c *tokenCache) put(token string, e *cacheEntry, expires, now time.Time) {
	e.key, e.expires = token, expires
	e.size = entryOverhead + len(token) + len(e.p.Subject) + len(e.p.Username) + len(e.p.ClientID) + len(e.p.TokenID) + 16*len(e.p.Scopes)
	for _, sc := range e.p.Scopes {
		e.size += len(sc)
	}
	s := c.shard(token)
	if e.size > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]*cacheEntry)
		s.ring = make([]*cacheEntry, s.maxEntries)
	}
	if _, ok := s.m[token]; ok {
		return
	}
	for s.n > 0 {
		old := s.ring[s.head]
		if s.n < len(s.ring) && s.bytes+e.size <= s.maxBytes && (old == nil || now.Before(old.expires)) {
			break
		}
		s.ring[s.head] = nil
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		if old != nil && s.m[old.key] == old {
			delete(s.m, old.key)
			s.bytes -= old.size
		}
	}
	s.m[token] = e
	s.ring[(s.head+s.n)%len(s.ring)] = e
	s.n++
	s.bytes += e.size
}

// remove drops token, as when it is found expired.
func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	if e, ok := s.m[token]; ok {
		delete(s.m, token)
		s.bytes -= e.size
	}
	s.mu.Unlock()
}

// len returns the number of entries and the bytes they are counted for.
func (c *tokenCache) len() (entries, bytes int) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		entries += len(s.m)
		bytes += s.bytes
		s.mu.RUnlock()
	}
	return entries, bytes
}
