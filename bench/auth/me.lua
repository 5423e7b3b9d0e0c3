-- wrk script: GET /api/v1/auth/users/me with a Bearer access token (BENCH_ACCESS, from a login).
wrk.method = "GET"
wrk.path = "/api/v1/auth/users/me"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_ACCESS") or "missing")
