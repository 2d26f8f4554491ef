-- wrk script: each request posts the next distinct pre-signed body (from $BODIES). Every wrk
-- thread takes its own share of the bodies (thread k of T posts lines k, k+T, k+2T, ...), so
-- no two requests of a run carry the same notification until the file is used up.
-- Run with as many wrk threads as $WRK_THREADS says (default 2, as bench/ingest.sh does).
local count = 0
function setup(thread)
  thread:set("tid", count)
  thread:set("nthreads", tonumber(os.getenv("WRK_THREADS") or "2"))
  count = count + 1
end

local bodies, sigs = {}, {}
local i = 0
local n = 0
function init(args)
  -- Each thread keeps only its own share of the lines (less memory, shorter Lua GC pauses).
  local line_no = 0
  for line in io.lines(os.getenv("BODIES")) do
    if line_no % nthreads == tid then
      local tab = line:find("\t", 1, true)
      sigs[#sigs + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    line_no = line_no + 1
  end
  n = #bodies
  collectgarbage()
end

request = function()
  i = (i % n) + 1
  local k = i
  return wrk.format("POST", "/webhook", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = sigs[k],
  }, bodies[k])
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
