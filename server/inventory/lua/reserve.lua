-- Claim units for a batch of buyers in one atomic step.
-- KEYS: state, holds, expiry, buyers, idem (one offer)
-- ARGV: now_ms, hold_ms, n, then n groups of: buyer, qty, hold_id, idempotency_key ('' for none), body_hash
-- Returns {'missing'} when the offer's counters are not in Redis, {'stale'} when another Redis process
-- wrote them (a failover or restart: both mean rebuild from PostgreSQL), else
-- {'ok', available, held, sold, r1, ..., rn} where each r is one of
--   {'ok', hold_id, qty, expires_ms}    {'replay', hold_id, qty, expires_ms}
--   {'sold_out', available}  {'limit_exceeded', remaining}  {'offer_ended'}  {'idempotency_key_reused'}
local state, holds, expiry, buyers, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local fenced = fence(state)
if fenced then return {fenced} end
local now, hold_ms, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local meta = redis.call('HMGET', state, 'limit', 'status', 'ends_at')
local limit, status, ends_at = tonumber(meta[1]), meta[2], tonumber(meta[3])
local available, held, sold = counters(state)

local returned = expire_due(holds, expiry, buyers, now, 200, state)
available = available + returned
held = held - returned

local ended = status ~= 'active' or now >= ends_at
local out = {'ok', 0, 0, 0}
for i = 0, n - 1 do
  local b = 4 + i * 5
  local buyer, qty, hid, ikey, bhash = ARGV[b], tonumber(ARGV[b + 1]), ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local r = nil
  local ifield = nil
  if ikey ~= '' then
    ifield = buyer .. '|' .. ikey
    local prev = redis.call('HGET', idem, ifield)
    if prev then
      local phash, phid, pqty, pexp = string.match(prev, '^(.-)|(.-)|(%d+)|(%d+)$')
      if phash ~= bhash then
        r = {'idempotency_key_reused'}
      else
        r = {'replay', phid, tonumber(pqty), tonumber(pexp)}
      end
    end
  end
  if not r then
    if ended then
      r = {'offer_ended'}
    else
      -- Sold out first: a node that knows the offer is sold out answers the same without Redis.
      local mine = tonumber(redis.call('HGET', buyers, buyer) or '0')
      if available == 0 then
        r = {'sold_out', 0}
      elseif mine + qty > limit then
        r = {'limit_exceeded', limit - mine}
      elseif available < qty then
        r = {'sold_out', available}
      else
        local exp = now + hold_ms
        available = available - qty
        held = held + qty
        redis.call('HINCRBY', buyers, buyer, qty)
        redis.call('HSET', holds, hid, buyer .. '|' .. qty .. '|' .. exp .. '|h')
        redis.call('ZADD', expiry, exp, hid)
        if ifield then redis.call('HSET', idem, ifield, bhash .. '|' .. hid .. '|' .. qty .. '|' .. exp) end
        r = {'ok', hid, qty, exp}
      end
    end
  end
  out[#out + 1] = r
end
redis.call('HSET', state, 'available', available, 'held', held)
out[2], out[3], out[4] = available, held, sold
return out
