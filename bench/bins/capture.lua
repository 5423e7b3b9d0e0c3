-- wrk script: POST a 1 KiB JSON body to /hooks/{bin} for the bins listed (one a line) in $BINS_FILE,
-- each connection starting at a different bin; counts 2xx and other answers across threads and writes
-- the event ids of the 2xx answers (X-Bin-Event-Id) to $IDS_FILE.
local bins = {}
for line in io.lines(os.getenv("BINS_FILE")) do
  if #line > 0 then bins[#bins + 1] = line end
end
local pad = string.rep("x", 1024 - 80)
local body = '{"id": "evt_bench", "type": "bench.capture", "data": {"pad": "' .. pad .. '"}}'
body = body .. string.rep(" ", 1024 - #body)

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
  ids = {}
  index = offset
end

function request()
  index = index + 1
  local bin = bins[(index % #bins) + 1]
  return wrk.format("POST", "/hooks/" .. bin .. "/bench", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    ids[#ids + 1] = headers["x-bin-event-id"] or "missing"
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  local out = os.getenv("IDS_FILE") and io.open(os.getenv("IDS_FILE"), "w")
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    if out then
      for _, id in ipairs(thread:get("ids")) do out:write(id, "\n") end
    end
  end
  if out then out:close() end
  io.write(string.format("RESULT ok=%d other=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f rps=%.1f\n",
    total_ok, total_other, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests / (summary.duration / 1e6)))
end
