// Package logflood bounds log lines under a flood: per key (an event type
// and reason, never attacker-chosen text), at most Burst lines in each
// Window; the rest are counted, and the count is reported once the next
// window begins. It starts no goroutine and reads no clock: times come in
// with the events.
package logflood

import (
	"sync"
	"time"
)

// maxKeys bounds the keys remembered; further keys share one.
const maxKeys = 256

// A Limiter decides which lines to write. Its zero value is not usable:
// set Window and Burst. It is safe for concurrent use.
type Limiter struct {
	Window time.Duration
	Burst  int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	start      time.Time
	written    int
	suppressed int
}

// Allow reports whether a line for key at now may be written, and how many
// lines of key were suppressed in the window that ended before now (to be
// reported, once, before this line).
func (l *Limiter) Allow(key string, now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[string]*bucket)
	}
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxKeys {
			key = "(other)"
			b = l.buckets[key]
		}
		if b == nil {
			b = &bucket{start: now}
			l.buckets[key] = b
		}
	}
	if !now.Before(b.start.Add(l.Window)) {
		suppressed = b.suppressed
		*b = bucket{start: now}
	}
	if b.written < l.Burst {
		b.written++
		return true, suppressed
	}
	b.suppressed++
	return false, suppressed
}
