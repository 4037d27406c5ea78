-- wrk script of bench/api_load.py --wrk: each request POSTs the next distinct copy of the
-- Agadez request (one JSON document per line of the file named by WRK_BODIES, written by
-- the bench), each of WRK_THREADS threads taking every WRK_THREADS-th line, so no two
-- requests conflict. WRK_TOKEN is the operator principal's API token.
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS"))
  bodies = {}
  local n = 0
  for line in io.lines(os.getenv("WRK_BODIES")) do
    if n % threads == id then
      bodies[#bodies + 1] = line
    end
    n = n + 1
  end
  sent = 0
  wrk.method = "POST"
  wrk.path = "/v1/requests"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  -- past the last copy, start over: those repeat earlier operations (conflicts, still 201)
  return wrk.format(nil, nil, nil, bodies[(sent - 1) % #bodies + 1])
end
