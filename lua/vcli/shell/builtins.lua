-- vcli.shell.builtins — the commands every vcli has.
local commands = require("vcli.shell.commands")
local shell = require("vcli.shell")
local S = require("vcli.state")("vcli.shell")

local function command_names(prefix)
  local out = {}
  for _, n in ipairs(commands.names(true)) do if n:sub(1, #prefix) == prefix then table.insert(out, n) end end
  return out
end

commands.define({
  name = "help",
  summary = "List commands, or explain one",
  args = { { name = "command", optional = true, variadic = true, help = "a command (and subcommand)",
             complete = function(prefix, ctx)
               local words = { unpack(ctx.words, 2) }
               if #words == 0 then return command_names(prefix) end
               local spec = commands.resolve(words)
               local out = {}
               if spec and spec.subcommands then
                 for _, sub in ipairs(spec.subcommands) do table.insert(out, { sub.name, sub.summary }) end
               end
               return out
             end } },
  examples = { { "help", "all commands" }, { "help history", "one command's flags and examples" } },
  handler = function(ctx)
    local words = ctx.args.command
    if #words == 0 then ctx.print(commands.overview()) return end
    words = shell.expand_alias(words)
    local spec, i = commands.resolve(words)
    -- a plugin's stub knows only its manifest: the plugin starts, so that
    -- the help is the one its own specs give (aliases may be new then)
    local real, why = false, nil
    if spec then real, why = commands.realize(spec) end
    if real then
      words = shell.expand_alias(ctx.args.command)
      spec, i = commands.resolve(words)
    end
    if not spec then
      local near = require("vcli.text").nearest(words[1], commands.names(true))
      error(("help: no command '%s'%s"):format(words[1], near and (" (did you mean '" .. near .. "'?)") or ""), 0)
    end
    if words[i] then
      error(("help: '%s' has no subcommand '%s'"):format(commands.path_of(spec), words[i]), 0)
    end
    ctx.print(commands.help(spec))
    if why then
      ctx.err("vcli: " .. shell.one_line(why) .. " (this help shows only what its manifest says)\n")
      return 1
    end
  end,
}, "core")

commands.define({
  name = "exit",
  aliases = { "quit" },
  summary = "Leave the shell",
  args = { { name = "status", optional = true, help = "exit status (default 0)" } },
  handler = function(ctx)
    local st = tonumber(ctx.args.status or "0")
    if not st then error("exit: status must be a number", 0) end
    require("vcli.shell.repl").request_exit(st)
    return st
  end,
}, "core")

commands.define({
  name = "reload",
  summary = "Reload vcli's Lua modules and your rc file now",
  description = "Edits are picked up automatically while the shell runs; this does it on demand.\n"
    .. "A module or rc file that fails to load keeps its old version running.",
  handler = function(ctx)
    local n, errors = require("vcli.reload").all()
    for _, e in ipairs(errors) do ctx.err("vcli: reload: " .. e .. "\n") end
    ctx.print(("reloaded %d modules and the rc%s"):format(n, #errors > 0 and (" (" .. #errors .. " failed, old code kept)") or ""))
    return #errors > 0 and 1 or 0
  end,
}, "core")

commands.define({
  name = "history",
  summary = "Show or clear the command history",
  flags = { { name = "clear", type = "bool", help = "forget every entry" } },
  args = { { name = "count", optional = true, help = "show the last COUNT entries (default 20)" } },
  handler = function(ctx)
    local h = S.history or require("vcli.shell.history").from_config()
    if ctx.flags.clear then h:clear(); ctx.print("history cleared") return end
    local n = tonumber(ctx.args.count or "20")
    if not n then error("history: COUNT must be a number", 0) end
    local size = h:size()
    for i = math.max(1, size - n + 1), size do
      ctx.print(("%5d  %s"):format(i, (h:get(i):gsub("\n", "\n       "))))
    end
  end,
}, "core")

commands.define({
  name = "alias",
  summary = "Define or list aliases",
  usage = "alias [NAME [EXPANSION...]]",
  passthrough_unknown = true,
  args = { { name = "name", optional = true, complete = function(p) return command_names(p) end },
           { name = "expansion", optional = true, variadic = true } },
  examples = { { "alias kgp k8s get pods", "then 'kgp -A' runs 'k8s get pods -A'" } },
  handler = function(ctx)
    local name, exp = ctx.args.name, ctx.args.expansion
    if not name then
      local rows = {}
      for a, v in pairs(commands.aliases()) do if not v.implicit then table.insert(rows, { a, v.expansion }) end end
      table.sort(rows, function(x, y) return x[1] < y[1] end)
      for _, r in ipairs(rows) do ctx.print(r[1] .. " = " .. r[2]) end
      return
    end
    if #exp == 0 then
      local al = commands.aliases()[name]
      if not al then error(("alias: no alias '%s'"):format(name), 0) end
      ctx.print(name .. " = " .. al.expansion)
      return
    end
    local parts = {}
    for _, w in ipairs(exp) do table.insert(parts, require("vcli.shell.words").quote(w)) end
    commands.alias(name, table.concat(parts, " "), "session")
  end,
}, "core")

commands.define({
  name = "unalias",
  summary = "Remove an alias",
  args = { { name = "name", complete = function(p)
    local out = {}
    for a, v in pairs(commands.aliases()) do if not v.implicit and a:sub(1, #p) == p then table.insert(out, a) end end
    return out
  end } },
  handler = function(ctx)
    if not commands.aliases()[ctx.args.name] then error(("unalias: no alias '%s'"):format(ctx.args.name), 0) end
    commands.alias(ctx.args.name, nil)
  end,
}, "core")

commands.define({
  name = "echo",
  summary = "Print the arguments",
  flags = { { name = "n", short = "n", type = "bool", help = "no trailing newline" } },
  args = { { name = "words", optional = true, variadic = true } },
  handler = function(ctx)
    ctx.out(table.concat(ctx.args.words, " ") .. (ctx.flags.n and "" or "\n"))
  end,
}, "core")

commands.define({
  name = "sleep",
  summary = "Wait (Ctrl-C cancels)",
  args = { { name = "duration", help = "seconds, or a duration like 500ms, 2s, 1m" } },
  handler = function(ctx)
    local secs = commands.parse_duration(ctx.args.duration)
    if not secs then error(("sleep: '%s' is not a duration (try 2, 2s or 500ms)"):format(ctx.args.duration), 0) end
    require("vcli.async").sleep(secs * 1000)
  end,
}, "core")

commands.define({
  name = "version",
  summary = "Show vcli's version",
  handler = function(ctx)
    ctx.print(("vcli %s (%s)"):format(require("vcli").version, jit and jit.version or _VERSION))
  end,
}, "core")

commands.define({
  name = "clear",
  summary = "Clear the screen",
  handler = function(ctx)
    if ctx.color then ctx.out("\27[H\27[2J") end
  end,
}, "core")

commands.define({
  name = "source",
  summary = "Run the commands in a file",
  args = { { name = "file", help = "a file of shell commands, one per line" } },
  handler = function(ctx)
    local f, err = io.open(ctx.args.file)
    if not f then error("source: " .. err, 0) end
    local text = f:read("*a")
    f:close()
    return shell.execute(text)
  end,
}, "core")

commands.define({
  name = "ui",
  summary = "Open the full-screen interface (a Kubernetes browser; :q comes back)",
  usage = "ui [TYPE|PANEL] [-n NS | -A] [--context CTX] [--readonly]",
  description = "The cockpit: resources live by watch, k9s's keys (? lists them), :pods, :dp web, /filter.\n"
    .. "F2 in the shell opens it too. docs/tui.md is the guide.",
  flags = {
    { name = "namespace", short = "n", type = "string", metavar = "NS", help = "namespace to show" },
    { name = "all-namespaces", short = "A", type = "bool", help = "across all namespaces" },
    { name = "context", type = "string", metavar = "CTX", help = "kubeconfig context" },
    { name = "readonly", type = "bool", help = "refuse (and hide) every change" },
  },
  args = { { name = "type", optional = true, help = "a resource type (pods, deploy, crd plural…) or a panel name",
             complete = function(prefix)
               local out = {}
               for _, k in ipairs(require("vcli.tui.host").kinds()) do
                 if k.name:sub(1, #prefix) == prefix then out[#out + 1] = k.name end
               end
               return out
             end } },
  examples = { { "ui", "pods of the current namespace" }, { "ui deploy -A", "deployments everywhere" },
               { "ui pods --context prod --readonly", "look, never touch" } },
  handler = function(ctx)
    local host = require("vcli.tui.host")
    -- the interface's `:` lines are kept as the shell's are (history.size, dedupe,
    -- never a line with a secret), in their own file beside the shell's history:
    -- Up in the shell stays the shell's, Up after `:` the interface's
    local ui_hist = require("vcli.shell.history").from_config("-ui")
    local ty = ctx.args.type
    local panel = "k8s"
    for _, k in ipairs(host.kinds()) do if k.name == ty then panel, ty = ty, nil end end
    local args = { type = ty, namespace = ctx.flags.namespace, all = ctx.flags["all-namespaces"] or nil,
                   context = ctx.flags.context, readonly = ctx.flags.readonly or nil }
    local ok, err = require("vcli.tui.app").run({ panel = panel, args = args, readonly = ctx.flags.readonly,
                                                  history = ui_hist })
    if not ok then error("ui: " .. tostring(err), 0) end
    return 0
  end,
}, "core")


return {}
