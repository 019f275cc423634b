-- vcli.shell.run — the ways vcli runs: REPL, -c, one command, a pipe, a script.
local term = require("vcli.term")
local async = require("vcli.async")
local shell = require("vcli.shell")
local S = require("vcli.state")("vcli.shell")

local M = {}

-- Ctrl-C (SIGINT) or SIGTERM while a command runs without the REPL cancels it, so that
-- what it holds is released (a plugin call's temporary files, connections, children),
-- then vcli exits 130 (143) as a shell's command would.
local function in_task(fn, ...)
  local loop = require("vcli.loop")
  local task = async.spawn(fn, ...)
  local stopped
  local prev = { SIGINT = loop.handler("SIGINT"), SIGTERM = loop.handler("SIGTERM") }
  loop.signal("SIGINT", function() stopped = stopped or 130; task:cancel("interrupted") end)
  loop.signal("SIGTERM", function() stopped = stopped or 143; task:cancel("terminated") end)
  local ok, status = task:wait()
  for name, fn0 in pairs(prev) do loop.signal(name, fn0) end
  if stopped then
    if not ok then io.stderr:write("vcli: ", stopped == 130 and "interrupted" or "terminated", "\n") end
    S.exit_requested = true
    return stopped
  end
  if not ok then
    io.stderr:write("vcli: " .. shell.one_line(status) .. "\n")
    return 1
  end
  return status or 0
end

-- Commands from a pipe: one per line, a line continued while a quote is open.
local function run_stdin()
  local status, pending, lineno = 0, nil, 0
  for line in io.stdin:lines() do
    lineno = lineno + 1
    if #line > shell.MAX_LINE then
      io.stderr:write(("vcli: stdin:%d: line too long: %d bytes (the limit is %d)\n"):format(lineno, #line, shell.MAX_LINE))
      status = 2
    else
      local text = pending and (pending .. "\n" .. line) or line
      if shell.incomplete(text) and #text <= shell.MAX_LINE then
        pending = text
      else
        pending = nil
        status = in_task(shell.execute, text)
        if S.exit_requested then break end
      end
    end
  end
  if pending then status = in_task(shell.execute, pending) end
  return status
end

local function run_script(path, args)
  local vcli = require("vcli")
  local chunk, err = loadfile(path)
  if not chunk then io.stderr:write("vcli: ", err, "\n") return 1 end
  local env = setmetatable({ vcli = vcli, arg = { [0] = path, unpack(args) } }, { __index = _G })
  setfenv(chunk, env)
  return in_task(function()
    local res = chunk(unpack(args))
    return tonumber(res) or 0
  end)
end

function M.main(opts, rest)
  require("vcli.shell.builtins")
  require("vcli.config").load({ flags = opts.set, watch = not opts.commands and not rest[1] })
  local rc = require("vcli.rc")
  require("vcli.plugin").init(opts, rest)
  if opts.rc then
    local ok, errors = rc.load(opts.rc_file)
    if not ok then for _, e in ipairs(errors) do io.stderr:write("vcli: rc: ", e, "\n") end end
  end
  local status
  if opts.commands then
    status = in_task(shell.execute, opts.commands)
  elseif rest[1] and rest[1]:match("%.lua$") and io.open(rest[1]) then
    status = run_script(rest[1], { unpack(rest, 2) })
  elseif rest[1] then
    status = in_task(shell.run_words, rest)
  elseif term.isatty(0) and term.isatty(1) then
    require("vcli.reload").watch_all()
    status = require("vcli.shell.repl").run(opts)
  else
    status = run_stdin()
  end
  io.stdout:flush()
  return S.exit_status or status
end

return M
