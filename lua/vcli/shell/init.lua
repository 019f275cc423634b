-- vcli.shell — parse → dispatch → complete. The REPL, `vcli -c`, `vcli CMD`,
-- pipes and scripts all run commands through M.execute / M.run_words.
local commands = require("vcli.shell.commands")
local words_mod = require("vcli.shell.words")
local async = require("vcli.async")
local term = require("vcli.term")
local S = require("vcli.state")("vcli.shell")

local M = {}
M.MAX_LINE = 65536

-- Where command output goes. Specs and `vcli.capture` swap these.
S.out = S.out or function(s) io.stdout:write(s) end
S.err = S.err or function(s) io.stderr:write(s) end

function M.write(s) S.out(s) end
function M.ewrite(s) S.err(s) end
function M.color_enabled()
  if S.color_override ~= nil then return S.color_override end
  return term.isatty(1) and os.getenv("NO_COLOR") == nil and os.getenv("TERM") ~= "dumb"
    and require("vcli.theme").colors()
end

-- Run fn with output captured; returns ok, captured stdout, captured stderr.
function M.capture(fn)
  local out, err = {}, {}
  local so, se, sc = S.out, S.err, S.color_override
  S.out = function(s) table.insert(out, s) end
  S.err = function(s) table.insert(err, s) end
  S.color_override = false
  local ok, res = pcall(fn)
  S.out, S.err, S.color_override = so, se, sc
  return ok and res, table.concat(out), table.concat(err), (not ok) and res or nil
end

-- One line for a user: the message without Lua's traceback.
function M.one_line(err)
  local s = tostring(err)
  s = s:match("^(.-)\nstack traceback:") or s
  s = s:gsub("\n", " ")
  return s
end

local function new_ctx(spec, flags, args, positional)
  local ctx = { spec = spec, flags = flags, args = args, positional = positional, shell = M }
  ctx.color = M.color_enabled()
  ctx.interactive = S.interactive or false
  ctx.out = M.write
  ctx.print = function(...)
    local n = select("#", ...)
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    M.write(table.concat(parts, "\t") .. "\n")
  end
  ctx.err = function(s) M.ewrite(s) end
  ctx.warn = function(s) M.ewrite("warning: " .. s .. "\n") end
  ctx.width = function() return (term.size()) end
  return ctx
end

local function expand_alias(words)
  local seen = {}
  while true do
    local al = commands.aliases()[words[1]]
    if not al or seen[words[1]] then return words end
    seen[words[1]] = true
    local exp = words_mod.words(al.expansion) or { al.expansion }
    local out = {}
    for _, w in ipairs(exp) do table.insert(out, w) end
    for i = 2, #words do table.insert(out, words[i]) end
    words = out
  end
end
M.expand_alias = expand_alias

-- Run one command given as words. Returns the exit status; errors become one
-- line on stderr prefixed with "vcli: " (status 1, or 2 for usage errors — or the
-- command's own usage_status: k8s says 1, as kubectl).
function M.run_words(words, realized)
  if #words == 0 then return 0 end
  words = expand_alias(words)
  local ok, spec, flags, args, positional = pcall(commands.parse, words)
  if not ok then
    M.ewrite("vcli: " .. M.one_line(spec) .. "\n")
    local s = commands.resolve(words)
    while s and s.parent do s = s.parent end
    return s and s.usage_status or 2
  end
  if flags == commands.HELP then
    -- a plugin's stub knows only its manifest: start the plugin, ask again
    local real, why = false, nil
    if not realized then real, why = commands.realize(spec) end
    if real then return M.run_words(words, true) end
    M.write(commands.help(spec) .. "\n")
    if why then
      M.ewrite("vcli: " .. M.one_line(why) .. " (this help shows only what its manifest says)\n")
      return 1
    end
    return 0
  end
  local ctx = new_ctx(spec, flags, args, positional)
  local timed = require("vcli.log").command(words)
  local res = table.pack(async.interruptible(spec.handler, ctx))
  timed(res[1] and (type(res[2]) == "number" and res[2] or 0) or 1)
  if not res[1] then
    local msg = M.one_line(res[2])
    if os.getenv("VCLI_DEBUG") or require("vcli.log").debugging() then
      M.ewrite(tostring(res[2]) .. "\n")
    end
    -- several errors (kubectl's "found ones, then each one not found"): one line each
    local text = tostring(res[2])
    text = text:match("^(.-)\nstack traceback:") or text
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      if line ~= "" then M.ewrite("vcli: " .. line .. "\n") end
    end
    return msg == "interrupted" and 130 or msg == "terminated" and 143 or 1
  end
  local status = res[2]
  if type(status) ~= "number" then status = status == false and 1 or 0 end
  return status
end

-- Lua for `= expr`: expressions print their values; statements run. Its
-- variables persist; it sees the globals and, as rc files and scripts do, `vcli`.
S.lua_env = S.lua_env or setmetatable({}, { __index = _G })
function M.lua_env()
  local mt = getmetatable(S.lua_env)
  if mt.__index == _G then mt.__index = setmetatable({ vcli = require("vcli") }, { __index = _G }) end
  return S.lua_env
end
function M.eval_lua(src)
  local chunk, err = loadstring("return " .. src, "=expr")
  if not chunk then chunk, err = loadstring(src, "=expr") end
  if not chunk then
    M.ewrite("vcli: lua: " .. err:gsub("^expr:", "line ") .. "\n")
    return 1
  end
  setfenv(chunk, M.lua_env())
  jit.off(chunk, true)
  local res = table.pack(async.interruptible(chunk))
  if not res[1] then
    M.ewrite("vcli: lua: " .. M.one_line(res[2]):gsub("^expr:", "line ") .. "\n")
    return 1
  end
  local pretty = require("vcli.pretty")
  for i = 2, res.n do M.write(pretty.format(res[i], { width = (term.size()) }) .. "\n") end
  return 0
end

-- `!cmd`: a command for /bin/sh, with the terminal (vcli.process).
function M.run_sh(cmdline)
  local code, err = require("vcli.process").run({ "/bin/sh", "-c", cmdline })
  if not code then M.ewrite("vcli: " .. err .. "\n"); return 127 end
  return code
end

-- `CMD | SHELL…`: CMD's output into /bin/sh -c "SHELL…" (grep, less, jq,
-- wc…), which writes to the terminal. CMD sees no terminal (its output is
-- laid out as for a pipe). When the reader leaves early (head), the rest of
-- CMD's output is dropped quietly. The status is the shell command's, as in sh.
function M.run_piped(words, shcmd)
  if #words == 0 then M.ewrite("vcli: a command is needed before |\n") return 2 end
  if shcmd == "" then M.ewrite("vcli: a shell command is needed after |\n") return 2 end
  io.stdout:flush()
  local p, err = require("vcli.process").spawn({ argv = { "/bin/sh", "-c", shcmd }, stdin = "pipe" })
  if not p then M.ewrite("vcli: " .. tostring(err) .. "\n") return 127 end
  local so, sc, si = S.out, S.color_override, S.interactive
  local broken = false
  S.out = function(s)
    if broken then return end
    if not term.write(s, p.stdin) then broken = true end
  end
  S.color_override, S.interactive = false, false
  local ok, status = pcall(M.run_words, words)
  S.out, S.color_override, S.interactive = so, sc, si
  p:close_stdin()
  local code = p:wait()
  if not ok then error(status, 0) end
  return code or status
end

-- Execute a line of input: several commands separated by ';' or newlines;
-- any of them may be `= EXPR` or `!CMD` (words.split says how far they go).
function M.execute(line)
  if #line > M.MAX_LINE then
    M.ewrite(("vcli: input line too long: %d bytes (the limit is %d)\n"):format(#line, M.MAX_LINE))
    return 2
  end
  local cmds, incomplete = words_mod.split(line, true)
  if incomplete then
    local what = { quote = "a ' quote", dquote = 'a " quote', backslash = "a trailing backslash" }
    M.ewrite(("vcli: incomplete input: %s is not closed\n"):format(what[incomplete] or incomplete))
    return 2
  end
  local status = 0
  for _, cmd in ipairs(cmds) do
    if cmd.lua then status = M.eval_lua(cmd.lua)
    elseif cmd.sh then status = M.run_sh(cmd.sh)
    elseif cmd.pipe then status = M.run_piped(cmd.words, cmd.pipe)
    else status = M.run_words(cmd.words) end
    io.stdout:flush()
    if status == 130 or status == 143 then break end -- Ctrl-C, SIGTERM: the rest does not run
  end
  return status
end

function M.incomplete(line)
  local cmds, inc = words_mod.split(line, true)
  if inc then return true end
  local last = cmds[#cmds]
  return (last and last.lua and words_mod.lua_incomplete(last.lua)) or false
end

M.main = function(opts, rest) return require("vcli.shell.run").main(opts, rest) end
return M
