-- wrk script for the ingest benchmark: POSTs the webhook fixture with a unique payload.id per
-- request (a fixed-width counter, so every body has the same length), the secret header and
-- Content-Type application/json, and prints one machine-readable BENCH line at the end.
--
--   wrk -t2 -c64 -d10s -s bench/wrk/unique.lua http://127.0.0.1:8080/webhooks/saleassist \
--       -- testdata/fixtures/widget_new_conversation.json "$SECRET" run1
--
-- args: fixture path, secret (X-Webhook-Secret; "" = none), run tag (ids differ between runs).

local fixture_id = "dc60de93-d726-43cc-ad06-9cc7544cb8e5"
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1] or "testdata/fixtures/widget_new_conversation.json", "rb"))
  local body = f:read("*a")
  f:close()
  local i, j = string.find(body, '"' .. fixture_id .. '"', 1, true)
  assert(i, "fixture has no payload.id " .. fixture_id)
  prefix = string.sub(body, 1, i) .. (args[3] or "wrk") .. "-" .. string.format("%02d", tid) .. "-"
  suffix = string.sub(body, j)
  headers = { ["Content-Type"] = "application/json" }
  if args[2] and args[2] ~= "" then headers["X-Webhook-Secret"] = args[2] end
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, prefix .. string.format("%018d", counter) .. suffix)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
