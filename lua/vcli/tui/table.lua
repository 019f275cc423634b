-- vcli.tui.table — the virtual table: the browser's list of any resource
-- (the server's Table columns), fluid at 50 000 rows. A widget (docs/tui.md):
-- pure Lua on vcli.tui.prims, the same in the host and in a plugin's state.
--
--   T.new{columns = {col…}, rows = {row…}|nil, empty = "No resources"} -> t
--     col = {name = "NAME", align = "left"|"right", wide = bool (wide mode only),
--            sort = "string"|"number", min = n, max = n,
--            fresh = fn(row) -> text|nil (the cell made again when it is laid out or
--            saved: an age; it is kept in row.cells, and t:touched() lays the rows
--            on screen out again)}
--     row = {id = "ns/name" (unique), cells = {"web-1", "1/1", …},
--            keys = {[col index or name] = sort key}|nil, style = nil|"error"|"warn"|"dim",
--            fault = bool}   -- a row belongs to the table once given (do not mutate it after)
--   t:set_columns(cols)  t:set_rows(rows)  t:upsert(row)  t:remove(id) -> row|nil
--   t:get(id) -> row|nil  t:count() -> shown, total  t:title_count() -> "(12/50000)" | "(50000)"
--   t:sort(col|nil, desc) -> true | nil, err  t:toggle_sort(col)  t:sort_state() -> name|nil, desc
--   t:set_filter(nil | {pattern = re, inverse = bool} | {fuzzy = "abc"}) -> true | nil, err
--   T.parse_filter(text) -> nil | {pattern…} | {fuzzy…} | {labels = "app=x"} ("!x", "-f x", "-l x")
--   t:set_predicate(fn|nil)   t:marked() -> rows   t:clear_marks()   t:touched() (cells changed in place)
--   t:selected() -> row|nil   t:select_id(id) -> true|nil   t:key(name) -> true|nil
--   t:view(w, h) -> exactly h lines   t:csv() -> text   fields: t.wide, t.empty, t.no_match, t.rows
--
-- Filters (k9s): a regex over the row's cells joined by spaces (made once a
-- row), smart-case (no capital in the pattern: case ignored); plain text
-- (no regex metacharacter) is found as such without the regex engine, and a
-- keystroke that only lengthens it looks only at the rows that matched
-- before; "!x" inverse; "-f x" fuzzy (a subsequence, the best match first).
-- Column widths: the longest cell of each column over all rows, kept with
-- a count of rows per cell length (the next width when the widest goes);
-- unchanged by filters, so the layout stays put while one is typed.
-- Too wide: the widest left-aligned columns shrink (cells end in "…"), NAME
-- last. Bytes stand for display columns there (exact for ASCII, more for
-- the rest: a bit of room to spare), the visible cells are measured.
--
-- Cost follows what is visible: view touches only the h rows on screen (and
-- keeps each row's laid-out text until the layout changes). Rows live in a
-- chunked sequence (blocks of 1024 to 2048), so a watch event inserts, moves
-- or removes one row by binary search in O(log n + block) instead of
-- shifting 50 000 slots or re-sorting. Sorting (P.order, or the order
-- reversed for the other direction) and filtering are the only O(n) passes,
-- and only when asked for.
local P = require("vcli.tui.prims")

local T = {}
T.__index = T

local find, sub, byte, rep, lower = string.find, string.sub, string.byte, string.rep, string.lower
local concat, tinsert, tremove = table.concat, table.insert, table.remove
local max, min, floor = math.max, math.min, math.floor

local GAP = "  "
local EMPTY = {}
local ELLIPSIS = "…"

-- ------------------------------------------------------ chunked sequence
-- An array of n elements kept in blocks of BLOCK to 2 BLOCK: index, insert
-- and remove cost a walk over the blocks (a few dozen at 50 000) and a
-- shift inside one, not a shift of n. A finger (the last block found and
-- where it starts) makes the accesses near the last one (the cursor, the
-- screen) a step.
local BLOCK = 1024
local Seq = {}
Seq.__index = Seq

local function seq_new(arr)
  local s = setmetatable({ blocks = {}, cnt = {}, n = 0, fb = 1, fs = 1 }, Seq)
  if arr then
    local n, nb = #arr, 0
    for i = 1, n, BLOCK do
      local m = min(BLOCK, n - i + 1)
      local b = {}
      for j = 1, m do b[j] = arr[i + j - 1] end
      nb = nb + 1
      s.blocks[nb], s.cnt[nb] = b, m
    end
    s.n = n
  end
  return s
end

-- block index and offset of position i (1 ≤ i ≤ n + 1: n + 1 is the append
-- slot, in the last block); n > 0
function Seq:locate(i)
  local cnt = self.cnt
  local bi, st = self.fb, self.fs
  if i < st then
    repeat bi = bi - 1; st = st - cnt[bi] until i >= st
  else
    local nb = #cnt
    while bi < nb and i >= st + cnt[bi] do st = st + cnt[bi]; bi = bi + 1 end
  end
  self.fb, self.fs = bi, st
  return bi, i - st + 1
end

function Seq:at(i)
  if i < 1 or i > self.n then return nil end
  local bi, off = self:locate(i)
  return self.blocks[bi][off]
end

-- (each edit drops the edited block's haystacks, hay_of)
function Seq:set(i, v)
  local bi, off = self:locate(i)
  local b = self.blocks[bi]
  b[off] = v
  local h = self.hay
  if h then h[b] = nil end
end

function Seq:insert(i, v)
  local blocks, cnt = self.blocks, self.cnt
  if self.n == 0 then
    for k = #blocks, 1, -1 do blocks[k], cnt[k] = nil, nil end
    blocks[1], cnt[1], self.n, self.fb, self.fs = { v }, 1, 1, 1, 1
    return
  end
  local bi, off = self:locate(i)
  local b = blocks[bi]
  tinsert(b, off, v)
  local h = self.hay
  if h then h[b] = nil end
  local c = cnt[bi] + 1
  cnt[bi] = c
  self.n = self.n + 1
  if c >= 2 * BLOCK then   -- split in two halves (the finger stays on the first)
    local nbk, half = {}, floor(c / 2)
    for j = half + 1, c do nbk[j - half] = b[j]; b[j] = nil end
    cnt[bi] = half
    tinsert(blocks, bi + 1, nbk)
    tinsert(cnt, bi + 1, c - half)
  end
end

function Seq:remove(i)
  local blocks, cnt = self.blocks, self.cnt
  local bi, off = self:locate(i)
  local b = blocks[bi]
  local v = tremove(b, off)
  local h = self.hay
  if h then h[b] = nil end
  local c = cnt[bi] - 1
  cnt[bi] = c
  self.n = self.n - 1
  if c == 0 and #blocks > 1 then
    tremove(blocks, bi); tremove(cnt, bi)
    self.fb, self.fs = 1, 1
  elseif c < BLOCK / 4 and bi < #blocks and c + cnt[bi + 1] <= BLOCK then   -- merge the next into it
    local nx = blocks[bi + 1]
    for j = 1, cnt[bi + 1] do b[c + j] = nx[j] end
    cnt[bi] = c + cnt[bi + 1]
    tremove(blocks, bi + 1); tremove(cnt, bi + 1)
  end
  return v
end

-- the first position whose element e is not less(e, v) (the elements
-- ordered by less), and that element: over the blocks, then in one
function Seq:bsearch(less, v)
  local blocks, cnt = self.blocks, self.cnt
  local nb = #blocks
  if self.n == 0 then return 1, nil end
  local lo, hi, res = 1, nb, nb + 1
  while lo <= hi do
    local mid = floor((lo + hi) / 2)
    if less(blocks[mid][cnt[mid]], v) then lo = mid + 1 else res, hi = mid, mid - 1 end
  end
  if res > nb then return self.n + 1, nil end
  local b = blocks[res]
  local ans
  lo, hi, ans = 1, cnt[res], cnt[res]
  while lo <= hi do
    local mid = floor((lo + hi) / 2)
    if less(b[mid], v) then lo = mid + 1 else ans, hi = mid, mid - 1 end
  end
  -- where block res starts: from the finger
  local bi, st = self.fb, self.fs
  if res < bi then
    repeat bi = bi - 1; st = st - cnt[bi] until bi == res
  else
    while bi < res do st = st + cnt[bi]; bi = bi + 1 end
  end
  self.fb, self.fs = bi, st
  return st + ans - 1, b[ans]
end

-- up to m elements from position i
function Seq:slice(i, m)
  local out, k = {}, 0
  if i < 1 or i > self.n or m <= 0 then return out end
  local blocks, cnt = self.blocks, self.cnt
  local bi, off = self:locate(i)
  while bi <= #blocks and k < m do
    local b = blocks[bi]
    for j = off, cnt[bi] do
      k = k + 1
      out[k] = b[j]
      if k >= m then break end
    end
    bi, off = bi + 1, 1
  end
  return out
end

-- the elements in the other order, in place (the blocks and each block)
function Seq:reverse()
  local blocks, cnt = self.blocks, self.cnt
  local nb = #blocks
  for i = 1, floor(nb / 2) do
    local j = nb + 1 - i
    blocks[i], blocks[j] = blocks[j], blocks[i]
    cnt[i], cnt[j] = cnt[j], cnt[i]
  end
  for bi = 1, nb do
    local b, m = blocks[bi], cnt[bi]
    for i = 1, floor(m / 2) do b[i], b[m + 1 - i] = b[m + 1 - i], b[i] end
  end
  -- the haystacks stay, read backwards (T:_refilter): a sort toggle makes none again
  for _, e in pairs(self.hay or EMPTY) do
    for _, h in pairs(e) do h.rev = not h.rev end
  end
  self.fb, self.fs = 1, 1
  return self
end

function Seq:to_array()
  local out, k = {}, 0
  local blocks, cnt = self.blocks, self.cnt
  for bi = 1, #blocks do
    local b = blocks[bi]
    for j = 1, cnt[bi] do k = k + 1; out[k] = b[j] end
  end
  return out
end

T._Seq = seq_new   -- for the spec

-- ------------------------------------------------------------ sort keys
-- Keys compare as P.order does: numbers before strings, then < ; ties by the
-- rows' given order (rec.seq). A number column's key without a row key: the
-- cell's number (its leading one: "3 (5m ago)"), else its text.
local function key_of(row, cells, c, col)
  local ks = row.keys
  local k = ks and (ks[c] or ks[col.name])
  if k == nil then
    local s = cells[c] or ""
    if col.sort == "number" then
      k = tonumber(s) or tonumber(s:match("^%s*(%-?%d+%.?%d*)")) or s
    else
      k = s
    end
  elseif type(k) ~= "number" and type(k) ~= "string" then
    k = tostring(k)
  end
  return k
end

-- Every column's sort key of a row, into the per-column arrays ck[c] at i:
-- the keys a sort reads lie in one array per column, in the rows' order, so
-- a sort by a new column reads 50 000 keys from one array instead of three
-- tables a row scattered over the heap (in a plugin's state, without the JIT,
-- those reads were most of a sort: ~70 ms at 50 000 pods, ~10 now)
local function keys_into(ck, i, row, cells, cols)
  local ks = row.keys
  for c = 1, #cols do
    local col = cols[c]
    local k = ks and (ks[c] or ks[col.name])
    if k == nil then
      if col.sort == "number" then k = key_of(row, cells, c, col) else k = cells[c] or "" end
    elseif type(k) ~= "number" and type(k) ~= "string" then
      k = tostring(k)
    end
    ck[c][i] = k
  end
end

-- ------------------------------------------------------------- records
-- rec = {row, id, text (the cells joined by spaces: what filters match),
--        ltext (the same lower-cased: what a pattern without capitals
--        matches), seq (the given order), i (its index in t.rows and in the
--        key arrays: its sort key is ck[scol][i]), pass (shown under the
--        filter: false, true, or the fuzzy score)} — seven fields, every one
--        from the start: a table of 50 000
--        that grew a field later would each be made again.
-- A row's cells are strings: a row whose cells are not (numbers, holes) gets
-- a copy as strings in row.cells, and a row without an id its first cell.
local function cells_of(row)
  local cells = row.cells or EMPTY
  for i = 1, #cells do
    if type(cells[i]) ~= "string" then
      local copy = {}
      for j = 1, #cells do copy[j] = tostring(cells[j] == nil and "" or cells[j]) end
      cells = copy
      break
    end
  end
  if cells == EMPTY then cells = {} end
  row.cells = cells
  if row.id == nil then row.id = cells[1] or "" end
  return cells
end

-- A rec keeps its row's cells joined and lower-cased (ltext: what a filter
-- without capitals, the usual one, and a fuzzy one look at); the text as it
-- is, only once a filter with capitals asks for it (text_of): most rows have
-- some ("Running"), and the two strings were 8 MiB at 50 000 pods.
local function new_rec(row, seq)
  local cells = cells_of(row)
  return { row = row, id = row.id, text = false, ltext = lower(concat(cells, " ")), seq = seq, i = 0, pass = true }
end

local function text_of(r)
  local t = r.text
  if not t then t = concat(r.row.cells, " "); r.text = t end
  return t
end

-- ---------------------------------------------------------------- filter
local META = "[%.%[%]%(%)%*%+%?{}|%^%$\\]"

local SEP = { [32] = true, [45] = true, [95] = true, [47] = true, [46] = true, [58] = true }   -- " -_/.:"

-- An integer score (higher is better), or nil when pat is no subsequence of
-- s (both lower-case; chars: pat's characters). The whole pattern found as
-- such scores highest (earlier, and at a word's start, better); a
-- subsequence (each character the first after the one before: plain finds,
-- far cheaper than a Lua pattern "a.-b") scores by how tight it is (its span
-- from the first character to the last) and where it starts.
local function fuzzy_score(s, pat, chars)
  local st = find(s, pat, 1, true)
  if st then
    local sc = 2000 + 10 * #pat - min(st, 99)
    if st == 1 or SEP[byte(s, st - 1)] then sc = sc + 100 end
    return sc
  end
  local first = find(s, chars[1], 1, true)
  if not first then return nil end
  local p = first
  for i = 2, #chars do
    p = find(s, chars[i], p + 1, true)
    if not p then return nil end
  end
  local sc = 1000 - 5 * min(p - first + 1 - #chars, 150) - min(first, 99)
  if first == 1 or SEP[byte(s, first - 1)] then sc = sc + 50 end
  return sc
end

-- A spec compiled to {kind = "plain"|"re"|"fuzzy", raw, test = fn(rec) ->
-- pass, score}. Smart-case: a pattern without capitals ignores case (it is
-- matched against the lower-cased text, the regex too: the same answer as
-- the ERE prims' smart-case); plain text (no regex metacharacter) is found
-- as such, without the regex engine.
local function compile(spec)
  if spec.labels then return nil, "a label selector is the server's filter (-l)" end
  if spec.fuzzy ~= nil then
    local pat = lower(tostring(spec.fuzzy))
    local chars = P.split(pat)
    return { kind = "fuzzy", raw = pat, pat = pat, chars = chars, test = function(r)
      local sc = fuzzy_score(r.ltext, pat, chars)
      return sc ~= nil, sc
    end }
  end
  local raw = tostring(spec.pattern or "")
  local inv = spec.inverse and true or false
  local ci = not find(raw, "%u")
  local test
  if not find(raw, META) then
    if ci then
      test = function(r) return (find(r.ltext, raw, 1, true) ~= nil) ~= inv end
    else
      test = function(r) return (find(text_of(r), raw, 1, true) ~= nil) ~= inv end
    end
    return { kind = "plain", raw = raw, pat = raw, ci = ci, inverse = inv, test = test }
  end
  local re, err = P.regex(raw)
  if not re then return nil, err or "bad pattern" end
  if ci then
    test = function(r) return (re:find(r.ltext) ~= nil) ~= inv end
  else
    test = function(r) return (re:find(text_of(r)) ~= nil) ~= inv end
  end
  return { kind = "re", raw = raw, re = re, inverse = inv, test = test }
end

local function fmatch(f, rec) return f.test(rec) end
T._fuzzy_score = function(s, pat) return fuzzy_score(s, pat, P.split(pat)) end   -- for the spec

-- filter b only narrows filter a: refine a's matches instead of a full pass
local function narrows(a, b)
  if not a or a.inverse or b.inverse or a.kind ~= b.kind or b.kind == "re" then return false end
  return sub(b.raw, 1, #a.raw) == a.raw
end

function T.parse_filter(text)
  if text == nil then return nil end
  text = tostring(text):gsub("^%s+", ""):gsub("%s+$", "")
  if text == "" then return nil end
  local rest = text:match("^%-l%s+(.+)$")
  if rest then return { labels = rest } end
  rest = text:match("^%-f%s+(.+)$")
  if rest then return { fuzzy = rest } end
  if text == "-f" or text == "-l" then return nil end
  if sub(text, 1, 1) == "!" then
    rest = text:sub(2)
    if rest == "" then return nil end
    return { pattern = rest, inverse = true }
  end
  return { pattern = text }
end

-- ------------------------------------------------------------ the table
function T.new(opts)
  opts = opts or {}
  local t = setmetatable({
    columns = {}, rows = {}, recs = {}, by_id = {}, next_seq = 1, in_seq = true, nchanges = 0,
    order = seq_new(), cur = 1, top = 1, vh = 20,
    marks = {}, nmarks = 0, last_mark = nil,
    maxw = {}, wh = {}, wdirty = false, wver = 0,
    empty = opts.empty or "No resources", no_match = opts.no_match or "No rows match the filter",
    wide = opts.wide and true or false,
    scol = nil, sdesc = false, filter = nil, pred = nil, vcache = {}, nvcache = 0, vlay = nil,
  }, T)
  t.shown = t.order
  t:_orders()
  t:set_columns(opts.columns or {})
  if opts.rows then t:set_rows(opts.rows) end
  return t
end

function T:_col_index(col)
  if col == nil then return nil end
  if type(col) == "number" then
    if self.columns[col] then return col end
    return nil
  end
  for i, c in ipairs(self.columns) do if c.name == col then return i end end
  return nil
end

local function filtered(self) return self.filter ~= nil or self.pred ~= nil end

-- The orders as closures over the sort state (rebuilt when it changes):
-- less, by the sort key then the given order; descending is the exact
-- reverse of ascending, ties included, so that the other direction is the
-- order read backwards (a toggle touches no row: at 50 000 rows, reading
-- each row's key again to put ties back costs ~20 ms in a plugin's state);
-- sless, the shown order: the fuzzy score first (best first), then less.
function T:_orders()
  local scol, desc = self.scol, self.sdesc
  local less
  -- (the keys are read from the column's array at the recs' index: a rec
  -- replaced by an upsert is placed before its keys are overwritten)
  if scol and self.mono then
    less = function(a, b)
      local keys = (self.ck or self:_keys())[scol]
      local ka, kb = keys[a.i], keys[b.i]
      if ka ~= kb then return (ka < kb) ~= desc end
      if desc then return a.seq > b.seq end
      return a.seq < b.seq
    end
  elseif scol then
    less = function(a, b)
      local keys = (self.ck or self:_keys())[scol]
      local ka, kb = keys[a.i], keys[b.i]
      if ka ~= kb then
        local ta = type(ka)
        if ta == type(kb) then return (ka < kb) ~= desc end
        return (ta == "number") ~= desc
      end
      if desc then return a.seq > b.seq end
      return a.seq < b.seq
    end
  else
    less = function(a, b) return a.seq < b.seq end
  end
  local sless = less
  if self.filter and self.filter.kind == "fuzzy" then
    sless = function(a, b)
      local sa, sb = a.pass, b.pass   -- both shown: their scores
      if sa ~= sb then return sa > sb end
      return less(a, b)
    end
  end
  self.less, self.sless = less, sless
end

-- position of rec in seq s (ordered by less), or nil
local function pos_of(s, rec, less)
  local p, e = s:bsearch(less, rec)
  if e == rec then return p end
  return nil
end

function T:_cur_rec() return self.shown:at(self.cur) end

-- shown-sequence edits keep the cursor on its row and the viewport still
function T:_shown_insert(p, rec)
  local s = self.shown
  s:insert(p, rec)
  if s.n == 1 then self.cur, self.top = 1, 1 return end
  if p <= self.cur then self.cur = self.cur + 1 end
  if p < self.top then self.top = self.top + 1 end
end

function T:_shown_remove(p)
  local s = self.shown
  s:remove(p)
  if p < self.cur then self.cur = self.cur - 1 end
  if p < self.top then self.top = self.top - 1 end
  if self.cur > s.n then self.cur = max(1, s.n) end
  if self.top < 1 then self.top = 1 end
end

-- ------------------------------------------------------------- widths
-- Per column: the longest cell over all rows (bytes), and how many rows have
-- each length (wh[c][len]), so that when the last of the widest goes the
-- next width is found among the lengths (a few dozen), never by reading
-- every row again: at 50 000 pods, the last ContainerCreating pod starting
-- made the next frame rescan 450 000 cells (~5-35 ms in a plugin's state).
-- Filters do not change widths: the layout stays put while a filter is typed.
function T:_widths()
  local maxw, wh, nc = {}, {}, #self.columns
  for c = 1, nc do maxw[c], wh[c] = 0, {} end
  local s = self.order
  local blocks, cnt = s.blocks, s.cnt
  for bi = 1, #blocks do
    local b = blocks[bi]
    for j = 1, cnt[bi] do
      local cells = b[j].row.cells
      for c = 1, nc do
        local x = cells[c]
        if x then
          local l = type(x) == "string" and #x or #tostring(x)   -- (a number past the columns set before)
          local h = wh[c]
          h[l] = (h[l] or 0) + 1
          if l > maxw[c] then maxw[c] = l end
        end
      end
    end
  end
  self.maxw, self.wh, self.wdirty = maxw, wh, false
  self.wver = self.wver + 1
end

-- a cell of length l in column c, added (-> true when the column widened) or gone
function T:_wadd(c, l)
  local h = self.wh[c]
  if not h then h = {}; self.wh[c] = h end
  h[l] = (h[l] or 0) + 1
  if l > (self.maxw[c] or 0) then self.maxw[c] = l; self.wver = self.wver + 1; return true end
  return false
end

function T:_wdel(c, l)
  local h = self.wh[c]
  local k = h and h[l]
  if not k then return end
  if k > 1 then h[l] = k - 1 return end
  h[l] = nil
  local maxw = self.maxw
  if l ~= maxw[c] then return end
  while l > 0 and not h[l] do l = l - 1 end
  maxw[c] = l
  self.wver = self.wver + 1
end

function T:_grow(rec)
  local cells = rec.row.cells
  for c = 1, #self.columns do
    local x = cells[c]
    if x then self:_wadd(c, #x) end
  end
end

function T:_shrink(rec)
  local cells = rec.row.cells
  for c = 1, #self.columns do
    local x = cells[c]
    if x then self:_wdel(c, #x) end
  end
end

-- --------------------------------------------------------- filter passes
-- The recs that pass, in the order; the fuzzy ones then by score, best
-- first (a stable bucket sort: scores are few distinct integers).
-- a sequence of the buckets' recs, the best score first
local function seq_of_buckets(buckets, counts, scores, ns)
  table.sort(scores, function(x, y) return x > y end)
  local out = seq_new()
  local ob, oc, nb, m, n = out.blocks, out.cnt, 0, BLOCK, 0
  for si = 1, ns do
    local sc = scores[si]
    local bk = buckets[sc]
    for j = 1, counts[sc] do
      if m == BLOCK then
        if nb > 0 then oc[nb] = m end
        nb, m = nb + 1, 0
        ob[nb] = {}
      end
      m = m + 1
      ob[nb][m] = bk[j]
    end
    n = n + counts[sc]
  end
  if nb > 0 then oc[nb] = m end
  out.n = n
  return out
end

-- shown from order and the rec.pass flags (after a sort)
function T:_reshown()
  if not filtered(self) then self.shown = self.order return end
  if self.lz then self:_refilter(false) return end   -- rec.pass not kept: the pass again
  local arr, n = {}, 0
  local o = self.order
  local blocks, cnt = o.blocks, o.cnt
  for bi = 1, #blocks do
    local b = blocks[bi]
    for j = 1, cnt[bi] do local r = b[j]; if r.pass then n = n + 1; arr[n] = r end end
  end
  if self.filter and self.filter.kind == "fuzzy" then
    local buckets, counts, scores, ns = {}, {}, {}, 0
    for i = 1, n do
      local r = arr[i]
      local sc = r.pass
      local bk = buckets[sc]
      if not bk then bk = {}; buckets[sc] = bk; counts[sc] = 0; ns = ns + 1; scores[ns] = sc end
      local c = counts[sc] + 1
      counts[sc] = c
      bk[c] = r
    end
    self.shown = seq_of_buckets(buckets, counts, scores, ns)
    return
  end
  self.shown = seq_new(arr)
end

-- ------------------------------------------------------------ haystacks
-- A block of the order's texts (rec.text or rec.ltext), joined by "\n" in
-- one string, with where each line starts: a plain filter's full pass is one
-- find over each block's string, and only the matches' recs are read. The
-- recs and their strings lie scattered over a big heap (a list read in
-- chunks, then watched), so reading each one is a memory stall: at 50 000
-- pods in a plugin's state that walk alone was 15-27 ms; the finds over
-- ~50 contiguous strings are ~1 ms. Made when a pass needs them, or ahead
-- by t:prepare() while the table is idle; an edit of a block drops its own.
local WEAK_KEYS = { __mode = "k" }

local function hay_of(o, b, m, field)
  local hay = o.hay
  if not hay then hay = setmetatable({}, WEAK_KEYS); o.hay = hay end
  local e = hay[b]
  if not e then e = {}; hay[b] = e end
  local h = e[field]
  if h then return h end
  local lines, off, pos = {}, {}, 1
  for j = 1, m do
    local r = b[j]
    local t = field == "ltext" and r.ltext or text_of(r)
    lines[j], off[j] = t, pos
    pos = pos + #t + 1
  end
  off[m + 1] = pos
  h = { s = concat(lines, "\n"), off = off }
  e[field] = h
  return h
end

-- t:prepare(budget_ms) — make the order's haystacks (of the case-folded
-- texts: a filter without capitals) ahead, for up to about budget_ms of CPU
-- time. A new order (rows set, a sort) gets all of them, unless more rows
-- changed since the call before than there are blocks; a change of a row
-- drops its block's, made again only once no row has changed for 10 calls
-- (a busy watch would drop them again: at 200 changes a second, making each
-- again was 20 MiB a second of garbage). -> true while some are left to make
-- (Sorting ahead was tried: a watch's every change drops such an order, and
-- a 50 000-row list changes a few times a second; each P.order was ~12 ms
-- of the loop for nothing.)
function T:prepare(budget_ms)
  local o = self.order
  local changes = self.nchanges
  local busy = changes - (self.prep_changes or 0)
  self.prep_changes = changes
  self.prep_quiet = busy > 0 and 0 or (self.prep_quiet or 0) + 1
  local blocks, cnt = o.blocks, o.cnt
  if busy > #blocks or (o.hay_done and self.prep_quiet < 10) then return true end
  local hay = o.hay
  local t0 = os.clock()
  local lim = (budget_ms or 3) / 1000
  for bi = 1, #blocks do
    local b = blocks[bi]
    local e = hay and hay[b]
    if not (e and e.ltext) then
      if os.clock() - t0 > lim then return true end
      hay_of(o, b, cnt[bi], "ltext")
      hay = o.hay
    end
  end
  o.hay_done = true
  return false
end

-- does rec pass the filter and the predicate now? (after a haystack pass
-- rec.pass is not kept: the plain filter is asked again, one find)
function T:_in(rec)
  local lz = self.lz
  if lz then return (find(lz.field == "ltext" and rec.ltext or text_of(rec), lz.pat, 1, true) ~= nil) ~= lz.inv end
  return rec.pass
end

-- decide rec.pass (a fuzzy score when the filter is fuzzy) for one row
function T:_judge(rec)
  local pass, score = true, nil
  if self.pred and not self.pred(rec.row) then pass = false end
  if pass and self.filter then pass, score = fmatch(self.filter, rec) end
  if pass and score then pass = score end
  rec.pass = pass
  return pass
end

-- The full pass, or the narrowing one (only the rows that passed before are
-- candidates: the new filter only narrows the old). One loop per kind of
-- filter, no call per row but the predicate's and the regex's.
function T:_refilter(narrowing)
  local was_lazy = self.lz ~= nil
  self.lz = nil
  if not filtered(self) then self.shown = self.order return end
  local f, pred = self.filter, self.pred
  local kind = f and f.kind
  local o = self.order
  local blocks, cnt = o.blocks, o.cnt
  local n = 0
  -- no predicate: the haystacks' pass (inverse too), and rec.pass is not kept (T:_in)
  local lazy = kind == "plain" and not pred and not find(f.pat, "\n", 1, true)
  if kind == "plain" and (lazy or not f.inverse) then   -- the usual keystroke: inline
    local pat, inv = f.pat, f.inverse
    local field = f.ci and "ltext" or "text"
    local out = seq_new()
    local ob, oc, nb, m = out.blocks, out.cnt, 0, BLOCK
    -- (narrowing too: the finds over the haystacks cost less than reading
    -- the rows that matched before, scattered as they are)
    if lazy then
      for bi = 1, #blocks do
        local b = blocks[bi]
        local mb = cnt[bi]
        local h = hay_of(o, b, mb, field)
        local s, off, rev = h.s, h.off, h.rev
        local lines, nl = {}, 0   -- the lines that pass
        local p = find(s, pat, 1, true)
        local j, nxt = 1, 1   -- the line of the match; the first line after the one before
        repeat
          local a, z   -- the lines that pass: the match's, or (inverse) those up to it
          if p then
            while off[j + 1] <= p do j = j + 1 end   -- the line p is on (a match never spans a "\n")
            if inv then a, z = nxt, j - 1 else a, z = j, j end
          else
            a, z = nxt, inv and mb or 0   -- (inverse) the lines after the last match
          end
          for k = a, z do nl = nl + 1; lines[nl] = k end
          if not p then break end
          nxt = j + 1
          p = find(s, pat, off[j + 1], true)
        until false
        -- into the shown blocks, in the block's order (line k of a reversed
        -- haystack is the block's mb + 1 - k: read backwards)
        local q0, q1, step = 1, nl, 1
        if rev then q0, q1, step = nl, 1, -1 end
        for q = q0, q1, step do
          local k = lines[q]
          if rev then k = mb + 1 - k end
          if m == BLOCK then
            if nb > 0 then oc[nb] = m end
            nb, m = nb + 1, 0
            ob[nb] = {}
          end
          m = m + 1
          ob[nb][m] = b[k]
          n = n + 1
        end
      end
    else
      -- narrowing, the rows shown are the candidates, in the order: the others fail already
      -- (after a haystack pass rec.pass is stale outside them: a full pass then)
      if was_lazy then narrowing = false end
      if narrowing then blocks, cnt = self.shown.blocks, self.shown.cnt end
      for bi = 1, #blocks do
        local b = blocks[bi]
        for j = 1, cnt[bi] do
          local r = b[j]
          local ok
          if narrowing then ok = r.pass else ok = not pred or pred(r.row) end
          if ok then ok = find(field == "ltext" and r.ltext or text_of(r), pat, 1, true) ~= nil end
          r.pass = ok
          if ok then   -- straight into the blocks of the shown sequence
            if m == BLOCK then
              if nb > 0 then oc[nb] = m end
              nb, m = nb + 1, 0
              ob[nb] = {}
            end
            m = m + 1
            ob[nb][m] = r
            n = n + 1
          end
        end
      end
    end
    if nb > 0 then oc[nb] = m end
    out.n = n
    self.shown = out
    if lazy then self.lz = { field = field, pat = pat, inv = inv } end
    return
  end
  -- a full pass from here on (narrowing only after a pass that kept rec.pass)
  if was_lazy then narrowing = false end
  local arr = {}
  if kind == "fuzzy" then   -- inline too: fuzzy_score's body, straight into buckets by score
    local pat, chars = f.pat, f.chars
    local buckets, counts, scores, ns = {}, {}, {}, 0
    local c1, k, np = chars[1], #chars, #pat
    for bi = 1, #blocks do
      local b = blocks[bi]
      for j = 1, cnt[bi] do
        local r = b[j]
        local ok
        if narrowing then ok = r.pass else ok = not pred or pred(r.row) end
        local sc
        if ok then
          local s = r.ltext
          local st = find(s, pat, 1, true)
          if st then
            sc = 2000 + 10 * np - (st < 99 and st or 99)
            if st == 1 or SEP[byte(s, st - 1)] then sc = sc + 100 end
          else
            local first = find(s, c1, 1, true)
            local p = first
            for i = 2, k do
              if not p then break end
              p = find(s, chars[i], p + 1, true)
            end
            if p then
              local gap = p - first + 1 - k
              sc = 1000 - 5 * (gap < 150 and gap or 150) - (first < 99 and first or 99)
              if first == 1 or SEP[byte(s, first - 1)] then sc = sc + 50 end
            else
              ok = false
            end
          end
        end
        r.pass = ok and sc
        if ok then
          local bk = buckets[sc]
          if not bk then bk = {}; buckets[sc] = bk; counts[sc] = 0; ns = ns + 1; scores[ns] = sc end
          local c = counts[sc] + 1
          counts[sc] = c
          bk[c] = r
        end
      end
    end
    self.shown = seq_of_buckets(buckets, counts, scores, ns)
    return
  elseif kind then
    local test = f.test
    for bi = 1, #blocks do
      local b = blocks[bi]
      for j = 1, cnt[bi] do
        local r = b[j]
        local ok
        if narrowing then ok = r.pass else ok = not pred or pred(r.row) end
        if ok then ok = test(r) end
        r.pass = ok
        if ok then n = n + 1; arr[n] = r end
      end
    end
  else   -- the predicate alone
    for bi = 1, #blocks do
      local b = blocks[bi]
      for j = 1, cnt[bi] do
        local r = b[j]
        local ok = pred(r.row) and true or false
        r.pass = ok
        if ok then n = n + 1; arr[n] = r end
      end
    end
  end
  self.shown = seq_new(arr)
end

-- the cursor back on rec (kept at its screen line) or at index fallback
function T:_restore(rec, fallback, offset)
  local s = self.shown
  local p = rec and self.by_id[rec.id] == rec and (not filtered(self) or self:_in(rec))
            and pos_of(s, rec, self.sless)
  if p then self.cur = p else self.cur = max(1, min(fallback or 1, s.n)) end
  self.top = max(1, self.cur - (offset or 0))
end

-- ------------------------------------------------------------- columns
function T:set_columns(cols)
  local old = self.scol and self.columns[self.scol] and self.columns[self.scol].name
  self.columns = cols or {}
  self.wver = self.wver + 1
  self.wdirty = true
  self.ck = nil   -- the keys of other columns: made again when a sort needs them
  if old then
    local c = self:_col_index(old)
    local desc = self.sdesc
    if c ~= self.scol then
      self.scol = nil
      if c then self:sort(c, desc) else self:sort(nil) end
    end
  end
end

-- ----------------------------------------------------------------- rows
-- (t.recs is in the given order, rec.seq, until a removal swaps the last row
-- into the hole; T:_sorted reads them through their seqs' order then)
-- the per-column key arrays (keys_into), made again after a change of columns
function T:_keys()
  local ck = self.ck
  if ck then return ck end
  ck = {}
  local cols, recs = self.columns, self.recs
  for c = 1, #cols do ck[c] = {} end
  for i = 1, #recs do local row = recs[i].row; keys_into(ck, i, row, row.cells, cols) end
  self.ck = ck
  return ck
end

-- arr reversed, in place
local function reverse(arr)
  local n = #arr
  for i = 1, floor(n / 2) do arr[i], arr[n + 1 - i] = arr[n + 1 - i], arr[i] end
  return arr
end

-- The recs (self.recs, in any order: a removal moves the last rec into the
-- hole) ascending by column c, ties in the given order (rec.seq), and
-- whether c's keys are all of one type ("number"|"string"|nil): when the
-- recs are not in the given order, one P.order of their seqs puts them there
-- (a radix sort of numbers: a few ms at 50 000), and the keys are read
-- through it; the recs, their key arrays and their indices stay as they are
-- (rebuilding them in the given order was ~40 ms, the first sort after a
-- watch had removed a pod). P.order of the keys only when they are not in
-- order already (a server lists by name: the usual first sort). -> the
-- array (self.recs itself when they are in that order already), mono
local function ascending(self, c)
  local arr = self.recs
  local n = #arr
  local bp   -- the recs' indices in the given order; nil: they are in it
  if not self.in_seq then
    local seqs = {}
    for i = 1, n do seqs[i] = arr[i].seq end
    bp = P.order(seqs)
  end
  local function through(perm)   -- the recs at bp[perm[j]] (each map optional)
    local out = {}
    if perm and bp then for j = 1, n do out[j] = arr[bp[perm[j]]] end
    elseif perm then for j = 1, n do out[j] = arr[perm[j]] end
    elseif bp then for j = 1, n do out[j] = arr[bp[j]] end
    else for j = 1, n do out[j] = arr[j] end end
    return out
  end
  if not c then return bp and through(nil) or arr, nil end
  local keys = self:_keys()[c]
  if bp then
    local k2 = {}
    for j = 1, n do k2[j] = keys[bp[j]] end
    keys = k2
  end
  local asc = true
  local nnum = 0
  local pk
  for i = 1, n do
    local k = keys[i]
    local tk = type(k)
    if tk == "number" then nnum = nnum + 1 end
    -- already in order? (a server lists by name; another column is out of order
    -- within a few rows, and the comparing stops there)
    if asc and pk ~= k and pk ~= nil then
      local lt
      if tk == type(pk) then lt = k < pk else lt = tk == "number" end
      if lt then asc = false end
    end
    pk = k
  end
  -- keys all of one type: the order compares them without looking
  local mono = (nnum == n and "number") or (nnum == 0 and "string") or nil
  if asc then return bp and through(nil) or arr, mono end
  return through(P.order(keys)), mono
end

-- The recs in the current sort order (descending is ascending reversed).
function T:_sorted(arr)
  assert(arr == self.recs, "sorted: the recs")
  local c = self.scol
  local out, mono = ascending(self, c)
  if c then self.mono = mono end
  self:_orders()
  if not self.sdesc or not c then return out end
  if out == arr then   -- a copy to reverse (the recs themselves)
    local cp = {}
    for j = 1, #out do cp[j] = out[j] end
    out = cp
  end
  return reverse(out)
end

-- recs of rows: one pass that also measures the columns. The fast pass
-- takes the cells as strings (the contract); a cell that is not one makes
-- it fail, and the careful pass (copies of the cells as strings) runs.
local function build(rows, cols, careful)
  local nc = #cols
  local list, by_id, arr, n = {}, {}, {}, 0
  local maxw, wh, ck = {}, {}, {}
  local names, nums = {}, {}
  for c = 1, nc do maxw[c], wh[c], ck[c], names[c], nums[c] = 0, {}, {}, cols[c].name, cols[c].sort == "number" end
  local dup = false
  for i = 1, #rows do
    local row = rows[i]
    local cells = careful and cells_of(row) or row.cells
    local ks = row.keys
    local at = n + 1
    local old = by_id[row.id]
    if old then at = old.i end
    for c = 1, nc do
      local x = cells[c]
      if x then
        local l, h = #x, wh[c]
        h[l] = (h[l] or 0) + 1
        if l > maxw[c] then maxw[c] = l end
      end
      -- (keys_into, inline)
      local k = ks and (ks[c] or ks[names[c]])
      if k == nil then
        if nums[c] then k = key_of(row, cells, c, cols[c]) else k = x or "" end
      elseif type(k) ~= "number" and type(k) ~= "string" then
        k = tostring(k)
      end
      ck[c][at] = k
    end
    local ltext = lower(concat(cells, " "))
    local id = row.id
    if id == nil then error("a row without an id") end   -- the careful pass gives it one
    if old then   -- a repeated id: the later row, in the first one's place
      old.row, old.text, old.ltext = row, false, ltext
      list[old.i] = row
      dup = true
    else
      n = n + 1
      -- every field from the start: none added later makes 50 000 tables grow
      local rec = { row = row, id = id, text = false, ltext = ltext, seq = n, i = n, pass = true }
      list[n], arr[n], by_id[id] = row, rec, rec
    end
  end
  return list, by_id, arr, n, maxw, wh, dup, ck
end

function T:set_rows(rows)
  local cur = self:_cur_rec()
  local cur_id, cur_i, off = cur and cur.id, self.cur, self.cur - self.top
  rows = rows or EMPTY
  self.nchanges = self.nchanges + 1
  local cols = self.columns
  local ok, list, by_id, arr, n, maxw, wh, dup, ck = pcall(build, rows, cols, false)
  if not ok then list, by_id, arr, n, maxw, wh, dup, ck = build(rows, cols, true) end
  self.rows, self.recs, self.by_id, self.next_seq, self.in_seq = list, arr, by_id, n + 1, true
  self.ck = ck
  self.maxw, self.wh, self.wdirty = maxw, wh, dup
  self.wver = self.wver + 1
  self.order = seq_new(self:_sorted(arr))
  self:_refilter(false)
  self:_restore(cur_id and by_id[cur_id], cur_i, off)
  if self.nmarks > 0 then
    for id in pairs(self.marks) do
      if not by_id[id] then self.marks[id] = nil; self.nmarks = self.nmarks - 1 end
    end
  end
end

function T:get(id)
  local r = self.by_id[id]
  return r and r.row
end

function T:count() return self.shown.n, #self.rows end

-- t:touched() — cells were changed in place without a new row (the browser's
-- AGE column ticking): the next view lays the visible rows out again
function T:touched() self.vcache, self.nvcache, self.vlay = {}, 0, nil end

function T:title_count()
  local shown, total = self:count()
  if filtered(self) then return ("(%d/%d)"):format(shown, total) end
  return ("(%d)"):format(total)
end

-- a watch event: insert or replace by id, placed by binary search
function T:upsert(row)
  self.nchanges = self.nchanges + 1
  local rec = new_rec(row, 0)
  local id = rec.id
  local old = self.by_id[id]
  local c = self.scol
  local ck = self:_keys()
  local is_f = filtered(self)
  local cur = self:_cur_rec()
  -- a replaced row's places, found while its keys are still those in ck
  local o = self.order
  local po, ps, oldk
  if old then
    po = pos_of(o, old, self.less)
    ps = is_f and self:_in(old) and pos_of(self.shown, old, self.sless)
    oldk = c and ck[c][old.i]
  end
  local at = old and old.i or #self.rows + 1
  keys_into(ck, at, row, row.cells, self.columns)
  local newk = c and ck[c][at]
  if c and self.mono and type(newk) ~= self.mono then self.mono = nil; self:_orders() end
  if not old then
    rec.seq = self.next_seq
    self.next_seq = rec.seq + 1
    local rows = self.rows
    rec.i = #rows + 1
    rows[rec.i], self.recs[rec.i] = row, rec
    self.by_id[id] = rec
    local p = (o:bsearch(self.less, rec))
    if is_f then
      o:insert(p, rec)
      if self:_judge(rec) then
        self:_shown_insert((self.shown:bsearch(self.sless, rec)), rec)
      end
    else
      self:_shown_insert(p, rec)
    end
    self:_grow(rec)
    return
  end
  -- a replacement: same place in the given order
  rec.seq, rec.i = old.seq, old.i
  self.rows[old.i], self.recs[old.i] = row, rec
  self.by_id[id] = rec
  local was_cur = cur == old
  self:_shrink(old)
  self:_grow(rec)
  local moved = c and newk ~= oldk
  if is_f then
    if moved then
      o:remove(po)
      o:insert((o:bsearch(self.less, rec)), rec)
    else
      o:set(po, rec)
    end
    local now = self:_judge(rec)
    if ps and now and not moved and (self.lz or rec.pass == old.pass) then
      self.shown:set(ps, rec)
    else
      if ps then self:_shown_remove(ps) end
      if now then
        local p = (self.shown:bsearch(self.sless, rec))
        self:_shown_insert(p, rec)
        if was_cur then self.cur = p end
      end
    end
  else
    if moved then
      self:_shown_remove(po)
      local p = (o:bsearch(self.less, rec))
      self:_shown_insert(p, rec)
      if was_cur then self.cur = p end
    else
      o:set(po, rec)
    end
  end
end

function T:remove(id)
  local rec = self.by_id[id]
  if not rec then return nil end
  self.nchanges = self.nchanges + 1
  local is_f = filtered(self)
  self:_shrink(rec)
  local po = pos_of(self.order, rec, self.less)
  if is_f then
    if po then self.order:remove(po) end
    local ps = self:_in(rec) and pos_of(self.shown, rec, self.sless)
    if ps then self:_shown_remove(ps) end
  elseif po then
    self:_shown_remove(po)
  end
  local rows, recs = self.rows, self.recs
  local n = #rows
  local last = recs[n]
  rows[rec.i], recs[rec.i] = last.row, last
  last.i = rec.i
  rows[n], recs[n] = nil, nil
  local ck = self.ck
  if ck then for c = 1, #ck do local a = ck[c]; a[rec.i] = a[n]; a[n] = nil end end
  if rec.i < n then self.in_seq = false end
  self.by_id[id] = nil
  if self.marks[id] then self.marks[id] = nil; self.nmarks = self.nmarks - 1 end
  return rec.row
end

-- -------------------------------------------------------------- sorting
function T:sort(col, desc)
  desc = desc and true or false
  local c = self:_col_index(col)
  if col ~= nil and not c then return nil, "no column " .. tostring(col) end
  if c == self.scol and (c == nil or desc == self.sdesc) then return true end
  local cur = self:_cur_rec()
  local off = self.cur - self.top
  local arr
  if c and c == self.scol then
    -- the other direction: the same orders read backwards, in place
    self.sdesc = desc
    self:_orders()
    self.order:reverse()
    if self.shown ~= self.order then
      if self.filter and self.filter.kind == "fuzzy" then self:_reshown()   -- best score first still
      else self.shown:reverse() end
    end
  else
    self.scol, self.sdesc = c, desc
    arr = self:_sorted(self.recs)
    self:_orders()
    self.order = seq_new(arr)
    self:_reshown()
  end
  self.wver = self.wver + 1
  self:_restore(cur, self.cur, off)
  return true
end

function T:toggle_sort(col)
  local c = self:_col_index(col)
  if not c then return nil, "no column " .. tostring(col) end
  if c == self.scol then return self:sort(c, not self.sdesc) end
  return self:sort(c, false)
end

function T:sort_state()
  local c = self.scol and self.columns[self.scol]
  return c and c.name or nil, self.sdesc
end

-- ------------------------------------------------------------ filtering
local function same_filter(a, b)
  if a == nil or b == nil then return a == b end
  return a.kind == b.kind and a.raw == b.raw and a.inverse == b.inverse
end

function T:set_filter(spec)
  local f
  if spec ~= nil then
    local err
    f, err = compile(spec)
    if not f then return nil, err end
    if f.raw == "" then f = nil end
  end
  if same_filter(self.filter, f) then return true end
  local cur = self:_cur_rec()
  local narrowing = f and self.filter and narrows(self.filter, f)
  local old = self.filter
  self.filter = f
  self:_orders()
  local ok, err = pcall(self._refilter, self, narrowing)
  if not ok then   -- the engine refused the pattern while matching: the old filter again
    self.filter = old
    self:_orders()
    self:_refilter(false)
    return nil, (tostring(err):gsub("^.-:%d+: ", ""))
  end
  self:_restore(cur, 1, cur and (self.cur - self.top) or 0)
  return true
end

function T:set_predicate(fn)
  if fn == self.pred then return true end
  local cur = self:_cur_rec()
  self.pred = fn
  self:_refilter(false)
  self:_restore(cur, 1, 0)
  return true
end

-- ----------------------------------------------------- cursor and marks
function T:selected()
  local r = self:_cur_rec()
  return r and r.row
end

function T:select_id(id)
  local rec = self.by_id[id]
  if not rec or (filtered(self) and not self:_in(rec)) then return nil end
  local p = pos_of(self.shown, rec, self.sless)
  if not p then return nil end
  self.cur = p
  if p < self.top or p >= self.top + self.vh then self.top = max(1, p - floor(self.vh / 2)) end
  return true
end

function T:_move(d)
  local n = self.shown.n
  if n == 0 then return end
  self.cur = max(1, min(n, self.cur + d))
end

function T:_page(d)
  local n, vh = self.shown.n, self.vh
  if n == 0 then return end
  self.cur = max(1, min(n, self.cur + d * vh))
  self.top = max(1, min(self.top + d * vh, n - vh + 1))
end

function T:_mark(rec, on)
  local id = rec.id
  if on and not self.marks[id] then self.marks[id] = true; self.nmarks = self.nmarks + 1
  elseif not on and self.marks[id] then self.marks[id] = nil; self.nmarks = self.nmarks - 1 end
end

function T:key(k)
  if k == "j" or k == "Down" then self:_move(1)
  elseif k == "k" or k == "Up" then self:_move(-1)
  elseif k == "g" or k == "Home" then self.cur, self.top = 1, 1
  elseif k == "G" or k == "End" then
    self.cur = max(1, self.shown.n)
    self.top = max(1, self.cur - self.vh + 1)
  elseif k == "PageDown" or k == "C-f" then self:_page(1)
  elseif k == "PageUp" or k == "C-b" then self:_page(-1)
  elseif k == "Space" then
    local rec = self:_cur_rec()
    if not rec then return true end
    local on = not self.marks[rec.id]
    self:_mark(rec, on)
    if on then self.last_mark = rec.id end
    self:_move(1)
  elseif k == "C-Space" then
    local rec = self:_cur_rec()
    if not rec then return true end
    local from = self.cur
    local lm = self.last_mark and self.marks[self.last_mark] and self.by_id[self.last_mark]
    if lm and (not filtered(self) or self:_in(lm)) then from = pos_of(self.shown, lm, self.sless) or from end
    local a, b = min(from, self.cur), max(from, self.cur)
    for _, r in ipairs(self.shown:slice(a, b - a + 1)) do self:_mark(r, true) end
    self.last_mark = rec.id
  else
    return nil
  end
  return true
end

function T:marked()
  local out = {}
  if self.nmarks > 0 then
    local marks = self.marks
    local s = self.shown
    local blocks, cnt = s.blocks, s.cnt
    for bi = 1, #blocks do
      local b = blocks[bi]
      for j = 1, cnt[bi] do local r = b[j]; if marks[r.id] then out[#out + 1] = r.row end end
    end
  end
  if #out == 0 then
    local r = self:selected()
    if r then out[1] = r end
  end
  return out
end

function T:clear_marks()
  self.marks, self.nmarks, self.last_mark = {}, 0, nil
end

-- ---------------------------------------------------------------- view
local function clean(s)
  if find(s, "%c") then s = s:gsub("%c", " ") end
  return s
end

-- s cut to cw display columns, the last one "…"
local function truncate(s, cw)
  if cw <= 0 then return "", 0 end
  if cw == 1 then return ELLIPSIS, 1 end
  if not find(s, "[\128-\255]") then return sub(s, 1, cw - 1) .. ELLIPSIS, cw end
  local chars, widths = P.split(s)
  local out, w = {}, 0
  for i = 1, #chars do
    if w + widths[i] > cw - 1 then break end
    out[#out + 1] = chars[i]
    w = w + widths[i]
  end
  return concat(out) .. ELLIPSIS, w + 1
end

-- widths of the visible columns: the widest cell (capped), shrunk when the
-- whole does not fit: the widest left-aligned columns first, one column at a time
function T:_layout(w)
  local lay = self.lay
  if lay and lay.w == w and lay.wide == self.wide and lay.ver == self.wver then return lay end
  local cols, maxw = self.columns, self.maxw
  local vis, widths, heads, floors, keep = {}, {}, {}, {}, {}
  for c, col in ipairs(cols) do
    if not col.wide or self.wide then
      local k = #vis + 1
      vis[k] = c
      local head = col.name or ""
      if c == self.scol then head = head .. (self.sdesc and "↓" or "↑") end
      heads[k] = head
      local hw = P.width(head)
      local cw = max(maxw[c] or 0, hw)
      if col.max then cw = min(cw, max(col.max, 1)) end
      if col.min then cw = max(cw, col.min) end
      widths[k] = cw
      floors[k] = col.min or min(cw, hw)
      if col.keep or col.name == "NAME" then keep[k] = col.min or min(cw, max(hw, 8)) end
    end
  end
  local total = #vis > 0 and (#vis - 1) * #GAP or 0
  for k = 1, #vis do total = total + widths[k] end
  local excess = total - w
  -- NAME (or a column with keep = true) is shrunk last: held at a third of
  -- the width first, then down to 8 only if the rest still does not fit
  for k in pairs(keep) do floors[k] = max(floors[k], min(widths[k], floor(w / 3))) end
  -- first a header wider than every cell under it gives way (NOMINATED NODE
  -- over "<none>"), down to its cells' width (8 at least: READY, RESTARTS stay
  -- whole): a header cut costs less than cut values (an IP, a node's name)
  if excess > 0 then
    local hfloor = {}
    for k = 1, #vis do hfloor[k] = min(widths[k], max(maxw[vis[k]] or 0, 8, cols[vis[k]].min or 0, keep[k] and floors[k] or 0)) end
    while excess > 0 do
      local best
      for k = 1, #vis do
        if widths[k] > hfloor[k] and (not best or widths[k] - hfloor[k] > widths[best] - hfloor[best]) then best = k end
      end
      if not best then break end
      widths[best] = widths[best] - 1
      excess = excess - 1
    end
    for k = 1, #vis do floors[k] = min(floors[k], widths[k]) end
  end
  for pass = 1, 2 do
    while excess > 0 do
      local best
      for k = 1, #vis do
        if cols[vis[k]].align ~= "right" and widths[k] > floors[k] and (not best or widths[k] >= widths[best]) then
          best = k
        end
      end
      if not best then break end
      widths[best] = widths[best] - 1
      excess = excess - 1
    end
    if pass == 1 then for k, f in pairs(keep) do floors[k] = f end end
  end
  -- the header line
  local parts = {}
  for k = 1, #vis do
    local head = heads[k]
    local hw = P.width(head)
    if hw > widths[k] then head, hw = truncate(head, widths[k]) end
    local pad = rep(" ", widths[k] - hw)
    if cols[vis[k]].align == "right" then parts[k] = pad .. head
    elseif k < #vis then parts[k] = head .. pad
    else parts[k] = head end
  end
  lay = { w = w, wide = self.wide, ver = self.wver, vis = vis, widths = widths,
          header = { concat(parts, GAP), "header" } }
  self.lay = lay
  return lay
end

-- one row's text laid out
function T:_row_text(rec, lay)
  local cells, cols, vis, widths = rec.row.cells, self.columns, lay.vis, lay.widths
  local nv = #vis
  local parts = {}
  for k = 1, nv do
    local c = vis[k]
    local s = cells[c] or ""
    if type(s) ~= "string" then s = tostring(s) end
    local cw = widths[k]
    local sw
    if find(s, "[%c\128-\255]") then
      s = clean(s)
      sw = P.width(s)
    else
      sw = #s
    end
    if sw > cw then s, sw = truncate(s, cw) end
    if sw < cw then
      if cols[c].align == "right" then s = rep(" ", cw - sw) .. s
      elseif k < nv then s = s .. rep(" ", cw - sw) end
    end
    parts[k] = s
  end
  if nv == 0 then return clean(text_of(rec)) end
  return concat(parts, GAP)
end

function T:_clamp()
  local n, vh = self.shown.n, self.vh
  if self.cur > n then self.cur = n end
  if self.cur < 1 then self.cur = 1 end
  if self.cur < self.top then self.top = self.cur end
  if self.cur > self.top + vh - 1 then self.top = self.cur - vh + 1 end
  if self.top > n - vh + 1 then self.top = n - vh + 1 end
  if self.top < 1 then self.top = 1 end
end

function T:view(w, h)
  local lines = {}
  if h <= 0 then return lines end
  if self.wdirty then self:_widths() end
  local lay = self:_layout(w)
  lines[1] = lay.header
  local vh = max(1, h - 1)
  self.vh = vh
  local s = self.shown
  if s.n == 0 then
    local msg = #self.rows == 0 and self.empty or self.no_match
    for i = 2, h do lines[i] = {} end
    if h >= 2 and msg and msg ~= "" then
      local mw = P.width(msg)
      local at = 1 + max(1, floor((h - 1) / 2))
      lines[at] = { rep(" ", max(0, floor((w - mw) / 2))) .. msg, "dim" }
    end
    return lines
  end
  self:_clamp()
  local recs = s:slice(self.top, h - 1)
  local vcache, nv = self.vcache, self.nvcache
  if self.vlay ~= lay or nv > 4 * h + 200 then vcache, nv = {}, 0; self.vcache, self.vlay = vcache, lay end
  -- fresh cells (an age) of the rows about to be laid out; one wider than its
  -- column widens it (the layout again, this frame)
  if self:_freshen(recs, vcache) then
    lay = self:_layout(w)
    lines[1] = lay.header
    vcache, nv = {}, 0
    self.vcache, self.vlay = vcache, lay
  end
  local marks, cur = self.marks, self.cur - self.top + 1
  for i = 1, #recs do
    local rec = recs[i]
    local text = vcache[rec]   -- the row laid out, kept until the layout changes
    if not text then
      text = self:_row_text(rec, lay)
      vcache[rec] = text
      nv = nv + 1
    end
    if i == cur then
      local tw = P.width(text)
      if tw < w then text = text .. rep(" ", w - tw) end
      lines[i + 1] = { text, "selected" }
    else
      lines[i + 1] = { text, marks[rec.id] and "marked" or rec.row.style or false }
    end
  end
  self.nvcache = nv
  for i = #recs + 2, h do lines[i] = {} end
  return lines
end

-- the fresh columns' cells of recs not laid out yet (in vcache) made again;
-- -> true when one is wider than its column was
function T:_freshen(recs, vcache)
  local cols = self.columns
  local grew = false
  for c = 1, #cols do
    local fresh = cols[c].fresh
    if fresh then
      for i = 1, #recs do
        local rec = recs[i]
        if not vcache[rec] then
          local f = fresh(rec.row)
          if f then
            local cells = rec.row.cells
            local was = cells[c]
            cells[c] = f
            if was then self:_wdel(c, #was) end
            if self:_wadd(c, #f) then grew = true end
          end
        end
      end
    end
  end
  return grew
end

-- ----------------------------------------------------------------- csv
local function csv_field(s)
  s = tostring(s == nil and "" or s)
  if find(s, '[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

function T:csv()
  local cols, vis = self.columns, {}
  for c, col in ipairs(cols) do if not col.wide or self.wide then vis[#vis + 1] = c end end
  local out, line = {}, {}
  for k, c in ipairs(vis) do line[k] = csv_field(cols[c].name) end
  out[1] = concat(line, ",")
  local s = self.shown
  local blocks, cnt = s.blocks, s.cnt
  for bi = 1, #blocks do
    local b = blocks[bi]
    for j = 1, cnt[bi] do
      local row = b[j].row
      local cells = row.cells or {}
      for k, c in ipairs(vis) do
        local fresh = cols[c].fresh
        line[k] = csv_field(fresh and fresh(row) or cells[c])
      end
      out[#out + 1] = concat(line, ",")
    end
  end
  return concat(out, "\n") .. "\n"
end

return T
