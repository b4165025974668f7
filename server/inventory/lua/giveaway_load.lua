-- Write a giveaway's entry state from PostgreSQL's rows, unless this Redis process already holds it.
-- KEYS: state, entrants
-- ARGV: status (open|closed), n, then n pairs: user_id, seq
-- Returns {'created'} | {'exists'}
local state, entrants = KEYS[1], KEYS[2]
if not fence(state) then return {'exists'} end
redis.call('DEL', state, entrants)
local n = tonumber(ARGV[2])
local top = 0
for i = 0, n - 1 do
  local seq = tonumber(ARGV[4 + 2 * i])
  redis.call('HSET', entrants, ARGV[3 + 2 * i], seq)
  if seq > top then top = seq end
end
redis.call('HSET', state, 'status', ARGV[1], 'seq', top, 'epoch', writer_id())
return {'created'}
