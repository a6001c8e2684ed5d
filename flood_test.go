package tollgate_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
)

// floodHash is bcrypt at cost 10 of "wonderland", made once so the test
// does not pay for it (about 6 s under the race detector).
const floodHash = "$2a$10$LxO8/LuUgqjJXVjZ3kADl.dVmkEtII9wYu4y21RfTUesqGtsCh7y2"

// peakHasher counts the hashes running at once around a real hasher.
type peakHasher struct {
	tollgate.PasswordHasher
	active, peak, calls atomic.Int64
}

func (h *peakHasher) Verify(hash []byte, p string) (bool, error) {
	h.calls.Add(1)
	n := h.active.Add(1)
	defer h.active.Add(-1)
	for old := h.peak.Load(); n > old && !h.peak.CompareAndSwap(old, n); old = h.peak.Load() {
	}
	return h.PasswordHasher.Verify(hash, p)
}

// TestFloodTokenEndpoint floods the token endpoint with 500 concurrent bad
// logins, against real bcrypt (cost 10) over a real HTTP server, as a
// botnet would: half guess one user's password, half spray unknown
// usernames, each from its own address (OWASP Authentication Cheat Sheet,
// "Protect against automated attacks"; OWASP Denial of Service Cheat
// Sheet). It shows that
//   - no more hashes than Logins.ConcurrentHashes ever run at once, and the
//     guesses past the per-username limit run none (429);
//   - a legitimate user on another address gets in during the flood
//     (following Retry-After when the hashing slots are full) and after it;
//   - once it is over, the goroutines are back to the baseline and the heap
//     has not grown beyond a generous bound.
func TestFloodTokenEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real bcrypt; skipped in -short mode")
	}
	users := memstore.NewUsers(
		tollgate.User{Username: "alice", PasswordHash: []byte(floodHash), Scopes: []string{"me"}},
		tollgate.User{Username: "bob", PasswordHash: []byte(floodHash), Scopes: []string{"me"}},
	)
	hasher := &peakHasher{PasswordHasher: tollgate.Bcrypt(10)}
	f := newFixture(t, "", func(c *tollgate.Config) {
		c.Users = users
		c.Hasher = hasher
		c.OnEvent = nil
		// Behind a proxy: the test client is one address, the botnet many.
		c.Logins = tollgate.LoginLimits{TrustedProxyHeader: "X-Forwarded-For"}
	})
	slots := int64(runtime.GOMAXPROCS(0)) // the default Logins.ConcurrentHashes
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}

	login := func(ip, user, pass string) (int, string, error) {
		form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pass}}
		req, _ := http.NewRequest("POST", srv.URL+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body) // drain, so the connection is reusable
		return resp.StatusCode, resp.Header.Get("Retry-After"), nil
	}
	// legit logs in as alice, following Retry-After on 503 as a client
	// should, and reports the final status.
	legit := func(ip string) int {
		for range 60 {
			code, ra, err := login(ip, "alice", "wonderland")
			if err != nil {
				t.Errorf("legitimate login: %v", err)
				return 0
			}
			if code != http.StatusServiceUnavailable {
				return code
			}
			secs, _ := strconv.Atoi(ra)
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
		}
		return http.StatusServiceUnavailable
	}

	runtime.GC()
	baseline := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const n = 500
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[int]int{}
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ip := fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256)
			user := "bob"
			if i%2 == 1 {
				user = fmt.Sprintf("ghost-%d", i)
			}
			code, _, err := login(ip, user, fmt.Sprintf("guess-%d", i))
			if err != nil {
				t.Errorf("flood request %d: %v", i, err)
			}
			mu.Lock()
			counts[code]++
			mu.Unlock()
		}()
	}
	during := make(chan int, 1)
	close(start)
	go func() { during <- legit("203.0.113.10") }()
	wg.Wait()
	if code := <-during; code != http.StatusOK {
		t.Errorf("legitimate login during the flood: status %d, want 200", code)
	}
	t.Logf("flood answers: %v; hashes run: %d, at most %d at once", counts, hasher.calls.Load(), hasher.peak.Load())

	for code := range counts {
		switch code {
		case http.StatusBadRequest, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d flood requests answered %d; want only 400, 429 or 503", counts[code], code)
		}
	}
	// bob's username allows 10 guesses (the default Logins.FailuresPerUsername); the
	// others are refused before any hash. A guess shed with 503 is not
	// counted (it was not checked), so each 503 may let one more through.
	if got, want := counts[http.StatusTooManyRequests], n/2-10-counts[http.StatusServiceUnavailable]; got < want || got == 0 {
		t.Errorf("%d guesses for one username throttled (429), want at least %d and some", got, want)
	}
	if p := hasher.peak.Load(); p > slots {
		t.Errorf("%d hashes ran at once, want at most Logins.ConcurrentHashes = %d", p, slots)
	}

	if code := legit("203.0.113.11"); code != http.StatusOK {
		t.Errorf("legitimate login after the flood: status %d, want 200", code)
	}

	// No goroutine outlives the flood: waiting goroutines gave up at
	// Logins.HashQueueWait, and the throttle starts none. The server's connection
	// goroutines end once the client closes its connections.
	tr.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > baseline {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the flood, %d before\n%s", g, baseline, buf[:runtime.Stack(buf, true)])
	}

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const bound = 32 << 20
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > bound {
		t.Errorf("live heap grew by %d MiB over the flood, want under %d MiB", grew>>20, bound>>20)
	}
}
