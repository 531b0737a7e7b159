-- wrk script: each thread sends its own file of pre-signed requests, one per line
-- ("Signature-Input<TAB>Signature<TAB>Content-Digest"), never one twice, and the run's
-- figures are printed as one JSON line for bench/load.py.
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local path, prefix = args[1], args[2]
  reqs, n = {}, 0
  for line in io.lines(prefix .. tid) do
    local input, sig, digest = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
    n = n + 1
    reqs[n] = wrk.format("GET", path, {["Signature-Input"] = input, ["Signature"] = sig, ["Content-Digest"] = digest})
  end
  i = 0
end

function request()
  i = i + 1
  if i > n then
    i = 1 -- a replay: the operator refuses it, and load.py reports the run as short of requests
  end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
