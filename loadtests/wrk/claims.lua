-- wrk script for the claim rush: every request is a random buyer with a fresh Idempotency-Key.
--
-- Read from the environment (set by loadtests/bench_claims.py):
--   CLAIMS_TOKENS  file with one bearer token per line (one line per buyer)
--   CLAIMS_PATH    request path, e.g. /api/v1/offers/<id>/reservations; several separated by commas
--                  spread the rush over several offers (each request picks one at random)
--   CLAIMS_QUOTA   replies per thread after which the thread stops (0: no quota)
--   CLAIMS_STOP_ON stop the thread at the first reply with this code (e.g. sold_out), or empty
--   CLAIMS_MARKS   folder where a stopped thread leaves a file, so the harness can end wrk at once
--   CLAIMS_RUN     a run label, part of every Idempotency-Key
-- done() prints one line: CLAIMS_JSON {...} with counts by reply code and the latency percentiles.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  tokens = {}
  for line in io.lines(os.getenv("CLAIMS_TOKENS")) do
    tokens[#tokens + 1] = "Bearer " .. line
  end
  paths = {}
  for p in string.gmatch(os.getenv("CLAIMS_PATH"), "[^,]+") do paths[#paths + 1] = p end
  quota = tonumber(os.getenv("CLAIMS_QUOTA") or "0")
  stop_on = os.getenv("CLAIMS_STOP_ON") or ""
  marks = os.getenv("CLAIMS_MARKS")
  key_prefix = (os.getenv("CLAIMS_RUN") or "run") .. "-" .. tid .. "-"
  math.randomseed(os.time() * 1000 + tid * 7919)
  sent = 0
  replies = 0
  stopped = false
  codes = {}
  body = '{"quantity":1}'
  headers = {["Content-Type"] = "application/json"}
end

function request()
  sent = sent + 1
  headers["Authorization"] = tokens[math.random(#tokens)]
  headers["Idempotency-Key"] = key_prefix .. sent
  return wrk.format("POST", paths[math.random(#paths)], headers, body)
end

local function stop()
  if stopped then return end
  stopped = true
  local f = io.open(marks .. "/" .. tid, "w")
  if f then f:write(replies) f:close() end
  wrk.thread:stop()
end

function response(status, hdrs, reply)
  replies = replies + 1
  local code
  if status == 201 then
    code = "ok"
  else
    code = string.match(reply or "", '"code"%s*:%s*"([%w_]+)"') or ("http_" .. status)
  end
  codes[code] = (codes[code] or 0) + 1
  if (stop_on ~= "" and code == stop_on) or (quota > 0 and replies >= quota) then
    stop()
  end
end

function done(summary, latency, requests)
  local totals = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    if c then
      for k, v in pairs(c) do totals[k] = (totals[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(totals) do parts[#parts + 1] = string.format('"%s":%d', k, v) end
  local e = summary.errors
  io.write(string.format(
    'CLAIMS_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"codes":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, table.concat(parts, ",")))
end
