-- A payment succeeded: its order's units become sold, exactly once per order.
-- KEYS: state, holds, expiry, buyers, marks (order id -> 'sold' | 'late' | 'back')
-- ARGV: hold_id, order_id, buyer, qty
-- Returns {'missing'} | {'stale'} | {'sold' | 'late' | 'none' | 'back', available, held, sold, first_time (1|0)}
-- The hold awaiting payment ('p', or 'c' if the node died before marking it) is sold; if the hold is
-- gone (its deadline passed), units still available on an active offer are sold instead ('late');
-- otherwise nothing is taken and the caller refunds ('none'). A repeat answers the first outcome.
local state, holds, expiry, buyers, marks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local fenced = fence(state)
if fenced then return {fenced} end
local hid, oid, buyer, qty = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local prev = redis.call('HGET', marks, oid)
if prev then
  local a, h, s = counters(state)
  return {prev, a, h, s, 0}
end
local outcome = 'none'
local entry = redis.call('HGET', holds, hid)
if entry then
  local _, hqty, _, st = parse_hold(entry)
  if st == 'p' or st == 'c' then
    redis.call('HDEL', holds, hid)
    redis.call('ZREM', expiry, hid)
    redis.call('HINCRBY', state, 'held', -hqty)
    redis.call('HINCRBY', state, 'sold', hqty)
    outcome = 'sold'
  end
end
if outcome == 'none' then
  local meta = redis.call('HMGET', state, 'status', 'available')
  if meta[1] == 'active' and tonumber(meta[2]) >= qty then
    redis.call('HINCRBY', state, 'available', -qty)
    redis.call('HINCRBY', state, 'sold', qty)
    redis.call('HINCRBY', buyers, buyer, qty)
    outcome = 'late'
  end
end
if outcome ~= 'none' then redis.call('HSET', marks, oid, outcome) end
local a, h, s = counters(state)
return {outcome, a, h, s, 1}
