-- vcli.shell.words — split a shell line into commands and words, the way a
-- user of sh expects: 'single' and "double" quotes, backslash escapes, and
-- ';' or newlines between commands. Also tells when a line is incomplete (an
-- open quote or a trailing backslash), so the editor asks for more.
local M = {}

-- Walk s from i, skipping quoted text and backslash escapes; fn(c, j) sees
-- each character outside them and stops the walk by returning true.
-- -> where it stopped (#s + 1 at the end), the quote left open (' or ") or nil
local function walk(s, i, fn)
  local q = nil
  while i <= #s do
    local c = s:sub(i, i)
    if q then
      if c == q then q = nil elseif c == "\\" and q == '"' then i = i + 1 end
    elseif c == "'" or c == '"' then q = c
    elseif c == "\\" then i = i + 1
    elseif fn(c, i) then return i, nil end
    i = i + 1
  end
  return #s + 1, q
end

-- Is src the start of a Lua chunk rather than a whole one (or a mistake)?
-- Cut at a ';' (semi), an unfinished string may go on past it, as in
-- `= print("a;b")`; cut at a newline or the end it may not.
function M.lua_incomplete(src, semi)
  local f1, e1 = loadstring("return " .. src)
  if f1 then return false end
  local f2, e2 = loadstring(src)
  if f2 then return false end
  local function more(e) return e:find("<eof>", 1, true) or (semi and e:find("unfinished string", 1, true)) end
  return (more(e1) or more(e2)) and true or false
end

-- Where the Lua of an `= EXPR` command that starts at `from` ends: the first
-- ';' or newline that ends a complete chunk (else the end of the line).
local function lua_end(line, from)
  local j = from
  while true do
    local k = line:find("[;\n]", j)
    if not k then return #line + 1 end
    if not M.lua_incomplete(line:sub(from, k - 1), line:sub(k, k) == ";") then return k end
    j = k + 1
  end
end

-- M.split(line [, special]) -> commands, incomplete
--   commands: array of { words = {...}, text = "source of this command",
--   pipe = "the /bin/sh command after an unquoted |" or nil }
--   With special, a command that starts with `=` is { lua = "EXPR", words = {} }
--   (its Lua runs to the ';' or newline that ends a complete chunk) and one
--   that starts with `!` is { sh = "CMD", words = {} } (to the end of the line).
function M.split(line, special)
  local cmds, words = {}, {}
  local cur, in_word = {}, false
  local cmd_start = 1
  local i, n = 1, #line
  local function end_word()
    if in_word then
      table.insert(words, table.concat(cur))
      cur, in_word = {}, false
    end
  end
  local function end_cmd(pos, pipe)
    end_word()
    if #words > 0 or pipe then
      table.insert(cmds, { words = words, text = line:sub(cmd_start, pos - 1):match("^%s*(.-)%s*$"), pipe = pipe })
    end
    words = {}
    cmd_start = pos + 1
  end
  -- the end of the command that starts at j: the next ';' or newline outside quotes
  local function cmd_end(j)
    local at, q = walk(line, j, function(c) return c == ";" or c == "\n" end)
    return at, q and (q == "'" and "quote" or "dquote")
  end
  while i <= n do
    local c = line:sub(i, i)
    if c == "'" then
      local j = line:find("'", i + 1, true)
      if not j then return cmds, "quote" end
      table.insert(cur, line:sub(i + 1, j - 1))
      in_word = true
      i = j
    elseif c == '"' then
      local j = i + 1
      local buf = {}
      while true do
        if j > n then return cmds, "dquote" end
        local d = line:sub(j, j)
        if d == '"' then break end
        if d == "\\" and j < n and line:sub(j + 1, j + 1):match('["\\$`\n]') then
          if line:sub(j + 1, j + 1) ~= "\n" then table.insert(buf, line:sub(j + 1, j + 1)) end
          j = j + 2
        else
          table.insert(buf, d)
          j = j + 1
        end
      end
      table.insert(cur, table.concat(buf))
      in_word = true
      i = j
    elseif c == "\\" then
      if i == n then return cmds, "backslash" end
      local d = line:sub(i + 1, i + 1)
      if d ~= "\n" then table.insert(cur, d); in_word = true end
      i = i + 1
    elseif special and (c == "=" or c == "!") and #words == 0 and not in_word then
      local j = c == "=" and lua_end(line, i + 1) or n + 1
      local src = line:sub(i + 1, j - 1)
      table.insert(cmds, { words = {}, text = line:sub(i, j - 1):match("^%s*(.-)%s*$"),
        lua = c == "=" and src or nil, sh = c == "!" and src or nil, stop = j })
      cmd_start = j + 1
      i = j
    elseif c == ";" or c == "\n" then
      end_cmd(i)
    elseif c == "|" then
      -- the rest of this command is /bin/sh's (its own pipes, quotes, redirections)
      local j, open = cmd_end(i + 1)
      if open then return cmds, open end
      local pipe = line:sub(i + 1, j - 1):match("^%s*(.-)%s*$")
      local text_end = i
      end_word()
      local w = words
      words = {}
      table.insert(cmds, { words = w, text = line:sub(cmd_start, text_end - 1):match("^%s*(.-)%s*$"), pipe = pipe })
      cmd_start = j + 1
      i = j
    elseif c:match("%s") then
      end_word()
    elseif c == "#" and not in_word then
      -- a comment runs to the end of the line
      local j = line:find("\n", i, true) or (n + 1)
      i = j - 1
    else
      table.insert(cur, c)
      in_word = true
    end
    i = i + 1
  end
  end_cmd(n + 1)
  for _, cmd in ipairs(cmds) do
    for k, w in ipairs(cmd.words) do cmd.words[k] = w end
  end
  return cmds, nil
end

-- M.words(text) -> array of strings for one command (no ';' handling needed)
function M.words(text)
  local cmds, incomplete = M.split(text)
  if incomplete then return nil, incomplete end
  local out = {}
  for _, c in ipairs(cmds) do for _, w in ipairs(c.words) do table.insert(out, w) end end
  return out
end

-- M.before_cursor(line, pos) -> words before the word at the cursor, the
-- partial word being typed (unquoted), the byte offset where it starts, an
-- open quote, and whether the cursor is past a | (in the shell's part).
function M.before_cursor(line, pos)
  local text = line:sub(1, pos)
  -- start of the current command
  local last_sep, pipe_at = 0, nil
  walk(text, 1, function(c, i)
    if c == ";" or c == "\n" then last_sep, pipe_at = i, nil elseif c == "|" then pipe_at = pipe_at or i end
  end)
  local cmd = text:sub(last_sep + 1)
  -- find where the last word starts (respecting quotes)
  local start, j, quote = nil, 1, nil
  local in_word = false
  while j <= #cmd do
    local c = cmd:sub(j, j)
    if quote then
      if c == quote then quote = nil elseif c == "\\" and quote == '"' then j = j + 1 end
    elseif c == "'" or c == '"' then
      quote = c
      if not in_word then start, in_word = j, true end
    elseif c == "\\" then
      if not in_word then start, in_word = j, true end
      j = j + 1
    elseif c:match("%s") then
      in_word = false
    elseif not in_word then
      start, in_word = j, true
    end
    j = j + 1
  end
  local partial_src = in_word and cmd:sub(start) or ""
  local before_src = in_word and cmd:sub(1, start - 1) or cmd
  local before = M.words(before_src) or {}
  local partial = partial_src
  if partial ~= "" then
    local w = M.words(partial_src .. (quote or ""))
    partial = w and w[1] or partial_src
  end
  local offset = last_sep + (in_word and start or (#cmd + 1))
  return before, partial, offset, quote, pipe_at ~= nil
end

-- Quote a word for the shell when it needs it.
function M.quote(w)
  if w == "" then return "''" end
  if not w:find("[%s'\"\\;#$`]") then return w end
  return "'" .. w:gsub("'", "'\\''") .. "'"
end

return M
