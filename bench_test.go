package tollgate_test

// Benchmarks of the hot paths inside the library: verifying a token through
// RequireScopes (first sight and repeated), issuing one, the refresh grant,
// password logins against raw bcrypt, and growth (key ring size, token
// size, a RefreshStore of a million tokens with TOLLGATE_BENCH_GROWTH=1).
// The side-by-side comparison with other Go libraries lives in the separate
// bench/ module; bench/run.sh runs both and writes BENCHMARKS.md. Speed is
// judged from that file, never here.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-go/tollgate"
	"github.com/tollgate-go/tollgate/memstore"
	"golang.org/x/crypto/bcrypt"
)

var benchAlgs = []string{"HS256", "RS256", "ES256", "EdDSA"}

// benchServe sends req through h b.N times, each into a fresh recorder,
// and fails unless every answer is want.
func benchServe(b *testing.B, h http.Handler, req *http.Request, want int) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d, want %d", rec.Code, want)
		}
	}
}

// BenchmarkRequireScopes is one request through RequireScopes("items:read")
// into a handler that writes nothing: the whole protected-request path.
func BenchmarkRequireScopes(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, alg := range benchAlgs {
		for _, mode := range []struct {
			name  string
			cache bool
		}{{"first-sight", false}, {"repeated", true}} {
			b.Run(alg+"/"+mode.name, func(b *testing.B) {
				f := newFixture(b, alg, func(c *tollgate.Config) { c.Cache.Disabled = !mode.cache })
				h := f.auth.RequireScopes("items:read")(noop)
				req := httptest.NewRequest("GET", "/items", nil)
				req.Header.Set("Authorization", "Bearer "+f.forgeGood(b, nil))
				benchServe(b, h, req, http.StatusOK)
			})
		}
	}
	b.Run("floor", func(b *testing.B) {
		req := httptest.NewRequest("GET", "/items", nil)
		benchServe(b, noop, req, http.StatusOK)
	})
}

// BenchmarkCacheBeyondCapacity is the worst case of the verified-token
// cache: more distinct live tokens than it holds (20 000 against 16 384),
// presented in turn, so nearly every request is a miss that also evicts.
// The default configuration must be no slower than the cache turned off.
// HS256, whose signature check is the cheapest, makes the cache's own
// cost the largest share.
func BenchmarkCacheBeyondCapacity(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, mode := range []struct {
		name     string
		disabled bool
	}{{"off", true}, {"default", false}} {
		b.Run("HS256/"+mode.name, func(b *testing.B) {
			f := newFixture(b, "HS256", func(c *tollgate.Config) { c.Cache.Disabled = mode.disabled })
			h := f.auth.RequireScopes("items:read")(noop)
			reqs := make([]*http.Request, 20000)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/items", nil)
				reqs[i].Header.Set("Authorization", "Bearer "+f.forgeGood(b, func(_, c map[string]any) { c["jti"] = fmt.Sprint("thrash-", i) }))
			}
			rec := httptest.NewRecorder()
			for _, r := range reqs { // warm: the cache is full
				h.ServeHTTP(rec, r)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.ServeHTTP(rec, reqs[i%len(reqs)])
				i++
			}
		})
	}
}

// BenchmarkIssueAccessToken signs one access token, against the raw
// primitive signing the same bytes and against the least work that mints
// the same token (mintLimit).
func BenchmarkIssueAccessToken(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg+"/mint", func(b *testing.B) {
			f := newFixture(b, alg, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tollgate.MintForBench(f.auth); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/limit", func(b *testing.B) {
			f := newFixture(b, alg, nil)
			tok, err := tollgate.MintForBench(f.auth)
			if err != nil {
				b.Fatal(err)
			}
			mint := mintLimit(b, tok, rawSigner(b, alg, rawKeyFor(b, alg)))
			if got := mint(); len(got) != len(tok) {
				b.Fatalf("limit token of %d bytes, mint's of %d", len(got), len(tok))
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = mint()
			}
		})
		b.Run(alg+"/raw-sign", func(b *testing.B) {
			f := newFixture(b, alg, nil)
			tok, err := tollgate.MintForBench(f.auth)
			if err != nil {
				b.Fatal(err)
			}
			input := []byte(tok[:len(tok)-len(tok[lastDot(tok):])])
			sign := rawSigner(b, alg, rawKeyFor(b, alg))
			b.ReportAllocs()
			for b.Loop() {
				sign(input)
			}
		})
	}
}

// mintLimit returns the least work that mints tok's token again with
// fresh iat, exp and jti: the constant parts of its claims JSON copied
// around two numbers and 128 random bits, base64url, the raw primitive
// (rawSigner), base64url again, one allocation for the token. No claim
// escaping, no key choice, no size check: what no minter can skip.
func mintLimit(b *testing.B, tok string, sign func([]byte) []byte) func() string {
	hdr, rest, _ := strings.Cut(tok, ".")
	payloadSeg, _, _ := strings.Cut(rest, ".")
	payload, err := base64.RawURLEncoding.DecodeString(payloadSeg)
	if err != nil {
		b.Fatal(err)
	}
	// The constant pieces around the three fresh values, in their order.
	re := regexp.MustCompile(`"(exp|iat)":\d+|"jti":"[^"]*"`)
	var pieces []string
	var kinds []string
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(string(payload), -1) {
		name := string(payload[m[0]+1 : m[0]+4])
		pieces = append(pieces, string(payload[last:m[0]])+`"`+name+`":`)
		kinds = append(kinds, name)
		last = m[1]
	}
	if len(kinds) != 3 {
		b.Fatalf("mintLimit: claims %s lack exp, iat or jti", payload)
	}
	tail := string(payload[last:])
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, 1024) // the signing buffer, reused
	return func() string {
		now := time.Now()
		var pbuf [512]byte
		p := pbuf[:0]
		for i, k := range kinds {
			p = append(p, pieces[i]...)
			switch k {
			case "exp":
				p = strconv.AppendInt(p, now.Add(15*time.Minute).Unix(), 10)
			case "iat":
				p = strconv.AppendInt(p, now.Unix(), 10)
			case "jti":
				var rnd [16]byte
				_, _ = rand.Read(rnd[:])
				p = append(p, '"')
				p = enc.AppendEncode(p, rnd[:])
				p = append(p, '"')
			}
		}
		p = append(p, tail...)
		t := append(buf[:0], hdr...)
		t = append(t, '.')
		t = enc.AppendEncode(t, p)
		sig := sign(t)
		t = append(t, '.')
		t = enc.AppendEncode(t, sig)
		return string(t)
	}
}

// rawSigner is the baseline of minting: the primitive alone, doing only
// what alg needs (issue 8): one HMAC state reset per call for HS256, no
// SHA-256 for EdDSA, the hash of each algorithm for the others.
func rawSigner(b *testing.B, alg string, key any) func(input []byte) []byte {
	switch alg {
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		var sum [sha256.Size]byte
		return func(input []byte) []byte {
			m.Reset()
			m.Write(input)
			return m.Sum(sum[:0])
		}
	case "RS256":
		k := key.(*rsa.PrivateKey)
		return func(input []byte) []byte {
			h := sha256.Sum256(input)
			sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
			if err != nil {
				b.Fatal(err)
			}
			return sig
		}
	case "ES256":
		k := key.(*ecdsa.PrivateKey)
		return func(input []byte) []byte {
			h := sha256.Sum256(input)
			r, s, err := ecdsa.Sign(rand.Reader, k, h[:])
			if err != nil {
				b.Fatal(err)
			}
			out := make([]byte, 64)
			r.FillBytes(out[:32])
			s.FillBytes(out[32:])
			return out
		}
	case "EdDSA":
		k := key.(ed25519.PrivateKey)
		return func(input []byte) []byte { return ed25519.Sign(k, input) }
	}
	b.Fatalf("rawSigner: %s", alg)
	return nil
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// BenchmarkRefreshGrant is one refresh_token grant through TokenHandler
// with the in-memory store (no bcrypt): read and check the form, spend,
// rotate, sign, write the JSON answer. One request is reused (only its body
// and the recorder are new), as in BenchmarkRequireScopes, and the next
// refresh token is cut from the answer without a JSON decoder, so the
// figure is the handler's, not the benchmark's. No OnEvent hook (the
// default).
func BenchmarkRefreshGrant(b *testing.B) {
	// The floor of the refresh grant (issue 8), run first and so next to
	// HS256, the algorithm its goal is for: the machine's drift falls on
	// both alike.: a bare handler that reads
	// the same form and writes an answer of the same size, with the same
	// headers; the grant's goal is at most 2× this on HS256. The loop
	// around it does what the grant's loop does (a new body, a new
	// recorder, the refresh token cut from the answer).
	b.Run("form-floor", func(b *testing.B) {
		f := newFixture(b, "HS256", func(c *tollgate.Config) { c.OnEvent = nil })
		tj := f.login(b, "alice", "wonderland")
		answer := []byte(`{"access_token":"` + tj.AccessToken + `","token_type":"Bearer","expires_in":900,"refresh_token":"` +
			tj.RefreshToken + `","scope":"me items:read items:write"}` + "\n")
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") == "" {
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			h := w.Header()
			h.Set("Content-Type", "application/json;charset=UTF-8")
			h.Set("Cache-Control", "no-store")
			h.Set("Pragma", "no-cache")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(answer)
		})
		req := httptest.NewRequest("POST", "/token", nil)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		body := new(strings.Reader)
		b.ReportAllocs()
		for b.Loop() {
			body.Reset("grant_type=refresh_token&refresh_token=" + tj.RefreshToken)
			req.Body, req.ContentLength = io.NopCloser(body), body.Size()
			req.PostForm, req.Form = nil, nil
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("floor: %d", rec.Code)
			}
			// The same harness work as the grant's loop.
			_ = cutJSONString(b, rec.Body.Bytes(), "refresh_token")
		}
	})
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			f := newFixture(b, alg, func(c *tollgate.Config) { c.OnEvent = nil })
			rt := f.login(b, "alice", "wonderland").RefreshToken
			h := f.auth.TokenHandler()
			req := httptest.NewRequest("POST", "/token", nil)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			body := new(strings.Reader)
			b.ReportAllocs()
			for b.Loop() {
				// A refresh token is base64url: no form escaping needed.
				body.Reset("grant_type=refresh_token&refresh_token=" + rt)
				req.Body, req.ContentLength = io.NopCloser(body), body.Size() // as clients send it
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("refresh: status %d, %s", rec.Code, rec.Body)
				}
				rt = cutJSONString(b, rec.Body.Bytes(), "refresh_token")
			}
		})
	}
}

// cutJSONString returns the value of the string member name of the JSON
// object s, which must hold no escapes (tokens are base64url), copying
// only the value.
func cutJSONString(b *testing.B, s []byte, name string) string {
	_, rest, ok := bytes.Cut(s, []byte(`"`+name+`":"`))
	v, _, ok2 := bytes.Cut(rest, []byte(`"`))
	if !ok || !ok2 {
		b.Fatalf("no %s in %s", name, s)
	}
	return string(v)
}

// bcryptBenchCost is the bcrypt cost of the password benchmarks.
const bcryptBenchCost = 10

// BenchmarkPasswords compares a password grant through TokenHandler with
// the raw bcrypt comparison it is built on, both in parallel on every core
// (b.RunParallel, GOMAXPROCS goroutines), at cost 10. The logins succeed,
// so the login throttle (on, by default) never refuses one. hash-slot is
// the bound on concurrent hashes (Config.Logins.ConcurrentHashes, a semaphore
// of GOMAXPROCS slots) taken and given back with no contention beyond
// the benchmark's own goroutines: what the bound adds to a login when the
// server is not overloaded.
func BenchmarkPasswords(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("wonderland"), bcryptBenchCost)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bcrypt-compare", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := bcrypt.CompareHashAndPassword(hash, []byte("wonderland")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	newAuth := func(b *testing.B) *tollgate.Authenticator {
		f := newFixture(b, "ES256", func(c *tollgate.Config) {
			c.OnEvent = nil
			c.Hasher = tollgate.Bcrypt(bcryptBenchCost)
			// One user logging in without end would meet the bound on
			// successful logins: this measures the hashing path.
			c.Logins.DisableThrottle = true
		})
		f.users.Put(tollgate.User{Username: "alice", PasswordHash: hash, Scopes: []string{"me", "items:read", "items:write"}})
		return f.auth
	}
	b.Run("password-grant", func(b *testing.B) {
		h := newAuth(b).TokenHandler()
		const form = "grant_type=password&username=alice&password=wonderland"
		b.ReportAllocs()
		b.ResetTimer() // New hashed the dummy password with bcrypt
		b.RunParallel(func(pb *testing.PB) {
			req := httptest.NewRequest("POST", "/token", nil)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			body := new(strings.Reader)
			for pb.Next() {
				body.Reset(form)
				req.Body = io.NopCloser(body)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Errorf("login: status %d, %s", rec.Code, rec.Body)
					return
				}
			}
		})
	})
	for _, par := range []bool{false, true} {
		name := "hash-slot"
		if par {
			name += "-parallel"
		}
		b.Run(name, func(b *testing.B) {
			a := newAuth(b)
			b.ReportAllocs()
			if !par {
				for b.Loop() {
					if err := tollgate.HashSlotForBench(a); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tollgate.HashSlotForBench(a); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkKeyRing verifies one first-sight token (cache off, through
// RequireScopes) with 1 and with 100 keys in the key ring; the token is
// signed by the signing key, the other 99 are verification keys of the
// same algorithm.
func BenchmarkKeyRing(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, alg := range []string{"HS256", "ES256"} {
		for _, n := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/keys=%d", alg, n), func(b *testing.B) {
				others := make([]*tollgate.Key, 0, n-1)
				for range n - 1 {
					k, err := tollgate.GenerateKey(alg)
					if err != nil {
						b.Fatal(err)
					}
					others = append(others, k.Public())
				}
				f := newFixture(b, alg, func(c *tollgate.Config) {
					c.Cache.Disabled = true
					c.VerificationKeys = others
				})
				h := f.auth.RequireScopes("items:read")(noop)
				req := httptest.NewRequest("GET", "/items", nil)
				req.Header.Set("Authorization", "Bearer "+f.forgeGood(b, nil))
				benchServe(b, h, req, http.StatusOK)
			})
		}
	}
}

// BenchmarkTokenSize verifies (HS256, first sight: signature, claims
// decode and checks) a token carrying 0, 10, 100 and 1 000 custom claims
// besides the usual ones, each a short string ("c0042":"v0042", 16 bytes
// of JSON). 1 000 claims make a 20 KB token, past the 8 KB verification bound,
// which a request could not carry; so this calls the verify path directly,
// without the size cap and the cache.
func BenchmarkTokenSize(b *testing.B) {
	f := newFixture(b, "HS256", nil)
	for _, n := range []int{0, 10, 100, 1000} {
		b.Run(fmt.Sprintf("claims=%d", n), func(b *testing.B) {
			tok := f.forgeGood(b, func(_, c map[string]any) {
				for i := range n {
					c[fmt.Sprintf("c%04d", i)] = fmt.Sprintf("v%04d", i)
				}
			})
			if err := tollgate.VerifyForBench(f.auth, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := tollgate.VerifyForBench(f.auth, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(tok)), "token-bytes")
		})
	}
}

// growthEnv, when set, lets BenchmarkRefreshSpend build its store of one
// million tokens (seconds of setup, about a gigabyte of heap); without it
// that size is skipped, so that CI's -benchtime=1x run stays quick.
const growthEnv = "TOLLGATE_BENCH_GROWTH"

// BenchmarkRefreshSpend is one rotation in the in-memory RefreshStore
// (Lookup, then Consume with the successor), with 1 000 and 1 000 000 live
// token families. Every family holds one unused token; each iteration
// spends the next one in a fixed random order, so the lookups wander over
// the whole store as real ones would, and the store stays at its size: a
// token lives 2N ticks of the clock (one tick per iteration) and is spent
// at age N, so N unused tokens and about N spent ones are held, the spent
// ones dropped as they expire (in Create, as in production). It reports
// the heap per stored token (runtime.MemStats.HeapAlloc after building the
// store, less before, divided by N: record, map entries, family, expiry
// heap).
func BenchmarkRefreshSpend(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("live=%d", n), func(b *testing.B) {
			if n > 10_000 && os.Getenv(growthEnv) == "" {
				b.Skipf("set %s=1 to build a store of %d tokens", growthEnv, n)
			}
			benchSpend(b, n)
		})
	}
}

func benchSpend(b *testing.B, n int) {
	ctx := context.Background()
	const tick = time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := time.Duration(2*n) * tick
	scopes := []string{"me", "items:read", "items:write"}
	hashOf := func(i int) string {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	order := mrand.New(mrand.NewPCG(1, 2)).Perm(n)
	ids := make([]string, n)  // ids[k]: the family spent k-th
	live := make([]string, n) // live[k]: its current token's hash
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := memstore.NewRefreshStore()
	for k, fam := range order {
		issued := t0.Add(time.Duration(k-n) * tick)
		ids[k], live[k] = hashOf(n+fam), hashOf(fam)
		_, err := s.Create(ctx, tollgate.RefreshFamily{
			ID: ids[k], Hash: live[k], Subject: fmt.Sprint("user-", fam), Username: "alice",
			ClientID: "tollgate", Scopes: scopes, CreatedAt: issued,
			IssuedAt: issued, ExpiresAt: issued.Add(ttl), FamilyExpiresAt: t0.Add(1000 * time.Hour),
		}, 100)
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perToken := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	// Successor hashes: 43 characters like real ones, made from a counter
	// (cheaper than SHA-256, so the figure is the store's).
	var hb [43]byte
	for i := range hb {
		hb[i] = 'A'
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		k := i % n
		now := t0.Add(time.Duration(i) * tick)
		rt, err := s.Lookup(ctx, ids[k])
		if err != nil || rt.Hash != live[k] {
			b.Fatalf("lookup %d: %v", i, err)
		}
		strconv.AppendInt(hb[:0:20], int64(i), 36)
		next := rt
		next.Hash, next.IssuedAt, next.ExpiresAt = string(hb[:]), now, now.Add(ttl)
		if _, err := s.Rotate(ctx, ids[k], rt.Hash, &next, now, 0); err != nil {
			b.Fatalf("rotate %d: %v", i, err)
		}
		live[k] = next.Hash
		i++
	}
	b.StopTimer()
	if got := s.Len(); got > n {
		b.Fatalf("store holds %d families, want at most %d (one per family)", got, n)
	}
	b.ReportMetric(perToken, "heapB/token") // after the loop: b.Loop's reset clears metrics
}

// TestRFC6749_5_1_TokenResponseMatchesEncodingJSON checks that the token endpoint's
// hand-built answer (RFC 6749 §5.1) is byte for byte what encoding/json
// would write, escapes included, so the speedup changes nothing a client
// sees.
func TestRFC6749_5_1_TokenResponseMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		access, typ    string
		exp            int64
		refresh, scope string
	}{
		{"eyJh.eyJz.sig", "Bearer", 900, "tgr_abc", "me items:read"},
		{"a.b.c", "Bearer", 0, "", ""},
		{"a.b.c", "Bearer", -1, "", "x<y>&z \"q\" \\ \u2028 \xff é"},
		{"a-_.b", "Bearer", 1 << 40, "tgr_-_", "a!#[]~"},
	} {
		mine, std := tollgate.TokenResponseJSON(tc.access, tc.typ, tc.exp, tc.refresh, tc.scope)
		if mine != std {
			t.Errorf("RFC 6749 §5.1 answer:\n got %q\nwant %q", mine, std)
		}
	}
}

// TestTokensNeedNoJSONEscape: the answer copies the access and refresh
// tokens without escaping, which is right only because every token
// tollgate makes is base64url and '.', whatever the algorithm.
func TestTokensNeedNoJSONEscape(t *testing.T) {
	plain := func(s string) bool {
		return s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == ""
	}
	for _, alg := range benchAlgs {
		f := newFixture(t, alg, nil)
		tj := f.login(t, "alice", "wonderland")
		if !plain(tj.AccessToken) || !plain(tj.RefreshToken) {
			t.Errorf("%s: a token needs JSON escaping: %q / %q", alg, tj.AccessToken, tj.RefreshToken)
		}
		tj = decodeToken(t, f.refreshWith(tj.RefreshToken))
		if !plain(tj.AccessToken) || !plain(tj.RefreshToken) {
			t.Errorf("%s: a refreshed token needs JSON escaping", alg)
		}
	}
}

// TestRFC9700_4_14_RefreshSecretShape checks the one-buffer refresh token: the
// prefix, a 128-bit family handle and 256 bits of the token's own in
// base64url (RFC 9700 §4.14 entropy), the shape parseRefresh accepts, and
// the stored hash is the hash of the token.
func TestRFC9700_4_14_RefreshSecretShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash, rehash, id := tollgate.NewRefreshTokenForTest()
		raw, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(tok, "tgr_"))
		if !strings.HasPrefix(tok, "tgr_") || err != nil || len(raw) != 48 || id == "" || id != tollgate.RefreshFamilyID(tok) {
			t.Fatalf("refresh token %d bytes after the prefix, err %v, family %q", len(raw), err, id)
		}
		if hash != rehash {
			t.Fatal("stored hash is not the hash of the token")
		}
		if seen[tok] {
			t.Fatal("refresh token repeated")
		}
		seen[tok] = true
	}
}
