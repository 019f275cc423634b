/* vcli.pattern — Lua's string patterns (find, match, gmatch, gsub) with a
 * work budget, for plugin states.
 *
 * LuaJIT's matcher backtracks without bound inside one C call, where no
 * count hook fires: ("a"):rep(3000):find(("a*"):rep(20) .. "b") runs for
 * hours, and the CPU limit of a plugin's call never gets a say. This matcher
 * is the same algorithm (Lua 5.1's, as LuaJIT 2.1 has it: classes %a %c %d
 * %g %l %p %s %u %w %x %z and their complements, sets, * + - ?, anchors,
 * captures and position captures, %1-%9, %b, %f; a pattern ends at its
 * first zero byte unless found plainly; ASCII classes whatever the locale),
 * but every 16384 steps it calls the
 * state's tick function, which raises once the call is over its limit.
 *
 *   vcli_pattern_install(L, tick)   replaces string.find/match/gmatch/gsub in
 *                                   L (and so the string metatable's) with these
 *   require("vcli.pattern")         the four, unbudgeted (specs compare them
 *                                   with LuaJIT's own)
 */
#include "vcli.h"
#include <string.h>

#define MAXCAPTURES 32
#define MAXDEPTH 200            /* LuaJIT's: nested match calls before "pattern too complex" */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define ESC '%'
#define TICK_EVERY 0x3fff

typedef void (*tick_fn)(lua_State *L);

typedef struct {
    const char *src_init, *src_end, *p_end;
    lua_State *L;
    tick_fn tick;
    unsigned long steps;
    int level, depth;
    struct { const char *init; ptrdiff_t len; } capture[MAXCAPTURES];
} mstate;

static inline void step(mstate *ms)
{
    if ((++ms->steps & TICK_EVERY) == 0 && ms->tick) ms->tick(ms->L);
}

/* ---- character classes (ASCII, as LuaJIT's lj_char) ------------------------ */
static int is_lower(int c) { return c >= 'a' && c <= 'z'; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return is_lower(c) || is_upper(c); }
static int is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_cntrl(int c) { return c < 32 || c == 127; }
static int is_graph(int c) { return c > 32 && c < 127; }
static int is_punct(int c) { return is_graph(c) && !is_alpha(c) && !is_digit(c); }
static int is_xdigit(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int match_class(int c, int cl)
{
    int res;
    switch (is_upper(cl) ? cl + 32 : cl) {
    case 'a': res = is_alpha(c); break;
    case 'c': res = is_cntrl(c); break;
    case 'd': res = is_digit(c); break;
    case 'g': res = is_graph(c); break;
    case 'l': res = is_lower(c); break;
    case 'p': res = is_punct(c); break;
    case 's': res = is_space(c); break;
    case 'u': res = is_upper(c); break;
    case 'w': res = is_alpha(c) || is_digit(c); break;
    case 'x': res = is_xdigit(c); break;
    case 'z': res = c == 0; break;
    default: return cl == c;
    }
    return is_upper(cl) ? !res : res;
}

/* p at a single character class; -> just after it */
static const char *class_end(mstate *ms, const char *p)
{
    const char *pe = ms->p_end;
    unsigned char c = (unsigned char)*p++;
    if (c == ESC) {
        if (p >= pe) luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (c == '[') {
        if (p < pe && *p == '^') p++;
        do {    /* the first character is the set's even when it is ']' */
            if (p >= pe) luaL_error(ms->L, "malformed pattern (missing ']')");
            c = (unsigned char)*p++;
            if (c == ESC && p < pe) p++;
        } while (p >= pe || *p != ']');
        return p + 1;
    }
    return p;
}

/* p at '[', ec at its ']' */
static int match_set(int c, const char *p, const char *ec)
{
    int sig = 1;
    if (p[1] == '^') { sig = 0; p++; }
    while (++p < ec) {
        if (*p == ESC) {
            p++;
            if (match_class(c, (unsigned char)*p)) return sig;
        } else if (p + 2 < ec && p[1] == '-') {
            p += 2;
            if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p) return sig;
        } else if ((unsigned char)*p == c) {
            return sig;
        }
    }
    return !sig;
}

static int single_match(mstate *ms, const char *s, const char *p, const char *ep)
{
    if (s >= ms->src_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return match_class(c, (unsigned char)p[1]);
    case '[': return match_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *match(mstate *ms, const char *s, const char *p);

static const char *match_balance(mstate *ms, const char *s, const char *p)
{
    if (p + 1 >= ms->p_end) luaL_error(ms->L, "unbalanced pattern");
    if (s >= ms->src_end || *s != *p) return NULL;
    int b = *p, e = p[1], cont = 1;
    while (++s < ms->src_end) {
        step(ms);
        if (*s == e) {
            if (--cont == 0) return s + 1;
        } else if (*s == b) {
            cont++;
        }
    }
    return NULL;
}

static const char *max_expand(mstate *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single_match(ms, s + i, p, ep)) { i++; step(ms); }
    while (i >= 0) {    /* the longest first, then one shorter each time */
        const char *res = match(ms, s + i, ep + 1);
        if (res) return res;
        i--;
    }
    return NULL;
}

static const char *min_expand(mstate *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *res = match(ms, s, ep + 1);
        if (res) return res;
        if (!single_match(ms, s, p, ep)) return NULL;
        s++;
    }
}

static const char *start_capture(mstate *ms, const char *s, const char *p, int what)
{
    int level = ms->level;
    if (level >= MAXCAPTURES) luaL_error(ms->L, "too many captures");
    ms->capture[level].init = s;
    ms->capture[level].len = what;
    ms->level = level + 1;
    const char *res = match(ms, s, p);
    if (!res) ms->level--;
    return res;
}

static const char *end_capture(mstate *ms, const char *s, const char *p)
{
    int l = ms->level - 1;
    while (l >= 0 && ms->capture[l].len != CAP_UNFINISHED) l--;
    if (l < 0) luaL_error(ms->L, "invalid pattern capture");
    ms->capture[l].len = s - ms->capture[l].init;
    const char *res = match(ms, s, p);
    if (!res) ms->capture[l].len = CAP_UNFINISHED;
    return res;
}

static int check_capture(mstate *ms, int l)
{
    l -= '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
        luaL_error(ms->L, "invalid capture index");
    return l;
}

static const char *match_capture(mstate *ms, const char *s, int l)
{
    l = check_capture(ms, l);
    size_t len = (size_t)ms->capture[l].len;
    if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *match(mstate *ms, const char *s, const char *p)
{
    const char *pe = ms->p_end, *res = NULL;
    if (++ms->depth > MAXDEPTH) luaL_error(ms->L, "pattern too complex");
    for (;;) {
        step(ms);
        if (p >= pe) { res = s; break; }
        if (*p == '(') {
            res = (p + 1 < pe && p[1] == ')') ? start_capture(ms, s, p + 2, CAP_POSITION)
                                              : start_capture(ms, s, p + 1, CAP_UNFINISHED);
            break;
        }
        if (*p == ')') { res = end_capture(ms, s, p + 1); break; }
        if (*p == '$' && p + 1 == pe) { res = s == ms->src_end ? s : NULL; break; }
        if (*p == ESC && p + 1 < pe && p[1] == 'b') {
            s = match_balance(ms, s, p + 2);
            if (!s) { res = NULL; break; }
            p += 4;
            continue;
        }
        if (*p == ESC && p + 1 < pe && p[1] == 'f') {
            p += 2;
            if (p >= pe || *p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            const char *ep = class_end(ms, p);
            int prev = s == ms->src_init ? 0 : (unsigned char)s[-1];
            int cur = s < ms->src_end ? (unsigned char)*s : 0;
            if (!match_set(prev, p, ep - 1) && match_set(cur, p, ep - 1)) { p = ep; continue; }
            res = NULL;
            break;
        }
        if (*p == ESC && p + 1 < pe && is_digit((unsigned char)p[1])) {
            s = match_capture(ms, s, (unsigned char)p[1]);
            if (!s) { res = NULL; break; }
            p += 2;
            continue;
        }
        const char *ep = class_end(ms, p);
        int m = single_match(ms, s, p, ep);
        char q = ep < pe ? *ep : 0;
        if (q == '?') {
            if (m && (res = match(ms, s + 1, ep + 1))) break;
            p = ep + 1;
            continue;
        }
        if (q == '*') { res = max_expand(ms, s, p, ep); break; }
        if (q == '+') { res = m ? max_expand(ms, s + 1, p, ep) : NULL; break; }
        if (q == '-') { res = min_expand(ms, s, p, ep); break; }
        if (!m) { res = NULL; break; }
        s++;
        p = ep;
    }
    ms->depth--;
    return res;
}

/* ---- the Lua functions ------------------------------------------------------ */
static void push_capture(mstate *ms, int i, const char *s, const char *e)
{
    if (i >= ms->level) {
        if (i != 0) luaL_error(ms->L, "invalid capture index");
        lua_pushlstring(ms->L, s, (size_t)(e - s));   /* the whole match */
        return;
    }
    ptrdiff_t l = ms->capture[i].len;
    if (l == CAP_UNFINISHED) luaL_error(ms->L, "unfinished capture");
    if (l == CAP_POSITION) lua_pushinteger(ms->L, ms->capture[i].init - ms->src_init + 1);
    else lua_pushlstring(ms->L, ms->capture[i].init, (size_t)l);
}

static int push_captures(mstate *ms, const char *s, const char *e)
{
    int n = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(ms, i, s, e);
    return n;
}

static tick_fn tick_of(lua_State *L)
{
    return (tick_fn)(uintptr_t)lua_touserdata(L, lua_upvalueindex(1));
}

static void prep(mstate *ms, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    ms->L = L;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + strnlen(p, lp);   /* LuaJIT's matcher ends a pattern at its first zero byte */
    ms->tick = tick_of(L);
    ms->steps = 0;
    ms->depth = 0;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++) {
        switch (p[i]) {
        case '^': case '$': case '*': case '+': case '?': case '.': case '(': case '[': case '%': case '-':
            return 1;
        }
    }
    return 0;
}

/* plain search: memchr on the first byte, then memcmp (short needles, the
 * common case, without memmem's set-up); memmem for long ones */
static const char *find_plain(const char *s, size_t ls, const char *p, size_t lp)
{
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    if (lp > 32) return memmem(s, ls, p, lp);
    const char *end = s + ls - lp + 1;
    while (s < end) {
        const char *hit = memchr(s, (unsigned char)p[0], (size_t)(end - s));
        if (!hit) return NULL;
        if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
        s = hit + 1;
    }
    return NULL;
}

static ptrdiff_t start_at(lua_State *L, int arg, size_t ls)
{
    ptrdiff_t init = (ptrdiff_t)luaL_optinteger(L, arg, 1);
    if (init < 0) init += (ptrdiff_t)ls + 1;
    init--;
    if (init < 0) init = 0;
    else if ((size_t)init > ls) init = (ptrdiff_t)ls;
    return init;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    ptrdiff_t init = start_at(L, 3, ls);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = find_plain(s + init, ls - (size_t)init, p, lp);
        if (hit) {
            lua_pushinteger(L, hit - s + 1);
            lua_pushinteger(L, hit - s + (ptrdiff_t)lp);
            return 2;
        }
        lua_pushnil(L);
        return 1;
    }
    mstate ms;
    int anchor = lp > 0 && *p == '^';
    if (anchor) { p++; lp--; }
    prep(&ms, L, s, ls, p, lp);
    const char *s1 = s + init;
    do {
        ms.level = 0;
        ms.depth = 0;
        const char *e = match(&ms, s1, p);
        if (e) {
            if (find) {
                lua_pushinteger(L, s1 - s + 1);
                lua_pushinteger(L, e - s);
                return push_captures(&ms, NULL, NULL) + 2;
            }
            return push_captures(&ms, s1, e);
        }
    } while (s1++ < ms.src_end && !anchor);
    lua_pushnil(L);
    return 1;
}

static int l_find(lua_State *L) { return find_aux(L, 1); }
static int l_match(lua_State *L) { return find_aux(L, 0); }

static int gmatch_next(lua_State *L)
{
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(2), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(3), &lp);
    mstate ms;
    prep(&ms, L, s, ls, p, lp);
    for (const char *src = s + (size_t)lua_tointeger(L, lua_upvalueindex(4)); src <= ms.src_end; src++) {
        ms.level = 0;
        ms.depth = 0;
        const char *e = match(&ms, src, p);
        if (e) {
            ptrdiff_t next = e - s;
            if (e == src) next++;   /* an empty match: on by one */
            lua_pushinteger(L, next);
            lua_replace(L, lua_upvalueindex(4));
            return push_captures(&ms, src, e);
        }
    }
    return 0;
}

static int l_gmatch(lua_State *L)
{
    luaL_checkstring(L, 1);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));  /* the tick, for the iterator too */
    lua_insert(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

static void add_value(mstate *ms, luaL_Buffer *b, const char *s, const char *e, int tr)
{
    lua_State *L = ms->L;
    if (tr == LUA_TNUMBER || tr == LUA_TSTRING) {
        size_t l;
        const char *news = lua_tolstring(L, 3, &l);
        for (size_t i = 0; i < l; i++) {
            if (news[i] != ESC) { luaL_addchar(b, news[i]); continue; }
            i++;   /* past the end: the string's terminating zero, as LuaJIT adds it */
            int c = (unsigned char)news[i];
            if (!is_digit(c)) luaL_addchar(b, (char)c);
            else if (c == '0') luaL_addlstring(b, s, (size_t)(e - s));
            else { push_capture(ms, c - '1', s, e); luaL_addvalue(b); }
        }
        return;
    }
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else {
        push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, s, (size_t)(e - s));   /* false or nil: the match stays */
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
}

static int l_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int tr = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argcheck(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                  "string/function/table expected");
    int anchor = lp > 0 && *p == '^';
    if (anchor) { p++; lp--; }
    mstate ms;
    prep(&ms, L, src, ls, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Integer n = 0;
    while (n < max_n) {
        ms.level = 0;
        ms.depth = 0;
        const char *e = match(&ms, src, p);
        if (e) { n++; add_value(&ms, &b, src, e, tr); }
        if (e && e > src) src = e;
        else if (src < ms.src_end) luaL_addchar(&b, *src++);
        else break;
        if (anchor) break;
    }
    luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
    luaL_pushresult(&b);
    lua_pushinteger(L, n);
    return 2;
}

static const luaL_Reg fns[] = {
    {"find", l_find}, {"match", l_match}, {"gmatch", l_gmatch}, {"gsub", l_gsub}, {NULL, NULL}};

/* the four functions into the table at the top of the stack, each with tick as its upvalue */
static void set_fns(lua_State *L, tick_fn tick)
{
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushlightuserdata(L, (void *)(uintptr_t)tick);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
}

void vcli_pattern_install(lua_State *L, tick_fn tick)
{
    lua_getglobal(L, "string");
    set_fns(L, tick);
    lua_pop(L, 1);
}

int luaopen_vcli_pattern(lua_State *L)
{
    lua_newtable(L);
    set_fns(L, NULL);
    return 1;
}
