-- One bid on one auction, in one atomic step: a plain bid, or a max bid the server bids with.
-- KEYS: state, bids, idem (one auction: auction:{<id>}:...)
-- ARGV: now_ms, bidder, nickname, amount (0 for a max bid), bid_id, idempotency_key ('' for none),
--   body_hash, max_amount (0 or absent for a plain bid)
-- Checks, in order: a repeated Idempotency-Key (the same body replays its first answer, another body
-- is refused), the auction's end (status, ends_at, a sudden death already decided), the high bidder
-- bidding against themself (a max bid from them raises their max instead), and the amount (a max
-- bid: the max) >= high + increment (the first bid: >= starting).
-- Proxy bidding, eBay's rule: only the high bidder's max is kept (`high_max`, private; a plain bid's
-- max is its amount). A challenger whose max beats it takes the lead at
-- max(its plain amount or the minimum bid, min(its max, high_max + increment)); one whose max does not
-- (a tie goes to the earlier max, the high bidder's) leaves the lead where it was and the server bids
-- for the high bidder at min(high_max, challenger's max + increment). Either way the step records ONE
-- bid, at least high + increment, so accepted bids rise by the increment however maxes meet.
-- Anti-snipe: a bid accepted in the last anti_snipe_ms moves ends_at to now + anti_snipe_ms.
-- Sudden death (sudden_ms > 0): no extensions; once ends_at has passed, the first accepted bid within
-- sudden_ms decides the auction (`decided`; every later bid is refused, auction_close ends it).
-- Returns {'missing'} / {'stale'} when the auction's state is not in Redis or was written by another
-- Redis process (see fence in common.lua: rebuild from PostgreSQL), else
--   {'ok'|'replay'|'raised', bid_id, amount, at_ms, ends_at, extended 0|1, outbid bidder ('' for none),
--    bid's bidder, bid's nickname, leading (0: a max of the high bidder's beat the requester's; 1: the
--    requester leads; 2: 'raised', the high bidder's max went up, no bid, bid_id is the standing high
--    bid), your_max (the requester's live max, 0 for none), decided 0|1, bid's bidder's max}
--   {'bid_too_low', min_bid}  {'already_high_bidder', min_bid}  {'auction_ended'}
--   {'idempotency_key_reused'}
local state, bids, idem = KEYS[1], KEYS[2], KEYS[3]
local fenced = fence(state)
if fenced then return {fenced} end
local now, bidder, nickname = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local amount, bid_id, ikey, bhash = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local max_bid = tonumber(ARGV[8] or '0')
local m = redis.call('HMGET', state, 'status', 'starting', 'increment', 'ends_at', 'anti_snipe_ms',
  'high', 'high_bidder', 'high_max', 'high_nick', 'sudden_ms', 'decided', 'high_bid_id')
local status, starting, increment = m[1], tonumber(m[2]), tonumber(m[3])
local ends_at, anti_snipe, high, high_bidder = tonumber(m[4]), tonumber(m[5]), tonumber(m[6]), m[7]
local high_max, high_nick = tonumber(m[8] or m[6]) or 0, m[9] or ''
local sudden, decided, high_bid_id = tonumber(m[10] or '0') or 0, m[11] == '1', m[12] or ''

local ifield = nil
if ikey ~= '' then
  ifield = bidder .. '|' .. ikey
  local prev = redis.call('HGET', idem, ifield)
  if prev then
    local phash, pid, pamount, pat, pends, rest = string.match(prev, '^(.-)|(.-)|(%d+)|(%d+)|(%d+)(.*)$')
    if phash ~= bhash then return {'idempotency_key_reused'} end
    local plead, pmax, pbymax, pby, pnick = string.match(rest, '^|(%d)|(%d+)|(%d+)|(.-)|(.*)$')
    if not plead then plead, pmax, pbymax, pby, pnick = '1', '0', pamount, bidder, nickname end
    return {'replay', pid, tonumber(pamount), tonumber(pat), tonumber(pends), 0, '', pby, pnick,
      tonumber(plead), tonumber(pmax), 0, tonumber(pbymax)}
  end
end
if status ~= 'active' or decided then return {'auction_ended'} end
if sudden > 0 then
  if now >= ends_at + sudden then return {'auction_ended'} end
elseif now >= ends_at then
  return {'auction_ended'}
end
local min_bid = starting
if high > 0 then min_bid = high + increment end
local offered = amount
if max_bid > 0 then offered = max_bid end
if high > 0 and high_bidder == bidder then
  if max_bid == 0 then return {'already_high_bidder', min_bid} end
  if max_bid < min_bid then return {'bid_too_low', min_bid} end
  -- the high bidder raises (never lowers) their max: no bid, the price stays
  if max_bid > high_max then
    high_max = max_bid
    redis.call('HSET', state, 'high_max', high_max)
  end
  if ifield then
    redis.call('HSET', idem, ifield, bhash .. '|' .. high_bid_id .. '|' .. high .. '|' .. now .. '|' ..
      ends_at .. '|2|' .. high_max .. '|' .. high_max .. '|' .. bidder .. '|' .. nickname)
  end
  return {'raised', high_bid_id, high, now, ends_at, 0, '', bidder, nickname, 2, high_max, 0, high_max}
end
if offered < min_bid then return {'bid_too_low', min_bid} end

-- who holds the lead after this step, and at what price
local by, by_nick, price, by_max, outbid, leading = bidder, nickname, amount, offered, '', 1
if max_bid > 0 then price = min_bid end
if high > 0 then
  if offered > high_max then
    price = math.max(price, math.min(offered, high_max + increment))
    outbid = high_bidder
  else  -- the high bidder's max holds: the server bids for them
    by, by_nick, by_max, leading = high_bidder, high_nick, high_max, 0
    price = math.min(high_max, offered + increment)
  end
end

local extended = 0
if sudden == 0 and now + anti_snipe > ends_at then
  ends_at = now + anti_snipe
  extended = 1
end
local decides = 0
if sudden > 0 and now >= ends_at then
  decides = 1
  redis.call('HSET', state, 'decided', 1, 'decided_at', now)
end
redis.call('HSET', state, 'high', price, 'high_bidder', by, 'high_bid_id', bid_id, 'ends_at', ends_at,
  'high_max', by_max, 'high_nick', by_nick)
redis.call('HINCRBY', state, 'count', 1)
redis.call('LPUSH', bids, bid_id .. '|' .. price .. '|' .. now .. '|' .. by .. '|' .. by_nick)
local your_max = 0
if max_bid > 0 and leading == 1 then your_max = max_bid end
if ifield then
  redis.call('HSET', idem, ifield, bhash .. '|' .. bid_id .. '|' .. price .. '|' .. now .. '|' .. ends_at ..
    '|' .. leading .. '|' .. your_max .. '|' .. by_max .. '|' .. by .. '|' .. by_nick)
end
return {'ok', bid_id, price, now, ends_at, extended, outbid, by, by_nick, leading, your_max, decides, by_max}
