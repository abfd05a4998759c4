-- wrk script of bench/run.py: POSTs the same JSON body with a new Idempotency-Key per request.
--
-- wrk -s bench/post.lua URL -- PAYLOAD_FILE TOKEN KEY_PREFIX SEED
--   PAYLOAD_FILE  the request body (JSON)
--   TOKEN         API token sent as "Authorization: Bearer …"
--   KEY_PREFIX    8 hex digits shared by every key of this run (to find its rows afterwards)
--   SEED          seeds math.random
--
-- Keys are PREFIX-TTTT-4RRR-VRRR-CCCCCCCCCCCC (T thread, R random, C per-thread counter):
-- UUIDs of version 4 form, unique within a run by construction. At the end the script
-- prints one line "BENCH_JSON {...}" with wrk's summary, latency percentiles and the
-- count of each HTTP status, which bench/run.py parses.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  body = file:read("*a")
  file:close()
  token = args[2]
  prefix = args[3]
  math.randomseed(tonumber(args[4]) + tid * 7919)
  counter = 0
  statuses = {}
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
end

function request()
  counter = counter + 1
  headers["Idempotency-Key"] = string.format(
    "%s-%04x-4%03x-%04x-%012x",
    prefix, tid, math.random(0, 4095), 32768 + math.random(0, 16383), counter
  )
  return wrk.format("POST", nil, headers, body)
end

function response(status, response_headers, response_body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

local function json_number(value)
  return string.format("%.0f", value)
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s":%d', status, n))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%s,"requests":%s,"bytes":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%s,"mean":%s,"stdev":%s,"max":%s,' ..
    '"p50":%s,"p90":%s,"p99":%s,"p99_9":%s},"statuses":{%s}}\n',
    json_number(summary.duration), json_number(summary.requests), json_number(summary.bytes),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    json_number(latency.min), string.format("%.1f", latency.mean),
    string.format("%.1f", latency.stdev), json_number(latency.max),
    json_number(latency:percentile(50)), json_number(latency:percentile(90)),
    json_number(latency:percentile(99)), json_number(latency:percentile(99.9)),
    table.concat(parts, ",")
  ))
end
