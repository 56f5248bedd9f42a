// Lua scripts of the Redis store. Each runs atomically in one round trip.
//
// Key layout (p = configurable prefix, T = tenant, wrapped as a Cluster hash tag):
//   p seq:{T}             HASH  g = generation id (one life of the data), n = sequence
//   p tag:{T}:<tag>       STRING version of a tag (set to the sequence by a bump); `*` = whole tenant
//   p <key>               HASH  one entry, key = report:{T}:…; fields below; PEXPIREAT at its last stale moment
//   p lease:<key>         STRING fill lease token, PX lease time
//   p meta:{T}            HASH  <key> -> "<kind>\n<bytes>[\n<owner>]" for live entries (statistics, budgets)
//   p idx:{T}             ZSET  <key> scored by its expiry time (reclaims statistics of expired entries)
//   p idx:{T}:fifo        ZSET  <key> scored by write order (count fs; the tenant's byte budget evicts oldest first)
//   p idx:{T}:fifo:u:<o>  ZSET  the same for the entries of owner <o> (a user's byte budget)
//   p count:{T}           HASH  k:<kind> = entries, b:<kind> = bytes, bt = tenant bytes, bu:<o> = owner bytes, fs = writes
//   p applied:{T}         ZSET  recently applied invalidation-log records (member = score = seq)
// seq:{T} also holds l = the highest source position delivered (store.ts `position`), lg = the
// generation in which l covers every change (a new generation's l is unknown until confirmed),
// and, in a Redis Cluster, r = the id of the node that last confirmed the tenant's data.
// Entry fields: b body (raw bytes), e ETag, t generatedAt, k kind, g generation, s stamp,
// tg tags ("\n"-joined), st storedAt, fu fresh until, wu stale-while-revalidate until,
// iu stale-if-error until (ms, Redis clock from TIME).
// seq and tag keys have no TTL: with maxmemory-policy volatile-lru (or volatile-ttl)
// only expiring keys — entries and leases — are ever evicted.
// Every key of a script shares the {T} slot. The get script reads tag keys it
// learns from the entry (not declared in KEYS): valid in Redis Cluster because
// they hash to the same slot as the declared keys.
//
// Failover (Redis Cluster): replication is asynchronous, so a promoted replica
// may lack the last bumps of its slots. Each script that serves, stamps or
// stores first compares r with the node's own id (CLUSTER MYID): on another
// node than the one that confirmed the tenant's data, get and stamp start a new
// generation (every entry and stamp from before is refused) and set r; set
// refuses. The store prepends `local CLUSTER = true|false` (scriptSource).

/** The script as the store defines it: the cluster flag the node check reads, then the script. */
export function scriptSource(lua: string, cluster: boolean): string {
  return `local CLUSTER = ${cluster}\n${lua}`
}

const HELPERS = String.raw`
-- The node's id when the tenant's data was last confirmed by another node (a failover
-- or a restart moved the slot: it may have missed bumps), else nil. Standalone: nil.
local function node_changed(seq)
  if not CLUSTER then return nil end
  local me = redis.call('CLUSTER', 'MYID')
  if redis.call('HGET', seq, 'r') ~= me then return me end
  return nil
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops a member's statistics and budget accounting (its entry is deleted by the caller or has expired).
local function forget(meta, idx, counters, member)
  local m = redis.call('HGET', meta, member)
  if m then
    local sep = string.find(m, '\n', 1, true)
    local kind = string.sub(m, 1, sep - 1)
    local rest = string.sub(m, sep + 1)
    local sep2 = string.find(rest, '\n', 1, true)
    local bytes = tonumber(sep2 and string.sub(rest, 1, sep2 - 1) or rest)
    local owner = sep2 and string.sub(rest, sep2 + 1) or ''
    redis.call('HINCRBY', counters, 'k:' .. kind, -1)
    redis.call('HINCRBY', counters, 'b:' .. kind, -bytes)
    redis.call('HINCRBY', counters, 'bt', -bytes)
    if owner ~= '' then
      if redis.call('HINCRBY', counters, 'bu:' .. owner, -bytes) <= 0 then redis.call('HDEL', counters, 'bu:' .. owner) end
      redis.call('ZREM', idx .. ':fifo:u:' .. owner, member)
    end
    redis.call('HDEL', meta, member)
  end
  redis.call('ZREM', idx, member)
  redis.call('ZREM', idx .. ':fifo', member)
end

-- Reclaims the statistics of at most budget expired entries.
local function reclaim(meta, idx, counters, now, budget)
  local expired = redis.call('ZRANGEBYSCORE', idx, '-inf', now, 'LIMIT', 0, budget)
  for i = 1, #expired do forget(meta, idx, counters, expired[i]) end
end
`

/**
 * GET. KEYS: seq, meta, idx, count, tag:*, lease, entry, aux entries…
 * ARGV: tag key prefix, candidate generation, entry member, If-None-Match mode
 * ('' none, '*' any, 'l' list), If-None-Match list ("\n"-joined), lease token ('' = no lease),
 * lease ms, aux members…, then per aux the ETag the caller holds ('' none).
 *
 * Validates the entry (generation, tenant-wide version and every tag version <=
 * its stamp) and its time window; deletes it when invalid or expired. On an
 * If-None-Match match of a servable entry returns its metadata only. When the
 * entry is missing or stale, tries the fill lease (SET NX PX). Aux entries are
 * validated the same way and returned only when fresh, without the body when
 * its ETag is the one the caller holds ('same').
 * Reply: gen, seq, status (miss|fresh|swr|sie|nm-fresh|nm-swr), lease (none|acquired|held),
 * e, t, k, st, fu, wu, iu, s, tg, body, then per aux: status (hit|same|miss), body, t, e.
 */
export const GET_SCRIPT = `${HELPERS}
local moved = node_changed(KEYS[1])
if moved then redis.call('HSET', KEYS[1], 'g', ARGV[2], 'r', moved) end
local sg = redis.call('HMGET', KEYS[1], 'g', 'n')
local gen = sg[1]
if not gen then
  redis.call('HSET', KEYS[1], 'g', ARGV[2])
  gen = ARGV[2]
end
local seq = sg[2] or '0'
local allv = tonumber(redis.call('GET', KEYS[5]) or '0')
local now = now_ms()

local function check(ekey, member)
  local h = redis.call('HMGET', ekey, 'g', 's', 'tg', 'fu', 'wu', 'iu', 'e', 't', 'k', 'st')
  if not h[1] then return nil, h end
  local s = tonumber(h[2])
  local ok = (h[1] == gen) and (s >= allv)
  if ok and h[3] ~= '' then
    for tag in string.gmatch(h[3], '[^\\n]+') do
      local v = redis.call('GET', ARGV[1] .. tag)
      if v and tonumber(v) > s then
        ok = false
        break
      end
    end
  end
  if ok then
    if now < tonumber(h[4]) then return 'fresh', h end
    if now < tonumber(h[5]) then return 'swr', h end
    if now < tonumber(h[6]) then return 'sie', h end
  end
  redis.call('DEL', ekey)
  forget(KEYS[2], KEYS[3], KEYS[4], member)
  return nil, h
end

local state, h = check(KEYS[7], ARGV[3])
local status = state or 'miss'
if (state == 'fresh' or state == 'swr') and ARGV[4] ~= '' then
  local matched = ARGV[4] == '*'
  if not matched then
    for etag in string.gmatch(ARGV[5], '[^\\n]+') do
      if etag == h[7] then
        matched = true
        break
      end
    end
  end
  if matched then status = 'nm-' .. state end
end

local lease = 'none'
if ARGV[6] ~= '' and state ~= 'fresh' then
  if redis.call('SET', KEYS[6], ARGV[6], 'NX', 'PX', ARGV[7]) then
    lease = 'acquired'
  elseif redis.call('GET', KEYS[6]) == ARGV[6] then
    redis.call('PEXPIRE', KEYS[6], ARGV[7])
    lease = 'acquired'
  else
    lease = 'held'
  end
end

local out = { gen, seq, status, lease }
if state then
  out[5] = h[7]
  out[6] = h[8]
  out[7] = h[9]
  out[8] = h[10]
  out[9] = h[4]
  out[10] = h[5]
  out[11] = h[6]
  out[12] = h[2]
  out[13] = h[3]
  if string.sub(status, 1, 3) == 'nm-' then
    out[14] = ''
  else
    out[14] = redis.call('HGET', KEYS[7], 'b')
  end
else
  for i = 5, 14 do out[i] = '' end
end

local naux = #KEYS - 7
for i = 8, #KEYS do
  local astate, ah = check(KEYS[i], ARGV[i])
  if astate == 'fresh' then
    -- The caller holds these bytes already (same ETag): confirm without sending them.
    if ARGV[i + naux] ~= '' and ARGV[i + naux] == ah[7] then
      out[#out + 1] = 'same'
      out[#out + 1] = ''
    else
      out[#out + 1] = 'hit'
      out[#out + 1] = redis.call('HGET', KEYS[i], 'b')
    end
    out[#out + 1] = ah[8]
    out[#out + 1] = ah[7]
  else
    out[#out + 1] = 'miss'
    out[#out + 1] = ''
    out[#out + 1] = ''
    out[#out + 1] = ''
  end
end
return out
`

/**
 * HIT: the hit path's read when this process holds copies of the bodies
 * (body-copies.ts), for every confirmation of one tenant asked in one
 * event-loop turn. KEYS: seq, tag:*, then each confirmation's entry and aux
 * entries; ARGV: tag key prefix, then per confirmation the number of its keys
 * followed by their ETags (the copy's, then those the caller holds per aux).
 *
 * Answers one character per confirmation: '1' when its entry and every aux
 * entry are fresh and valid by the same rules as GET (generation, tenant-wide
 * version, tag versions, fresh window) and hold exactly the ETags given, else
 * '0'. It changes nothing: on '0' the caller reads with GET, which deletes
 * what is invalid, starts a generation or takes a lease. One call for up to
 * 16 confirmations instead of one per key costs Redis about 30% less CPU per
 * hit when many keys are read (bench/README.md), and a tag shared by the
 * entries is read once.
 */
export const HIT_SCRIPT = `${HELPERS}
local n = 0
local i = 2
while i <= #ARGV do
  n = n + 1
  i = i + 1 + tonumber(ARGV[i])
end
if node_changed(KEYS[1]) then return string.rep('0', n) end
local gen = redis.call('HGET', KEYS[1], 'g')
if not gen then return string.rep('0', n) end
local allv = tonumber(redis.call('GET', KEYS[2]) or '0')
local now = now_ms()
local versions = {}
local function valid(ekey, etag)
  local h = redis.call('HMGET', ekey, 'g', 's', 'tg', 'fu', 'e')
  if h[1] ~= gen or h[5] ~= etag then return false end
  local s = tonumber(h[2])
  if s < allv or now >= tonumber(h[4]) then return false end
  if h[3] ~= '' then
    for tag in string.gmatch(h[3], '[^\\n]+') do
      local v = versions[tag]
      if v == nil then
        v = tonumber(redis.call('GET', ARGV[1] .. tag)) or false
        versions[tag] = v
      end
      if v and v > s then return false end
    end
  end
  return true
end
local out = {}
local k = 3
i = 2
while i <= #ARGV do
  local count = tonumber(ARGV[i])
  local ok = true
  for j = 0, count - 1 do
    if ok and not valid(KEYS[k + j], ARGV[i + 1 + j]) then ok = false end
  end
  out[#out + 1] = ok and '1' or '0'
  k = k + count
  i = i + 1 + count
end
return table.concat(out)
`

/**
 * SET. KEYS: seq, meta, idx, count, tag:*, lease, entry, tag keys of the entry…
 * ARGV: generation, stamp, tags ("\n"-joined), body, etag, generatedAt, kind, ttl ms,
 * stale-while-revalidate ms, stale-if-error ms, entry member, lease token to release
 * ('' none), reclaim budget, key prefix, owner ('' none), tenant byte budget, owner byte budget.
 *
 * Budgets: an entry larger than a budget is 'too-large'; after storing, while the
 * tenant (or the owner) holds more than its budget, its oldest-stored entries are
 * deleted (idx:{T}:fifo, idx:{T}:fifo:u:<owner>), never another tenant's or owner's.
 *
 * Releases the lease if still ours, then refuses ('refused') when the data's
 * generation changed or the tenant-wide or any tag version is above the stamp —
 * the computation read data older than a committed change. Otherwise writes the
 * entry with PEXPIREAT at the end of its last stale window, updates the
 * statistics and reclaims those of a few expired entries. Reply: stored | refused.
 */
export const SET_SCRIPT = `${HELPERS}
if ARGV[12] ~= '' and redis.call('GET', KEYS[6]) == ARGV[12] then redis.call('DEL', KEYS[6]) end
if node_changed(KEYS[1]) or redis.call('HGET', KEYS[1], 'g') ~= ARGV[1] then return 'refused' end
local s = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[5]) or '0') > s then return 'refused' end
for i = 8, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v and tonumber(v) > s then return 'refused' end
end
local now = now_ms()
local fu = now + tonumber(ARGV[8])
local wu = fu + tonumber(ARGV[9])
local iu = fu + tonumber(ARGV[10])
local expire_at = math.max(wu, iu, now + 1)
local bytes = #ARGV[4] + #ARGV[5] + #ARGV[3] + 200
local owner = ARGV[15]
if bytes > tonumber(ARGV[16]) or (owner ~= '' and bytes > tonumber(ARGV[17])) then return 'too-large' end
redis.call('DEL', KEYS[7])
redis.call('HSET', KEYS[7], 'b', ARGV[4], 'e', ARGV[5], 't', ARGV[6], 'k', ARGV[7], 'g', ARGV[1],
  's', ARGV[2], 'tg', ARGV[3], 'st', now, 'fu', fu, 'wu', wu, 'iu', iu)
redis.call('PEXPIREAT', KEYS[7], expire_at)
forget(KEYS[2], KEYS[3], KEYS[4], ARGV[11])
redis.call('HSET', KEYS[2], ARGV[11], ARGV[7] .. '\\n' .. bytes .. (owner ~= '' and ('\\n' .. owner) or ''))
redis.call('HINCRBY', KEYS[4], 'k:' .. ARGV[7], 1)
redis.call('HINCRBY', KEYS[4], 'b:' .. ARGV[7], bytes)
redis.call('ZADD', KEYS[3], expire_at, ARGV[11])
reclaim(KEYS[2], KEYS[3], KEYS[4], now, tonumber(ARGV[13]))
redis.call('HINCRBY', KEYS[4], 'bt', bytes)
-- A per-tenant write counter orders the budget queues (two writes may share a millisecond).
local order = redis.call('HINCRBY', KEYS[4], 'fs', 1)
redis.call('ZADD', KEYS[3] .. ':fifo', order, ARGV[11])
if owner ~= '' then
  redis.call('HINCRBY', KEYS[4], 'bu:' .. owner, bytes)
  redis.call('ZADD', KEYS[3] .. ':fifo:u:' .. owner, order, ARGV[11])
end
-- Oldest-stored first, never the entry just written; bounded work per write.
local function evict_over(fifo, field, max)
  for _ = 1, 1000 do
    if tonumber(redis.call('HGET', KEYS[4], field) or '0') <= max then return end
    local oldest = redis.call('ZRANGE', fifo, 0, 1)
    local victim = oldest[1]
    if victim == ARGV[11] then victim = oldest[2] end
    if not victim then return end
    redis.call('DEL', ARGV[14] .. victim)
    forget(KEYS[2], KEYS[3], KEYS[4], victim)
    redis.call('ZREM', fifo, victim)
  end
end
evict_over(KEYS[3] .. ':fifo', 'bt', tonumber(ARGV[16]))
if owner ~= '' then evict_over(KEYS[3] .. ':fifo:u:' .. owner, 'bu:' .. owner, tonumber(ARGV[17])) end
return 'stored'
`

/**
 * BUMP. KEYS: seq, tag keys… ARGV: candidate generation, '1' to forget the source position.
 * Increments the tenant sequence once and sets every tag to it: strictly above any
 * stamp handed out before (a stamp is a past sequence value); versions never decrease.
 * A re-sent delivery has lost its position: the tenant's becomes unknown (lg dropped).
 * Reply: the new version.
 */
export const BUMP_SCRIPT = `
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSETNX', KEYS[1], 'g', ARGV[1])
if ARGV[2] == '1' then redis.call('HDEL', KEYS[1], 'lg') end
for i = 2, #KEYS do redis.call('SET', KEYS[i], n) end
return n
`

/**
 * APPLY. KEYS: seq, applied, then one tag key per record. ARGV: candidate generation,
 * how many records `applied` keeps, source position ('' unknown), then one record seq
 * per record (same order).
 * Delivers invalidation-log records: those applied before are skipped; the tags of
 * the others move up to one new version (never down), the records are
 * remembered, and the position moves up. Reply: the new version, or 0 when every
 * record was applied before.
 */
export const APPLY_SCRIPT = `
local fresh = {}
for i = 4, #ARGV do
  if not redis.call('ZSCORE', KEYS[2], ARGV[i]) then fresh[#fresh + 1] = i end
end
if #fresh == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSETNX', KEYS[1], 'g', ARGV[1])
if ARGV[3] ~= '' and (redis.call('HGET', KEYS[1], 'l') or '') < ARGV[3] then
  redis.call('HSET', KEYS[1], 'l', ARGV[3])
end
for _, i in ipairs(fresh) do
  local key = KEYS[i - 1]
  if tonumber(redis.call('GET', key) or '0') < n then redis.call('SET', key, n) end
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i])
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
return n
`

/** STAMP. KEYS: seq. ARGV: candidate generation. Reply: generation, sequence. */
export const STAMP_SCRIPT = `${HELPERS}
local moved = node_changed(KEYS[1])
if moved then redis.call('HSET', KEYS[1], 'g', ARGV[1], 'r', moved) end
local sg = redis.call('HMGET', KEYS[1], 'g', 'n')
if not sg[1] then
  redis.call('HSET', KEYS[1], 'g', ARGV[1])
  return { ARGV[1], sg[2] or '0' }
end
return { sg[1], sg[2] or '0' }
`

/**
 * POSITION. KEYS: seq. ARGV: the stamp's generation. Reply: the tenant's source
 * position when it covers that generation, else '' (unknown).
 */
export const POSITION_SCRIPT = `${HELPERS}
if node_changed(KEYS[1]) then return '' end
local h = redis.call('HMGET', KEYS[1], 'g', 'l', 'lg')
if h[1] ~= ARGV[1] or h[3] ~= ARGV[1] then return '' end
return h[2] or ''
`

/**
 * CONFIRM POSITION. KEYS: seq. ARGV: the stamp's generation, a source position read
 * after the stamp. Raises l to it and marks l as covering the generation, unless the
 * generation moved on. Reply: 1 when recorded.
 */
export const CONFIRM_POSITION_SCRIPT = `${HELPERS}
if node_changed(KEYS[1]) or redis.call('HGET', KEYS[1], 'g') ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[1], 'l') or '') < ARGV[2] then redis.call('HSET', KEYS[1], 'l', ARGV[2]) end
redis.call('HSET', KEYS[1], 'lg', ARGV[1])
return 1
`

/**
 * STATS. KEYS: meta, idx, count. ARGV: reclaim budget.
 * Reclaims the statistics of expired entries (bounded), then returns the counters (flat field/value list).
 */
export const STATS_SCRIPT = `${HELPERS}
reclaim(KEYS[1], KEYS[2], KEYS[3], now_ms(), tonumber(ARGV[1]))
return redis.call('HGETALL', KEYS[3])
`

/** RELEASE. KEYS: lease. ARGV: token. Deletes the lease only if it is still ours. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
