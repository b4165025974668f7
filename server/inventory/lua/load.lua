-- Write an offer's counters from PostgreSQL's truth, unless another node already did.
-- KEYS: state, buyers
-- ARGV: quantity, available, sold, returned, limit, status, ends_at_ms, then buyer, units pairs
-- Returns {'created'} | {'exists'}
local state, buyers = KEYS[1], KEYS[2]
if redis.call('EXISTS', state) == 1 then return {'exists'} end
redis.call('DEL', buyers)
redis.call('HSET', state, 'quantity', ARGV[1], 'available', ARGV[2], 'held', 0, 'sold', ARGV[3],
  'returned', ARGV[4], 'limit', ARGV[5], 'status', ARGV[6], 'ends_at', ARGV[7])
for i = 8, #ARGV, 2 do
  redis.call('HSET', buyers, ARGV[i], ARGV[i + 1])
end
return {'created'}
