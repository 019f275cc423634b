/* vcli.jsonfmt — JSON as Go's encoding/json MarshalIndent(v, "", "    ")
 * writes it (kubectl's -o json): object keys sorted, four-space indent,
 * HTML-safe escapes (<, >, & as \u003c…), U+2028/U+2029 escaped, "/" left
 * alone, integers without a fraction. For plain data decoded by lua-cjson:
 * its null (a NULL light userdata) is null, a table carrying array_mt (or a
 * non-empty sequence) is an array.
 *
 *   jsonfmt.encode(v [, indent [, array_mt [, compact]]]) -> string | nil, err
 *     indent: the current indentation (nested output, e.g. an item of a list
 *     being streamed); array_mt: cjson's array metatable; compact: Go's
 *     json.Marshal layout instead (no spaces or newlines; kubectl prints maps
 *     and lists so in jsonpath output) */
#include "vcli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 500

/* the output grows in memory from the state's own allocator (a plugin's
 * memory limit counts it) */
typedef struct {
    char *p;
    size_t n, cap;
    lua_Alloc alloc;
    void *aud;
    int amt;          /* stack index of array_mt, or 0 */
    int compact;      /* json.Marshal's layout: no spaces, no newlines */
    const char *err;
} enc;

static void add(enc *e, const char *s, size_t n)
{
    if (e->err) return;
    if (e->n + n > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < e->n + n) cap *= 2;
        char *np = e->alloc(e->aud, e->p, e->cap, cap);
        if (!np) { e->err = "out of memory"; return; }
        e->p = np;
        e->cap = cap;
    }
    memcpy(e->p + e->n, s, n);
    e->n += n;
}
#define adds(e, s) add((e), (s), strlen(s))

static void put_indent(enc *e, const char *ind, size_t ilen, int depth)
{
    if (e->compact) return;
    add(e, ind, ilen);
    for (int i = 0; i < depth; i++) add(e, "    ", 4);
}

static void put_string(enc *e, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    add(e, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        char u[6];
        size_t skip = 1;
        if (c == '"') rep = "\\\"";
        else if (c == '\\') rep = "\\\\";
        else if (c == '\n') rep = "\\n";
        else if (c == '\r') rep = "\\r";
        else if (c == '\t') rep = "\\t";
        else if (c == '\b') rep = "\\b";
        else if (c == '\f') rep = "\\f";
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
        } else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            memcpy(u, (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            skip = 3;
        } else {
            continue;
        }
        add(e, s + start, i - start);
        if (rep) adds(e, rep);
        else add(e, u, 6);
        i += skip - 1;
        start = i + 1;
    }
    add(e, s + start, n - start);
    add(e, "\"", 1);
}

/* Go's float64 encoding: the shortest digits that read back as v, in plain
 * notation for 1e-6 <= |v| < 1e21, else as 1.5e-7 / 1e+21 */
static void put_number(enc *e, double v)
{
    char s[400], tmp[40];
    if (isnan(v) || isinf(v)) { e->err = "a number JSON cannot hold (NaN or infinity)"; return; }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { snprintf(s, sizeof s, "%.0f", v); adds(e, s); return; }
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
    char *E = strchr(tmp, 'e');
    int exp = E ? atoi(E + 1) : 0;
    double a = fabs(v);
    if (a >= 1e-6 && a < 1e21) {
        int decimals = p - 1 - exp;
        snprintf(s, sizeof s, "%.*f", decimals > 0 ? decimals : 0, v);
    } else if (E && E[1] == '-' && E[2] == '0' && E[3]) {
        memmove(E + 2, E + 3, strlen(E + 3) + 1); /* e-07 -> e-7, as Go's encoder */
        snprintf(s, sizeof s, "%s", tmp);
    } else {
        snprintf(s, sizeof s, "%s", tmp);
    }
    adds(e, s);
}

static int cmp_keys(const void *a, const void *b)
{
    const struct { const char *s; size_t n; } *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

static void put_value(lua_State *L, enc *e, int idx, const char *ind, size_t ilen, int depth);

/* the table at idx: an array when it is a non-empty sequence (nothing past
 * its length) or carries array_mt */
static int is_array(lua_State *L, enc *e, int idx, size_t n)
{
    if (n > 0) {
        lua_pushnumber(L, (lua_Number)n);
        int more = lua_next(L, idx);
        if (more) { lua_pop(L, 2); return 0; }
        return 1;
    }
    if (!e->amt || !lua_getmetatable(L, idx)) return 0;
    int eq = lua_rawequal(L, -1, e->amt);
    lua_pop(L, 1);
    return eq;
}

static void put_table(lua_State *L, enc *e, int idx, const char *ind, size_t ilen, int depth)
{
    if (depth >= MAX_DEPTH) { e->err = "nested too deeply (or a cycle)"; return; }
    luaL_checkstack(L, 6, "jsonfmt");
    size_t n = lua_objlen(L, idx);
    if (is_array(L, e, idx, n)) {
        if (n == 0) { adds(e, "[]"); return; }
        adds(e, e->compact ? "[" : "[\n");
        for (size_t i = 1; i <= n && !e->err; i++) {
            put_indent(e, ind, ilen, depth + 1);
            lua_rawgeti(L, idx, (int)i);
            put_value(L, e, lua_gettop(L), ind, ilen, depth + 1);
            lua_pop(L, 1);
            adds(e, i < n ? (e->compact ? "," : ",\n") : (e->compact ? "" : "\n"));
        }
        put_indent(e, ind, ilen, depth);
        add(e, "]", 1);
        return;
    }
    /* keys as strings (a number key as Lua's tostring writes it), sorted bytewise */
    size_t cap = 16, nk = 0;
    struct key { const char *s; size_t n; } *keys = malloc(cap * sizeof *keys);
    lua_newtable(L); /* keeps the key strings alive */
    int hold = lua_gettop(L);
    lua_pushnil(L);
    while (keys && lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            continue;
        }
        size_t kn;
        const char *ks = lua_tolstring(L, -1, &kn); /* converts the copy, not the key next() needs */
        lua_rawseti(L, hold, (int)nk + 1);
        if (nk == cap) {
            struct key *k2 = realloc(keys, (cap *= 2) * sizeof *keys);
            if (!k2) { free(keys); keys = NULL; break; }
            keys = k2;
        }
        keys[nk].s = ks;
        keys[nk].n = kn;
        nk++;
    }
    if (!keys) { lua_pop(L, 1); e->err = "out of memory"; return; }
    if (nk == 0) { free(keys); lua_pop(L, 1); adds(e, "{}"); return; }
    qsort(keys, nk, sizeof *keys, cmp_keys);
    adds(e, e->compact ? "{" : "{\n");
    for (size_t i = 0; i < nk && !e->err; i++) {
        put_indent(e, ind, ilen, depth + 1);
        put_string(e, keys[i].s, keys[i].n);
        adds(e, e->compact ? ":" : ": ");
        lua_pushlstring(L, keys[i].s, keys[i].n);
        lua_rawget(L, idx);
        if (lua_isnil(L, -1)) { /* a number key: look it up as a number */
            lua_pop(L, 1);
            lua_pushlstring(L, keys[i].s, keys[i].n);
            lua_pushnumber(L, lua_tonumber(L, -1));
            lua_remove(L, -2);
            lua_rawget(L, idx);
        }
        put_value(L, e, lua_gettop(L), ind, ilen, depth + 1);
        lua_pop(L, 1);
        adds(e, i + 1 < nk ? (e->compact ? "," : ",\n") : (e->compact ? "" : "\n"));
    }
    free(keys);
    lua_pop(L, 1);
    put_indent(e, ind, ilen, depth);
    add(e, "}", 1);
}

static void put_value(lua_State *L, enc *e, int idx, const char *ind, size_t ilen, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        put_string(e, s, n);
        break;
    }
    case LUA_TNUMBER: put_number(e, lua_tonumber(L, idx)); break;
    case LUA_TBOOLEAN: adds(e, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TTABLE: put_table(L, e, idx, ind, ilen, depth); break;
    default: adds(e, "null"); break; /* nil, cjson's null; functions have no JSON */
    }
}

static int l_encode(lua_State *L)
{
    size_t ilen = 0;
    const char *ind = luaL_optlstring(L, 2, "", &ilen);
    enc e = {0};
    e.alloc = lua_getallocf(L, &e.aud);
    e.amt = lua_istable(L, 3) ? 3 : 0;
    e.compact = lua_toboolean(L, 4);
    lua_settop(L, 4);
    put_value(L, &e, 1, ind, ilen, 0);
    if (e.err) lua_pushnil(L);
    else lua_pushlstring(L, e.p, e.n);
    if (e.p) e.alloc(e.aud, e.p, e.cap, 0);
    if (!e.err) return 1;
    lua_pushstring(L, e.err);
    return 2;
}

int luaopen_vcli_jsonfmt(lua_State *L)
{
    static const luaL_Reg fns[] = {{"encode", l_encode}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
