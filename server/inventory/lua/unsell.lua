-- An order is refunded or canceled: its units go back, exactly once per order.
-- KEYS: state, holds, expiry, buyers, marks
-- ARGV: hold_id, order_id, buyer, qty, was_sold ('1' | '0')
-- Returns {'missing'} | {'stale'} | {'unsold' | 'released' | 'none' | 'already', available, held, sold}
-- Sold units (marked by pay.lua, or `was_sold` when PostgreSQL counts the order as sold) return to the
-- offer's available units while it is active, or to `returned` (the product's shelf) once it ended,
-- and the order is marked 'back'; a hold still awaiting payment is simply returned (unmarked: a
-- payment that lands later may still buy units that remain).
local state, holds, expiry, buyers, marks = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local fenced = fence(state)
if fenced then return {fenced} end
local hid, oid, buyer, qty = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local prev = redis.call('HGET', marks, oid)
local outcome = 'none'
if prev == 'back' then
  outcome = 'already'
elseif prev == 'sold' or prev == 'late' or (not prev and ARGV[5] == '1') then
  redis.call('HINCRBY', state, 'sold', -qty)
  if redis.call('HGET', state, 'status') == 'active' then
    redis.call('HINCRBY', state, 'available', qty)
    local left = redis.call('HINCRBY', buyers, buyer, -qty)
    if left <= 0 then redis.call('HDEL', buyers, buyer) end
  else
    redis.call('HINCRBY', state, 'returned', qty)
  end
  outcome = 'unsold'
else
  local entry = redis.call('HGET', holds, hid)
  if entry then
    local hbuyer, hqty, _, st = parse_hold(entry)
    if st == 'p' or st == 'c' or st == 'h' then
      return_hold(holds, expiry, buyers, hid, hbuyer, hqty)
      redis.call('HINCRBY', state, 'held', -hqty)
      redis.call('HINCRBY', state, 'available', hqty)
      outcome = 'released'
    end
  end
end
if outcome == 'unsold' then redis.call('HSET', marks, oid, 'back') end
local a, h, s = counters(state)
return {outcome, a, h, s}
