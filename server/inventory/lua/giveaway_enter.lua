-- Enter a giveaway: one entry per person, numbered in the order they arrive.
-- KEYS: state, entrants
-- ARGV: user_id
-- Returns {'missing'} | {'stale'} (see fence) | {'closed'} | {'replay', seq} (already in) | {'ok', seq}
local state, entrants = KEYS[1], KEYS[2]
local fenced = fence(state)
if fenced then return {fenced} end
local seen = redis.call('HGET', entrants, ARGV[1])
if seen then return {'replay', tonumber(seen)} end
if redis.call('HGET', state, 'status') ~= 'open' then return {'closed'} end
local seq = redis.call('HINCRBY', state, 'seq', 1)
redis.call('HSET', entrants, ARGV[1], seq)
return {'ok', seq}
