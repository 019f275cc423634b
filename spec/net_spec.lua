-- vcli.net and vcli.http against spec/support/httpd.py (plain HTTP, HTTPS with
-- a CA made here, and HTTPS that requires a client certificate).
require("vcli")
local async = require("vcli.async")
local cjson = require("cjson")
local http = require("vcli.http")
local loop = require("vcli.loop")
local net = require("vcli.net")
local vm = require("vcli.vm")

local dir, base, sbase, mbase
local srv, pem

local function sh(cmd)
  local out, rc = spec.sh(cmd)
  if rc ~= 0 then error(("command failed (%d): %s\n%s"):format(rc, cmd, out), 2) end
  return out
end

local function free_port()
  return tonumber((sh(spec.root .. "/spec/support/freeport")))
end

-- The binary running these specs (for the specs that start a fresh vcli).
local function vcli_bin()
  local exe = (sh("readlink /proc/$PPID/exe"):gsub("%s+$", ""))
  -- rebuilt while the run goes on: the running binary is gone, its successor is the same path
  if exe:find(" %(deleted%)$") then return spec.vcli end
  return exe
end

local function json(res) return cjson.decode(res.body) end

-- Wait for every task in the list; returns how long it took.
local function wait_all(tasks)
  spec.eventually(function()
    for _, t in ipairs(tasks) do if not t.done then return false end end
    return true
  end, 20000, "tasks")
end

describe("vcli.net and vcli.http", function()
  before_all(function()
    dir = spec.tmpdir()
      srv = dofile("spec/support/httpd.lua").start(dir)
    pem, base, sbase, mbase = srv.pem, srv.base, srv.sbase, srv.mbase
  end)

  after_all(function()
    if srv then srv:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  describe("plain HTTP", function()
    it("GETs and POSTs round trip", function()
      local res, err = http.get(base .. "/hello")
      assert.equal(nil, err)
      assert.equal(200, res.status)
      assert.equal("hello\n", res.body)
      assert.equal(6, res.info.size_download)

      res = assert(http.post(base .. "/echo", "name=vcli&n=1", { headers = { ["Content-Type"] = "text/plain" } }))
      local e = json(res)
      assert.equal("POST", e.method)
      assert.equal("name=vcli&n=1", e.body)
      assert.equal("text/plain", e.headers["content-type"])

      res = assert(http.request({ url = base .. "/echo", method = "put", body = "\0binary\255" }))
      e = json(res)
      assert.equal("PUT", e.method)
      assert.equal(#"\0binary\255", tonumber(e.headers["content-length"]))
    end)

    it("sends request headers and returns response headers, lower-cased", function()
      local res = assert(http.get(base .. "/echo", {
        headers = { ["X-Map"] = "one", "X-Line: two", Accept = "application/json" } }))
      local e = json(res)
      assert.equal("one", e.headers["x-map"])
      assert.equal("two", e.headers["x-line"])
      assert.equal("application/json", e.headers["accept"])
      assert.matches("^vcli/", e.headers["user-agent"])
      assert.equal(nil, e.headers["expect"])
      assert.equal("application/json", res.headers["content-type"])

      res = assert(http.get(base .. "/hello"))
      assert.equal("world", res.headers["x-hello"])
    end)

    it("returns error statuses as responses, with Retry-After", function()
      local res, err = http.get(base .. "/status/503?retry_after=7")
      assert.equal(nil, err)
      assert.equal(503, res.status)
      assert.equal("7", res.headers["retry-after"])
      assert.equal("status 503\n", res.body)
      res = assert(http.get(base .. "/status/404"))
      assert.equal(404, res.status)
    end)

    it("reuses the connection between requests", function()
      local a = assert(http.get(base .. "/echo"))
      local b = assert(http.get(base .. "/echo"))
      assert.equal(json(a).client_port, json(b).client_port)
      assert.truthy(b.info.reused)
    end)

    it("asks for compression and decodes it", function()
      local res = assert(http.get(base .. "/gzip"))
      assert.equal("gzip", res.headers["content-encoding"])
      assert.equal(("compressed hello\n"):rep(100), res.body)
    end)

    it("compressed = false sends no Accept-Encoding and gets the body as it is", function()
      local res = assert(http.get(base .. "/gzip", { compressed = false }))
      assert.equal(nil, res.headers["content-encoding"])
      assert.equal(("compressed hello\n"):rep(100), res.body)
      local echo = json(assert(http.get(base .. "/echo", { compressed = false })))
      assert.equal(nil, echo.headers["accept-encoding"])
      echo = json(assert(http.get(base .. "/echo")))
      assert.truthy(echo.headers["accept-encoding"]:find("gzip"), "asked for gzip by default")
      local err = assert.has_error(function() net.request({ url = base .. "/echo", compressed = "no" }) end)
      assert.matches("net.request: compressed must be a boolean", err)
    end)

    it("delivers a chunked body as several on_data pieces, in order, as they arrive", function()
      local pieces, times, t0 = {}, {}, vm.now()
      local status, done_err, finished
      net.request({
        url = base .. "/chunked?n=5&delay_ms=100",
        on_headers = function(st) status = st end,
        on_data = function(chunk) pieces[#pieces + 1] = chunk; times[#times + 1] = vm.now() - t0 end,
        on_done = function(err) done_err, finished = err, true end,
      })
      spec.eventually(function() return finished end, 5000, "the request")
      assert.equal(nil, done_err)
      assert.equal(200, status)
      assert.equal("chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n", table.concat(pieces))
      assert.truthy(#pieces >= 4, "expected separate pieces, got " .. #pieces)
      assert.truthy(times[#times] - times[1] >= 300, "pieces should arrive over time")
    end)

    it("s:lines() reassembles lines split across chunks", function()
      local s = assert(http.stream({ url = base .. "/split?lines=12&size=5&delay_ms=5&tail=1" }))
      assert.equal(200, s.status)
      assert.equal("text/plain", s.headers["content-type"])
      local lines = {}
      for line in s:lines() do lines[#lines + 1] = line end
      local want = {}
      for i = 1, 12 do want[i] = "line " .. i end
      want[13] = "tail without newline"
      assert.same(want, lines)
    end)

    it("s:chunks() yields the task while waiting, and s:close() stops the transfer", function()
      local s = assert(http.stream({ url = base .. "/chunked?n=20&delay_ms=50" }))
      local got = {}
      for chunk in s:chunks() do
        got[#got + 1] = chunk
        if #got == 2 then s:close() end
      end
      assert.equal(2, #got)
      assert.equal(nil, s.err)
      spec.eventually(function() return net.stats().active == 0 end, 2000, "the request to end")
    end)
  end)

  describe("failures", function()
    it("a total timeout gives a clear error, in time", function()
      local t0 = vm.now()
      local res, err = http.get(base .. "/slow", { timeout_ms = 300 })
      assert.equal(nil, res)
      assert.equal(("GET %s/slow: timed out after 300 ms"):format(base), err)
      assert.truthy(vm.now() - t0 < 2000)
    end)

    it("low_speed aborts a stalled stream", function()
      local s = assert(http.stream({ url = base .. "/slow?after=10", low_speed = { 100, 1 } }))
      local err = assert.has_error(function() for _ in s:chunks() do end end)
      assert.matches("^GET " .. base:gsub("%p", "%%%0") .. "/slow: stalled: less than 100 bytes/s for 1 s$", err)
    end)

    it("connection refused names host and port", function()
      local port = free_port()
      local res, err = http.get(("http://127.0.0.1:%d/api"):format(port))
      assert.equal(nil, res)
      assert.equal(("GET http://127.0.0.1:%d/api: connection refused"):format(port), err)
    end)

    it("a connection dropped mid-body is an error, not a hang", function()
      local t0 = vm.now()
      local res, err = http.get(base .. "/drop", { timeout_ms = 5000 })
      assert.equal(nil, res)
      assert.matches("^GET .*/drop: connection closed mid%-response after 100 bytes", err)
      assert.truthy(vm.now() - t0 < 2000)

      local s = assert(http.stream({ url = base .. "/drop?chunked=1", timeout_ms = 5000 }))
      local n = 0
      err = assert.has_error(function() for chunk in s:chunks() do n = n + #chunk end end)
      assert.equal(100, n)
      assert.matches("/drop: connection closed mid%-response", err)
    end)

    it("cancel from inside on_data stops the data and reports cancelled", function()
      local calls, done_err, finished = 0, nil, false
      local req
      req = net.request({
        url = base .. "/big?mb=20",
        on_data = function() calls = calls + 1; req:cancel(); req:cancel() end,
        on_done = function(err) done_err, finished = err, true end,
      })
      spec.eventually(function() return finished end, 5000, "on_done")
      async.sleep(50)
      assert.equal(1, calls)
      assert.equal("cancelled", done_err)
      assert.equal(0, net.stats().active)
      assert.falsy(req:cancel())
      assert.equal("hello\n", assert(http.get(base .. "/hello")).body)
    end)

    it("req:pause() holds data back until req:resume()", function()
      local pieces, finished, done_err, req = {}, false, nil, nil
      req = net.request({
        url = base .. "/chunked?n=4&delay_ms=50",
        on_data = function(c)
          pieces[#pieces + 1] = c
          if #pieces == 1 then req:pause() end
        end,
        on_done = function(err) done_err, finished = err, true end,
      })
      spec.eventually(function() return #pieces == 1 end, 2000, "the first piece")
      async.sleep(400)          -- the server has sent everything by now
      assert.equal(1, #pieces)
      assert.falsy(finished)
      req:resume()
      spec.eventually(function() return finished end, 2000, "the rest")
      assert.equal(nil, done_err)
      assert.equal("chunk 1\nchunk 2\nchunk 3\nchunk 4\n", table.concat(pieces))
    end)

    it("handles stay alive while running and are collected once done", function()
      local weak = setmetatable({}, { __mode = "v" })
      local finished = 0
      weak.done = net.request({ url = base .. "/hello", on_data = function() end,
                                on_done = function() finished = finished + 1 end })
      weak.running = net.request({ url = base .. "/slow", on_done = function() finished = finished + 1 end })
      spec.eventually(function() return finished == 1 end, 2000, "/hello")
      collectgarbage()
      collectgarbage()
      assert.equal(nil, weak.done)
      assert.truthy(weak.running, "a running request was collected")
      weak.running:cancel()
      spec.eventually(function() return finished == 2 end, 2000, "the cancel")
      assert.equal(0, net.stats().buffered)
    end)

    it("cancelling the task (Ctrl-C) cancels its request", function()
      local before = net.stats().active
      local task = async.spawn(function() return http.get(base .. "/slow") end)
      spec.eventually(function() return net.stats().active == before + 1 end, 2000, "the request to start")
      task:cancel()
      assert.truthy(task.done)
      assert.matches("^interrupted", tostring(task.err))
      spec.eventually(function() return net.stats().active == before end, 2000, "the request to end")
    end)

    it("the Authorization header, credentials and query never appear in errors", function()
      local hdrs = { Authorization = "Bearer s3cr3t-t0ken" }
      local urls = {
        ("http://user:pa55w0rd@127.0.0.1:%d/api?token=qu3ry-t0k"):format(free_port()),
        base .. "/slow?token=qu3ry-t0k",
        sbase .. "/hello?token=qu3ry-t0k",
      }
      for _, url in ipairs(urls) do
        local res, err = http.get(url, { headers = hdrs, timeout_ms = 300 })
        assert.equal(nil, res)
        assert.truthy(type(err) == "string" and #err > 0)
        assert.not_matches("s3cr3t", err)
        assert.not_matches("pa55w0rd", err)
        assert.not_matches("qu3ry", err)
        assert.not_matches("\n", err)
        assert.matches("^GET https?://127%.0%.0%.1:%d+/%a+: ", err)
      end
    end)

    it("bad options raise at once, naming the option", function()
      assert.has_error(function() net.request({ url = base, headers = 5 }) end, "headers must be a table")
      assert.has_error(function() net.request({ url = base, headers = { ["X-A"] = "a\r\nX-B: b" } }) end, "line break")
      assert.has_error(function() net.request({ url = base, timeout_ms = "1s" }) end, "timeout_ms must be a number")
      assert.has_error(function() net.request({ url = "not a url" }) end, "url is not a valid")
      assert.has_error(function() net.request({}) end, "url is required")
    end)
  end)

  describe("limits: what a server sends cannot take all memory", function()
    local function q(s) return (s:gsub("%p", "%%%0")) end

    it("a body over max_body fails the request, naming the limit, and stops the transfer", function()
      collectgarbage()
      local heap0 = collectgarbage("count")
      local res, err = http.get(base .. "/big?mb=64", { max_body = 4 * 1024 * 1024 })
      assert.equal(nil, res)
      assert.equal(("GET %s/big: response body larger than 4 MiB (the limit)"):format(base), err)
      assert.truthy(collectgarbage("count") - heap0 < 16 * 1024, "the Lua heap kept the partial body")
      -- the limit is the default for whole answers; a body under it is whole
      assert.equal(256 * 1024 * 1024, http.MAX_BODY)
      res = assert(http.get(base .. "/big?mb=4", { max_body = 4 * 1024 * 1024 }))
      assert.equal(4 * 1024 * 1024, #res.body)
    end)

    it("the limit counts decoded bytes: a gzip bomb is stopped at it", function()
      local res, err = http.get(base .. "/gzipbomb?mb=64", { max_body = 8 * 1024 * 1024 })
      assert.equal(nil, res)
      assert.matches("^GET " .. q(base) .. "/gzipbomb: response body larger than 8 MiB %(the limit%)$", err)
    end)

    it("response headers over 256 KiB fail the request, naming the limit", function()
      local res, err = http.get(base .. "/bighead?kb=300")
      assert.equal(nil, res)
      assert.equal(("GET %s/bighead: response headers larger than 256 KiB (the limit)"):format(base), err)
      res = assert(http.get(base .. "/bighead?kb=200"))
      assert.equal("ok\n", res.body)
    end)

    it("a stream's line longer than 16 MiB raises, naming the limit; shorter lines pass", function()
      local s = assert(http.stream({ url = base .. "/noline?mb=20" }))
      local err = assert.has_error(function() for _ in s:lines() do end end)
      s:close()
      assert.equal("a line longer than 16 MiB (the limit)", err)
      s = assert(http.stream({ url = base .. "/noline?mb=2" }))
      local got = {}
      for line in s:lines(4 * 1024 * 1024) do got[#got + 1] = #line end
      assert.same({ 2 * 1024 * 1024 }, got)
      s = assert(http.stream({ url = base .. "/noline?mb=2" }))
      err = assert.has_error(function() for _ in s:lines(1024 * 1024) do end end)
      s:close()
      assert.equal("a line longer than 1 MiB (the limit)", err)
    end)
  end)

  describe("concurrency and memory", function()
    it("20 concurrent requests complete while the loop keeps turning", function()
      local ticks = 0
      local timer = loop.timer(10, function() ticks = ticks + 1 end, 10)
      local t0 = vm.now()
      local tasks = {}
      for i = 1, 20 do
        tasks[i] = async.spawn(function() return http.get(base .. "/chunked?n=3&delay_ms=100&i=" .. i) end)
      end
      wait_all(tasks)
      local elapsed = vm.now() - t0
      timer:stop()
      for _, t in ipairs(tasks) do
        assert.equal(nil, t.err)
        assert.equal("chunk 1\nchunk 2\nchunk 3\n", t.results[1].body)
      end
      -- one by one they would take 20 × 200 ms
      assert.truthy(elapsed < 2000, ("20 requests took %.0f ms"):format(elapsed))
      assert.truthy(ticks >= elapsed / 10 / 3, ("timer fired %d times in %.0f ms"):format(ticks, elapsed))
    end)

    it("a 50 MB body through on_data keeps memory bounded", function()
      collectgarbage()
      local heap0, heap_peak = collectgarbage("count"), 0
      net.stats(true)
      local bytes, finished, done_err = 0, false, nil
      net.request({
        url = base .. "/big?mb=50",
        on_data = function(chunk)
          bytes = bytes + #chunk
          local h = collectgarbage("count")
          if h > heap_peak then heap_peak = h end
        end,
        on_done = function(err) done_err, finished = err, true end,
      })
      spec.eventually(function() return finished end, 60000, "50 MB")
      assert.equal(nil, done_err)
      assert.equal(50 * 1024 * 1024, bytes)
      local st = net.stats()
      assert.truthy(st.peak_buffered <= 1.5 * 1024 * 1024, "net buffered up to " .. st.peak_buffered)
      assert.truthy(heap_peak - heap0 < 16 * 1024, ("Lua heap grew by %.0f KB"):format(heap_peak - heap0))
    end)

    it("a slow stream consumer pauses the transfer instead of buffering", function()
      collectgarbage()
      net.stats(true)
      local s = assert(http.stream({ url = base .. "/big?mb=8" }))
      local bytes, queued_peak, paused_seen, n = 0, 0, false, 0
      for chunk in s:chunks() do
        bytes = bytes + #chunk
        n = n + 1
        if s.queued > queued_peak then queued_peak = s.queued end
        if net.stats().paused > 0 then paused_seen = true end
        if n % 8 == 0 then async.sleep(15) end
      end
      assert.equal(8 * 1024 * 1024, bytes)
      assert.truthy(paused_seen, "the transfer was never paused")
      assert.truthy(queued_peak <= 1.2 * 1024 * 1024, "stream queued up to " .. queued_peak)
      assert.truthy(net.stats().peak_buffered <= 1.5 * 1024 * 1024, "net buffered up to " .. net.stats().peak_buffered)
    end)
  end)

  describe("TLS", function()
    it("verifies the server with ca_pem; fails clearly without it; insecure skips", function()
      local res = assert(http.get(sbase .. "/hello", { ca_pem = pem.ca }))
      assert.equal("hello\n", res.body)

      local _, err = http.get(sbase .. "/hello")
      assert.matches("^GET " .. sbase:gsub("%p", "%%%0") .. "/hello: TLS verification failed: .*certificate", err)

      res = assert(http.get(sbase .. "/hello", { insecure = true }))
      assert.equal(200, res.status)

      res = assert(http.get(sbase .. "/hello", { ca_file = dir .. "/certs/ca.crt" }))
      assert.equal(200, res.status)
    end)

    it("server_name verifies the certificate against that name while connecting to the URL's host", function()
      local res = assert(http.get(sbase .. "/echo", { ca_pem = pem.ca, server_name = "kube.test" }))
      local e = json(res)
      assert.equal("kube.test", e.sni)
      assert.equal("127.0.0.1:" .. srv.ports.https, e.headers.host)

      local _, err = http.get(sbase .. "/echo", { ca_pem = pem.ca, server_name = "wrong.test" })
      assert.matches("^GET " .. sbase:gsub("%p", "%%%0") .. "/echo: TLS verification failed: .*wrong%.test", err)
    end)

    it("presents a client certificate from PEM text or files", function()
      local _, err = http.get(mbase .. "/whoami", { ca_pem = pem.ca })
      -- TLS 1.3: the refusal comes after the handshake, so depending on timing
      -- curl sees the server's alert or a closed connection while sending
      assert.matches("^GET " .. mbase:gsub("%p", "%%%0") .. "/whoami: .*client certificate", err)

      local res = assert(http.get(mbase .. "/whoami", { ca_pem = pem.ca, cert_pem = pem.cert, key_pem = pem.key }))
      assert.equal("vcli-user\n", res.body)

      res = assert(http.get(mbase .. "/whoami",
        { ca_pem = pem.ca, cert_file = dir .. "/client.crt", key_file = dir .. "/client.key" }))
      assert.equal("vcli-user\n", res.body)
    end)
  end)

  describe("loading and misuse", function()
    it("libcurl is loaded on the first request, not at start-up", function()
      local script = dir .. "/lazy.lua"
      spec.write(script, ([[
        local function mapped()
          for l in io.lines("/proc/self/maps") do if l:find("libcurl") then return true end end
          return false
        end
        require("vcli")
        local net = require("vcli.net")
        local http = require("vcli.http")
        print("before", mapped())
        print(require("vcli.async").run(function() return http.get(%q).status end, 5000))
        print("after", mapped())
      ]]):format(base .. "/hello"))
      local out = sh(("VCLI_DATADIR=%s %s -l %s"):format(spec.root, vcli_bin(), script))
      assert.matches("before\tfalse", out)
      assert.matches("true\t200", out)
      assert.matches("after\ttrue", out)
    end)

    it("without libcurl a request fails with an error naming the library", function()
      local script = dir .. "/nocurl.lua"
      spec.write(script, [[
        require("vcli")
        print(require("vcli.net").available())
        print(require("vcli.async").run(function() return require("vcli.http").get("http://127.0.0.1:1/") end, 5000))
      ]])
      local out = sh(("VCLI_LIBCURL=/nonexistent/libcurl.so.4 VCLI_DATADIR=%s %s -l %s")
        :format(spec.root, vcli_bin(), script))
      assert.matches("false\tvcli.net: cannot load /nonexistent/libcurl.so.4", out)
      assert.matches("true\tnil\tvcli.net: cannot load /nonexistent/libcurl.so.4 %(", out)
    end)

    it("http calls outside a task raise a clear error", function()
      local script = dir .. "/notask.lua"
      spec.write(script, [[
        require("vcli")
        print(pcall(require("vcli.http").get, "http://127.0.0.1:1/"))
      ]])
      local out = sh(("VCLI_DATADIR=%s %s -l %s"):format(spec.root, vcli_bin(), script))
      assert.matches("false\t[^\n]*http%.get must run inside a task; use async%.run", out)
    end)
  end)
end)
