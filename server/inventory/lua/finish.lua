-- End an offer: nothing more can be claimed; every hold is dropped; `sold` is set to the count that
-- PostgreSQL holds (the caller has the offer row locked, so no checkout is in flight); the rest is
-- `returned` to the product, so available + held + sold + returned == quantity still holds.
-- KEYS: state, holds, expiry, buyers, idem
-- ARGV: quantity, sold (from PostgreSQL), keep_seconds (how long the ended offer's keys stay readable)
-- Returns {'ok', available_before, held_before, sold_before}; counters lost from Redis are written anew.
local state, holds, expiry, buyers, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local a, h, s = 0, 0, 0
if redis.call('EXISTS', state) == 1 then a, h, s = counters(state) end
local q = tonumber(ARGV[1])
local sold = tonumber(ARGV[2])
redis.call('HSET', state, 'quantity', q, 'status', 'ended', 'available', 0, 'held', 0, 'sold', sold,
  'returned', q - sold, 'epoch', writer_id())
redis.call('DEL', holds, expiry)
local keep = tonumber(ARGV[3])
redis.call('EXPIRE', state, keep)
redis.call('EXPIRE', buyers, keep)
redis.call('EXPIRE', idem, keep)
return {'ok', a, h, s}
