-- vcli.http — straight-line HTTP over vcli.net for code running in a task:
--   local res, err = http.get(url, { headers = { Authorization = "Bearer …" } })
--   local s = http.stream({ url = watch_url }); for line in s:lines() do … end
-- Each call yields the running task until the answer is in; the loop keeps
-- turning meanwhile. Cancelling the task (Ctrl-C) cancels the request.
local async = require("vcli.async")
local net = require("vcli.net")

local M = {}

-- A stream pauses the transfer when this much waits for its consumer, and
-- resumes it once the consumer is down to STREAM_LOW.
local STREAM_HIGH = 1024 * 1024
local STREAM_LOW = 256 * 1024
-- A whole answer (http.request/get/post) is held in memory: one larger than
-- this (opts.max_body overrides it) fails, naming the limit. Streams have
-- none: they are read as they come.
M.MAX_BODY = 256 * 1024 * 1024

local function in_task(name)
  if not async.current() then error(name .. " must run inside a task; use async.run", 3) end
end

local function copy(opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  return o
end

local function request(name, opts)
  in_task(name)
  if type(opts) ~= "table" then error(name .. ": expected an options table", 3) end
  local o = copy(opts)
  o.max_body = o.max_body or M.MAX_BODY
  local chunks, status, headers = {}, nil, nil
  o.on_headers = function(st, h) status, headers = st, h end
  o.on_data = function(chunk) chunks[#chunks + 1] = chunk end
  return async.await(function(resume)
    o.on_done = function(e, info)
      if e then return resume(nil, e) end
      resume({ status = status or info.status, headers = headers or {}, body = table.concat(chunks), info = info })
    end
    local req, e = net.request(o)
    if not req then return resume(nil, e) end   -- libcurl unavailable
    return function() req:cancel() end
  end)
end

-- http.request(opts) -> {status, headers, body, info} | nil, err
-- opts are vcli.net's (url, method, headers, body, timeouts, TLS, max_body…), without callbacks.
-- A status of 4xx/5xx is a response, not an error.
function M.request(opts) return request("http.request", opts) end

function M.get(url, opts)
  local o = copy(opts)
  o.url, o.method = url, o.method or "GET"
  return request("http.get", o)
end

function M.post(url, body, opts)
  local o = copy(opts)
  o.url, o.method, o.body = url, o.method or "POST", body
  return request("http.post", o)
end

-- ---------------------------------------------------------------- streams
local Stream = {}
Stream.__index = Stream

local function wake(s)
  local w = s.waiter
  if w then s.waiter = nil; w() end
end

-- Yield the task until the stream has news; cancelling the task closes the stream.
local function wait(s)
  async.await(function(resume)
    s.waiter = resume
    return function() s.waiter = nil; s:close() end
  end)
end

-- http.stream(opts) -> stream | nil, err. Returns once the headers are in
-- (s.status, s.headers); read the body with s:chunks() or s:lines().
-- Close it (s:close()) when stopping before the end.
function M.stream(opts)
  in_task("http.stream")
  if type(opts) ~= "table" then error("http.stream: expected an options table", 2) end
  local s = setmetatable({ queue = {}, head = 1, tail = 0, queued = 0, done = false }, Stream)
  local o = copy(opts)
  o.on_headers = function(st, h) s.status, s.headers = st, h; wake(s) end
  o.on_data = function(chunk)
    s.tail = s.tail + 1
    s.queue[s.tail] = chunk
    s.queued = s.queued + #chunk
    if s.queued > STREAM_HIGH and not s.paused then
      s.paused = true
      s.req:pause()
    end
    wake(s)
  end
  o.on_done = function(err, info)
    s.done, s.info = true, info
    if err and not s.closed then s.err = err end
    wake(s)
  end
  local req, err = net.request(o)
  if not req then return nil, err end
  s.req = req
  while not s.headers and not s.done do wait(s) end
  if not s.headers then return nil, s.err or "no response" end
  return s
end

-- Next chunk of the body, waiting for it; nil at the end. A transfer error
-- (dropped connection, timeout) is raised; after s:close() it just ends.
function Stream:read()
  while self.head > self.tail do
    if self.done or self.closed then
      if self.err and not self.closed then error(self.err, 0) end
      return nil
    end
    wait(self)
  end
  local chunk = self.queue[self.head]
  self.queue[self.head] = nil
  self.head = self.head + 1
  self.queued = self.queued - #chunk
  if self.paused and self.queued < STREAM_LOW then
    self.paused = false
    self.req:resume()
  end
  return chunk
end

function Stream:chunks()
  return function() return self:read() end
end

-- Lines split on "\n" (without it), whatever the chunking (vcli.lines); a
-- line longer than max (16 MiB) raises, naming the limit.
function Stream:lines(max)
  return require("vcli.lines")(function() return self:read() end, max)
end

-- Stop the transfer and drop what was not read. Safe to call twice.
function Stream:close()
  if self.closed then return end
  self.closed = true
  self.queue, self.head, self.tail, self.queued = {}, 1, 0, 0
  if not self.done then self.req:cancel() end
  wake(self)
end

return M
