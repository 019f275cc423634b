-- vcli.lines — split a stream of chunks into lines, whatever the chunking:
-- `for line in lines(read) do … end` where read() returns the next chunk or
-- nil at the end. Lines come without their "\n"; a last line without one
-- comes out at the end. Pure Lua: the host's vcli.http and every plugin's
-- vcli.http.stream share it.
return function(read)
  local buf, pos, parts = "", 1, {}
  return function()
    while true do
      local nl = buf:find("\n", pos, true)
      if nl then
        local line = buf:sub(pos, nl - 1)
        pos = nl + 1
        if #parts > 0 then
          parts[#parts + 1] = line
          line = table.concat(parts)
          parts = {}
        end
        return line
      end
      if pos <= #buf then parts[#parts + 1] = buf:sub(pos) end
      buf, pos = read(), 1
      if not buf then
        buf = ""
        if #parts > 0 then
          local line = table.concat(parts)
          parts = {}
          return line
        end
        return nil
      end
    end
  end
end
