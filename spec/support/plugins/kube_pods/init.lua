-- kube_pods — lists, gets and watches pods through vcli.kube (the kubernetes
-- plugin's service) and keeps the kube.* events it sees; `kpods seen` prints them.
local seen = {}
vcli.events.subscribe("kube.**", function(data, topic)
  local obj = data.object
  data.object = nil
  seen[#seen + 1] = { topic = topic, data = data,
                      object = type(obj) == "table" and (tostring(obj.kind) .. "/" .. tostring(obj.metadata and obj.metadata.name)) or nil }
end)

local function line(ctx, ...) ctx.out(table.concat({ ... }, " ") .. "\n") end

vcli.command{
  name = "kpods", summary = "Pods through the kube service",
  subcommands = {
    { name = "where", summary = "context, namespace, read-only",
      handler = function(ctx)
        line(ctx, vcli.kube.context(), vcli.kube.namespace(), tostring(vcli.kube.readonly()))
        return 0
      end },
    { name = "list", summary = "the pods' names; --limit N: page by page",
      flags = { { name = "limit", type = "int" }, { name = "namespace", short = "n", type = "string" },
                { name = "selector", short = "l", type = "string" }, { name = "context", type = "string" } },
      handler = function(ctx)
        local f = ctx.flags
        if not f.limit then
          local l = vcli.kube.list{ resource = "pods", namespace = f.namespace, selector = f.selector, context = f.context }
          for _, p in ipairs(l.items) do line(ctx, p.metadata.name) end
          if l._offline then ctx.err("offline: " .. l._offline.error .. "\n") end
          return 0
        end
        local cont, pages = nil, 0
        repeat
          local page = vcli.kube.list{ resource = "po", namespace = f.namespace, selector = f.selector,
                                       limit = f.limit, continue = cont }
          pages = pages + 1
          for _, p in ipairs(page.items) do line(ctx, p.metadata.name) end
          cont = page.metadata.continue
          if cont == "" then cont = nil end
        until not cont
        ctx.err(("pages: %d\n"):format(pages))
        return 0
      end },
    { name = "get", summary = "one pod: namespace/name phase",
      flags = { { name = "namespace", short = "n", type = "string" }, { name = "context", type = "string" } },
      args = { { name = "name" } },
      handler = function(ctx)
        local ok, p = pcall(vcli.kube.get, { resource = "pods", name = ctx.args.name, namespace = ctx.flags.namespace,
                                                         context = ctx.flags.context })
        if not ok then ctx.err(tostring(p) .. "\n") return 1 end
        line(ctx, p.kind, p.metadata.namespace .. "/" .. p.metadata.name, tostring(p.status and p.status.phase),
             p.metadata.managedFields and "managedFields" or "-", p._offline and "offline" or "live")
        return 0
      end },
    { name = "watch", summary = "watch pods: prints the watch's id",
      flags = { { name = "namespace", short = "n", type = "string" } },
      handler = function(ctx)
        local w = vcli.kube.watch{ resource = "pods", namespace = ctx.flags.namespace }
        line(ctx, tostring(w.id), w.topic, w.context, tostring(w.namespace), tostring(w.resourceVersion ~= nil))
        return 0
      end },
    { name = "unwatch", summary = "stop a watch", args = { { name = "id" } },
      handler = function(ctx)
        line(ctx, tostring(vcli.kube.unwatch(tonumber(ctx.args.id))))
        return 0
      end },
    { name = "seen", summary = "the kube.* events seen: topic, then the payload as JSON (object: KIND/NAME)",
      handler = function(ctx)
        for _, e in ipairs(seen) do line(ctx, e.topic, vcli.json.encode(e.data), e.object or "-") end
        return 0
      end },
    { name = "configmap", summary = "create a ConfigMap through kube.request (POST)",
      args = { { name = "name" } },
      handler = function(ctx)
        local ns = vcli.kube.namespace()
        local r = vcli.kube.request{ method = "POST", path = "/api/v1/namespaces/" .. ns .. "/configmaps",
          body = { apiVersion = "v1", kind = "ConfigMap", metadata = { name = ctx.args.name }, data = { by = "kube_pods" } } }
        line(ctx, tostring(r.status), r.object and r.object.kind or "-", r.error or "")
        return 0
      end },
    { name = "raw", summary = "a GET through kube.request", args = { { name = "path" } },
      handler = function(ctx)
        local r = vcli.kube.request{ path = ctx.args.path }
        line(ctx, tostring(r.status), r.object and r.object.kind or "-", r.error or "")
        return 0
      end },
  },
}

return {}
