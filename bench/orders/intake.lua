-- wrk script: POST /api/v1/orders/webhooks/stripe with pre-signed, distinct events (BENCH_EVENTS file).
-- Thread i of n sends events i, i+n, i+2n, ...: no two requests carry the same event (no cheap duplicates).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  events = {}
  for line in io.lines(os.getenv("BENCH_EVENTS")) do
    local sig, body = line:match("^([^\t]+)\t(.*)$")
    events[#events + 1] = { sig = sig, body = body }
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "2")
  index = id + 1
end

function request()
  local e = events[index]
  index = index + step
  if index > #events then index = id + 1 end
  return wrk.format("POST", "/api/v1/orders/webhooks/stripe",
    { ["Content-Type"] = "application/json", ["Stripe-Signature"] = e.sig }, e.body)
end
