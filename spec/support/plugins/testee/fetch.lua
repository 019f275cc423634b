-- fetch — the module the command and the specs share: one GET, the answer
-- as status and body, or nil and what went wrong.
local M = {}

function M.get(url)
  local res, err = vcli.http.get(url, { timeout_ms = 2000 })
  if not res then return nil, err end
  return res.status, res.body
end

return M
