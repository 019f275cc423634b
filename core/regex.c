/* vcli.regex — POSIX extended regular expressions (libc's regcomp/regexec),
 * for the full-screen interface's filter and search: one C call per row.
 * Pure: the host and every plugin state have it (plugins as vcli.regex).
 *
 *   regex.compile(pattern [, flags]) -> re | nil, err
 *       flags: "i" ignore case; "s" smart case: ignore case unless the
 *       pattern has an upper-case letter (a letter right after a backslash,
 *       as in \S or \W, does not count). err is one line:
 *       bad regex "a(": <regerror's message>
 *   re:test(s) -> boolean                 (the fast path: no positions)
 *   re:find(s [, init]) -> start, end | nil
 *       1-based and inclusive like string.find (an empty match: end =
 *       start - 1). init (default 1; negative counts from the end) is where
 *       the search starts; ^ still matches only at the start of s.
 *
 * The locale is the process's (UTF-8): . and [...] match whole characters,
 * "i" folds non-ASCII letters too. Where libc has REG_STARTEND (glibc, the
 * BSDs) a string's embedded NUL bytes are ordinary characters; elsewhere the
 * match sees s up to its first NUL. */
#include "vcli.h"
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#define RE_META "vcli.regex"

typedef struct lre {
    regex_t re;
    int live;
} lre;

/* Is there an upper-case letter in p (not one escaped by a backslash)? */
static int has_upper(const char *p, size_t n)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < n;) {
        if (p[i] == '\\') { /* \S, \W, \B: an operator, not a letter */
            i += 2;
            continue;
        }
        wchar_t wc;
        size_t k = mbrtowc(&wc, p + i, n - i, &st);
        if (k == (size_t)-1 || k == (size_t)-2) { /* not UTF-8: take the byte */
            memset(&st, 0, sizeof st);
            wc = (unsigned char)p[i];
            k = 1;
        } else if (k == 0) {
            k = 1;
        }
        if (iswupper((wint_t)wc)) return 1;
        i += k;
    }
    return 0;
}

/* The pattern for a message: control characters as '?', so err stays one line. */
static void push_shown(lua_State *L, const char *p, size_t n)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        luaL_addchar(&b, c < 0x20 || c == 0x7f ? '?' : (char)c);
    }
    luaL_pushresult(&b);
}

static int l_compile(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    const char *flags = luaL_optstring(L, 2, "");
    int cflags = REG_EXTENDED;
    for (const char *f = flags; *f; f++) {
        if (*f == 'i') cflags |= REG_ICASE;
        else if (*f == 's') { if (!has_upper(p, n)) cflags |= REG_ICASE; }
        else return luaL_argerror(L, 2, lua_pushfstring(L, "unknown regex flag '%c' (flags: i, s)", *f));
    }
    if (memchr(p, '\0', n)) {
        lua_pushnil(L);
        lua_pushliteral(L, "bad regex: the pattern has a NUL byte");
        return 2;
    }
    lre *u = lua_newuserdata(L, sizeof *u);
    u->live = 0;
    luaL_getmetatable(L, RE_META);
    lua_setmetatable(L, -2);
    int rc = regcomp(&u->re, p, cflags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &u->re, msg, sizeof msg);   /* (no regfree: regcomp failed) */
        lua_pushnil(L);
        lua_pushliteral(L, "bad regex \"");
        push_shown(L, p, n);
        lua_pushfstring(L, "\": %s", msg);
        lua_concat(L, 3);
        return 2;
    }
    u->live = 1;
    return 1;
}

static lre *check_re(lua_State *L)
{
    lre *u = vcli_checkudata(L, 1, RE_META);
    if (!u->live) luaL_error(L, "regex is freed");
    return u;
}

/* regexec over s[from..n): 0 on a match (m filled when nm), REG_NOMATCH, or an error. */
static int run(lre *u, const char *s, size_t n, size_t from, regmatch_t *m, size_t nm)
{
#ifdef REG_STARTEND
    regmatch_t r[1];
    if (!nm) m = r;
    m[0].rm_so = (regoff_t)from;
    m[0].rm_eo = (regoff_t)n;
    return regexec(&u->re, s, nm, m, REG_STARTEND);
#else
    (void)n;
    int rc = regexec(&u->re, s + from, nm, m, from ? REG_NOTBOL : 0);
    if (rc == 0 && nm) { m[0].rm_so += (regoff_t)from; m[0].rm_eo += (regoff_t)from; }
    return rc;
#endif
}

static int exec_error(lua_State *L, lre *u, int rc)
{
    char msg[256];
    regerror(rc, &u->re, msg, sizeof msg);
    return luaL_error(L, "regex: %s", msg);
}

static int re_test(lua_State *L)
{
    lre *u = check_re(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    int rc = run(u, s, n, 0, NULL, 0);
    if (rc != 0 && rc != REG_NOMATCH) return exec_error(L, u, rc);
    lua_pushboolean(L, rc == 0);
    return 1;
}

static int re_find(lua_State *L)
{
    lre *u = check_re(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    lua_Integer init = luaL_optinteger(L, 3, 1);
    if (init < 0) init = (lua_Integer)n + init + 1;
    if (init < 1) init = 1;
    if ((size_t)init > n + 1) { lua_pushnil(L); return 1; }
    regmatch_t m[1];
    int rc = run(u, s, n, (size_t)init - 1, m, 1);
    if (rc == REG_NOMATCH) { lua_pushnil(L); return 1; }
    if (rc != 0) return exec_error(L, u, rc);
    lua_pushinteger(L, (lua_Integer)m[0].rm_so + 1);
    lua_pushinteger(L, (lua_Integer)m[0].rm_eo);
    return 2;
}

static int re_gc(lua_State *L)
{
    lre *u = luaL_checkudata(L, 1, RE_META);
    if (u->live) regfree(&u->re);
    u->live = 0;
    return 0;
}

static int re_tostring(lua_State *L)
{
    lua_pushfstring(L, "regex: %p", lua_touserdata(L, 1));
    return 1;
}

int luaopen_vcli_regex(lua_State *L)
{
    static const luaL_Reg methods[] = { {"test", re_test}, {"find", re_find}, {"__gc", re_gc},
                                        {"__tostring", re_tostring}, {NULL, NULL} };
    static const luaL_Reg fns[] = { {"compile", l_compile}, {NULL, NULL} };
    vcli_newclass(L, RE_META, methods);
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
