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
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
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
// concurrent requests rarely meet on one lock. A token's shard comes from
// a keyed hash of its signature's end (maphash, with a seed of the
// cache's own), so shards fill evenly and no client can aim at one. The bounds
// are the cache's, not a shard's: each shard's ring has room for twice its
// share, so the cache holds its documented number of tokens before any
// leaves, however they fall.
type tokenCache struct {
	shards     []cacheShard
	mask       uint64
	seed       maphash.Seed
	maxEntries int64
	maxBytes   int64
	entries    atomic.Int64 // across shards
	bytes      atomic.Int64
	misses     atomic.Uint64 // verified tokens offered to a full cache
}

type cacheShard struct {
	mu      sync.RWMutex
	m       map[string]*cacheEntry
	ring    []*cacheEntry // insertion order; stale slots are skipped
	head, n int           // oldest slot and slots in use
	ringLen int
}

// newTokenCache makes a cache of at most maxEntries tokens and maxBytes
// bytes.
func newTokenCache(maxEntries, maxBytes int) *tokenCache {
	shards := cacheShardCount
	for shards > 1 && (maxEntries/shards < 64 || maxBytes/shards < 64<<10) {
		shards /= 2
	}
	c := &tokenCache{shards: make([]cacheShard, shards), mask: uint64(shards - 1), seed: maphash.MakeSeed(),
		maxEntries: int64(max(1, maxEntries)), maxBytes: int64(maxBytes)}
	ringLen := max(1, maxEntries)
	if shards > 1 {
		ringLen = 2*(maxEntries/shards) + 64
	}
	for i := range c.shards {
		c.shards[i].ringLen = ringLen
	}
	return c
}

// shard picks the shard of token from a keyed hash of its last 16 bytes:
// of a token that can be cached, those are signature (its issuer's, as
// good as random, and at least 43 characters for every algorithm), so the
// shards fill evenly at a fraction of the cost of hashing the whole token.
func (c *tokenCache) shard(token string) *cacheShard {
	if c.mask == 0 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, token[max(0, len(token)-16):])&c.mask]
}

// get returns the entry of token, or nil.
func (c *tokenCache) get(token string) *cacheEntry {
	s := c.shard(token)
	s.mu.RLock()
	e := s.m[token]
	s.mu.RUnlock()
	return e
}

// admit reports whether a verified token should be put in the cache.
// While there is room, every one is. A full cache admits one token in
// admitFull: past its capacity, where most requests miss anyway, a miss
// then costs about what it costs without a cache (a lookup more, rarely
// an insertion), while a token that keeps coming back still finds its
// way in.
func (c *tokenCache) admit() bool {
	if c.entries.Load() < c.maxEntries {
		return true
	}
	return c.misses.Add(1)%admitFull == 0
}

// admitFull is the admission rate of a full cache: one in admitFull.
const admitFull = 16

// put adds a verified token that can be used until expires. The shard's
// oldest entries leave first, to stay within the cache's bounds and the
// shard's ring, and any at the head that has expired by now. When the
// cache is full and the token's shard holds nothing to evict, the token
// is not cached.
func (c *tokenCache) put(token string, e *cacheEntry, expires, now time.Time) {
	e.key, e.expires = token, expires
	e.size = entryOverhead + len(token) + len(e.p.Subject) + len(e.p.Username) + len(e.p.ClientID) + len(e.p.TokenID) + len(e.p.sid) + 16*len(e.p.Scopes)
	for _, sc := range e.p.Scopes {
		e.size += len(sc)
	}
	if int64(e.size) > c.maxBytes {
		return
	}
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]*cacheEntry)
		s.ring = make([]*cacheEntry, s.ringLen)
	}
	if _, ok := s.m[token]; ok {
		return
	}
	for s.n > 0 {
		old := s.ring[s.head]
		full := s.n == len(s.ring) || c.entries.Load() >= c.maxEntries || c.bytes.Load()+int64(e.size) > c.maxBytes
		if !full && (old == nil || now.Before(old.expires)) {
			break
		}
		s.ring[s.head] = nil
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		if old != nil && s.m[old.key] == old {
			delete(s.m, old.key)
			c.entries.Add(-1)
			c.bytes.Add(-int64(old.size))
		}
	}
	// Reserve the room, so that concurrent puts in other shards cannot
	// pass the bounds together; when the other shards hold the cache's
	// whole share, the token is not cached.
	if c.entries.Add(1) > c.maxEntries {
		c.entries.Add(-1)
		return
	}
	if c.bytes.Add(int64(e.size)) > c.maxBytes {
		c.entries.Add(-1)
		c.bytes.Add(-int64(e.size))
		return
	}
	s.m[token] = e
	s.ring[(s.head+s.n)%len(s.ring)] = e
	s.n++
}

// remove drops token, as when it is found expired.
func (c *tokenCache) remove(token string) {
	s := c.shard(token)
	s.mu.Lock()
	if e, ok := s.m[token]; ok {
		delete(s.m, token)
		c.entries.Add(-1)
		c.bytes.Add(-int64(e.size))
	}
	s.mu.Unlock()
}

// len returns the number of entries and the bytes they are counted for.
func (c *tokenCache) len() (entries, bytes int) {
	return int(c.entries.Load()), int(c.bytes.Load())
}
