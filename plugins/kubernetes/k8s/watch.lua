-- k8s.watch — a watch that survives dropped connections: it resumes from
-- the last resourceVersion it saw (bookmarks included) and re-lists on
-- 410 Gone, so no event is lost or applied twice.
--   watch.run(env, client, { path=, query={…}, accept=, rv=, relist=fn() -> rv,
--                            on_event=fn(type, obj), stop=fn() -> bool, on_state=fn(msg),
--                            on_stream=fn(s) (each stream opened: s:close() from elsewhere ends its wait) })
local util = require("k8s.util")
local M = {}

function M.run(env, client, o)
  local rv = o.rv
  local backoff = 250
  local json = env.json
  while not (o.stop and o.stop()) and not (o.deadline and env.now() >= o.deadline) do
    local q = {}
    for k, v in pairs(o.query or {}) do q[k] = v end
    q.watch = "1"; q.allowWatchBookmarks = "true"; q.resourceVersion = rv
    -- the server ends each stream after timeoutSeconds (kubernetes.watchTimeout);
    -- one still open 10 s later is a server that never closes: given up, resumed
    local period = client.opts and client.opts.watch_timeout_s or 300
    q.timeoutSeconds = q.timeoutSeconds or tostring(period)
    local bound = (tonumber(q.timeoutSeconds) + 10) * 1000
    local left = o.deadline and (o.deadline - env.now())
    if left and left <= 0 then break end
    local s, err, kind, code = client:stream{ path = o.path .. util.query(q), accept = o.accept or "application/json",
      low_speed = o.low_speed, timeout_ms = left and math.min(math.floor(left), bound) or bound }
    if not s then
      if err == "interrupted" then error(err, 0) end
      if code == 410 or (kind == "http" and err and err:find("Expired")) then
        rv = o.relist()
      elseif kind == "http" and code ~= 429 and (code or 0) < 500 then
        error(err, 0)
      else
        if o.on_state then o.on_state("reconnecting: " .. tostring(err)) end
        env.sleep(backoff)
        backoff = math.min(backoff * 2, 8000)
      end
    else
      if o.on_stream then o.on_stream(s) end
      if o.stop and o.stop() then s:close() end
      local gone = false
      local ok, perr = pcall(function()
        for line in s:lines() do
          if o.stop and o.stop() then s:close(); return end
          if line ~= "" then
            local ev = json.decode(line)
            if ev and ev.type then
              backoff = 250
              if ev.type == "ERROR" then
                local st = ev.object or {}
                if st.code == 410 or st.reason == "Expired" or st.reason == "Gone" then gone = true; s:close(); return end
                error("watch error: " .. tostring(st.message), 0)
              end
              local md = type(ev.object) == "table" and (ev.object.metadata or {}) or {}
              local newrv = md.resourceVersion
              if (not newrv or newrv == "") and type(ev.object) == "table" and ev.object.rows and ev.object.rows[1] then
                local ro = ev.object.rows[1].object
                newrv = type(ro) == "table" and ro.metadata and ro.metadata.resourceVersion
              end
              if ev.type == "BOOKMARK" then
                rv = newrv or rv
              else
                if newrv and newrv ~= "" then rv = newrv end
                o.on_event(ev.type, ev.object)
              end
            end
          end
        end
      end)
      if not ok and perr and tostring(perr):find("^watch error") then error(perr, 0) end
      -- an event too long to hold comes again on every reconnect: that ends the watch
      if not ok and tostring(perr):find("^a line longer than") then s:close(); error("watch: an event " .. tostring(perr):sub(8), 0) end
      -- the command was stopped (Ctrl-C, its time is up): that ends the watch, quietly
      if not ok and tostring(perr) == "interrupted" then error(perr, 0) end
      if o.deadline and env.now() >= o.deadline - 50 then break end
      if gone then
        if o.on_state then o.on_state("resourceVersion too old (410 Gone): re-listing") end
        rv = o.relist()
      elseif not ok then
        if o.on_state then o.on_state("watch dropped (" .. tostring(perr) .. "); resuming from resourceVersion " .. tostring(rv)) end
        env.sleep(backoff)
        backoff = math.min(backoff * 2, 8000)
      end
      -- a clean end (timeoutSeconds) just resumes
    end
  end
  return rv
end

return M
