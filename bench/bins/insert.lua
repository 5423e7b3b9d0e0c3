-- wrk script: the yardstick's one-INSERT view (POST /insert) with a 1 KiB JSON body, as capture.lua sends.
local pad = string.rep("x", 1024 - 40)
local body = '{"title": "bench", "pad": "' .. pad .. '"}'
body = body .. string.rep(" ", 1024 - #body)
wrk.method = "POST"
wrk.path = "/insert"
wrk.headers["Content-Type"] = "application/json"
wrk.body = body
