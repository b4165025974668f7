-- One bid on one auction, in one atomic step.
-- KEYS: state, bids, idem (one auction: auction:{<id>}:...)
-- ARGV: now_ms, bidder, nickname, amount, bid_id, idempotency_key ('' for none), body_hash
-- Checks, in order: a repeated Idempotency-Key (the same body replays its first answer, another body
-- is refused), the auction's end (status or ends_at), the high bidder bidding against themself, and
-- amount >= high + increment (the first bid: amount >= starting). An accepted bid becomes the high
-- bid; one accepted in the last anti_snipe_ms moves ends_at to now + anti_snipe_ms.
-- Returns {'missing'} / {'stale'} when the auction's state is not in Redis or was written by another
-- Redis process (see fence in common.lua: rebuild from PostgreSQL), else
--   {'ok', bid_id, amount, at_ms, ends_at, extended 0|1, outbid bidder ('' for none)}   {'replay', bid_id, amount, at_ms, ends_at}
--   {'bid_too_low', min_bid}  {'already_high_bidder', min_bid}  {'auction_ended'}
--   {'idempotency_key_reused'}
local state, bids, idem = KEYS[1], KEYS[2], KEYS[3]
local fenced = fence(state)
if fenced then return {fenced} end
local now, bidder, nickname = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local amount, bid_id, ikey, bhash = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local m = redis.call('HMGET', state, 'status', 'starting', 'increment', 'ends_at', 'anti_snipe_ms',
  'high', 'high_bidder')
local status, starting, increment = m[1], tonumber(m[2]), tonumber(m[3])
local ends_at, anti_snipe, high, high_bidder = tonumber(m[4]), tonumber(m[5]), tonumber(m[6]), m[7]

local ifield = nil
if ikey ~= '' then
  ifield = bidder .. '|' .. ikey
  local prev = redis.call('HGET', idem, ifield)
  if prev then
    local phash, pid, pamount, pat, pends = string.match(prev, '^(.-)|(.-)|(%d+)|(%d+)|(%d+)$')
    if phash ~= bhash then return {'idempotency_key_reused'} end
    return {'replay', pid, tonumber(pamount), tonumber(pat), tonumber(pends)}
  end
end
if status ~= 'active' or now >= ends_at then return {'auction_ended'} end
local min_bid = starting
if high > 0 then min_bid = high + increment end
if high > 0 and high_bidder == bidder then return {'already_high_bidder', min_bid} end
if amount < min_bid then return {'bid_too_low', min_bid} end

local extended = 0
if now + anti_snipe > ends_at then
  ends_at = now + anti_snipe
  extended = 1
end
redis.call('HSET', state, 'high', amount, 'high_bidder', bidder, 'high_bid_id', bid_id, 'ends_at', ends_at)
redis.call('HINCRBY', state, 'count', 1)
redis.call('LPUSH', bids, bid_id .. '|' .. amount .. '|' .. now .. '|' .. bidder .. '|' .. nickname)
if ifield then
  redis.call('HSET', idem, ifield, bhash .. '|' .. bid_id .. '|' .. amount .. '|' .. now .. '|' .. ends_at)
end
return {'ok', bid_id, amount, now, ends_at, extended, high_bidder or ''}
