/* vcli.jsonfmt — JSON as Go's encoding/json MarshalIndent(v, "", "    ")
 * writes it (kubectl's -o json): object keys sorted, four-space indent,
 * HTML-safe escapes (<, >, & as \u003c…), U+2028/U+2029 escaped, "/" left
 * alone, integers without a fraction; and a decoder whose arrays keep being
 * arrays when empty (Debian's lua-cjson 2.1.0 decodes [] and {} alike).
 *
 *   jsonfmt.decode(text) -> value | nil, "line:col: problem"
 *     null is a NULL light userdata (cjson.null); every array carries
 *     jsonfmt.array_mt, so an empty one encodes as [] again
 *   jsonfmt.encode(v [, indent [, array_mt [, compact]]]) -> string | nil, err
 *     indent: the current indentation (nested output, e.g. an item of a list
 *     being streamed); array_mt: another array metatable to honour besides
 *     jsonfmt.array_mt; compact: Go's json.Marshal layout instead (no spaces
 *     or newlines; kubectl prints maps and lists so in jsonpath output)
 *   jsonfmt.array_mt: the state's one array marker, shared with vcli.yaml
 *     (registry field "vcli.array_mt"): a table carrying it, or a non-empty
 *     sequence, is an array */
#include "vcli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 500
#define STR_(x) #x
#define STR(x) STR_(x)
#define TOO_DEEP "nested deeper than " STR(MAX_DEPTH) " levels"

/* the output grows in memory from the state's own allocator (a plugin's
 * memory limit counts it) */
typedef struct {
    char *p;
    size_t n, cap;
    lua_Alloc alloc;
    void *aud;
    int amt;          /* stack index of a caller's array_mt, or 0 */
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

/* the bytes put_string may not write as they are */
static const unsigned char special[256] = { [0 ... 0x1F] = 1, ['"'] = 1, ['\\'] = 1, ['<'] = 1, ['>'] = 1, ['&'] = 1,
                                            [0xE2] = 1 };

static void put_string(enc *e, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    add(e, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!special[c]) continue;
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

/* an object's key, as text; v: the stack index of its value, or 0 */
struct key { const char *s; size_t n; int v; };

static int cmp_keys(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

static void sort_keys(struct key *k, size_t n)
{
    if (n > 12) { qsort(k, n, sizeof *k, cmp_keys); return; }
    for (size_t i = 1; i < n; i++) { /* most objects are small: an insertion sort */
        struct key t = k[i];
        size_t j = i;
        for (; j > 0 && cmp_keys(&k[j - 1], &t) > 0; j--) k[j] = k[j - 1];
        k[j] = t;
    }
}

static void put_value(lua_State *L, enc *e, int idx, const char *ind, size_t ilen, int depth);

/* the table at idx: an array when it is a non-empty sequence (nothing past
 * its length) or carries the array marker (or the caller's) */
static int is_array(lua_State *L, enc *e, int idx, size_t n)
{
    if (n > 0) {
        lua_pushnumber(L, (lua_Number)n);
        int more = lua_next(L, idx);
        if (more) { lua_pop(L, 2); return 0; }
        return 1;
    }
    if (!lua_getmetatable(L, idx)) return 0;
    int eq = lua_rawequal(L, -1, lua_upvalueindex(1)) || (e->amt && lua_rawequal(L, -1, e->amt));
    lua_pop(L, 1);
    return eq;
}

static void put_table(lua_State *L, enc *e, int idx, const char *ind, size_t ilen, int depth)
{
    if (depth >= MAX_DEPTH) { e->err = TOO_DEEP " (or a cycle)"; return; }
    if (!lua_checkstack(L, 6)) { e->err = "nested deeper than the Lua stack allows"; return; }
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
    /* keys as strings (a number key as Lua's tostring writes it), sorted
     * bytewise. A string key stays alive in the table, a number key's string
     * in hold; the values wait on the stack (v: where) while there is room
     * (a C function has 8000 slots; the deepest nesting needs 3000), else
     * are looked up again. */
    struct key few[64], *keys = few;
    size_t cap = 64, nk = 0;
    int base = lua_gettop(L), hold = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int kt = lua_type(L, -2), v = 0;
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER) { lua_pop(L, 1); continue; }
        if (lua_gettop(L) < 4000 && lua_checkstack(L, 4)) { lua_insert(L, -2); v = lua_gettop(L) - 1; }
        else lua_pop(L, 1);
        size_t kn;
        const char *ks;
        if (kt == LUA_TSTRING) {
            ks = lua_tolstring(L, -1, &kn);
        } else {
            if (!hold) { lua_newtable(L); lua_insert(L, -2); hold = lua_gettop(L) - 1; }
            lua_pushvalue(L, -1);
            ks = lua_tolstring(L, -1, &kn); /* converts the copy, not the key next() needs */
            lua_rawseti(L, hold, (int)nk + 1);
        }
        if (nk == cap) {
            struct key *k2 = keys == few ? malloc(2 * cap * sizeof *keys) : realloc(keys, 2 * cap * sizeof *keys);
            if (!k2) { e->err = "out of memory"; break; }
            if (keys == few) memcpy(k2, few, sizeof few);
            keys = k2;
            cap *= 2;
        }
        keys[nk].s = ks;
        keys[nk].n = kn;
        keys[nk].v = v;
        nk++;
    }
    if (!e->err && nk == 0) adds(e, "{}");
    if (!e->err && nk > 0) {
        sort_keys(keys, nk);
        adds(e, e->compact ? "{" : "{\n");
        for (size_t i = 0; i < nk && !e->err; i++) {
            put_indent(e, ind, ilen, depth + 1);
            put_string(e, keys[i].s, keys[i].n);
            adds(e, e->compact ? ":" : ": ");
            if (keys[i].v) {
                put_value(L, e, keys[i].v, ind, ilen, depth + 1);
            } else { /* a value that found no room */
                lua_pushlstring(L, keys[i].s, keys[i].n);
                lua_rawget(L, idx);
                if (lua_isnil(L, -1)) { /* a number key: look it up as a number */
                    lua_pushnumber(L, strtod(keys[i].s, NULL));
                    lua_replace(L, -2);
                    lua_rawget(L, idx);
                }
                put_value(L, e, lua_gettop(L), ind, ilen, depth + 1);
                lua_pop(L, 1);
            }
            adds(e, i + 1 < nk ? (e->compact ? "," : ",\n") : (e->compact ? "" : "\n"));
        }
        put_indent(e, ind, ilen, depth);
        add(e, "}", 1);
    }
    if (keys != few) free(keys);
    lua_settop(L, base);
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

/* ---------------------------------------------------------------- decode
 * RFC 8259 JSON, as Go reads it (bad \u surrogates become U+FFFD); errors
 * are returned, not raised (only running out of memory raises) */
typedef struct {
    const char *s, *p, *end;
    const char *err;
    int depth;
} dec;

static int dfail(dec *d, const char *what)
{
    if (!d->err) d->err = what;
    return -1;
}

static void skip_ws(dec *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t')) d->p++;
}

static int hex4(const char *p, const char *end)
{
    int v = 0;
    if (end - p < 4) return -1;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

static void add_utf8(luaL_Buffer *b, unsigned cp)
{
    char u[4];
    int n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3F)); u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    luaL_addlstring(b, u, (size_t)n);
}

#define PLAIN(c) ((c) != '"' && (c) != '\\' && (unsigned char)(c) >= 0x20)

/* the string at d->p (its opening quote) pushed; unescaped ones straight from the text */
static int get_string(lua_State *L, dec *d)
{
    const char *p = d->p + 1, *end = d->end, *run = p;
    while (p < end && PLAIN(*p)) p++;
    if (p < end && *p == '"') { lua_pushlstring(L, run, (size_t)(p - run)); d->p = p + 1; return 0; }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        while (p < end && PLAIN(*p)) p++;
        luaL_addlstring(&b, run, (size_t)(p - run));
        d->p = p;
        if (p >= end) return dfail(d, "unterminated string");
        if (*p == '"') break;
        if (*p != '\\') return dfail(d, "control character in a string");
        if (++p >= end) return dfail(d, "unterminated string");
        d->p = p;
        switch (*p) {
        case '"': case '\\': case '/': luaL_addchar(&b, *p); break;
        case 'b': luaL_addchar(&b, '\b'); break;
        case 'f': luaL_addchar(&b, '\f'); break;
        case 'n': luaL_addchar(&b, '\n'); break;
        case 'r': luaL_addchar(&b, '\r'); break;
        case 't': luaL_addchar(&b, '\t'); break;
        case 'u': {
            int cp = hex4(p + 1, end);
            if (cp < 0) return dfail(d, "bad \\u escape");
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 7 && p[1] == '\\' && p[2] == 'u') {
                int lo = hex4(p + 3, end);
                if (lo >= 0xDC00 && lo < 0xE000) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); p += 6; }
            }
            add_utf8(&b, cp >= 0xD800 && cp < 0xE000 ? 0xFFFD : (unsigned)cp);
            break;
        }
        default: return dfail(d, "bad escape in a string");
        }
        run = ++p;
    }
    luaL_pushresult(&b);
    d->p = p + 1;
    return 0;
}

static int get_number(lua_State *L, dec *d)
{
    const char *p = d->p, *end = d->end, *digits;
    if (*p == '-') p++;
    digits = p;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
    size_t nd = (size_t)(p - digits);
    if (nd == 0 || (nd > 1 && *digits == '0')) return dfail(d, "bad number");
    if (nd <= 18 && (p >= end || (*p != '.' && *p != 'e' && *p != 'E'))) { /* an integer: exact */
        lua_pushnumber(L, *d->p == '-' ? -(double)v : (double)v);
        d->p = p;
        return 0;
    }
    if (p < end && *p == '.') {
        const char *f = ++p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == f) return dfail(d, "bad number");
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-')) p++;
        const char *x = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == x) return dfail(d, "bad number");
    }
    char buf[64];
    size_t n = (size_t)(p - d->p);
    if (n >= sizeof buf) { /* strtod needs the number alone, ended by a NUL */
        lua_pushlstring(L, d->p, n);
        lua_pushnumber(L, strtod(lua_tostring(L, -1), NULL));
        lua_remove(L, -2);
    } else {
        memcpy(buf, d->p, n);
        buf[n] = 0;
        lua_pushnumber(L, strtod(buf, NULL));
    }
    d->p = p;
    return 0;
}

static int get_value(lua_State *L, dec *d);

/* the elements of a list ([) or the members of an object ({) at d->p */
static int get_container(lua_State *L, dec *d)
{
    int list = *d->p == '[';
    char close = list ? ']' : '}';
    /* room for the table, a key and a string being unescaped (up to 11) */
    if (d->depth >= MAX_DEPTH || !lua_checkstack(L, 24)) return dfail(d, TOO_DEEP);
    d->depth++;
    d->p++;
    lua_newtable(L);
    int t = lua_gettop(L), i = 0;
    skip_ws(d);
    if (d->p < d->end && *d->p == close) d->p++;
    else for (;;) {
        if (!list) {
            if (d->p >= d->end || *d->p != '"') return dfail(d, "expected a string (an object's key)");
            if (get_string(L, d)) return -1;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':') return dfail(d, "expected ':' after an object's key");
            d->p++;
        }
        if (get_value(L, d)) return -1;
        if (list) lua_rawseti(L, t, ++i);
        else lua_rawset(L, t);
        skip_ws(d);
        if (d->p < d->end && *d->p == ',') { d->p++; skip_ws(d); continue; }
        if (d->p < d->end && *d->p == close) { d->p++; break; }
        return dfail(d, list ? "expected ',' or ']'" : "expected ',' or '}'");
    }
    if (list) {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_setmetatable(L, t);
    }
    d->depth--;
    return 0;
}

static int literal(dec *d, const char *word, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) return dfail(d, "unexpected character");
    d->p += n;
    return 0;
}

static int get_value(lua_State *L, dec *d)
{
    skip_ws(d);
    if (d->p >= d->end) return dfail(d, "unexpected end of the text");
    switch (*d->p) {
    case '{': case '[': return get_container(L, d);
    case '"': return get_string(L, d);
    case 't': if (literal(d, "true", 4)) return -1; lua_pushboolean(L, 1); return 0;
    case 'f': if (literal(d, "false", 5)) return -1; lua_pushboolean(L, 0); return 0;
    case 'n': if (literal(d, "null", 4)) return -1; lua_pushlightuserdata(L, NULL); return 0;
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) return get_number(L, d);
        return dfail(d, "unexpected character");
    }
}

static int l_decode(lua_State *L)
{
    size_t n;
    if (lua_type(L, 1) != LUA_TSTRING) { lua_pushnil(L); lua_pushliteral(L, "expected a string to decode"); return 2; }
    const char *s = lua_tolstring(L, 1, &n);
    dec d = { s, s, s + n, NULL, 0 };
    int top = lua_gettop(L);
    if (get_value(L, &d) == 0) {
        skip_ws(&d);
        if (d.p == d.end) return 1;
        d.err = "text after the value";
    }
    lua_settop(L, top);
    int line = 1;
    const char *bol = s;
    for (const char *q = s; q < d.p; q++) if (*q == '\n') { line++; bol = q + 1; }
    lua_pushnil(L);
    lua_pushfstring(L, "%d:%d: %s", line, (int)(d.p - bol) + 1, d.err);
    return 2;
}

int luaopen_vcli_jsonfmt(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "vcli.array_mt"); /* vcli.yaml's too: whichever opens first makes it */
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushliteral(L, "array");
        lua_setfield(L, -2, "__name");
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "vcli.array_mt");
    }
    lua_newtable(L);
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, l_encode, 1);
    lua_setfield(L, -2, "encode");
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, l_decode, 1);
    lua_setfield(L, -2, "decode");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "array_mt");
    lua_remove(L, -2);
    return 1;
}
