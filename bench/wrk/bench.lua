-- wrk script of bench/run.py: drives one endpoint and reports one JSON line.
--
--   wrk -t1 -c32 -d10s -s bench.lua http://127.0.0.1:PORT -- MODE PATH IDS STYLE TAG
--
-- MODE  get     GET PATH/<random id from IDS>
--       fixed   GET PATH (the same URL every time: lists)
--       update  PATCH PATH/<random id> with If-Match: * and a merge patch
--       create  POST PATH with a new item (a unique sku per request)
-- IDS   a file with one id a line, or "-"
-- STYLE "decimal-string" (price as a JSON string, as Bastion serves decimals)
--       or "number" (PocketBase has no decimal type)
-- TAG   a short word that keeps skus unique across runs (warm-up, measured)
--
-- Every response status is counted per thread; done() merges the counts and
-- prints them with the latency percentiles as one line: BENCH_JSON {...}.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local mode, path, ids, style, tag
local fixed, counter = nil, 0
local statuses_cycle = { "draft", "active", "archived" }
local json_headers = { ["Content-Type"] = "application/json" }
local patch_headers = { ["Content-Type"] = "application/json", ["If-Match"] = "*" }
statuses = {}

function init(args)
   mode, path, style, tag = args[1], args[2], args[4] or "decimal-string", args[5] or "m"
   ids = {}
   if args[3] and args[3] ~= "-" then
      for line in io.lines(args[3]) do
         if #line > 0 then ids[#ids + 1] = line end
      end
   end
   math.randomseed(os.time() * 1000 + (tid or 1) * 7919)
   if mode == "fixed" then fixed = wrk.format("GET", path) end
end

local function price()
   local cents = math.random(100, 999999)
   if style == "number" then
      return string.format("%d.%02d", math.floor(cents / 100), cents % 100)
   end
   return string.format('"%d.%02d"', math.floor(cents / 100), cents % 100)
end

function request()
   if mode == "get" then
      return wrk.format("GET", path .. "/" .. ids[math.random(#ids)])
   elseif mode == "update" then
      local body = string.format('{"quantity":%d,"status":"%s"}',
         math.random(0, 1000), statuses_cycle[math.random(3)])
      return wrk.format("PATCH", path .. "/" .. ids[math.random(#ids)], patch_headers, body)
   elseif mode == "create" then
      counter = counter + 1
      local body = string.format(
         '{"sku":"N%s%d-%d","name":"Bench item %d","description":"Made by wrk",' ..
         '"status":"%s","price":%s,"quantity":%d,"featured":false,' ..
         '"released_at":"2024-05-01T10:00:00Z"}',
         tag, tid or 1, counter, counter, statuses_cycle[math.random(3)], price(),
         math.random(0, 1000))
      return wrk.format("POST", path, json_headers, body)
   end
   return fixed
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses") or {}
      for status, n in pairs(counts) do merged[status] = (merged[status] or 0) + n end
   end
   local parts = {}
   for status, n in pairs(merged) do
      parts[#parts + 1] = string.format('"%d":%d', status, n)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
      '"statuses":{%s}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean, table.concat(parts, ",")))
end
