-- vcli.guard — replacements for pcall, xpcall and coroutine.resume/wrap in
-- code that runs under a time budget (rc files, plugins). Once the budget is
-- spent they re-raise the stop, so `while true do pcall(loop) end` ends too.
local vm = require("vcli.vm")
local expired = vm.expired
local raw_pcall, raw_xpcall = pcall, xpcall
local co_resume, co_create = coroutine.resume, coroutine.create

local M = {}

local function check(ok, ...)
  if not ok and expired() then error((...), 0) end
  return ok, ...
end

function M.pcall(f, ...) return check(raw_pcall(f, ...)) end
function M.xpcall(f, h, ...) return check(raw_xpcall(f, h, ...)) end

M.coroutine = setmetatable({
  resume = function(co, ...) return check(co_resume(co, ...)) end,
  wrap = function(f)
    local co = co_create(f)
    return function(...)
      local res = table.pack(check(co_resume(co, ...)))
      if not res[1] then error(res[2], 2) end
      return unpack(res, 2, res.n)
    end
  end,
}, { __index = coroutine })

-- Put the guarded versions into an environment table.
function M.install(env)
  env.pcall, env.xpcall, env.coroutine = M.pcall, M.xpcall, M.coroutine
  return env
end

return M
