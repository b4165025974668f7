-- Shared helpers, prepended to every script by engine.py (Redis scripts cannot include files).
local function parse_hold(entry)
  local buyer, qty, exp, st = string.match(entry, '^(.*)|(%d+)|(%d+)|(%a)$')
  return buyer, tonumber(qty), tonumber(exp), st
end

local function counters(state)
  local s = redis.call('HMGET', state, 'available', 'held', 'sold')
  return tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
end

-- Give a hold's units back to the offer: the hold is gone, its buyer may claim again.
local function return_hold(holds, expiry, buyers, hid, buyer, qty)
  redis.call('HDEL', holds, hid)
  redis.call('ZREM', expiry, hid)
  local left = redis.call('HINCRBY', buyers, buyer, -qty)
  if left <= 0 then redis.call('HDEL', buyers, buyer) end
  return qty
end

-- Return every held or awaiting-payment hold whose expiry (the payment deadline for 'p') has passed;
-- at most `limit` of them. A payment that lands later finds its units gone and is sold again only if
-- units remain (pay.lua), else refunded. Returns the units returned and the ids of checkouts past
-- their deadline (PostgreSQL decides those).
-- `state` (optional) counts the holds that ran out unbought in its `expired_holds` field (the report's
-- "holds that expired"; an order awaiting payment that runs out is counted as a canceled order instead).
local function expire_due(holds, expiry, buyers, now, limit, state)
  local returned = 0
  local stale = {}
  local due = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, limit)
  for _, hid in ipairs(due) do
    local entry = redis.call('HGET', holds, hid)
    if not entry then
      redis.call('ZREM', expiry, hid)
    else
      local buyer, qty, _, st = parse_hold(entry)
      if st == 'h' or st == 'p' then
        returned = returned + return_hold(holds, expiry, buyers, hid, buyer, qty)
        if state and st == 'h' then redis.call('HINCRBY', state, 'expired_holds', 1) end
      else
        stale[#stale + 1] = hid
      end
    end
  end
  return returned, stale
end

-- The fence. Counters are trusted only by the Redis process that wrote them: a replica promoted by a
-- failover, or a server restarted from a file, is another process (another run_id) whose copy may miss
-- acknowledged writes, so every script answers 'stale' until the offer is rebuilt from PostgreSQL.
-- (The embedded in-process Redis has no INFO and never fails over: it is one fixed writer.)
local function writer_id()
  local ok, info = pcall(redis.call, 'INFO', 'server')
  if not ok or type(info) ~= 'string' then return 'embedded' end
  return string.match(info, 'run_id:(%x+)') or 'embedded'
end

-- nil when the counters are present and written by this process, else 'missing' or 'stale'.
local function fence(state)
  if redis.call('HGET', state, 'epoch') == writer_id() then return nil end
  if redis.call('EXISTS', state) == 0 then return 'missing' end
  return 'stale'
end
