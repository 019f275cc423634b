-- vcli.tui.prims — the few primitives the widgets stand on, the same in the
-- host and in a plugin's state (there the name loads tui/prims_plugin.lua,
-- which reads them from the plugin's vcli table). Widgets require only this,
-- vcli.text and each other, so every widget runs in both worlds unchanged.
--   P.width(s) -> display columns of s (UTF-8, wide and combining characters)
--   P.split(s) -> chars, widths (arrays: one user-perceived character each)
--   P.regex(pattern) -> re | nil, err   POSIX ERE, smart case (core/regex.c):
--                                       re:find(s [, init]) -> start, end | nil; re:test(s)
--   P.order(keys [, desc [, natural]]) -> perm   stable sort of 1..#keys by keys[i]
--                                       (numbers before strings, strings bytewise;
--                                       natural: pod-2 before pod-10; core/sort.c)
local term = require("vcli.term")
local regex = require("vcli.regex")

local P = {}
P.width = term.width
P.split = term.split
function P.regex(pattern) return regex.compile(pattern, "s") end
P.order = require("vcli.sort").order

return P
