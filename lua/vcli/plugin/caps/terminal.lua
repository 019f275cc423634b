-- caps/terminal.lua — terminal: the user's terminal and standard input.
-- open{raw = true} puts the terminal in raw mode (it needs one) and reports
-- resizes; open{} reads standard input as it is (a pipe, a file, the
-- terminal in its normal mode). Always restored when closed: by the plugin,
-- with its call (return, error, Ctrl-C, time limit) or when the plugin
-- stops. Ownership of the terminal itself is vcli.terminal's.
--   plugin.yaml:  - terminal
--   plugin side:  vcli.terminal.open/write/size
local R = require("vcli.plugin.runtime")

local C = { name = "terminal", summary = "the user's terminal (raw, resizes) and standard input",
            grant = "- terminal", api = { "vcli.terminal.open", "vcli.terminal.write", "vcli.terminal.size" } }
C.options = {}
C.ops = { open = "now", read = "wait", close = "now", write = "now", size = "now" }
C.host = {}
local H = C.host

function H.open(p, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("terminal.open: an options table expected", 0) end
  local terminal = require("vcli.terminal")
  local raw = opts.raw == true
  if raw and not R.has_terminal() then
    error(("plugin %s: a raw terminal needs one, and this shell has none (stdin/stdout are not a terminal)"):format(p.name), 0)
  end
  local owner = terminal.owner()
  if owner and owner.plugin_terminal then error(("plugin %s: the terminal is already open"):format(p.name), 0) end
  local t = { q = {}, raw = raw }
  local function push(ev)
    t.q[#t.q + 1] = ev
    local w = t.waiter
    t.waiter = nil
    if w then w() end
  end
  local own, err = terminal.own({
    raw = raw,
    input = opts.input ~= false and function(data) push({ data = data }) end,
    on_eof = function() push({ eof = true }) end,
    on_resize = function(cols, rows) push({ resize = { cols, rows } }) end,
  })
  if not own then error(("plugin %s: %s"):format(p.name, err), 0) end
  own.plugin_terminal = true
  t.own = own
  t.close = function(self)
    if self.closed then return end
    self.closed = true
    self.own:release()
    local w = self.waiter
    self.waiter = nil
    if w then w() end
  end
  local id = R.adopt(p, p.current_call, t, "terminal")
  local cols, rows = terminal.size()
  return { id = id, raw = raw, width = cols, height = rows }
end

-- next event: { data = bytes } | { resize = {cols, rows} } | nil at the end of input (or once closed)
function H.read(p, id)
  local t = R.resource(p, id, "terminal")
  while true do
    local ev = table.remove(t.q, 1)
    if ev then
      if ev.eof then return nil end
      return ev
    end
    if t.closed then return nil end
    require("vcli.async").await(function(resume)
      t.waiter = resume
      return function() if t.waiter == resume then t.waiter = nil end end
    end)
  end
end
function H.close(p, id) R.close_resource(p, id) return true end

-- write to stdout (1) or stderr (2) now, after what the plugin printed before
function H.write(p, data, stream)
  if type(data) ~= "string" then error("terminal.write takes a string", 0) end
  R.flush(p)
  -- between commands the shell's prompt is on screen: the text goes above it
  if require("vcli.shell.repl").print_above(data) then return true end
  local shell = require("vcli.shell")
  if stream == 2 then shell.ewrite(data) else shell.write(data) end
  io.stdout:flush()
  return true
end

function H.size()
  local cols, rows = require("vcli.terminal").size()
  return { width = cols, height = rows, terminal = R.has_terminal() }
end

-- ------------------------------------------------------------ plugin side
function C.plugin(vcli, api)
  local await, host = api.await, api.host
  -- t:read() -> {data=} | {resize={cols, rows}} | nil at the end
  local Terminal = {}
  Terminal.__index = Terminal
  function Terminal:read()
    if self.closed then return nil end
    return await("terminal", "read", self.id)
  end
  function Terminal:close()
    if self.closed then return end
    self.closed = true
    host("terminal", "close", self.id)
  end
  vcli.terminal = {
    open = function(opts)
      local r = host("terminal", "open", opts or {})
      return setmetatable({ id = r.id, raw = r.raw, width = r.width, height = r.height }, Terminal)
    end,
    write = function(data, stream) return host("terminal", "write", data, stream) end,
    size = function() return host("terminal", "size") end,
  }
end

return C
