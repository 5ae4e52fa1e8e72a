-- wrk: GET one of the paths listed in BENCH_PATHS_FILE (one per line), chosen at random.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS_FILE")) do table.insert(paths, line) end
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_AUTH") }
threads = {}
statuses = {}
math.randomseed(7)

function setup(thread)
  table.insert(threads, thread)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, resp_headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

dofile(os.getenv("BENCH_DONE_LUA"))
