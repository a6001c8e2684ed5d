package logflood

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	l := &Limiter{Window: time.Second, Burst: 3}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	written := 0
	for i := range 1000 {
		if ok, sup := l.Allow("login_failed", t0.Add(time.Duration(i)*time.Millisecond/2)); ok {
			written++
		} else if sup != 0 {
			t.Fatalf("a suppressed line reported %d", sup)
		}
	}
	if written != 3 {
		t.Errorf("%d lines in one window, want the burst of 3", written)
	}
	ok, sup := l.Allow("login_failed", t0.Add(2*time.Second))
	if !ok || sup != 997 {
		t.Errorf("next window: ok %v, suppressed %d; want true, 997", ok, sup)
	}
	if ok, sup := l.Allow("login_failed", t0.Add(2*time.Second)); !ok || sup != 0 {
		t.Errorf("the count is reported once: ok %v, %d", ok, sup)
	}
	// Keys are separate, and their number is bounded.
	if ok, _ := l.Allow("refresh_reused", t0); !ok {
		t.Error("another key was suppressed")
	}
	for i := range 10 * maxKeys {
		l.Allow(fmt.Sprint("k", i), t0)
	}
	if n := len(l.buckets); n > maxKeys+1 {
		t.Errorf("%d keys remembered, bound %d", n, maxKeys+1)
	}
}
