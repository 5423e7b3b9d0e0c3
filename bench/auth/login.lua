-- wrk script: POST /api/v1/auth/login with the benchmark user's credentials.
-- EMAIL and PASSWORD come from the environment (bench/auth/run.sh sets them).
local email = os.getenv("BENCH_EMAIL") or "bench@example.com"
local password = os.getenv("BENCH_PASSWORD") or "bench-password-123"

wrk.method = "POST"
wrk.path = "/api/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email": "%s", "password": "%s"}', email, password)
