-- caps/exec.lua — exec: run the programs the manifest allows (vcli.process).
--   plugin.yaml:  - exec: { commands: [kubectl] }      ("*": any program)
--   plugin side:  vcli.exec({argv...}, {cwd=, env=, stdin=, tty=}) -> {code, stdout, stderr}
-- Captured runs lead a process group of their own, so a cancelled call
-- (Ctrl-C) stops what the program started too. With tty the program runs on
-- the user's terminal (as `!cmd`) and gets Ctrl-C itself; the call waits
-- for its exit.
local R = require("vcli.plugin.runtime")

local C = { name = "exec", summary = "run the programs the manifest lists",
            grant = "- exec: { commands: [PROGRAM] }", api = { "vcli.exec" } }
C.options = { commands = { list = true } }
C.ops = { run = "wait" }
C.host = {}

-- The checked options: argv, cwd, env (merged over the inherited one), stdin.
local function checked(p, argv, opts)
  if type(argv) ~= "table" or type(argv[1]) ~= "string" then error("exec: argv list expected", 0) end
  local prog = argv[1]
  local allowed = p.m.capabilities.exec.commands or {}
  local ok = false
  for _, c in ipairs(allowed) do if c == prog or c == "*" then ok = true end end
  if not ok then
    error(("plugin %s may not run '%s' (capabilities: exec: commands: [%s])"):format(p.name, prog, table.concat(allowed, ", ")), 0)
  end
  if opts ~= nil and type(opts) ~= "table" then error("exec: options table expected", 0) end
  opts = opts or {}
  local o = { cwd = opts.cwd }
  if o.cwd ~= nil and type(o.cwd) ~= "string" then error("exec: cwd must be a path", 0) end
  if opts.env ~= nil then
    if type(opts.env) ~= "table" then error("exec: env must be a table of NAME = value", 0) end
    o.env = require("vcli.sandbox").environ()
    for k, v in pairs(opts.env) do
      if type(k) ~= "string" or k == "" or k:find("[=%z]") then error(("exec: env: bad variable name %q"):format(tostring(k)), 0) end
      if v == false then o.env[k] = nil
      elseif type(v) == "string" or type(v) == "number" then o.env[k] = tostring(v)
      else error(("exec: env: %s: a string (or false to unset) expected"):format(k), 0) end
    end
  end
  -- stdin = "inherit": the program reads vcli's standard input (it needs the terminal
  -- capability, the plugin's grant to the user's terminal and standard input)
  o.stdin = "null"
  if opts.stdin ~= nil then
    if opts.stdin ~= "inherit" and opts.stdin ~= "null" then error('exec: stdin must be "inherit" or "null"', 0) end
    if opts.stdin == "inherit" and not p.m.capabilities.terminal then
      error(("plugin %s may not give a program standard input (capabilities: terminal)"):format(p.name), 0)
    end
    o.stdin = opts.stdin
  end
  return o, opts.tty
end

function C.host.run(p, argv, opts)
  local o, tty = checked(p, argv, opts)
  local process = require("vcli.process")
  if tty then
    if not R.has_terminal() then
      error(("plugin %s: exec with tty needs a terminal, and this shell has none (stdin/stdout are not a terminal)")
        :format(p.name), 0)
    end
    -- Ctrl-C is the program's: the call waits for its exit, whatever the user types
    R.keep_on_cancel()
    local code, err = process.run(argv, { env = o.env, cwd = o.cwd })
    if not code then error(err, 0) end
    return { code = code, stdout = "", stderr = "" }
  end
  local r, err = process.capture(argv, { env = o.env, cwd = o.cwd, stdin = o.stdin })
  if not r then error(err, 0) end
  return r
end

function C.plugin(vcli, api) vcli.exec = api.op("exec", "run") end

return C
