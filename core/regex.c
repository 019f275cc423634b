/* vcli.regex — POSIX extended regular expressions (libc's regcomp/regexec),
 * for the full-screen interface's filter and search: one C call per row.
 * Pure: the host and every plugin state have it (plugins as vcli.regex).
 *
 *   regex.compile(pattern [, flags]) -> re | nil, err
 *       flags: "i" ignore case; "s" smart case: ignore case unless the
 *       pattern has an upper-case letter (a letter right after a backslash,
 *       as in \S or \W, does not count). err is one line:
 *       bad regex "a(": <regerror's message>; back-references and
 *       repetition counts over 1000 (in all) are refused, as RE2 has them
 *       not: libc would backtrack on them without bound
 *   re:test(s) -> boolean                 (the fast path: no positions)
 *   re:find(s [, init]) -> start, end | nil
 *       1-based and inclusive like string.find (an empty match: end =
 *       start - 1). init (default 1; negative counts from the end) is where
 *       the search starts; ^ still matches only at the start of s.
 *
 * The locale is the process's (UTF-8): . and [...] match whole characters,
 * "i" folds non-ASCII letters too. Where libc has REG_STARTEND (glibc, the
 * BSDs) a string's embedded NUL bytes are ordinary characters; elsewhere the
 * match sees s up to its first NUL.
 *
 * Speed: glibc's regexec costs 200-700 ns a call here (UTF-8, ignoring
 * case: the most), too slow to filter 50 000 rows in a keystroke, so three
 * shortcuts give the same answers sooner. A pattern that is plain text
 * (ASCII, no operator) is found with memmem (or an ASCII case-folding
 * search, for a subject that is all ASCII). Any other pattern without | has
 * a required piece of plain text (the longest run of ordinary characters
 * outside groups and brackets, less one that a *, ? or {…} makes optional):
 * a subject without it cannot match, so regexec runs only on the subjects
 * that have it. And an ASCII pattern on an ASCII subject runs a copy
 * compiled in the C locale (bytes, 2-3 times faster; the same answers). */
#include "vcli.h"
#include <locale.h>
#include <regex.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#define RE_META "vcli.regex"

typedef struct lre {
    regex_t re;         /* in the process's locale (UTF-8) */
    regex_t re_c;       /* the same in the C locale, for a pattern all ASCII (has_c) */
    int live, has_c;
    int icase;
    int whole;          /* the pattern is lit: no regexec at all */
    size_t litlen;      /* 0: no shortcut (unless whole: the empty pattern) */
    char lit[];         /* the required text (folded to lower case under icase) */
} lre;

static inline unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* The longest run of ordinary ASCII characters every match contains (see
 * the top), as offset and length into p; *whole when p is nothing else. */
static void required_text(const char *p, size_t n, size_t *off, size_t *len, int *whole)
{
    *off = *len = 0;
    *whole = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x80 || strchr(".[]()*+?{}|^$\\", c)) *whole = 0;
    }
    if (*whole) { *len = n; return; }
    if (memchr(p, '|', n)) return;
    int depth = 0;
    size_t start = 0, run = 0;
#define END_RUN() do { if (depth == 0 && run > *len) { *off = start; *len = run; } run = 0; } while (0)
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\') { END_RUN(); i += 2; continue; }
        if (c == '[') {   /* a bracket expression: [^]x] [[:alpha:]] … */
            END_RUN();
            size_t j = i + 1;
            if (j < n && p[j] == '^') j++;
            if (j < n && p[j] == ']') j++;
            while (j < n && p[j] != ']') {
                if (p[j] == '[' && j + 1 < n && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
                    char close = p[j + 1];
                    j += 2;
                    while (j + 1 < n && !(p[j] == close && p[j + 1] == ']')) j++;
                    j += 2;
                } else {
                    j++;
                }
            }
            i = j + 1;
            continue;
        }
        if (c == '*' || c == '?' || c == '{') {   /* the character before is optional */
            if (run) run--;
            END_RUN();
            if (c == '{') { while (i < n && p[i] != '}') i++; }
            i++;
            continue;
        }
        if (c == '(' || c == ')' || c == '+' || c == '.' || c == '^' || c == '$' || c >= 0x80) {
            END_RUN();
            if (c == '(') depth++;
            if (c == ')' && depth > 0) depth--;
            i++;
            continue;
        }
        if (run == 0) start = i;
        run++;
        i++;
    }
    END_RUN();
#undef END_RUN
}

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

static int all_ascii(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull) return 0;
    }
    for (; i < n; i++) if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

/* What libc would backtrack on without bound, refused before regcomp (as
 * RE2, k9s' syntax, has them not): a back-reference (\1-\9), whose matching
 * is exponential in glibc (^((a*)(a*)(a*)(a*)\2\3\4\5|z)b on 96 a's: 22 s in
 * one call), and repetition counts whose product is over 1000 ((a{1000}){1000}
 * compiles to a million states). -> NULL, or why. */
static const char *too_costly(const char *p, size_t n)
{
    int bracket = 0;
    double product = 1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (bracket) {
            if (c == ']' && bracket > 1) bracket = 0;
            else bracket++;
            continue;
        }
        if (c == '\\' && i + 1 < n) {
            if (p[i + 1] >= '1' && p[i + 1] <= '9') return "back-references (\\1-\\9) are not supported";
            i++;
            continue;
        }
        if (c == '[') {
            bracket = 1;
            if (i + 1 < n && p[i + 1] == '^') i++;
            continue;
        }
        if (c == '{') {
            double a = 0, b = -1;
            size_t j = i + 1;
            while (j < n && p[j] >= '0' && p[j] <= '9') a = a * 10 + (p[j++] - '0');
            if (j < n && p[j] == ',') {
                j++;
                if (j < n && p[j] >= '0' && p[j] <= '9') {
                    b = 0;
                    while (j < n && p[j] >= '0' && p[j] <= '9') b = b * 10 + (p[j++] - '0');
                }
            }
            double count = b > a ? b : a;
            if (count > 1000) return "a repetition count over 1000";
            if (count > 1) product *= count;
            if (product > 1000) return "repetition counts whose product is over 1000";
        }
    }
    return NULL;
}

/* nil, 'bad regex "PATTERN": why' */
static int bad_regex(lua_State *L, const char *p, size_t n, const char *why)
{
    lua_pushnil(L);
    lua_pushliteral(L, "bad regex \"");
    push_shown(L, p, n);
    lua_pushfstring(L, "\": %s", why);
    lua_concat(L, 3);
    return 2;
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
        else return luaL_error(L, "regex.compile: unknown flag '%c' (flags: i, s)", *f);
    }
    if (memchr(p, '\0', n)) {
        lua_pushnil(L);
        lua_pushliteral(L, "bad regex: the pattern has a NUL byte");
        return 2;
    }
    const char *why = too_costly(p, n);
    if (why) return bad_regex(L, p, n, why);
    size_t off, len;
    int whole;
    required_text(p, n, &off, &len, &whole);
    lre *u = lua_newuserdata(L, sizeof *u + len + 1);
    u->live = u->has_c = 0;
    u->icase = (cflags & REG_ICASE) != 0;
    u->whole = whole;
    u->litlen = len;
    for (size_t i = 0; i < len; i++) u->lit[i] = u->icase ? (char)fold((unsigned char)p[off + i]) : p[off + i];
    u->lit[len] = 0;
    luaL_getmetatable(L, RE_META);
    lua_setmetatable(L, -2);
    int rc = regcomp(&u->re, p, cflags);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &u->re, msg, sizeof msg);   /* (no regfree: regcomp failed) */
        return bad_regex(L, p, n, msg);
    }
    u->live = 1;
    /* An ASCII pattern on an ASCII subject means the same in the C locale, and
     * libc matches bytes two or three times faster than UTF-8 characters. */
    if (all_ascii(p, n)) {
        static locale_t c_locale;   /* one for the process (its states share one thread) */
        if (!c_locale) c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        if (c_locale) {
            locale_t was = uselocale(c_locale);
            u->has_c = regcomp(&u->re_c, p, cflags) == 0;
            uselocale(was);
        }
    }
    return 1;
}

/* The methods' upvalue 1 is the metatable: a cheaper check than the
 * registry lookup of luaL_checkudata (this runs once a row). */
static lre *check_re(lua_State *L)
{
    lre *u = lua_touserdata(L, 1);
    if (!u || !lua_getmetatable(L, 1) || !lua_rawequal(L, -1, lua_upvalueindex(1)))
        luaL_argerror(L, 1, "regex expected (call it as re:find(s))");
    lua_pop(L, 1);
    if (!u->live) luaL_error(L, "regex is freed");
    return u;
}

/* Where the required text first is in s[from..n) (-1: nowhere, so no match);
 * *known = 0 when that cannot be told without regexec (ignoring case, in a
 * subject that is not all ASCII: libc folds more than ASCII letters). */
static ptrdiff_t find_text(const lre *u, const char *s, size_t n, size_t from, int *known)
{
    size_t m = u->litlen;
    *known = 1;
    if (!u->icase) {
        if (m == 0) return (ptrdiff_t)from;
        const char *f = memmem(s + from, n - from, u->lit, m);
        return f ? f - s : -1;
    }
    if (!all_ascii(s, n)) { *known = 0; return -1; }
    if (m == 0) return (ptrdiff_t)from;
    unsigned char first = (unsigned char)u->lit[0];
    for (size_t i = from; i + m <= n; i++) {
        if (fold((unsigned char)s[i]) != first) continue;
        size_t k = 1;
        while (k < m && fold((unsigned char)s[i + k]) == (unsigned char)u->lit[k]) k++;
        if (k == m) return (ptrdiff_t)i;
    }
    return -1;
}

/* regexec over s[from..n): 0 on a match (m filled when nm), REG_NOMATCH, or an error. */
static int run(lre *u, const char *s, size_t n, size_t from, regmatch_t *m, size_t nm)
{
    regex_t *re = u->has_c && all_ascii(s, n) ? &u->re_c : &u->re;
#ifdef REG_STARTEND
    regmatch_t r[1];
    if (!nm) m = r;
    m[0].rm_so = (regoff_t)from;
    m[0].rm_eo = (regoff_t)n;
    return regexec(re, s, nm, m, REG_STARTEND);
#else
    int rc = regexec(re, s + from, nm, m, from ? REG_NOTBOL : 0);
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
#ifndef REG_STARTEND
    n = strlen(s);   /* (what regexec sees) */
#endif
    if (u->whole || u->litlen) {
        int known;
        ptrdiff_t at = find_text(u, s, n, 0, &known);
        if (known && (at < 0 || u->whole)) {
            lua_pushboolean(L, at >= 0);
            return 1;
        }
    }
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
#ifndef REG_STARTEND
    n = strlen(s);   /* (what regexec sees) */
#endif
    lua_Integer init = luaL_optinteger(L, 3, 1);
    if (init < 0) init = (lua_Integer)n + init + 1;
    if (init < 1) init = 1;
    if ((size_t)init > n + 1) { lua_pushnil(L); return 1; }
    if (u->whole || u->litlen) {
        int known;
        ptrdiff_t at = find_text(u, s, n, (size_t)init - 1, &known);
        if (known && at < 0) { lua_pushnil(L); return 1; }
        if (known && u->whole) {   /* plain text: its first place is the match */
            lua_pushinteger(L, (lua_Integer)at + 1);
            lua_pushinteger(L, (lua_Integer)(at + (ptrdiff_t)u->litlen));
            return 2;
        }
    }
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
    if (u->has_c) regfree(&u->re_c);
    u->live = u->has_c = 0;
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
    if (luaL_newmetatable(L, RE_META)) {
        for (const luaL_Reg *m = methods; m->name; m++) {
            lua_pushvalue(L, -1);
            lua_pushcclosure(L, m->func, 1);
            lua_setfield(L, -2, m->name);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, RE_META);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
