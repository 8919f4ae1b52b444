-- GET PREFIX..REF for a random ref of the list each time: by id, by phone, by email, a
-- contact's conversations (suffix=/conversations), a PocketBase record, or the ceiling.
--   -- refs=FILE prefix=/v2/contact/ [suffix=/conversations]
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local refs, prefix, suffix

function init(args)
  local a = lib.args(args)
  refs = lib.read_refs(a.refs)
  prefix = a.prefix or "/v2/contact/"
  suffix = a.suffix or ""
  lib.seed()
end

function request()
  return wrk.format("GET", prefix .. lib.pick(refs) .. suffix)
end
