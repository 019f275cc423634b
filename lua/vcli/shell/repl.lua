-- vcli.shell.repl — the interactive shell: reads keys from the loop, edits
-- with the line editor, runs each accepted line as a task. While a command
-- runs the terminal is back in its normal mode, so Ctrl-C reaches vcli as
-- SIGINT and cancels that command (not the shell).
local term = require("vcli.term")
local loop = require("vcli.loop")
local async = require("vcli.async")
local shell = require("vcli.shell")
local editor = require("vcli.shell.editor")
local history_mod = require("vcli.shell.history")
local theme = require("vcli.theme")
local S = require("vcli.state")("vcli.shell")

local M = {}
local PASTE_ON, PASTE_OFF = "\27[?2004h", "\27[?2004l"

local function default_prompt()
  local segs = {}
  for _, provider in ipairs(S.prompt_segments or {}) do
    local ok, seg = pcall(provider)
    if ok and seg then
      for _, s in ipairs(type(seg) == "table" and seg or { { tostring(seg), 0 } }) do table.insert(segs, s) end
    end
  end
  table.insert(segs, { "vcli> ", editor.styles.prompt })
  return segs
end

function M.run(opts)
  S.interactive = true
  -- history.* and ui.theme / ui.colorScheme from the configuration
  local hist = opts.history_path and history_mod.open(opts.history_path, opts.history_max)
    or history_mod.from_config()
  S.history = hist
  theme.apply()
  theme.watch()
  S.bindings = S.bindings or {}
  local ed = editor.new({
    prompt = function()
      local p = S.prompt or default_prompt
      if type(p) == "function" then p = p() end
      return theme.plain(p)
    end,
    history = hist,
    incomplete = shell.incomplete,
    bindings = S.bindings,
    max_line = shell.MAX_LINE,
  })
  S.editor = ed
  local dec = term.decoder()
  local running = nil      -- the task of the running command
  local done = false
  local esc_timer = nil
  local reader
  local drain -- handles queued keys; defined below

  local function enter_edit()
    term.raw(true)
    term.write(PASTE_ON)
    ed:reset()
    ed:render()
    S.editing = true
  end

  local function leave_edit()
    S.editing = false
    term.write(PASTE_OFF)
    term.raw(false)
  end

  local function finish_session()
    done = true
    leave_edit()
    loop.stop()
  end

  local function run_line(line)
    hist:add(line)
    reader:set("")           -- the command owns the keyboard (Ctrl-C as SIGINT)
    leave_edit()
    running = async.spawn(function() return shell.execute(line) end)
    running:on_done(function(task)
      running = nil
      if not task.results then
        io.stderr:write("vcli: " .. shell.one_line(task.err) .. "\n")
      end
      io.stdout:flush()
      if S.exit_requested then return finish_session() end
      reader:set("r")
      enter_edit()
      drain()
    end)
  end

  -- Keys are handled one at a time, each in a task, so a completer may wait
  -- on the network (a plugin asking its server) without blocking the loop;
  -- keys typed meanwhile queue up, and Ctrl-C abandons the wait.
  local queue, pending = {}, nil

  local function step(ev)
    ed:handle(ev)
    if ed.accepted then
      local line = ed.accepted
      ed.accepted = nil
      ed:finish()
      run_line(line)
    elseif ed.eof then
      ed:finish()
      finish_session()
    elseif ed.cancelled then
      ed.cancelled = nil
      ed:finish("^C")
      ed:reset()
    end
  end

  drain = function()
    while #queue > 0 and not running and not done do
      local ev = table.remove(queue, 1)
      local task = async.spawn(step, ev)
      if not task.done then
        pending = task
        task:on_done(function()
          pending = nil
          drain()
        end)
        return
      end
      if task.err then ed.message = shell.one_line(task.err) end
    end
    if not running and not done then ed:render() end
  end

  local function process(events)
    for _, ev in ipairs(events) do
      if pending and ev.key == "C-c" then
        pending:cancel("interrupted")
        ed.message = "completion cancelled"
      else
        table.insert(queue, ev)
      end
    end
    if not pending then drain() end
  end

  reader = loop.fd(0, "r", function()
    local data, err = loop.read(0)
    if not data then
      if err == "again" then return end
      return finish_session() -- terminal gone
    end
    if esc_timer then esc_timer:stop(); esc_timer = nil end
    process(dec:feed(data))
    if dec:pending() and not running then
      esc_timer = loop.timer(30, function() esc_timer = nil; process(dec:flush()) end)
    end
  end)

  loop.signal("SIGWINCH", function()
    if not running then ed:resized(); ed:render() end
  end)
  loop.signal("SIGINT", function()
    if running then term.write("\n"); running:cancel("interrupted") end
  end)
  local function on_term() finish_session() end
  loop.signal("SIGTERM", on_term)
  loop.signal("SIGHUP", on_term)

  S.exit_requested = false
  enter_edit()
  -- once the first prompt is up: "shell.started" on the bus (a plugin whose
  -- manifest lists it starts now, in the background: the kubernetes plugin,
  -- to replay writes queued offline in an earlier session)
  loop.timer(0, function()
    async.spawn(function() pcall(require("vcli.plugin").bus.publish, "shell.started", {}) end)
  end)
  loop.run()
  reader:stop()
  return S.exit_status or 0
end

-- Text written while no command runs (a plugin's background notice): above
-- the line being edited, which is drawn again below it. -> true when it was.
function M.print_above(text)
  if not (S.editing and S.editor) then return false end
  S.editor:print_above(text)
  return true
end

-- The prompt and the line drawn again (a plugin's prompt segment changed).
function M.redraw()
  if S.editing and S.editor then S.editor:render() end
end

-- Ask the REPL to exit after the current command (the `exit` command).
function M.request_exit(status)
  S.exit_requested = true
  S.exit_status = status
end

return M
