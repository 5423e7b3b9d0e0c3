-- wrk script: POST /api/v1/orders/webhooks/stripe with pre-signed, distinct events (BENCH_EVENTS file).
local events = {}
local index = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_EVENTS")) do
    local sig, body = line:match("^([^\t]+)\t(.*)$")
    events[#events + 1] = { sig = sig, body = body }
  end
  -- each wrk thread starts at its own offset so threads do not send the same events
  index = (tonumber(os.getenv("BENCH_THREAD_OFFSET") or "0") + math.random(0, #events - 1))
end

function request()
  index = index % #events + 1
  local e = events[index]
  return wrk.format("POST", "/api/v1/orders/webhooks/stripe",
    { ["Content-Type"] = "application/json", ["Stripe-Signature"] = e.sig }, e.body)
end
