package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tollgate-go/tollgate"
)

// RefreshStore is a [tollgate.RefreshStore] in Redis: one hash per family
// however often it rotates, expiring when tollgate may drop it, and a
// sorted set per subject of its families (by login time). Every method is
// one script or one command.
type RefreshStore struct{ s *Store }

var _ tollgate.RefreshStore = (*RefreshStore)(nil)

func (r *RefreshStore) famKey(id string) string      { return r.s.prefix + "fam:" + id }
func (r *RefreshStore) subKey(subject string) string { return r.s.prefix + "sub:" + subject }

func scopesJSON(scopes []string) (string, error) {
	if scopes == nil {
		scopes = []string{}
	}
	b, err := json.Marshal(scopes)
	return string(b), err
}

// createScript stores a family and revokes its subject's oldest live
// families past keep. It reads the subject's whole index, which tollgate
// bounds (Config.RefreshMaxSessions: keep, 100 by default, plus what
// expired since the last login). KEYS: the family, the subject's index. ARGV: keep,
// drop time (ms), the family key prefix, then the record's fields and
// values.
var createScript = redis.NewScript(`
local famKey, subKey = KEYS[1], KEYS[2]
local keep, drop, famPrefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
redis.call('DEL', famKey)
redis.call('HSET', famKey, unpack(ARGV, 4))
redis.call('PEXPIREAT', famKey, drop)
local r = redis.call('HMGET', famKey, 'id', 'created_at')
redis.call('ZADD', subKey, r[2], r[1])
local live = {}
for _, m in ipairs(redis.call('ZRANGE', subKey, 0, -1)) do
	if redis.call('EXISTS', famPrefix .. m) == 0 then
		redis.call('ZREM', subKey, m)
	else
		live[#live + 1] = m
	end
end
local revoked = {}
if keep > 0 and #live > keep then
	for i = 1, #live - keep do
		local k = famPrefix .. live[i]
		revoked[#revoked + 1] = redis.call('HGETALL', k)
		redis.call('DEL', k)
		redis.call('ZREM', subKey, live[i])
	end
end
if redis.call('PEXPIRETIME', subKey) < drop then
	redis.call('PEXPIREAT', subKey, drop)
end
return revoked`)

// Create stores a new family (replacing one with its id) and revokes the
// subject's oldest live families past keep, in one script.
func (r *RefreshStore) Create(ctx context.Context, f tollgate.RefreshFamily, keep int) ([]tollgate.RefreshFamily, error) {
	f.PrevHash, f.PrevUsedAt, f.PrevReuses, f.Rotations = "", time.Time{}, 0, 0
	sj, err := scopesJSON(f.Scopes)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	args := []any{keep, ms(f.DropAfter()), r.s.prefix + "fam:",
		"id", f.ID, "subject", f.Subject, "username", f.Username, "client_id", f.ClientID, "scopes", sj,
		"created_at", ms(f.CreatedAt), "family_expires_at", ms(f.FamilyExpiresAt), "hash", f.Hash,
		"issued_at", ms(f.IssuedAt), "expires_at", ms(f.ExpiresAt), "prev_hash", "", "prev_used_at", 0,
		"prev_reuses", 0, "rotations", 0, "keep_until", ms(f.KeepUntil)}
	res, err := createScript.Run(ctx, r.s.rdb, []string{r.famKey(f.ID), r.subKey(f.Subject)}, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: create: %w", err)
	}
	return parseFamilies(res)
}

// parseFamilies reads a list of HGETALL replies.
func parseFamilies(res []any) ([]tollgate.RefreshFamily, error) {
	var out []tollgate.RefreshFamily
	for _, v := range res {
		kv, ok := v.([]any)
		if !ok {
			return nil, errBadRecord
		}
		f, err := parseFamily(kv)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// parseFamily reads an HGETALL reply as a list of fields and values.
func parseFamily(kv []any) (tollgate.RefreshFamily, error) {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok1 := kv[i].(string)
		v, ok2 := kv[i+1].(string)
		if !ok1 || !ok2 {
			return tollgate.RefreshFamily{}, errBadRecord
		}
		m[k] = v
	}
	return familyOf(m)
}

// familyOf reads a family's hash.
func familyOf(m map[string]string) (tollgate.RefreshFamily, error) {
	f := tollgate.RefreshFamily{ID: m["id"], Subject: m["subject"], Username: m["username"], ClientID: m["client_id"],
		Hash: m["hash"], PrevHash: m["prev_hash"]}
	if f.ID == "" {
		return f, errBadRecord
	}
	if err := json.Unmarshal([]byte(m["scopes"]), &f.Scopes); err != nil {
		return f, fmt.Errorf("%w: scopes: %w", errBadRecord, err)
	}
	var errs []error
	tm := func(name string, dst *time.Time) {
		t, err := fromMS(m[name])
		errs = append(errs, err)
		*dst = t
	}
	tm("created_at", &f.CreatedAt)
	tm("family_expires_at", &f.FamilyExpiresAt)
	tm("issued_at", &f.IssuedAt)
	tm("expires_at", &f.ExpiresAt)
	tm("prev_used_at", &f.PrevUsedAt)
	tm("keep_until", &f.KeepUntil)
	var err error
	f.PrevReuses, err = strconv.Atoi(m["prev_reuses"])
	errs = append(errs, err)
	f.Rotations, err = strconv.Atoi(m["rotations"])
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return f, fmt.Errorf("%w: %w", errBadRecord, err)
	}
	return f, nil
}

// Lookup returns the family with the given id, or tollgate.ErrNotFound
// (also once Redis has expired it).
func (r *RefreshStore) Lookup(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	m, err := r.s.rdb.HGetAll(ctx, r.famKey(id)).Result()
	switch {
	case err != nil:
		return tollgate.RefreshFamily{}, fmt.Errorf("redisstore: lookup: %w", err)
	case len(m) == 0:
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	}
	f, err := familyOf(m)
	if err != nil {
		return f, fmt.Errorf("redisstore: lookup %q: %w", id, err)
	}
	return f, nil
}

// rotateScript is the refresh grant's one step. KEYS: the family. ARGV:
// presented, now (ms), grace (ms), has next ("1"), the subject key
// prefix, then next's username, client_id, scopes, family_expires_at,
// hash, issued_at, expires_at, keep_until. It returns nil (no family),
// {"rotated", record after} or {"reused", record before}.
var rotateScript = redis.NewScript(`
local k = KEYS[1]
if redis.call('EXISTS', k) == 0 then
	return false
end
local c = redis.call('HMGET', k, 'hash', 'prev_hash', 'prev_used_at', 'prev_reuses', 'rotations', 'keep_until', 'subject', 'id')
local presented, now, grace, hasNext = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local hash, prevHash, prevUsed, prevReuses = c[1], c[2], tonumber(c[3]), tonumber(c[4])
local rotations, keepUntil, subKey = tonumber(c[5]), tonumber(c[6]), ARGV[5] .. c[7]
local graceReuse = hasNext and presented ~= hash and presented == prevHash and prevHash ~= '' and prevReuses == 0
	and grace > 0 and now - prevUsed <= grace
if hasNext and (presented == hash or graceReuse) then
	local famExp, exp, nk = tonumber(ARGV[9]), tonumber(ARGV[12]), math.max(keepUntil, tonumber(ARGV[13]))
	local drop = math.max(math.min(exp, famExp), nk)
	local ph, pu, pr = presented, now, 0
	if graceReuse then
		ph, pu, pr = prevHash, prevUsed, 1
	end
	redis.call('HSET', k, 'username', ARGV[6], 'client_id', ARGV[7], 'scopes', ARGV[8], 'family_expires_at', ARGV[9],
		'hash', ARGV[10], 'issued_at', ARGV[11], 'expires_at', ARGV[12], 'keep_until', string.format('%d', nk),
		'prev_hash', ph, 'prev_used_at', string.format('%d', pu), 'prev_reuses', pr, 'rotations', rotations + 1)
	redis.call('PEXPIREAT', k, drop)
	if redis.call('PEXPIRETIME', subKey) < drop then
		redis.call('PEXPIREAT', subKey, drop)
	end
	return {'rotated', redis.call('HGETALL', k)}
end
local old = redis.call('HGETALL', k)
redis.call('DEL', k)
redis.call('ZREM', subKey, c[8])
return {'reused', old}`)

// Rotate is the refresh grant's one step (see [tollgate.RefreshStore]):
// one script, one round trip.
func (r *RefreshStore) Rotate(ctx context.Context, id, presented string, next *tollgate.RefreshFamily, now time.Time, grace time.Duration) (tollgate.RefreshFamily, error) {
	var n tollgate.RefreshFamily
	hasNext := "0"
	if next != nil {
		n, hasNext = *next, "1"
	}
	sj, err := scopesJSON(n.Scopes)
	if err != nil {
		return tollgate.RefreshFamily{}, fmt.Errorf("redisstore: %w", err)
	}
	res, err := rotateScript.Run(ctx, r.s.rdb, []string{r.famKey(id)},
		presented, ms(now), grace.Milliseconds(), hasNext, r.s.prefix+"sub:",
		n.Username, n.ClientID, sj, ms(n.FamilyExpiresAt), n.Hash, ms(n.IssuedAt), ms(n.ExpiresAt), ms(n.KeepUntil)).Slice()
	switch {
	case errors.Is(err, redis.Nil):
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	case err != nil:
		return tollgate.RefreshFamily{}, fmt.Errorf("redisstore: rotate: %w", err)
	}
	outcome, _ := res[0].(string)
	kv, ok := res[1].([]any)
	if len(res) != 2 || !ok {
		return tollgate.RefreshFamily{}, fmt.Errorf("redisstore: rotate: %w", errBadRecord)
	}
	f, err := parseFamily(kv)
	if err != nil {
		return tollgate.RefreshFamily{}, fmt.Errorf("redisstore: rotate: %w", err)
	}
	if outcome == "reused" {
		return f, tollgate.ErrReused
	}
	return f, nil
}

// revokeScript deletes a family and its place in its subject's index.
// KEYS: the family. ARGV: the subject key prefix.
var revokeScript = redis.NewScript(`
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then
	return false
end
local c = redis.call('HMGET', KEYS[1], 'subject', 'id')
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. c[1], c[2])
return rec`)

// Revoke deletes the family with the given id and returns it, or
// tollgate.ErrNotFound.
func (r *RefreshStore) Revoke(ctx context.Context, id string) (tollgate.RefreshFamily, error) {
	res, err := revokeScript.Run(ctx, r.s.rdb, []string{r.famKey(id)}, r.s.prefix+"sub:").Slice()
	switch {
	case errors.Is(err, redis.Nil):
		return tollgate.RefreshFamily{}, tollgate.ErrNotFound
	case err != nil:
		return tollgate.RefreshFamily{}, fmt.Errorf("redisstore: revoke: %w", err)
	}
	f, err := parseFamily(res)
	if err != nil {
		return f, fmt.Errorf("redisstore: revoke: %w", err)
	}
	return f, nil
}

// revokeSubjectScript deletes every family of a subject and its index.
// KEYS: the subject's index. ARGV: the family key prefix.
var revokeSubjectScript = redis.NewScript(`
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local k = ARGV[1] .. m
	local rec = redis.call('HGETALL', k)
	if #rec > 0 then
		out[#out + 1] = rec
		redis.call('DEL', k)
	end
end
redis.call('DEL', KEYS[1])
return out`)

// RevokeSubject deletes every family of subject and returns them.
func (r *RefreshStore) RevokeSubject(ctx context.Context, subject string) ([]tollgate.RefreshFamily, error) {
	res, err := revokeSubjectScript.Run(ctx, r.s.rdb, []string{r.subKey(subject)}, r.s.prefix+"fam:").Slice()
	if err != nil {
		return nil, fmt.Errorf("redisstore: revoke subject: %w", err)
	}
	out, err := parseFamilies(res)
	if err != nil {
		return nil, fmt.Errorf("redisstore: revoke subject: %w", err)
	}
	return out, nil
}
