-- Write an auction's state from PostgreSQL's truth, unless this Redis process already did (a state
-- written by another process, a promoted replica or a restart from a file, may miss acknowledged bids).
-- KEYS: state, bids, idem
-- ARGV: status, starting, increment, ends_at_ms, anti_snipe_ms, sudden_ms (0: no sudden death),
--   n_bids, then n_bids groups (oldest first) of: bid_id, amount, at_ms, bidder, nickname,
--   idempotency_key ('' for none), body_hash, ends_at_ms, bidder's max (its amount for a plain bid)
-- The last bid is the high bid; with sudden death, a last bid at or after ends_at decided the auction.
-- Returns {'created'} | {'exists'}
local state, bids, idem = KEYS[1], KEYS[2], KEYS[3]
local epoch = writer_id()
if redis.call('HGET', state, 'epoch') == epoch then return {'exists'} end
redis.call('DEL', state, bids, idem)
local n = tonumber(ARGV[7])
local high, high_bidder, high_bid_id, high_nick, high_max, high_at = 0, '', '', '', 0, 0
for i = 0, n - 1 do
  local b = 8 + i * 9
  local bid_id, amount, at, bidder, nick = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  redis.call('LPUSH', bids, bid_id .. '|' .. amount .. '|' .. at .. '|' .. bidder .. '|' .. nick)
  local max = ARGV[b + 8]
  if ARGV[b + 5] ~= '' then
    local your_max = '0'
    if max ~= amount then your_max = max end
    redis.call('HSET', idem, bidder .. '|' .. ARGV[b + 5], ARGV[b + 6] .. '|' .. bid_id .. '|' .. amount ..
      '|' .. at .. '|' .. ARGV[b + 7] .. '|1|' .. your_max .. '|' .. max .. '|' .. bidder .. '|' .. nick)
  end
  high, high_bidder, high_bid_id, high_nick = tonumber(amount), bidder, bid_id, nick
  high_max, high_at = tonumber(max), tonumber(at)
end
redis.call('HSET', state, 'status', ARGV[1], 'starting', ARGV[2], 'increment', ARGV[3], 'ends_at', ARGV[4],
  'anti_snipe_ms', ARGV[5], 'sudden_ms', ARGV[6], 'high', high, 'high_bidder', high_bidder,
  'high_bid_id', high_bid_id, 'high_nick', high_nick, 'high_max', high_max, 'count', n, 'epoch', epoch)
if tonumber(ARGV[6]) > 0 and n > 0 and high_at >= tonumber(ARGV[4]) then
  redis.call('HSET', state, 'decided', 1, 'decided_at', high_at)
end
return {'created'}
