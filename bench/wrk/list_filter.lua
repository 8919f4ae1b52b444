-- GET one page of the contacts whose metadata.plan is premium (a quarter of them).
--   -- [path=/v2/contact?metadata.plan=premium&limit=20]
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local req

function init(args)
  local path = lib.args(args).path or "/v2/contact?metadata.plan=premium&limit=20"
  req = wrk.format("GET", path)
end

function request()
  return req
end
