-- wrk script for one fixed path (the ceiling): only the report line that bench/api_compare.py
-- parses. Usage: wrk -t2 -c64 -d10s --latency -s bench/wrk_path.lua http://127.0.0.1:PORT/PATH

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors_connect": %d, "errors_read": %d, '
      .. '"errors_write": %d, "errors_timeout": %d, "errors_status": %d, "p50_us": %d, '
      .. '"p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end
