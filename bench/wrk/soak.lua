-- The mixed load of mixed.lua (80% GET by id, 10% PUT metadata merge, 10% POST create)
-- at a chosen rate: each connection waits delay_ms between its requests, so the rate is
-- about connections / (delay + latency). soak.py picks the connections for the rate it wants.
--   -- refs=FILE tag=NNN delay_ms=N
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "mixed.lua")

local mixed_init, pause = init, 5

function init(args)
  mixed_init(args)
  for _, arg in ipairs(args) do
    local value = arg:match("^delay_ms=(%d+)$")
    if value then pause = tonumber(value) end
  end
end

function delay()
  return pause
end
