-- Write an offer's counters from PostgreSQL's truth, unless this Redis process already did.
-- KEYS: state, holds, expiry, buyers, idem
-- ARGV: now_ms, quantity, sold, limit, status, ends_at_ms, n, then n pairs of (buyer, units sold),
--       then the ids of this offer's holds that PostgreSQL has orders for
-- Returns {'exists'} | {'created', holds kept, units held, holds dropped (not kept, not ordered)}
-- Used when an offer starts, when its counters are missing (Redis lost them) and when they are stale
-- (written by another Redis process: a replica promoted by a failover may miss acknowledged writes).
-- Holds that survived are kept, oldest first, while they fit beside the units PostgreSQL calls sold
-- and the per-buyer limit; a hold that became an order is already in `sold`. Every other hold is
-- dropped: its buyer's checkout answers reservation_expired, and nobody is charged for it.
local state, holds, expiry, buyers, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local epoch = writer_id()
if redis.call('HGET', state, 'epoch') == epoch then return {'exists'} end
local now, q, sold, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local status, ends_at, n = ARGV[5], ARGV[6], tonumber(ARGV[7])
local units = {}
for i = 0, n - 1 do units[ARGV[8 + 2 * i]] = tonumber(ARGV[9 + 2 * i]) end
local ordered = {}
for i = 8 + 2 * n, #ARGV do ordered[ARGV[i]] = true end

local found, kept, held = 0, {}, 0
if status == 'active' then
  local raw = redis.call('HGETALL', holds)
  local candidates = {}
  for i = 1, #raw, 2 do
    local buyer, qty, exp = parse_hold(raw[i + 1])
    if not ordered[raw[i]] then found = found + 1 end
    if not ordered[raw[i]] and buyer and exp > now then
      candidates[#candidates + 1] = {raw[i], buyer, qty, exp}
    end
  end
  table.sort(candidates, function(x, y)
    if x[4] ~= y[4] then return x[4] < y[4] end
    return x[1] < y[1]
  end)
  local room = q - sold
  for _, c in ipairs(candidates) do
    local mine = units[c[2]] or 0
    if c[3] <= room and mine + c[3] <= limit then
      room = room - c[3]
      held = held + c[3]
      units[c[2]] = mine + c[3]
      kept[#kept + 1] = c
    end
  end
else
  found = redis.call('HLEN', holds)
end

-- Idempotency entries survive only with their hold: a retried claim for a dropped hold claims anew.
local keep_hold = {}
for _, c in ipairs(kept) do keep_hold[c[1]] = true end
local idem_raw = redis.call('HGETALL', idem)
redis.call('DEL', holds, expiry, buyers, idem)
for i = 1, #idem_raw, 2 do
  local hid = string.match(idem_raw[i + 1], '^.-|(.-)|%d+|%d+$')
  if hid and keep_hold[hid] then redis.call('HSET', idem, idem_raw[i], idem_raw[i + 1]) end
end
for _, c in ipairs(kept) do
  redis.call('HSET', holds, c[1], c[2] .. '|' .. c[3] .. '|' .. c[4] .. '|h')
  redis.call('ZADD', expiry, c[4], c[1])
end
for buyer, u in pairs(units) do
  if u > 0 then redis.call('HSET', buyers, buyer, u) end
end
local available, returned = 0, q - sold
if status == 'active' then
  available = math.max(q - sold - held, 0)
  returned = 0
end
redis.call('DEL', state)
redis.call('HSET', state, 'quantity', q, 'available', available, 'held', held, 'sold', sold,
  'returned', returned, 'limit', limit, 'status', status, 'ends_at', ends_at, 'epoch', epoch)
return {'created', #kept, held, found - #kept}
