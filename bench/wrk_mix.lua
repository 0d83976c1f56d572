-- wrk script: the bench/api_load.py mix, driven by wrk (closed loop, one request in flight per
-- connection). Used by bench/api_compare.py:
--
--   wrk -t2 -c64 -d20s --latency -s bench/wrk_mix.lua http://127.0.0.1:PORT -- ACCOUNTS LOGIN_PCT
--
-- ACCOUNTS: a file with one "token<TAB>video_id<TAB>email" line per player (written by
-- api_compare.py after logging each player in). LOGIN_PCT: share of POST /api/auth/login (the
-- reads keep the api_load.py proportions 38:37:20). Each request picks a random player, so a
-- video detail is always the caller's own video with the caller's token, as in api_load.py.
-- done() prints one line "WRK_JSON {...}" that the driver parses.

local cities = {
  "Bogota", "Medellin", "Cali", "Barranquilla", "Cartagena", "Bucaramanga", "Pereira",
  "Manizales", "Santa%20Marta", "Ibague", "Cucuta", "Villavicencio", "Pasto", "Monteria",
  "Neiva", "Armenia", "Popayan", "Sincelejo", "Tunja", "Riohacha",
}
local password = "bench-password-1"
local accounts = {}
local login_pct = 5
local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

function init(args)
  local path = args[1]
  login_pct = tonumber(args[2] or "5")
  for line in io.lines(path) do
    local token, video_id, email = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
    if token then
      accounts[#accounts + 1] = { token = token, video_id = video_id, email = email }
    end
  end
  math.randomseed(1000 + (thread_id or 0))
end

local function paged(path)
  local page = math.random(1, 10)
  if math.random() < 0.5 then
    return path .. "?page=" .. page .. "&city=" .. cities[math.random(#cities)]
  end
  return path .. "?page=" .. page
end

function request()
  local account = accounts[math.random(#accounts)]
  local r = math.random() * 100
  if r < login_pct then
    local body = '{"email":"' .. account.email .. '","password":"' .. password .. '"}'
    return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" }, body)
  end
  -- The reads keep api_load.py's proportions: 38 : 37 : 20.
  local read = (r - login_pct) / (100 - login_pct) * 95
  if read < 38 then
    return wrk.format("GET", paged("/api/public/videos"))
  elseif read < 75 then
    return wrk.format("GET", paged("/api/public/rankings"))
  end
  return wrk.format(
    "GET", "/api/videos/" .. account.video_id, { ["Authorization"] = "Bearer " .. account.token }
  )
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors_connect": %d, "errors_read": %d, '
      .. '"errors_write": %d, "errors_timeout": %d, "errors_status": %d, "p50_us": %d, '
      .. '"p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end
