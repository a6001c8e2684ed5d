package tollgate

// The tables of the login throttle (throttle.go): windows per key, which
// never evict a lockout; the known addresses of each username; and the
// count-min sketch for what the tables have no room for. None reads the
// clock or starts a goroutine; the throttle's mutex guards them all.

import (
	"container/list"
	"hash/maphash"
	"net/netip"
	"time"
)

// prefixOf returns the network of ip whose attempts set the priority:
// IPv4 /24, IPv6 /48 (a site).
func prefixOf(ip netip.Addr) netip.Addr {
	bits := 24
	if ip.Is6() {
		bits = 48
	}
	p, _ := ip.Prefix(bits)
	return p.Addr()
}

// userIP is a username (its keyed hash) at a client address.
type userIP struct {
	user uint64
	ip   netip.Addr
}

// knownFor is how long a successful login makes its address known for
// its username.
const knownFor = 30 * 24 * time.Hour

// maxKnownPerUser bounds the known addresses of one username, so that no
// one can flush another user's with successful logins of their own
// accounts from many addresses: each username's own are evicted first.
const maxKnownPerUser = 8

// knownPairs is a bounded set of userIP, oldest success first, with at
// most perUser addresses per username.
type knownPairs struct {
	max, perUser int
	byKey        map[userIP]*list.Element
	order        list.List // of *knownPair, by last success
	byUser       map[uint64][]*list.Element
}

type knownPair struct {
	key userIP
	at  time.Time
}

// has reports whether k logged in successfully within knownFor of now.
func (kp *knownPairs) has(k userIP, now time.Time) bool {
	e, ok := kp.byKey[k]
	return ok && now.Before(e.Value.(*knownPair).at.Add(knownFor))
}

// add records a successful login of k at now; past max pairs, the pair
// whose last success is oldest is forgotten (which only takes an address
// out of the locked username's exception).
func (kp *knownPairs) add(k userIP, now time.Time) {
	if e, ok := kp.byKey[k]; ok {
		e.Value.(*knownPair).at = now
		kp.order.MoveToBack(e)
		return
	}
	if kp.byKey == nil {
		kp.byKey = make(map[userIP]*list.Element)
		kp.byUser = make(map[uint64][]*list.Element)
	}
	if own := kp.byUser[k.user]; len(own) >= kp.perUser {
		// The username's own oldest known address goes.
		oldest := own[0]
		for _, e := range own[1:] {
			if e.Value.(*knownPair).at.Before(oldest.Value.(*knownPair).at) {
				oldest = e
			}
		}
		kp.drop(oldest)
	}
	for kp.order.Len() >= kp.max {
		kp.drop(kp.order.Front())
	}
	e := kp.order.PushBack(&knownPair{key: k, at: now})
	kp.byKey[k] = e
	kp.byUser[k.user] = append(kp.byUser[k.user], e)
}

func (kp *knownPairs) drop(e *list.Element) {
	k := e.Value.(*knownPair).key
	delete(kp.byKey, k)
	kp.order.Remove(e)
	own := kp.byUser[k.user]
	for i, o := range own {
		if o == e {
			own = append(own[:i], own[i+1:]...)
			break
		}
	}
	if len(own) == 0 {
		delete(kp.byUser, k.user)
	} else {
		kp.byUser[k.user] = own
	}
}

// ipKey is the keyed hash of an address, for the address overflow sketch.
func ipKey(seed maphash.Seed, ip netip.Addr) uint64 {
	b := ip.As16()
	return maphash.Bytes(seed, b[:])
}

// sketch is a count-min sketch of failed logins per username, for the
// usernames the table has no room for: four rows of counters, each
// username counted in one cell of each, its count the least of its four
// (never less than the truth, more only where other usernames share all
// four cells). It is reset at the end of each window (so a username
// counted in it may get up to twice its limit across a reset), takes 4 MiB
// once first used, and has no entries to evict.
type sketch struct {
	start time.Time
	rows  *[sketchRows][sketchWidth]uint8
}

const (
	sketchRows  = 4
	sketchWidth = 1 << 20
)

// cells returns the four cells of user, from independent bits of its
// keyed hash mixed with odd constants.
func (s *sketch) cells(user uint64) [sketchRows]uint32 {
	var c [sketchRows]uint32
	for i, m := range [sketchRows]uint64{0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0xd6e8feb86659fd93} {
		c[i] = uint32((user * m) >> (64 - 20))
	}
	return c
}

func (s *sketch) roll(now time.Time, d time.Duration) {
	if s.rows == nil {
		s.rows = new([sketchRows][sketchWidth]uint8)
		s.start = now
	} else if !now.Before(s.start.Add(d)) {
		*s.rows = [sketchRows][sketchWidth]uint8{}
		s.start = now
	}
}

func (s *sketch) over(user uint64, now time.Time, d time.Duration, limit int) (time.Duration, bool) {
	if s.rows == nil {
		return 0, false
	}
	s.roll(now, d)
	n := 255
	for i, c := range s.cells(user) {
		n = min(n, int(s.rows[i][c]))
	}
	if n < limit {
		return 0, false
	}
	return s.start.Add(d).Sub(now), true
}

func (s *sketch) add(user uint64, now time.Time, d time.Duration) {
	s.roll(now, d)
	for i, c := range s.cells(user) {
		if s.rows[i][c] < 255 {
			s.rows[i][c]++
		}
	}
}

func (s *sketch) sub(user uint64) {
	if s.rows == nil {
		return
	}
	for i, c := range s.cells(user) {
		if s.rows[i][c] > 0 {
			s.rows[i][c]--
		}
	}
}

// windows is one table of the throttle: a window per key. Windows below
// the limit are in open, ordered by their start (a window is only ever
// added at the back); windows at or over it, the lockouts, are in full,
// ordered by when they reached it. Expiry takes from the front of both.
// When the table is full, a new key evicts the oldest open window, never
// a lockout: flooding the table with fresh keys cannot make it forget a
// locked one. With no open window left to evict, add refuses the new key;
// the username table's caller then counts it in an overflow sketch.
type windows[K comparable] struct {
	limit, max int
	byKey      map[K]*list.Element
	open, full list.List // of *window[K]
}

type window[K comparable] struct {
	key   K
	start time.Time
	n     int
	full  bool // in the full list
}

func newWindows[K comparable](limit, maxEntries int) windows[K] {
	return windows[K]{limit: limit, max: maxEntries, byKey: make(map[K]*list.Element)}
}

// expire drops the windows that ended by now from the fronts of both
// lists. A lockout behind a later one may outlive its window in the
// table until then; over and add treat it as ended.
func (w *windows[K]) expire(now time.Time, d time.Duration) {
	for _, l := range []*list.List{&w.open, &w.full} {
		for e := l.Front(); e != nil; e = l.Front() {
			if now.Before(e.Value.(*window[K]).start.Add(d)) {
				break
			}
			w.drop(e)
		}
	}
}

// live returns k's window if it has one that has not ended by now.
func (w *windows[K]) live(k K, now time.Time, d time.Duration) (*list.Element, *window[K]) {
	e, ok := w.byKey[k]
	if !ok {
		return nil, nil
	}
	win := e.Value.(*window[K])
	if !now.Before(win.start.Add(d)) {
		w.drop(e)
		return nil, nil
	}
	return e, win
}

// count returns the attempts counted for k in its live window.
func (w *windows[K]) count(k K, now time.Time, d time.Duration) int {
	if _, win := w.live(k, now, d); win != nil {
		return win.n
	}
	return 0
}

// over reports whether k has used up its window, and when the window ends.
func (w *windows[K]) over(k K, now time.Time, d time.Duration) (time.Duration, bool) {
	_, win := w.live(k, now, d)
	if win == nil || win.n < w.limit {
		return 0, false
	}
	return win.start.Add(d).Sub(now), true
}

// add counts one attempt for k, opening a window if it has none. When the
// table is full it evicts the oldest open window; if every window is a
// lockout, it counts nothing and reports false with the time until the
// oldest lockout ends.
func (w *windows[K]) add(k K, now time.Time, d time.Duration) (time.Duration, bool) {
	if e, win := w.live(k, now, d); win != nil {
		win.n++
		if win.n >= w.limit && !win.full {
			w.open.Remove(e)
			win.full = true
			w.byKey[k] = w.full.PushBack(win)
		}
		return 0, true
	}
	if len(w.byKey) >= w.max {
		oldest := w.open.Front()
		if oldest == nil {
			first := w.full.Front().Value.(*window[K])
			return max(first.start.Add(d).Sub(now), time.Second), false
		}
		w.drop(oldest)
	}
	win := &window[K]{key: k, start: now, n: 1}
	if win.n >= w.limit {
		win.full = true
		w.byKey[k] = w.full.PushBack(win)
	} else {
		w.byKey[k] = w.open.PushBack(win)
	}
	return 0, true
}

// sub takes back one attempt of k.
func (w *windows[K]) sub(k K) {
	e, ok := w.byKey[k]
	if !ok {
		return
	}
	win := e.Value.(*window[K])
	if win.n <= 1 {
		w.drop(e)
		return
	}
	win.n--
	if win.full && win.n < w.limit {
		// Back below the limit: an open window again, at the back of
		// open (its start is then out of order, which only delays its
		// reclaim; live checks the end).
		w.full.Remove(e)
		win.full = false
		w.byKey[k] = w.open.PushBack(win)
	}
}

// remove forgets k's window.
func (w *windows[K]) remove(k K) {
	if e, ok := w.byKey[k]; ok {
		w.drop(e)
	}
}

func (w *windows[K]) drop(e *list.Element) {
	win := e.Value.(*window[K])
	delete(w.byKey, win.key)
	if win.full {
		w.full.Remove(e)
	} else {
		w.open.Remove(e)
	}
}
