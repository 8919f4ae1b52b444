-- Shared by the scenario scripts: arguments, the list of contact refs, per-thread
-- numbering, and a done() that prints the run's figures as one JSON line for bench.py.
--
-- Scripts load it with:
--   local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")
-- and take their arguments after wrk's "--" as key=value pairs, e.g.
--   wrk -t2 -c64 -d10s -s get.lua http://127.0.0.1:8080 -- refs=ids.txt prefix=/v2/contact/

local lib = {}

local threads = 0

-- Runs in wrk's main Lua state once per thread: gives each thread a number (1, 2, …) so
-- that the values it creates never collide with another thread's.
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function lib.args(args)
  local parsed = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then parsed[key] = value end
  end
  return parsed
end

-- One ref per line, already percent-encoded where a path needs it (%2B for a phone's +).
function lib.read_refs(path)
  local refs = {}
  for line in io.lines(path) do
    if line ~= "" then refs[#refs + 1] = line end
  end
  assert(#refs > 0, "no refs in " .. path)
  return refs
end

function lib.seed()
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919)
end

function lib.pick(refs)
  return refs[math.random(#refs)]
end

function done(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    p(50), p(90), p(99), p(99.9), latency.max, latency.mean))
end

return lib
