-- wrk's summary as one JSON line (times in microseconds), after wrk's own report.
function done(summary, latency, requests)
  local parts = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    table.insert(parts, string.format("\"p%s\":%d", tostring(p), latency:percentile(p)))
  end
  local codes = {}
  for _, thread in ipairs(threads) do
    local thread_statuses = thread:get("statuses")
    for status, count in pairs(thread_statuses) do
      codes[status] = (codes[status] or 0) + count
    end
  end
  local code_parts = {}
  for status, count in pairs(codes) do
    table.insert(code_parts, string.format("\"%d\":%d", status, count))
  end
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"mean_us\":%.1f,\"max_us\":%d,%s,"
      .. "\"errors\":{\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d},"
      .. "\"statuses\":{%s}}\n",
    summary.requests, summary.duration, summary.bytes, latency.mean, latency.max,
    table.concat(parts, ","), summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, table.concat(code_parts, ",")))
end
