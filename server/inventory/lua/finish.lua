-- End an offer: nothing more can be claimed; every hold is dropped; `sold` is set to the count that
-- PostgreSQL holds (the caller has the offer row locked, so no checkout is in flight); the rest is
-- `returned` to the product, so available + held + sold + returned == quantity still holds.
-- KEYS: state, holds, expiry, buyers, idem
-- ARGV: sold (from PostgreSQL), keep_seconds (how long the ended offer's keys stay readable)
-- Returns {'ok', available_before, held_before, sold_before} | {'missing'}
local state, holds, expiry, buyers, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('EXISTS', state) == 0 then return {'missing'} end
local a, h, s = counters(state)
local q = tonumber(redis.call('HGET', state, 'quantity'))
local sold = tonumber(ARGV[1])
redis.call('HSET', state, 'status', 'ended', 'available', 0, 'held', 0, 'sold', sold, 'returned', q - sold)
redis.call('DEL', holds, expiry)
local keep = tonumber(ARGV[2])
redis.call('EXPIRE', state, keep)
redis.call('EXPIRE', buyers, keep)
redis.call('EXPIRE', idem, keep)
return {'ok', a, h, s}
