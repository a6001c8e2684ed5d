package tollgate

import (
	"net/netip"
	"testing"
	"time"
)

// TestKnownPairsPerUsernameCap: a username keeps at most maxKnownPerUser
// known addresses, and a ninth evicts its own oldest, never another
// username's; so an attacker logging in to accounts of its own from many
// addresses cannot push a victim's known addresses out short of filling
// the whole table.
func TestKnownPairsPerUsernameCap(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	kp := knownPairs{max: 1000, perUser: maxKnownPerUser}
	victim := userIP{user: 1, ip: netip.MustParseAddr("198.51.100.7")}
	kp.add(victim, t0)
	for i := range 50 { // the attacker's own account, from 50 addresses
		kp.add(userIP{user: 2, ip: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})}, t0.Add(time.Duration(i+1)*time.Second))
	}
	if !kp.has(victim, t0.Add(time.Hour)) {
		t.Error("another username's logins evicted the victim's known address")
	}
	if n := len(kp.byUser[2]); n != maxKnownPerUser {
		t.Errorf("the attacker's username holds %d known addresses, want %d", n, maxKnownPerUser)
	}
	if kp.order.Len() != maxKnownPerUser+1 || len(kp.byKey) != maxKnownPerUser+1 {
		t.Errorf("table holds %d (%d keys), want %d", kp.order.Len(), len(kp.byKey), maxKnownPerUser+1)
	}
	// The oldest of the attacker's went; the newest stay.
	if kp.has(userIP{user: 2, ip: netip.AddrFrom4([4]byte{203, 0, 113, 0})}, t0.Add(time.Hour)) ||
		!kp.has(userIP{user: 2, ip: netip.AddrFrom4([4]byte{203, 0, 113, 49})}, t0.Add(time.Hour)) {
		t.Error("the cap evicted other than the username's oldest address")
	}
	if kp.has(victim, t0.Add(knownFor+time.Second)) {
		t.Error("a known address outlived knownFor")
	}
}

// TestPriorityByNetwork: the hash gate's priority counts attempts per
// network (IPv4 /24, IPv6 /48), so an attacker taking a fresh /64, or a
// fresh IPv4 address in its /24, for every request is not always first.
func TestPriorityByNetwork(t *testing.T) {
	lim := LoginLimits{}
	lim.resolve()
	th := newThrottle(lim)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	prio := func(ip string, user uint64) int {
		tk := loginTicket{user: user, ip: netip.MustParseAddr(ip), counted: true}
		if _, why := th.begin(&tk, t0); why != "" {
			t.Fatalf("%s throttled: %s", ip, why)
		}
		return tk.prio
	}
	for i := range 5 { // five fresh /64s of one /48
		if p := prio(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, byte(i), 15: 1}).String(), uint64(100+i)); p != i {
			t.Errorf("attempt %d from the same /48: priority %d, want %d", i, p, i)
		}
	}
	for i := range 3 { // three addresses of one IPv4 /24
		if p := prio(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String(), uint64(200+i)); p != i {
			t.Errorf("attempt %d from the same /24: priority %d, want %d", i, p, i)
		}
	}
	if p := prio("198.51.100.9", 300); p != 0 {
		t.Errorf("a quiet network: priority %d, want 0", p)
	}
}
