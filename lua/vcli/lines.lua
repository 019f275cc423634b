-- vcli.lines — split a stream of chunks into lines, whatever the chunking:
-- `for line in lines(read) do … end` where read() returns the next chunk or
-- nil at the end. Lines come without their "\n"; a last line without one
-- comes out at the end. A line longer than max bytes (default 16 MiB) is an
-- error naming the limit, so a stream without line breaks cannot take all
-- memory. Pure Lua: the host's vcli.http and every plugin's
-- vcli.http.stream share it.
local MAX = 16 * 1024 * 1024

local function too_long(max)
  local mib = max / 1048576
  error(("a line longer than %s (the limit)"):format(
    mib == math.floor(mib) and ("%d MiB"):format(mib) or ("%d bytes"):format(max)), 0)
end

return function(read, max)
  max = max or MAX
  local buf, pos, parts, held = "", 1, {}, 0
  return function()
    while true do
      local nl = buf:find("\n", pos, true)
      if nl then
        local line = buf:sub(pos, nl - 1)
        pos = nl + 1
        if #parts > 0 then
          if held + #line > max then too_long(max) end
          parts[#parts + 1] = line
          line = table.concat(parts)
          parts, held = {}, 0
        elseif #line > max then
          too_long(max)
        end
        return line
      end
      if pos <= #buf then
        held = held + #buf - pos + 1
        if held > max then too_long(max) end
        parts[#parts + 1] = buf:sub(pos)
      end
      buf, pos = read(), 1
      if not buf then
        buf = ""
        if #parts > 0 then
          local line = table.concat(parts)
          parts, held = {}, 0
          return line
        end
        return nil
      end
    end
  end
end
