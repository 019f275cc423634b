-- vcli.terminal — who owns the user's terminal, for every part of vcli that
-- takes it: the shell hands it to a program (`!cmd`, exec -it's kubectl),
-- a plugin's `terminal` capability opens it raw (exec -it into a pod), the
-- full-screen panels will draw on it. One owner at a time; the terminal is
-- always put back (mode, SIGWINCH handler, input watcher) on release.
--   t = terminal.own{raw = bool, input = fn(data) | false, on_eof = fn(), on_resize = fn(cols, rows)}
--       -> t | nil, err     raw: no echo, keys as bytes (Ctrl-C included), no output processing
--       on_suspend = fn(), on_resume = fn(): around hand_over (the full-screen interface
--       leaves its alternate screen for $EDITOR or a shell in a pod, and redraws after)
--   t:release()             idempotent
--   terminal.owner()        the current owner (nil when none)
--   terminal.hand_over(fn, ...) -> fn's results: what vcli wrote goes out first, then fn runs
--                           with the terminal in its normal mode (a child inherits it)
--   terminal.read_line() -> line | "" at the end of input (in a task; the terminal in its normal mode)
--   terminal.ask(question) -> the line typed after the question (on stderr), trimmed | nil
--   terminal.ask_yes(question) -> true for y/yes typed after the question (on stderr), else false
--   terminal.size() -> cols, rows;  terminal.is_tty() -> stdin and stdout are a terminal
local loop = require("vcli.loop")
local async = require("vcli.async")
local S = require("vcli.state")("vcli.terminal")

local M = {}
local term_mod
local function term() term_mod = term_mod or require("vcli.term") return term_mod end

function M.is_tty() return term().isatty(0) and term().isatty(1) end
function M.size() return term().size() end
function M.owner() return S.owner end

local Own = {}
Own.__index = Own

function M.own(opts)
  opts = opts or {}
  local lender
  if S.owner and not S.owner.released then
    -- the full-screen interface lends the terminal (a shell in a pod) and takes it back on release
    if not S.owner.on_suspend or S.owner.lent then return nil, "the terminal is already taken" end
    lender = S.owner
    lender.lent = true
    lender.on_suspend()
    if lender.watch then lender.watch:stop(); lender.watch = nil; lender.watch_paused = true end
    if lender.raw then loop.signal("SIGWINCH", lender.prev_winch); term().raw(false) end
  end
  io.stdout:flush()
  local t = setmetatable({ raw = opts.raw == true, on_suspend = opts.on_suspend, on_resume = opts.on_resume }, Own)
  if t.raw then
    if not term().raw(true, "full") then return nil, "cannot put the terminal in raw mode" end
    -- resizes go to the owner while the terminal is its own (the shell's own
    -- handler redraws nothing while a command runs; put back on release)
    t.prev_winch = loop.handler("SIGWINCH")
    t.winch = function()
      if t.prev_winch then t.prev_winch() end
      if opts.on_resize then opts.on_resize(term().size()) end
    end
    loop.signal("SIGWINCH", t.winch)
  end
  if opts.input then
    t.on_input = function()
      local data, err = loop.read(0, 65536)
      if data then opts.input(data)
      elseif err ~= "again" then
        t.watch:stop()
        t.watch = nil
        if opts.on_eof then opts.on_eof() end
      end
    end
    t.watch = loop.fd(0, "r", t.on_input)
  end
  t.lender = lender
  S.owner = t
  return t
end

-- the owner that lent the terminal gets it back: its mode, resizes, keys, a redraw
local function give_back(l)
  l.lent = nil
  if l.released then return end
  if l.raw then
    term().raw(true, "full")
    loop.signal("SIGWINCH", l.winch)
  end
  if l.watch_paused then l.watch_paused = nil; l.watch = loop.fd(0, "r", l.on_input) end
  S.owner = l
  if l.on_resume then l.on_resume() end
end

function Own:release()
  if self.released then return end
  self.released = true
  if self.watch then self.watch:stop(); self.watch = nil end
  if self.raw then loop.signal("SIGWINCH", self.prev_winch); term().raw(false) end
  io.stdout:flush()
  if S.owner == self then S.owner = nil end
  if self.lender then local l = self.lender; self.lender = nil; give_back(l) end
end

function M.hand_over(fn, ...)
  io.stdout:flush()
  io.stderr:flush()
  local o = S.owner
  local raw = o and not o.released and o.raw
  local live = o and not o.released
  if live and o.on_suspend then o.on_suspend() end
  if live and o.watch then o.watch:stop(); o.watch_paused = true end   -- the child reads the keys
  if raw then term().raw(false) end
  local res = table.pack(pcall(fn, ...))
  if raw and not o.released then term().raw(true, "full") end
  if live and not o.released and o.watch_paused then
    o.watch_paused = nil
    o.watch = loop.fd(0, "r", o.on_input)
  end
  if live and not o.released and o.on_resume then o.on_resume() end
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

function M.read_line()
  return async.await(function(resume)
    local acc = {}
    local h
    h = loop.fd(0, "r", function()
      local data, e = loop.read(0)
      if data then
        acc[#acc + 1] = data
        if data:find("\n") then h:stop(); resume(table.concat(acc)) end
      elseif e ~= "again" then
        h:stop(); resume(table.concat(acc))
      end
    end)
    return function() h:stop() end
  end)
end

-- A yes/no question on the terminal in its normal mode (the caller knows
-- there is one): the question on stderr, y or yes is true, anything else false.
-- ask(question) -> the line typed after the question (on stderr), trimmed; nil at end of input
function M.ask(question)
  io.stdout:flush()
  io.stderr:write(question)
  io.stderr:flush()
  local line = M.read_line()
  return line and line:match("^%s*(.-)%s*$")
end

function M.ask_yes(question)
  local answer = (M.ask(question) or ""):lower()
  return answer == "y" or answer == "yes"
end

return M
