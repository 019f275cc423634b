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
      -- the widgets load when the interface first opens, not with every k8s
      -- command; the text and log views (and their widgets) when one first
      -- opens, not before the first list's request
      local sess = session()
      local ctx = { sess = sess, env = env, id = id }
      local view = args.view
      if view == "text" or view == "logs" or view == "containers" or view == "forwards" then
        return require("k8s.ui.detail")[view](ctx, args)
      end
      local list = require("k8s.ui.list")
      -- `:pods web` typed where no k8s panel was open: the words are a command
      if args.words and #args.words > 0 and not args.type then
        args.type = args.words[1]
      end
      return list.new(ctx, args)
    end,
  })
end

return M
