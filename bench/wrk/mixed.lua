-- 80% reads, 20% writes: 80% GET by id, 10% PUT metadata merge, 10% POST create.
--   -- refs=FILE tag=NNN
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local refs, tag, counter = nil, nil, 0

function init(args)
  local a = lib.args(args)
  refs = lib.read_refs(a.refs)
  tag = tonumber(a.tag or "200")
  -- Sent on the GETs too, where the server ignores it.
  wrk.headers["Content-Type"] = "application/json"
  lib.seed()
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
    local phone = string.format("+19%03d%d%08d", tag % 1000, thread_number % 10, counter)
    local body = string.format(
      '{"phone":"%s","email":"mixed%s@bench.example","first_name":"Ada",' ..
      '"metadata":{"plan":"free","source":"bench"}}', phone, phone:sub(2))
    return wrk.format("POST", "/v2/contact", nil, body)
  end
end
