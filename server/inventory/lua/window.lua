-- Move an active offer's window end (an auction winner's offer closes exactly as the winner's hold does).
-- KEYS: state
-- ARGV: ends_at_ms
-- Returns {'missing'} | {'stale'} (see fence) | {'ok'}
local fenced = fence(KEYS[1])
if fenced then return {fenced} end
redis.call('HSET', KEYS[1], 'ends_at', ARGV[1])
return {'ok'}
