-- POST /v2/contact/batch with SIZE new contacts each (mode create): the batch endpoint's
-- rows per second are SIZE × requests per second.
--   -- tag=NNN size=100
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local tag, size, counter = nil, nil, 0

function init(args)
  local a = lib.args(args)
  tag = tonumber(a.tag or "104")
  size = tonumber(a.size or "100")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local items = {}
  for i = 1, size do
    counter = counter + 1
    -- +18 TAG(3) THREAD(1) COUNTER(8): never a dataset phone (+12…) nor another script's.
    local phone = string.format("+18%03d%d%08d", tag % 1000, thread_number % 10, counter)
    items[i] = string.format(
      '{"phone":"%s","email":"batch%s@bench.example","first_name":"Ada",' ..
      '"metadata":{"plan":"basic","source":"batch"}}', phone, phone:sub(2))
  end
  local body = '{"mode":"create","contacts":[' .. table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/v2/contact/batch", nil, body)
end
