-- Return expired holds even when their holder vanished; report checkouts past their deadline.
-- KEYS: state, holds, expiry, buyers
-- ARGV: now_ms, limit
-- Returns {'missing'} | {'stale'} | {'ok', returned, available, held, sold, status, ends_at, stale_hold_1, ...}
local state, holds, expiry, buyers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fenced = fence(state)
if fenced then return {fenced} end
local returned, stale = expire_due(holds, expiry, buyers, tonumber(ARGV[1]), tonumber(ARGV[2]), state)
if returned > 0 then
  redis.call('HINCRBY', state, 'available', returned)
  redis.call('HINCRBY', state, 'held', -returned)
end
local a, h, s = counters(state)
local meta = redis.call('HMGET', state, 'status', 'ends_at')
local out = {'ok', returned, a, h, s, meta[1], tonumber(meta[2])}
for _, hid in ipairs(stale) do out[#out + 1] = hid end
return out
