-- Write an auction's state from PostgreSQL's truth, unless this Redis process already did (a state
-- written by another process, a promoted replica or a restart from a file, may miss acknowledged bids).
-- KEYS: state, bids, idem
-- ARGV: status, starting, increment, ends_at_ms, anti_snipe_ms, n_bids, then n_bids groups (oldest
--   first) of: bid_id, amount, at_ms, bidder, nickname, idempotency_key ('' for none), body_hash, ends_at_ms
-- The last bid is the high bid. Returns {'created'} | {'exists'}
local state, bids, idem = KEYS[1], KEYS[2], KEYS[3]
local epoch = writer_id()
if redis.call('HGET', state, 'epoch') == epoch then return {'exists'} end
redis.call('DEL', state, bids, idem)
local n = tonumber(ARGV[6])
local high, high_bidder, high_bid_id = 0, '', ''
for i = 0, n - 1 do
  local b = 7 + i * 8
  local bid_id, amount, at, bidder = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  redis.call('LPUSH', bids, bid_id .. '|' .. amount .. '|' .. at .. '|' .. bidder .. '|' .. ARGV[b + 4])
  if ARGV[b + 5] ~= '' then
    redis.call('HSET', idem, bidder .. '|' .. ARGV[b + 5],
      ARGV[b + 6] .. '|' .. bid_id .. '|' .. amount .. '|' .. at .. '|' .. ARGV[b + 7])
  end
  high, high_bidder, high_bid_id = tonumber(amount), bidder, bid_id
end
redis.call('HSET', state, 'status', ARGV[1], 'starting', ARGV[2], 'increment', ARGV[3], 'ends_at', ARGV[4],
  'anti_snipe_ms', ARGV[5], 'high', high, 'high_bidder', high_bidder, 'high_bid_id', high_bid_id, 'count', n, 'epoch', epoch)
return {'created'}
