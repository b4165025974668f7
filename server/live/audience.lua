-- One change to a broadcast's audience measure, atomically (one per join, leave, chat message, start, end).
-- KEYS: audience (hash), samples (hash), viewers (HLL), sources (hash), source (HLL), chatters (HLL)
-- ARGV: op (join | leave | chat | start | end), now_ms, user id ('' for none), bucket_ms, source ('' for
--       none), ttl_ms, max_sources
-- Returns {viewers now, peak}.
-- Watch time is kept as the area under the viewer count: every change adds cur * (now - last), which is
-- exactly the sum of the sessions' join -> leave durations, in one field, whatever the audience size.
-- Time never runs back (nodes' clocks differ by a little) and stops at the end: the area closes then.
local aud, samples, viewers, sources, source_hll, chatters = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local op, now, user = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local bucket, source, ttl, max_sources = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local m = redis.call('HMGET', aud, 'cur', 'peak', 'area_ms', 'last_ms', 'end_ms')
local cur, peak, area, last, ended = tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3]) or 0, tonumber(m[4]), m[5]
if last and now < last then now = last end
if ended then now = math.max(tonumber(ended), last or 0) end
if last then area = area + cur * (now - last) end

if op == 'join' then
  cur = cur + 1
  if user ~= '' then redis.call('PFADD', viewers, user) end
  if source ~= '' and user ~= '' then
    local known = redis.call('HEXISTS', sources, source)
    if known == 0 and redis.call('HLEN', sources) < max_sources then
      redis.call('HSET', sources, source, 1)
      known = 1
    end
    if known == 1 then
      redis.call('PFADD', source_hll, user)
      redis.call('PEXPIRE', source_hll, ttl)
    end
    redis.call('PEXPIRE', sources, ttl)
  end
  redis.call('PEXPIRE', viewers, ttl)
elseif op == 'leave' then
  cur = math.max(cur - 1, 0)
elseif op == 'chat' then
  redis.call('HINCRBY', aud, 'chat', 1)
  if user ~= '' then
    redis.call('PFADD', chatters, user)
    redis.call('PEXPIRE', chatters, ttl)
  end
  if not ended then
    redis.call('HINCRBY', samples, 'c:' .. (now - now % bucket), 1)
  end
elseif op == 'start' then
  redis.call('HSETNX', aud, 'start_ms', now)
elseif op == 'end' then
  if not ended then redis.call('HSET', aud, 'end_ms', now) end
end
if cur > peak then peak = cur end
redis.call('HSET', aud, 'cur', cur, 'peak', peak, 'area_ms', area, 'last_ms', now)
redis.call('HSETNX', aud, 'first_ms', now)
if (op == 'join' or op == 'leave') and not ended then
  local b = now - now % bucket
  local before = tonumber(redis.call('HGET', samples, 'v:' .. b))
  if not before or before < cur then redis.call('HSET', samples, 'v:' .. b, cur) end
  redis.call('HSET', samples, 'e:' .. b, cur)
end
-- each key lives `ttl` past its last write (only the keys this change wrote)
redis.call('PEXPIRE', aud, ttl)
redis.call('PEXPIRE', samples, ttl)
return {cur, peak}
