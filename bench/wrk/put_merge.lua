-- PUT a metadata merge on a random contact: one key replaced, one added.
--   -- refs=FILE
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local refs, counter = nil, 0

function init(args)
  refs = lib.read_refs(lib.args(args).refs)
  wrk.headers["Content-Type"] = "application/json"
  lib.seed()
end

function request()
  counter = counter + 1
  local body = string.format('{"metadata":{"plan":"enterprise","visits":%d}}', counter)
  return wrk.format("PUT", "/v2/contact/" .. lib.pick(refs), nil, body)
end
