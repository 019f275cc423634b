-- k8s.ui_panel — the Kubernetes browser: the kubernetes plugin's panel `k8s` in
-- the full-screen interface (vcli ui). It stands on the same API any
-- plugin's panel does (vcli.tui.panel, the widgets vcli.tui.table/text/logview)
-- and on this plugin's own session: the context and namespace it switches
-- are the shell's (`k8s ctx`, `k8s ns`), and back.
--   args.view: "list" (default: args.type, namespace, all, context, selector, readonly),
--              "text" (describe / yaml of one object), "logs"
local M = {}

function M.register(session, env)
  vcli.tui.panel({
    name = "k8s", title = "Kubernetes",
    open = function(args, id)
      -- the widgets load when the interface first opens, not with every k8s command
      local list = require("k8s.ui.list")
      local detail = require("k8s.ui.detail")
      local sess = session()
      local ctx = { sess = sess, env = env, id = id }
      if args.view == "text" then return detail.text(ctx, args) end
      if args.view == "logs" then return detail.logs(ctx, args) end
      if args.view == "containers" then return detail.containers(ctx, args) end
      if args.view == "forwards" then return detail.forwards(ctx, args) end
      -- `:pods web` typed where no k8s panel was open: the words are a command
      if args.words and #args.words > 0 and not args.type then
        args.type = args.words[1]
      end
      return list.new(ctx, args)
    end,
  })
end

return M
