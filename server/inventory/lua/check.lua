-- Are an offer's counters present and written by this Redis process?
-- KEYS: state
-- ARGV: (none)
-- Returns {'ok'} | {'missing'} | {'stale'}
local fenced = fence(KEYS[1])
if fenced then return {fenced} end
return {'ok'}
