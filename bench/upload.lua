-- wrk: POST one multipart file, made unique per request (a PDF comment after %%EOF), so docqueue's
-- dedupe never answers from an earlier upload. Environment: BENCH_FILE, BENCH_PATH, BENCH_AUTH,
-- BENCH_RUN (a token unique to the run), BENCH_FIELDS ("name=value&..." extra form fields),
-- BENCH_MAX_REQUESTS (stop after this many answers; 0: run for the duration).
local boundary = "docqueuebenchboundary7f3a"
local file = assert(io.open(os.getenv("BENCH_FILE"), "rb"))
local data = file:read("*all")
file:close()
local fields = ""
for name, value in string.gmatch(os.getenv("BENCH_FIELDS") or "", "([^&=]+)=([^&]*)") do
  fields = fields .. "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name
    .. "\"\r\n\r\n" .. value .. "\r\n"
end
local head = fields .. "--" .. boundary
  .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.pdf\"\r\n"
  .. "Content-Type: application/pdf\r\n\r\n" .. data .. "\n%"
local tail = "\n\r\n--" .. boundary .. "--\r\n"
local path = os.getenv("BENCH_PATH")
local headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary }
local auth = os.getenv("BENCH_AUTH") or ""
if auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
local run = os.getenv("BENCH_RUN") or "0"
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0")

threads = {}
local counter = 0
local answered = 0
statuses = {}

function setup(thread)
  thread:set("tid", tostring(#threads + 1))
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  return wrk.format("POST", path, headers, head .. run .. "-" .. tid .. "-" .. counter .. tail)
end

function response(status, resp_headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if max_requests > 0 and answered >= max_requests then wrk.thread:stop() end
end

dofile(os.getenv("BENCH_DONE_LUA"))
