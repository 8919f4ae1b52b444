-- POST a new contact with a phone and email no other request of the run uses: the run's
-- tag, the thread's number and a counter make them unique. The body suits contactd and
-- the PocketBase peer's contacts collection alike.
--   -- tag=NNN [path=/v2/contact]
local lib = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "lib.lua")

local path, tag, counter = nil, nil, 0

function init(args)
  local a = lib.args(args)
  path = a.path or "/v2/contact"
  tag = tonumber(a.tag or "100")
  wrk.headers["Content-Type"] = "application/json"
end

-- +19 TAG(3) THREAD(1) COUNTER(8): 14 digits, never one of the dataset's +12… phones.
local function new_contact()
  counter = counter + 1
  local phone = string.format("+19%03d%d%08d", tag % 1000, thread_number % 10, counter)
  return string.format(
    '{"phone":"%s","email":"new%s@bench.example","first_name":"Grace",' ..
    '"last_name":"Hopper","metadata":{"plan":"premium","source":"bench",' ..
    '"region":"eu-west-1","segment":"smb-retail","note":"created by wrk"}}',
    phone, phone:sub(2))
end

function request()
  return wrk.format("POST", path, nil, new_contact())
end
