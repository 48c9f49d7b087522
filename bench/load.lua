-- wrk script for bench/load.sh: sends the Authorization header given in
-- the AUTHZ environment variable (none when empty) and prints one
-- machine-readable RESULT line when the run ends. Latencies are in
-- microseconds. status_errors counts responses with a status of 400 or
-- more; socket_errors counts connect, read, write and timeout errors.
local authz = os.getenv("AUTHZ")
if authz ~= nil and authz ~= "" then
  wrk.headers["Authorization"] = authz
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
