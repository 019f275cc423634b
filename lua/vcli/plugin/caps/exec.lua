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

-- Variables that make a program run code of the caller's choosing (the
-- dynamic loader's, interpreters' start-up hooks): a plugin may not set them.
local INJECTING = { "^LD_", "^GCONV_PATH$", "^BASH_ENV$", "^ENV$", "^BASH_FUNC_", "^PYTHON", "^PERL5", "^PERLLIB$",
  "^RUBYOPT$", "^RUBYLIB$", "^NODE_OPTIONS$", "^NODE_PATH$", "^LUA_INIT", "^LUA_PATH", "^LUA_CPATH" }

-- the program a name means, found on vcli's own PATH (absolute directories
-- only: a relative one would be looked up from the plugin's cwd)
local function resolve(prog)
  if prog:find("/", 1, true) then return prog end
  local fs = require("vcli.fs")
  for d in (R.env("PATH") or "/usr/local/bin:/usr/bin:/bin"):gmatch("[^:]+") do
    if d:sub(1, 1) == "/" then
      local st = fs.stat(d .. "/" .. prog)
      if st and st.type == "file" and bit.band(st.mode or 0, 73) ~= 0 then return d .. "/" .. prog end   -- 0111: executable
    end
  end
  return nil
end

-- The checked options: argv, cwd, env (merged over the inherited one), stdin.
local function checked(p, argv, opts)
  if type(argv) ~= "table" or type(argv[1]) ~= "string" then error("exec: argv list expected", 0) end
  local prog = argv[1]
  -- arguments are passed as they are, one word each, never through a shell
  local args = {}
  for i = 1, #argv do
    local a = argv[i]
    if type(a) == "number" then a = tostring(a) end
    if type(a) ~= "string" then error(("exec: argument %d is a %s, not a string"):format(i, type(a)), 0) end
    if a:find("%z") then error(("exec: argument %d holds a zero byte"):format(i), 0) end
    args[i] = a
  end
  local allowed = p.m.capabilities.exec.commands or {}
  local ok = false
  for _, c in ipairs(allowed) do if c == prog or c == "*" then ok = true end end
  if not ok then
    error(("plugin %s may not run '%s' (capabilities: exec: commands: [%s])"):format(p.name, prog, table.concat(allowed, ", ")), 0)
  end
  local path = resolve(prog)
  if not path then error(("exec: %s: not found on PATH"):format(prog), 0) end
  args[1] = path
  if opts ~= nil and type(opts) ~= "table" then error("exec: options table expected", 0) end
  opts = opts or {}
  local o = { cwd = opts.cwd, argv = args }
  if o.cwd ~= nil and type(o.cwd) ~= "string" then error("exec: cwd must be a path", 0) end
  if opts.env ~= nil then
    if type(opts.env) ~= "table" then error("exec: env must be a table of NAME = value", 0) end
    o.env = require("vcli.sandbox").environ()
    for k, v in pairs(opts.env) do
      if type(k) ~= "string" or k == "" or k:find("[=%z]") then error(("exec: env: bad variable name %q"):format(tostring(k)), 0) end
      for _, pat in ipairs(INJECTING) do
        if k:find(pat) then
          error(("plugin %s may not set %s for a program (it would run code of the plugin's choosing)"):format(p.name, k), 0)
        end
      end
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
    local code, err = process.run(o.argv, { env = o.env, cwd = o.cwd })
    if not code then error(err, 0) end
    return { code = code, stdout = "", stderr = "" }
  end
  local r, err = process.capture(o.argv, { env = o.env, cwd = o.cwd, stdin = o.stdin })
  if not r then error(err, 0) end
  return r
end

function C.plugin(vcli, api) vcli.exec = api.op("exec", "run") end

return C
