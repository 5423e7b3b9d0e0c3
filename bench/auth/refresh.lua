-- wrk script: POST /api/v1/auth/refresh, each thread following its own rotation chain.
-- Run with as many threads as connections (-tN -cN): a refresh token is single use, so each
-- connection must send the token its previous response returned. The runner writes one refresh
-- token per line to BENCH_REFRESH_FILE (one login per thread) before wrk starts.
local tokens = {}
local next_index = 1

function setup(thread)
  if #tokens == 0 then
    local path = os.getenv("BENCH_REFRESH_FILE") or "refresh-tokens.txt"
    for line in io.lines(path) do
      if #line > 0 then tokens[#tokens + 1] = line end
    end
  end
  thread:set("refresh", tokens[next_index])
  next_index = next_index + 1
end

local failures = 0

function init(args)
  current = refresh
end

function request()
  return wrk.format("POST", "/api/v1/auth/refresh", {["Content-Type"] = "application/json"},
    '{"refresh": "' .. current .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    current = string.match(body, '"refresh"%s*:%s*"([^"]+)"') or current
  else
    failures = failures + 1
  end
end
