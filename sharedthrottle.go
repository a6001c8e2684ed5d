package tollgate

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"net/netip"
	"time"

	"github.com/tollgate-go/tollgate/audit"
)

// A CounterStore keeps counters that every replica of a service sees, so
// that the login throttle's limits do not multiply with the number of
// replicas (LoginLimits.Shared; redisstore implements it, and
// storetest.TestCounterStore checks an implementation). It must be safe
// for concurrent use.
type CounterStore interface {
	// Add is one atomic step over ops. If the counter of an op with a
	// positive Limit is at or over it, nothing changes, and Add returns
	// that op's index and how long until its counter expires. Otherwise
	// every op's Delta is added to its counter (a counter that did not
	// exist starts at zero and expires Window after; one that falls to
	// zero or below is deleted), and Add returns -1 and the counts after.
	Add(ctx context.Context, ops []CounterOp) (over int, retry time.Duration, counts []int64, err error)
}

// A CounterOp is one counter of a [CounterStore.Add].
type CounterOp struct {
	Key    string
	Delta  int64
	Limit  int64 // checked before anything is added; 0: none
	Window time.Duration
	Renew  bool // a positive Delta restarts the counter's Window (a mark kept while it is used)
}

// sharedTicket is an attempt as the shared counters hold it.
type sharedTicket struct {
	user    string // the key of the username's failures: its own, or the known address's
	ip, net string // "" without an address
	addr    string // the address, as keyed
	known   string // the key that marks the address as known for the username
	fails   int64  // the username's failures after this attempt
	viaPair bool   // a locked username, through an address it logged in from
}

// sharedKey is the counter key of a username: a hash, so that the store
// holds no username and no key a username can shape.
func sharedKey(kind, s string) string {
	sum := sha256.Sum256([]byte(s))
	return "tollgate:login:" + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:16])
}

// sharedBegin counts an attempt in the shared counters, after the local
// throttle took it: the same limits, seen by every replica. It refuses
// the attempt (which) when one is reached; a store that fails refuses it
// too (503): brute force must not get through while the counters are
// out of reach.
func (a *Authenticator) sharedBegin(ctx context.Context, username string, ip netip.Addr) (sharedTicket, time.Duration, audit.Reason, int, error) {
	l := a.cfg.Logins
	w := l.Window
	st := sharedTicket{user: sharedKey("fail", username)}
	if ip.IsValid() {
		st.ip = "tollgate:login:ip:" + ip.String()
		st.net = "tollgate:login:net:" + prefixOf(ip).String()
		st.known = sharedKey("known", username+"\x00"+ip.String())
		st.addr = ip.String()
	}
	// Is the username locked, and is this an address it logged in from?
	// A read (deltas 0): the answer may be a moment old, as the local
	// throttle's may.
	if st.known != "" {
		_, _, counts, err := l.Shared.Add(ctx, []CounterOp{{Key: st.user, Window: w}, {Key: st.known, Window: knownFor}})
		if err != nil {
			return st, 0, "", 0, storeFailed(err)
		}
		if counts[0] >= int64(l.FailuresPerUsername) && counts[1] > 0 {
			st.viaPair = true
			st.user = sharedKey("pairfail", username+"\x00"+ip.String())
		}
	}
	ops := []CounterOp{
		{Key: sharedKey("ok", username), Limit: int64(l.SuccessesPerUsername), Window: w},
		{Key: st.user, Delta: 1, Limit: int64(l.FailuresPerUsername), Window: w},
	}
	if st.ip != "" {
		ops = append(ops,
			CounterOp{Key: st.ip, Delta: 1, Limit: int64(l.FailuresPerIP), Window: w},
			CounterOp{Key: st.ip + ":ok", Limit: int64(l.SuccessesPerIP), Window: w},
			CounterOp{Key: st.net, Delta: 1, Window: w})
	}
	over, retry, counts, err := l.Shared.Add(ctx, ops)
	switch {
	case err != nil:
		return st, 0, "", 0, storeFailed(err)
	case over == 0 || over == 1:
		return st, retry, audit.ThrottledUsername, 0, nil
	case over > 1:
		return st, retry, audit.ThrottledIP, 0, nil
	}
	st.fails = counts[1]
	prio := 0
	if st.net != "" {
		prio = int(counts[4] - 1) // the network's logins before this one
	}
	return st, 0, "", prio, nil
}

// sharedEnd settles an attempt in the shared counters as endLogin does
// locally. A failure here is logged: the attempt was answered already.
func (a *Authenticator) sharedEnd(ctx context.Context, st sharedTicket, username string, outcome int) {
	l := a.cfg.Logins
	w := l.Window
	var ops []CounterOp
	switch outcome {
	case loginOK:
		// The username's failures are forgotten (unless it came through a
		// known address of a locked username), the address's failure
		// taken back, the address known for the username, the success
		// counted.
		fails := st.fails
		ops = append(ops, CounterOp{Key: st.user, Delta: -fails, Window: w}, CounterOp{Key: sharedKey("ok", username), Delta: 1, Window: w})
		if st.ip != "" {
			// The address is known for 30 days from this success, and its
			// failures for the username (counted while it was locked) go.
			ops = append(ops, CounterOp{Key: st.ip, Delta: -1, Window: w}, CounterOp{Key: st.ip + ":ok", Delta: 1, Window: w},
				CounterOp{Key: st.known, Delta: 1, Window: knownFor, Renew: true})
			if !st.viaPair {
				ops = append(ops, CounterOp{Key: sharedKey("pairfail", username+"\x00"+st.addr), Delta: math.MinInt32, Window: w})
			}
		}
	case loginShed:
		ops = append(ops, CounterOp{Key: st.user, Delta: -1, Window: w})
	case loginFault:
		ops = append(ops, CounterOp{Key: st.user, Delta: -1, Window: w})
		if st.ip != "" {
			ops = append(ops, CounterOp{Key: st.ip, Delta: -1, Window: w})
		}
	default:
		return // a failure stays counted
	}
	if _, _, _, err := l.Shared.Add(ctx, ops); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "tollgate: settling a login in the shared throttle failed", "err", err)
	}
}

// Outcomes of a login, for sharedEnd.
const (
	loginFailed = iota
	loginOK
	loginShed
	loginFault
)
