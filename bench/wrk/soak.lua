-- The mixed load (80% GET by id, 10% PUT metadata merge, 10% POST create) at a chosen
-- rate: each connection waits delay_ms between its requests, so the rate is about
-- connections / (delay + latency). soak.py picks the connections for the rate it wants.
--   -- refs=FILE tag=NNN delay_ms=N
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local refs, tag, pause, counter = nil, nil, 0, 0

function init(args)
  local a = lib.args(args)
  refs = lib.read_refs(a.refs)
  tag = tonumber(a.tag or "300")
  pause = tonumber(a.delay_ms or "5")
  wrk.headers["Content-Type"] = "application/json"
  lib.seed()
end

function delay()
  return pause
end

function request()
  local roll = math.random(10)
  counter = counter + 1
  if roll <= 8 then
    return wrk.format("GET", "/v2/contact/" .. lib.pick(refs))
  elseif roll == 9 then
    local body = string.format('{"metadata":{"visits":%d}}', counter)
    return wrk.format("PUT", "/v2/contact/" .. lib.pick(refs), nil, body)
  else
    local phone = string.format("+17%03d%d%08d", tag % 1000, thread_number % 10, counter)
    local body = string.format(
      '{"phone":"%s","email":"soak%s@bench.example","first_name":"Ada",' ..
      '"metadata":{"plan":"free","source":"soak"}}', phone, phone:sub(2))
    return wrk.format("POST", "/v2/contact", nil, body)
  end
end
