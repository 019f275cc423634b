-- vcli.main — what the binary does with its arguments.
--   vcli                      interactive shell (or commands from a pipe)
--   vcli CMD ARGS…            one shell command, as kubectl would run it
--   vcli -c 'cmd; cmd'        several commands
--   vcli script.lua [ARGS…]   a Lua script with the shell's API
--   vcli -l file.lua [ARGS…]  a Lua file with the full LuaJIT library (tests, benches)
local USAGE = [==[
Usage: vcli [OPTIONS] [COMMAND [ARGS...]]
       vcli [OPTIONS] -c 'COMMAND; COMMAND...'
       vcli [OPTIONS] SCRIPT.lua [ARGS...]

A terminal cockpit for Kubernetes and Prometheus, extensible in Lua.
With no command, vcli starts its interactive shell (or reads commands
from standard input when it is not a terminal).

Options:
  -c COMMANDS      run COMMANDS (separated by ';' or newlines) and exit
  -l FILE [ARGS]   run a Lua file with the full LuaJIT library (tests, benches)
  --norc           do not load ~/.vclirc.lua or $XDG_CONFIG_HOME/vcli/rc.lua
  --rc FILE        load FILE as the rc file instead
  --set KEY=VALUE  set a configuration key (repeatable; see 'help config')
  -V, --version    print the version and exit
  -h, --help       print this help and exit

`vcli help` lists the commands; `vcli help CMD [SUB]`, `vcli CMD --help`
and `vcli CMD -h` explain one (`vcli k8s get --help`).
]==]

return function(argv, datadir)
  local vcli = require("vcli")
  vcli.datadir = datadir

  local opts = { rc = true }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "-V" or a == "--version" then
      io.stdout:write(("vcli %s (%s)\n"):format(vcli.version, jit and jit.version or _VERSION))
      return 0
    elseif a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      return 0
    elseif a == "-l" then
      local file = argv[i + 1]
      if not file then io.stderr:write("vcli: -l needs a file\n") return 2 end
      local chunk, err = loadfile(file)
      if not chunk then io.stderr:write("vcli: ", err, "\n") return 1 end
      _G.arg = { [0] = file, unpack(argv, i + 2) }
      local res = table.pack(xpcall(chunk, require("vcli.vm").traceback, unpack(argv, i + 2)))
      if not res[1] then io.stderr:write("vcli: ", tostring(res[2]), "\n") return 1 end
      return tonumber(res[2]) or 0
    elseif a == "-c" then
      opts.commands = argv[i + 1]
      if not opts.commands then io.stderr:write("vcli: -c needs commands\n") return 2 end
      i = i + 1
    elseif a == "--norc" then
      opts.rc = false
    elseif a == "--rc" then
      opts.rc_file = argv[i + 1]
      i = i + 1
    elseif a == "--set" or a:sub(1, 6) == "--set=" then
      local kv = a == "--set" and argv[i + 1] or a:sub(7)
      local k, v = (kv or ""):match("^([^=]+)=(.*)$")
      if not k then io.stderr:write("vcli: --set needs KEY=VALUE, e.g. --set ui.theme=dark\n") return 2 end
      opts.set = opts.set or {}
      opts.set[k] = v
      if a == "--set" then i = i + 1 end
    elseif a == "--" then
      i = i + 1
      break
    elseif a:sub(1, 1) == "-" and not opts.commands then
      io.stderr:write(("vcli: unknown option '%s' (see vcli --help)\n"):format(a))
      return 2
    else
      break
    end
    i = i + 1
  end
  local rest = { unpack(argv, i) }
  return require("vcli.shell").main(opts, rest)
end
