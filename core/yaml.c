/* vcli.yaml — YAML in and out, the way Kubernetes users read and write it.
 * Decoding walks libyaml's event stream and builds tables directly on the
 * Lua stack (no intermediate tree), so a 1 MB manifest costs one pass.
 * Encoding is hand-written rather than libyaml's emitter: kubectl's layout
 * (sorted keys, "- key: v" lists at the parent's indent, quoting only what
 * would otherwise change type) is easier to get exactly right by hand. */
#include "vcli.h"
#include "codec.h"
#include <yaml.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200
/* Aliases share one Lua table, so decoding is cheap, but whoever walks the
 * result (encode, JSON, a printer) pays the expanded size: cap that. */
#define MAX_ALIAS_NODES 1000000

#define T_STR   "tag:yaml.org,2002:str"
#define T_INT   "tag:yaml.org,2002:int"
#define T_FLOAT "tag:yaml.org,2002:float"
#define T_BOOL  "tag:yaml.org,2002:bool"
#define T_NULL  "tag:yaml.org,2002:null"
#define T_BIN   "tag:yaml.org,2002:binary"

/* The metatable marking decoded sequences, so empty lists encode as []:
 * one per state (each plugin has its own), in the registry, shared with
 * vcli.jsonfmt (whichever opens first makes it). */
static void push_array_mt(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "vcli.array_mt");
    if (lua_istable(L, -1)) return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "vcli.array_mt");
}

/* ======================================================================
 * scalar resolution
 * ==================================================================== */
enum { R_STR, R_NULL, R_BOOL, R_NUM };

static int all_in(const char *s, size_t n, const char *set)
{
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i])) return 0;
    return 1;
}

static int is_null_word(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static int bool_word(const char *s, size_t n)
{
    if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))) return 1;
    if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))) return 0;
    return -1;
}

/* Numbers of the YAML 1.2 core schema, plus one YAML 1.1 rule kubectl users
 * rely on: a leading-zero integer such as `defaultMode: 0644` is octal. */
static int parse_number(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0) return 0;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-' || s[0] == '+') { neg = s[0] == '-'; i = 1; }
    const char *p = s + i;
    size_t m = n - i;
    if (m == 0) return 0;
    if (m == 4 && p[0] == '.' && (!memcmp(p, ".inf", 4) || !memcmp(p, ".Inf", 4) || !memcmp(p, ".INF", 4))) {
        *out = neg ? -HUGE_VAL : HUGE_VAL;
        return 1;
    }
    if (i == 0 && m == 4 && (!memcmp(p, ".nan", 4) || !memcmp(p, ".NaN", 4) || !memcmp(p, ".NAN", 4))) {
        *out = NAN;
        return 1;
    }
    if (i == 0 && m > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'o')) {
        int hex = p[1] == 'x';
        if (!all_in(p + 2, m - 2, hex ? "0123456789abcdefABCDEF" : "01234567")) return 0;
        double v = 0;
        for (size_t k = 2; k < m; k++) {
            int c = p[k], d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
            v = v * (hex ? 16 : 8) + d;
        }
        *out = v;
        return 1;
    }
    /* [0-9]+ | [0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)? | \.[0-9]+(...)? */
    size_t k = 0, intd = 0, fracd = 0;
    while (k < m && p[k] >= '0' && p[k] <= '9') k++, intd++;
    int isint = k == m;
    if (isint) {
        if (intd > 1 && p[0] == '0' && all_in(p, m, "01234567")) {
            double v = 0;
            for (size_t j = 0; j < m; j++) v = v * 8 + (p[j] - '0');
            *out = neg ? -v : v;
            return 1;
        }
    } else {
        if (p[k] == '.') {
            k++;
            while (k < m && p[k] >= '0' && p[k] <= '9') k++, fracd++;
            if (intd == 0 && fracd == 0) return 0;
        } else if (intd == 0) {
            return 0;
        }
        if (k < m && (p[k] == 'e' || p[k] == 'E')) {
            k++;
            if (k < m && (p[k] == '-' || p[k] == '+')) k++;
            size_t expd = 0;
            while (k < m && p[k] >= '0' && p[k] <= '9') k++, expd++;
            if (!expd) return 0;
        }
        if (k != m) return 0;
    }
    /* strtod wants a NUL-terminated copy. */
    if (n < sizeof buf) {
        memcpy(buf, s, n);
        buf[n] = 0;
        *out = strtod(buf, NULL);
    } else {
        char *tmp = malloc(n + 1);
        if (!tmp) return 0;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        *out = strtod(tmp, NULL);
        free(tmp);
    }
    return 1;
}

/* What a plain (unquoted, untagged) scalar means. */
static int resolve_plain(const char *s, size_t n, double *num, int *b)
{
    if (n == 0) return R_NULL;
    if (!strchr("nN~tTfF0123456789+-.", s[0])) return R_STR;
    if (is_null_word(s, n)) return R_NULL;
    if ((*b = bool_word(s, n)) >= 0) return R_BOOL;
    if (parse_number(s, n, num)) return R_NUM;
    return R_STR;
}

/* ======================================================================
 * base64 (for !!binary, the only way YAML carries non-UTF-8 bytes): codec.c's
 * ==================================================================== */
static int b64_decode(lua_State *L, const char *s, size_t n)
{
    /* codec's decoder stops at '='; padding must end the value (only whitespace after it) */
    size_t eq = n;
    for (size_t i = 0; i < n; i++) if (s[i] == '=') { eq = i; break; }
    for (size_t i = eq; i < n; i++)
        if (s[i] != '=' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') { lua_pushnil(L); return 0; }
    for (size_t i = 0; i < eq; i++)   /* the standard alphabet only, as YAML's !!binary */
        if (s[i] == '-' || s[i] == '_') { lua_pushnil(L); return 0; }
    unsigned char *out = malloc(eq * 3 / 4 + 4);
    if (!out) luaL_error(L, "yaml: out of memory");
    size_t len = codec_b64_decode(s, eq, out);
    if (len == (size_t)-1) { free(out); lua_pushnil(L); return 0; }
    lua_pushlstring(L, (const char *)out, len);
    free(out);
    return 1;
}

/* ======================================================================
 * decoding
 * ==================================================================== */
typedef struct {
    int kind;               /* 'm' or 's' */
    int tidx, lidx;         /* stack slots: the table, its lines table (0: none) */
    int n;                  /* sequence length so far */
    int have_key;           /* a key string sits on top of the table */
    int merge_key;          /* ...and it is the merge key "<<" */
    int merges;             /* merge sources pending in work[depth] */
    size_t key_line, key_col;
    size_t line, col;       /* where the collection starts (1-based) */
    size_t nodes;           /* expanded node count, for the alias limit */
    char *anchor;
} frame;

typedef struct {
    const char *text;
    size_t len;
    const char *name;
    int want_lines, all;
    yaml_parser_t parser;
    int parser_ok;
    yaml_event_t ev;
    int have_ev;
    frame *fr;
    int depth;
    size_t alias_nodes;
    /* stack slots in the protected call */
    int anchors, asize, work, lines, docs;
} dctx;

static size_t line_of_offset(dctx *c, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off && i < c->len; i++) if (c->text[i] == '\n') line++;
    return line;
}

/* Raise "<name>:<line>:<col>: <problem>[ (<context>)]". */
static int derr(lua_State *L, dctx *c, size_t line, size_t col, const char *problem, const char *context)
{
    if (context && *context)
        lua_pushfstring(L, "%s:%d:%d: %s (%s)", c->name, (int)line, (int)col, problem, context);
    else
        lua_pushfstring(L, "%s:%d:%d: %s", c->name, (int)line, (int)col, problem);
    return lua_error(L);
}

static int parse_error(lua_State *L, dctx *c)
{
    yaml_parser_t *p = &c->parser;
    const char *problem = p->problem ? p->problem : "cannot parse";
    char ctx[256] = "";
    size_t line, col;
    if (p->error == YAML_READER_ERROR) {
        line = line_of_offset(c, p->problem_offset);
        size_t o = p->problem_offset, bol = o;
        while (bol > 0 && c->text[bol - 1] != '\n') bol--;
        col = o - bol + 1;
        snprintf(ctx, sizeof ctx, "byte 0x%02x; YAML text must be UTF-8", (unsigned)(p->problem_value & 0xff));
    } else {
        line = p->problem_mark.line + 1;
        col = p->problem_mark.column + 1;
        size_t at = p->problem_mark.index;
        /* Tabs are the classic mistake; libyaml's message does not say so. */
        if (at < c->len && c->text[at] == '\t' && p->error == YAML_SCANNER_ERROR) {
            problem = "found a tab character where YAML expects indentation or a token";
            snprintf(ctx, sizeof ctx, "indent with spaces, not tabs");
        } else if (p->context) {
            if (p->context_mark.line != p->problem_mark.line || p->context_mark.column != p->problem_mark.column)
                snprintf(ctx, sizeof ctx, "%s at line %d", p->context, (int)p->context_mark.line + 1);
            else
                snprintf(ctx, sizeof ctx, "%s", p->context);
        }
    }
    return derr(L, c, line, col, problem, ctx);
}

static void next_event(lua_State *L, dctx *c)
{
    if (c->have_ev) { yaml_event_delete(&c->ev); c->have_ev = 0; }
    if (!yaml_parser_parse(&c->parser, &c->ev)) parse_error(L, c);
    c->have_ev = 1;
}

/* Turn the value on top of the stack into a mapping key string. */
static void to_key(lua_State *L, dctx *c, size_t line, size_t col)
{
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: return;
    case LUA_TNUMBER: lua_tostring(L, -1); return;  /* converts in place */
    case LUA_TBOOLEAN: {
        int b = lua_toboolean(L, -1);
        lua_pop(L, 1);
        lua_pushstring(L, b ? "true" : "false");
        return;
    }
    case LUA_TLIGHTUSERDATA:
        lua_pop(L, 1);
        lua_pushliteral(L, "null");
        return;
    default:
        derr(L, c, line, col, "a mapping key must be a scalar", "vcli.yaml supports string keys only");
    }
}

static const char *show_key(lua_State *L, int idx)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char buf[80];
    snprintf(buf, sizeof buf, n > 60 ? "\"%.60s...\"" : "\"%s\"", s);
    lua_pushstring(L, buf);
    return lua_tostring(L, -1);
}

/* The finished value on top of the stack joins the enclosing collection (or
 * becomes the document). line/col: where the value starts. */
static void add_value(lua_State *L, dctx *c, size_t line, size_t col, size_t nodes, int is_merge_key)
{
    if (c->depth == 0) {
        lua_rawseti(L, c->docs, (int)lua_objlen(L, c->docs) + 1);
        return;
    }
    frame *f = &c->fr[c->depth - 1];
    f->nodes += nodes;
    if (f->kind == 's') {
        f->n++;
        lua_rawseti(L, f->tidx, f->n);
        if (f->lidx) {
            lua_pushnumber(L, (lua_Number)line);
            lua_rawseti(L, f->lidx, f->n);
        }
        return;
    }
    if (!f->have_key) {
        to_key(L, c, line, col);
        f->have_key = 1;
        f->merge_key = is_merge_key;
        f->key_line = line;
        f->key_col = col;
        return;
    }
    /* stack: ... table [lines] key value */
    if (f->merge_key) {
        int ok = lua_istable(L, -1);
        if (ok && lua_getmetatable(L, -1)) {
            push_array_mt(L);
            int isarr = lua_rawequal(L, -1, -2);
            lua_pop(L, 2);
            if (isarr) {   /* a list of mappings: each must be a mapping */
                int n = (int)lua_objlen(L, -1);
                for (int i = 1; i <= n && ok; i++) {
                    lua_rawgeti(L, -1, i);
                    ok = lua_istable(L, -1);
                    if (ok && lua_getmetatable(L, -1)) { ok = 0; lua_pop(L, 1); }
                    lua_pop(L, 1);
                }
            }
        }
        if (!ok) derr(L, c, line, col, "the merge key << needs a mapping or a list of mappings", NULL);
        /* work[depth] = list of sources, applied when the mapping ends so
         * that the mapping's own keys win wherever they appear. */
        lua_rawgeti(L, c->work, c->depth);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_rawseti(L, c->work, c->depth);
        }
        lua_insert(L, -2);
        lua_rawseti(L, -2, ++f->merges);
        lua_pop(L, 2);      /* the list, the key */
        f->have_key = 0;
        return;
    }
    lua_pushvalue(L, -2);
    lua_rawget(L, f->tidx);
    if (!lua_isnil(L, -1)) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "in the mapping that starts at line %d", (int)f->line);
        lua_pop(L, 1);
        const char *k = show_key(L, -2);
        derr(L, c, f->key_line, f->key_col, lua_pushfstring(L, "duplicate key %s", k), ctx);
    }
    lua_pop(L, 1);
    if (f->lidx) {
        lua_pushvalue(L, -2);
        lua_pushnumber(L, (lua_Number)f->key_line);
        lua_rawset(L, f->lidx);
    }
    lua_rawset(L, f->tidx);
    f->have_key = 0;
}

static void apply_merges(lua_State *L, dctx *c, frame *f)
{
    lua_rawgeti(L, c->work, c->depth);
    int list = lua_gettop(L);
    for (int i = 1; i <= f->merges; i++) {
        lua_rawgeti(L, list, i);
        int src = lua_gettop(L);
        int nsrc = 1, arr = 0;
        if (lua_getmetatable(L, src)) { lua_pop(L, 1); arr = 1; nsrc = (int)lua_objlen(L, src); }
        for (int j = 1; j <= nsrc; j++) {
            if (arr) lua_rawgeti(L, src, j); else lua_pushvalue(L, src);
            int m = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, m)) {
                lua_pushvalue(L, -2);
                lua_rawget(L, f->tidx);
                int absent = lua_isnil(L, -1);
                lua_pop(L, 1);
                if (absent) {
                    if (f->lidx) {
                        lua_pushvalue(L, -2);
                        lua_pushnumber(L, (lua_Number)f->line);
                        lua_rawset(L, f->lidx);
                    }
                    lua_pushvalue(L, -2);
                    lua_insert(L, -2);
                    lua_rawset(L, f->tidx);
                } else {
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, c->work, c->depth);
}

static void set_anchor(lua_State *L, dctx *c, const char *anchor, size_t nodes)
{
    if (!anchor) return;
    lua_pushvalue(L, -1);
    lua_setfield(L, c->anchors, anchor);
    lua_pushnumber(L, (lua_Number)nodes);
    lua_setfield(L, c->asize, anchor);
}

static void push_scalar(lua_State *L, dctx *c, yaml_event_t *e, int as_key)
{
    const char *s = (const char *)e->data.scalar.value;
    size_t n = e->data.scalar.length;
    const char *tag = (const char *)e->data.scalar.tag;
    int plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    size_t line = e->start_mark.line + 1, col = e->start_mark.column + 1;
    double num;
    int b;
    if (as_key && !(tag && !strcmp(tag, T_BIN))) {
        lua_pushlstring(L, s, n);
        return;
    }
    if (tag && strcmp(tag, "!") != 0) {
        if (!strcmp(tag, T_STR)) { lua_pushlstring(L, s, n); return; }
        if (!strcmp(tag, T_NULL)) {
            if (!is_null_word(s, n)) derr(L, c, line, col, lua_pushfstring(L, "invalid !!null value \"%s\"", s), NULL);
            lua_pushlightuserdata(L, NULL);
            return;
        }
        if (!strcmp(tag, T_BOOL)) {
            if ((b = bool_word(s, n)) < 0) derr(L, c, line, col, lua_pushfstring(L, "invalid !!bool value \"%s\"", s), NULL);
            lua_pushboolean(L, b);
            return;
        }
        if (!strcmp(tag, T_INT) || !strcmp(tag, T_FLOAT)) {
            int isint = tag[18] == 'i';
            if (!parse_number(s, n, &num) || (isint && num != floor(num)))
                derr(L, c, line, col, lua_pushfstring(L, "invalid %s value \"%s\"", isint ? "!!int" : "!!float", s), NULL);
            lua_pushnumber(L, num);
            return;
        }
        if (!strcmp(tag, T_BIN)) {
            if (!b64_decode(L, s, n)) derr(L, c, line, col, "invalid base64 in a !!binary value", NULL);
            return;
        }
        /* Unknown tags (!Ref, !!timestamp...) do not change the value. */
    } else if (tag) {
        plain = 0;      /* "! foo": explicitly a string */
    }
    if (!plain) { lua_pushlstring(L, s, n); return; }
    switch (resolve_plain(s, n, &num, &b)) {
    case R_NULL: lua_pushlightuserdata(L, NULL); break;
    case R_BOOL: lua_pushboolean(L, b); break;
    case R_NUM: lua_pushnumber(L, num); break;
    default: lua_pushlstring(L, s, n);
    }
}

static void start_collection(lua_State *L, dctx *c, yaml_event_t *e, int kind)
{
    size_t line = e->start_mark.line + 1, col = e->start_mark.column + 1;
    if (c->depth > 0) {
        frame *p = &c->fr[c->depth - 1];
        if (p->kind == 'm' && !p->have_key)
            derr(L, c, line, col, "a mapping key must be a scalar", "vcli.yaml supports string keys only");
    }
    if (c->depth >= MAX_DEPTH)
        derr(L, c, line, col, lua_pushfstring(L, "nesting deeper than %d levels", MAX_DEPTH), NULL);
    if (!lua_checkstack(L, 8)) derr(L, c, line, col, "out of Lua stack", NULL);
    frame *f = &c->fr[c->depth++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->line = line;
    f->col = col;
    f->nodes = 1;
    const char *anchor = (const char *)(kind == 'm' ? e->data.mapping_start.anchor : e->data.sequence_start.anchor);
    if (anchor) f->anchor = strdup(anchor);
    lua_newtable(L);
    f->tidx = lua_gettop(L);
    if (kind == 's') {
        push_array_mt(L);
        lua_setmetatable(L, f->tidx);
    }
    if (c->want_lines) {
        lua_newtable(L);
        f->lidx = lua_gettop(L);
        lua_pushnumber(L, (lua_Number)line);
        lua_setfield(L, f->lidx, "__line");
        lua_pushvalue(L, f->tidx);
        lua_pushvalue(L, f->lidx);
        lua_rawset(L, c->lines);
    }
}

static void end_collection(lua_State *L, dctx *c)
{
    frame *f = &c->fr[c->depth - 1];
    if (f->merges) apply_merges(L, c, f);
    lua_settop(L, f->tidx);
    set_anchor(L, c, f->anchor, f->nodes);
    free(f->anchor);
    f->anchor = NULL;
    size_t line = f->line, col = f->col, nodes = f->nodes;
    c->depth--;
    add_value(L, c, line, col, nodes, 0);
}

static int decode_inner(lua_State *L)
{
    dctx *c = lua_touserdata(L, 1);
    lua_settop(L, 1);
    lua_newtable(L); c->anchors = lua_gettop(L);
    lua_newtable(L); c->asize = lua_gettop(L);
    lua_newtable(L); c->work = lua_gettop(L);
    if (c->want_lines) {
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
    } else {
        lua_pushnil(L);
    }
    c->lines = lua_gettop(L);
    lua_newtable(L); c->docs = lua_gettop(L);

    int ndocs = 0;
    for (;;) {
        next_event(L, c);
        yaml_event_t *e = &c->ev;
        size_t line = e->start_mark.line + 1, col = e->start_mark.column + 1;
        switch (e->type) {
        case YAML_STREAM_START_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            if (c->all) { lua_pushvalue(L, c->docs); }
            else if (ndocs == 0) lua_pushlightuserdata(L, NULL);
            else lua_rawgeti(L, c->docs, 1);
            lua_pushvalue(L, c->lines);
            return 2;
        case YAML_DOCUMENT_START_EVENT:
            if (!c->all && ndocs > 0)
                derr(L, c, line, col, "found a second document", "yaml.decode reads one; use yaml.decode_all for a --- stream");
            lua_newtable(L); lua_replace(L, c->anchors);
            lua_newtable(L); lua_replace(L, c->asize);
            break;
        case YAML_DOCUMENT_END_EVENT:
            ndocs++;
            break;
        case YAML_ALIAS_EVENT: {
            const char *a = (const char *)e->data.alias.anchor;
            lua_getfield(L, c->anchors, a);
            if (lua_isnil(L, -1))
                derr(L, c, line, col, lua_pushfstring(L, "unknown alias *%s", a),
                     "an alias must come after its anchor and outside of it");
            lua_getfield(L, c->asize, a);
            size_t nodes = (size_t)lua_tonumber(L, -1);
            lua_pop(L, 1);
            c->alias_nodes += nodes;
            if (c->alias_nodes > MAX_ALIAS_NODES)
                derr(L, c, line, col, lua_pushfstring(L, "aliases expand to more than %d nodes", MAX_ALIAS_NODES),
                     "refusing a \"billion laughs\" document");
            if (c->depth > 0 && c->fr[c->depth - 1].kind == 'm' && !c->fr[c->depth - 1].have_key)
                to_key(L, c, line, col);
            add_value(L, c, line, col, nodes, 0);
            break;
        }
        case YAML_SCALAR_EVENT: {
            int as_key = c->depth > 0 && c->fr[c->depth - 1].kind == 'm' && !c->fr[c->depth - 1].have_key;
            if (!lua_checkstack(L, 4)) derr(L, c, line, col, "out of Lua stack", NULL);
            /* The document root: an empty plain scalar stands for "no content". */
            if (c->depth == 0 && c->all && e->data.scalar.length == 0 &&
                e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag) {
                break;

            }
            push_scalar(L, c, e, as_key);
            const char *anchor = (const char *)e->data.scalar.anchor;
            if (anchor) set_anchor(L, c, anchor, 1);
            int merge = as_key && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                        e->data.scalar.length == 2 && !memcmp(e->data.scalar.value, "<<", 2) && !e->data.scalar.tag;
            add_value(L, c, line, col, 1, merge);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
            start_collection(L, c, e, 's');
            break;
        case YAML_MAPPING_START_EVENT:
            start_collection(L, c, e, 'm');
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            end_collection(L, c);
            break;
        default:
            break;
        }
    }
}

static int decode(lua_State *L, int all)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "<string>");
    int want_lines = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "lines");
        want_lines = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    dctx c;
    memset(&c, 0, sizeof c);
    c.text = text;
    c.len = len;
    c.name = name;
    c.want_lines = want_lines;
    c.all = all;
    c.fr = malloc(sizeof(frame) * MAX_DEPTH);
    if (!c.fr || !yaml_parser_initialize(&c.parser)) {
        free(c.fr);
        return luaL_error(L, "yaml: out of memory");
    }
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    int top = lua_gettop(L);
    lua_pushcfunction(L, decode_inner);
    lua_pushlightuserdata(L, &c);
    int rc = lua_pcall(L, 1, 2, 0);
    if (c.have_ev) yaml_event_delete(&c.ev);
    yaml_parser_delete(&c.parser);
    for (int i = 0; i < MAX_DEPTH && i < c.depth; i++) free(c.fr[i].anchor);
    free(c.fr);
    if (rc != 0) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    (void)top;
    if (!want_lines) lua_pop(L, 1);
    return want_lines ? 2 : 1;
}

/* yaml.decode(text [, name [, {lines=true}]]) -> value [, lines] | nil, err */
static int l_decode(lua_State *L) { return decode(L, 0); }
/* yaml.decode_all(text [, name [, opts]]) -> {doc, ...} [, lines] | nil, err */
static int l_decode_all(lua_State *L) { return decode(L, 1); }

/* ======================================================================
 * encoding
 * ==================================================================== */
typedef struct {
    char *p;
    size_t n, cap;
    int visiting;           /* stack slot: tables on the current path */
    int depth;
    int open_line;          /* a literal block ended: its last line break is still to come */
} ectx;

static void out(lua_State *L, ectx *e, const char *s, size_t n)
{
    e->open_line = 0;
    if (e->n + n + 1 > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        while (cap < e->n + n + 1) cap *= 2;
        char *q = realloc(e->p, cap);
        if (!q) luaL_error(L, "yaml.encode: out of memory");
        e->p = q;
        e->cap = cap;
    }
    memcpy(e->p + e->n, s, n);
    e->n += n;
}
#define OUTS(L, e, s) out(L, e, s, strlen(s))

static void indent(lua_State *L, ectx *e, int n)
{
    static const char sp[] = "                                ";
    while (n > 0) {
        int k = n > 32 ? 32 : n;
        out(L, e, sp, (size_t)k);
        n -= k;
    }
}

/* Length of the valid UTF-8 sequence at s (0: invalid), and its code point. */
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    size_t len;
    unsigned min;
    if ((c & 0xe0) == 0xc0) { len = 2; *cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { len = 3; *cp = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { len = 4; *cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
    return len;
}

/* Characters a YAML reader would not take verbatim (or would fold). */
static int needs_escape(unsigned cp)
{
    if (cp == '\t') return 0;
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

enum { S_PLAIN, S_SINGLE, S_DOUBLE, S_LITERAL, S_BINARY };

static int yaml11_word(const char *s, size_t n)
{
    static const char *words[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                  "on", "On", "ON", "off", "Off", "OFF", NULL};
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && !memcmp(words[i], s, n)) return 1;
    return 0;
}

/* Strings that kubectl's YAML library (go-yaml v2, YAML 1.1 rules) reads as
 * something else, so they are quoted to stay strings: what Go's ParseInt or
 * ParseFloat accepts once underscores are dropped (tried only when the text
 * starts with a digit, a sign or a dot), sexagesimal numbers ("1:20"), and
 * timestamps. "127.0.0.1" or "1.2.3" are no numbers there: they stay plain,
 * as kubectl prints them. */
static int yaml11_numberish(const char *s, size_t n)
{
    char buf[128];
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i >= n || n >= sizeof buf) return 0;
    if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) return 0;
    if (n - i > 2 && s[i] == '0' && strchr("bxoBXO", s[i + 1])) {
        /* 0b…, 0o…, 0x… are numbers only with the digits of their base
         * ("0b79d5…", a token, is a string to Go's ParseInt) */
        char b = (char)(s[i + 1] | 0x20);
        const char *digits = b == 'b' ? "01_" : b == 'o' ? "01234567_" : "0123456789abcdefABCDEF_";
        if (all_in(s + i + 2, n - i - 2, digits)) return 1;
    }
    size_t m = 0;
    for (size_t k = 0; k < n; k++) if (s[k] != '_') buf[m++] = s[k];
    buf[m] = 0;
    char *end;
    (void)strtoll(buf, &end, 10);
    if (*end == 0 && end != buf) return 1;
    (void)strtod(buf, &end);
    if (*end == 0 && end != buf) return 1;
    /* [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)? */
    size_t k = i;
    while (k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == '_')) k++;
    if (k > i && k < n && s[k] == ':') {
        int groups = 0;
        while (k < n && s[k] == ':') {
            size_t d = ++k;
            while (k < n && s[k] >= '0' && s[k] <= '9') k++;
            if (k - d < 1 || k - d > 2 || (k - d == 2 && s[d] > '5')) { groups = -1; break; }
            groups++;
        }
        if (groups > 0 && k < n && s[k] == '.') { k++; while (k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == '_')) k++; }
        if (groups > 0 && k == n) return 1;
    }
    /* 2001-12-14, 2001-12-14T21:59:43Z: timestamps in YAML 1.1 */
    return n >= 8 && all_in(s, 4, "0123456789") && s[4] == '-' && s[5] >= '0' && s[5] <= '9';
}

static int choose_style(const char *s, size_t n, int key)
{
    int multiline = 0, escape = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t k = utf8_char((const unsigned char *)s + i, n - i, &cp);
        if (!k) return S_BINARY;
        if (cp == '\n') multiline = 1;
        else if (needs_escape(cp)) escape = 1;
        i += k;
    }
    if (multiline) {
        /* A literal block keeps text as written, but cannot carry trailing
         * spaces on a line, a \r, or text made only of line breaks. */
        int ok = !escape && !key;
        int content = 0;
        for (size_t i = 0; ok && i < n; i++) {
            if (s[i] == '\n') {
                if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')) ok = 0;
            } else {
                content = 1;
            }
        }
        if (ok && (s[n - 1] == ' ' || s[n - 1] == '\t')) ok = 0;
        /* the first content line sets the block's indentation */
        size_t first = 0;
        while (first < n && s[first] == '\n') first++;
        if (ok && first < n && (s[first] == ' ' || s[first] == '\t')) ok = 0;
        return ok && content ? S_LITERAL : S_DOUBLE;
    }
    if (escape) return S_DOUBLE;
    if (n == 0) return S_DOUBLE;
    double num;
    int b;
    if (resolve_plain(s, n, &num, &b) != R_STR || yaml11_word(s, n) || yaml11_numberish(s, n))
        return S_DOUBLE;
    unsigned char c0 = (unsigned char)s[0];
    if (c0 == ' ' || s[n - 1] == ' ' || c0 == '\t' || s[n - 1] == '\t') return S_SINGLE;
    if (strchr("[]{},#&*!|>'\"%@`", c0)) return S_SINGLE;
    if ((c0 == '-' || c0 == '?' || c0 == ':') && (n == 1 || s[1] == ' ' || s[1] == '\t')) return S_SINGLE;
    if (n >= 3 && (!memcmp(s, "---", 3) || !memcmp(s, "...", 3))) return S_SINGLE;
    if (s[n - 1] == ':') return S_SINGLE;
    if (key && n == 2 && s[0] == '<' && s[1] == '<') return S_SINGLE;   /* not the merge key */
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == ':' && (s[i + 1] == ' ' || s[i + 1] == '\t')) return S_SINGLE;
        if ((s[i] == ' ' || s[i] == '\t') && s[i + 1] == '#') return S_SINGLE;
    }
    /* libyaml refuses implicit keys longer than 1024 characters. */
    if (key && n > 1000) return S_DOUBLE;
    return S_PLAIN;
}

static void put_double_quoted(lua_State *L, ectx *e, const char *s, size_t n)
{
    out(L, e, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t k = utf8_char((const unsigned char *)s + i, n - i, &cp);
        const char *esc = NULL;
        char buf[12];
        if (cp == '"') esc = "\\\"";
        else if (cp == '\\') esc = "\\\\";
        else if (cp == '\n') esc = "\\n";
        else if (cp == '\t') esc = "\\t";
        else if (cp == '\r') esc = "\\r";
        else if (cp == 0) esc = "\\0";
        else if (needs_escape(cp)) {
            if (cp <= 0xff) snprintf(buf, sizeof buf, "\\x%02X", cp);
            else snprintf(buf, sizeof buf, "\\u%04X", cp);
            esc = buf;
        }
        if (esc) {
            out(L, e, s + i - run, run);
            run = 0;
            OUTS(L, e, esc);
        } else {
            run += k;
        }
        i += k;
    }
    out(L, e, s + n - run, run);
    out(L, e, "\"", 1);
}

static void put_single_quoted(lua_State *L, ectx *e, const char *s, size_t n)
{
    out(L, e, "'", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') {
            out(L, e, s + start, i + 1 - start);
            out(L, e, "'", 1);
            start = i + 1;
        }
    }
    out(L, e, s + start, n - start);
    out(L, e, "'", 1);
}

static void put_base64(lua_State *L, ectx *e, const unsigned char *s, size_t n)
{
    OUTS(L, e, "!!binary ");
    char buf[4096];
    for (size_t i = 0; i < n; i += 3 * (sizeof buf / 4)) {   /* 1024 groups of 3 bytes at a time */
        size_t m = n - i < 3 * (sizeof buf / 4) ? n - i : 3 * (sizeof buf / 4);
        out(L, e, buf, codec_b64_encode(s + i, m, buf));
    }
}

/* A string scalar; ind is the indentation for a literal block's lines. */
static void put_string(lua_State *L, ectx *e, const char *s, size_t n, int ind, int key)
{
    switch (choose_style(s, n, key)) {
    case S_PLAIN: out(L, e, s, n); break;
    case S_SINGLE: put_single_quoted(L, e, s, n); break;
    case S_DOUBLE: put_double_quoted(L, e, s, n); break;
    case S_BINARY:
        if (key) luaL_error(L, "yaml.encode: a mapping key is not valid UTF-8");
        put_base64(L, e, (const unsigned char *)s, n);
        break;
    case S_LITERAL: {
        size_t trail = 0;
        while (trail < n && s[n - 1 - trail] == '\n') trail++;
        OUTS(L, e, trail == 0 ? "|-" : trail == 1 ? "|" : "|+");
        /* With |+ the breaks beyond the last one come out as empty lines. */
        size_t end = n - (trail ? 1 : 0);
        for (size_t i = 0;;) {
            size_t j = i;
            while (j < end && s[j] != '\n') j++;
            out(L, e, "\n", 1);
            if (j > i) { indent(L, e, ind); out(L, e, s + i, j - i); }
            if (j >= end) break;
            i = j + 1;
        }
        /* (the output may end in an empty line of |+: the block's own last
         * break still has to follow, even at the end of a document) */
        e->open_line = 1;
        break;
    }
    }
}

static void put_number(lua_State *L, ectx *e, double d)
{
    char buf[40];
    if (isnan(d)) OUTS(L, e, ".nan");
    else if (isinf(d)) OUTS(L, e, d > 0 ? ".inf" : "-.inf");
    else if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(buf, sizeof buf, "%.0f", d);
        OUTS(L, e, buf);
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d) break;
        }
        /* "1e+20" reads back as a float in YAML 1.2 but not in 1.1: keep a dot. */
        if (!strchr(buf, '.') && !strchr(buf, 'n') && !strchr(buf, 'i')) {
            char *ex = strchr(buf, 'e');
            if (ex) {
                char tail[24];
                snprintf(tail, sizeof tail, "%s", ex);
                snprintf(ex, sizeof buf - (size_t)(ex - buf), ".0%s", tail);
            }
        }
        OUTS(L, e, buf);
    }
}

static int is_array_mt(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) return 0;
    push_array_mt(L);
    int r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

/* 0: mapping, else 1 + length of a 1..n sequence. */
static int table_kind(lua_State *L, int idx, size_t *len)
{
    int arr = is_array_mt(L, idx);
    size_t n = lua_objlen(L, idx);
    if (arr) { *len = n; return 1; }
    if (n == 0) return 0;
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        if (lua_type(L, -1) != LUA_TNUMBER) { lua_pop(L, 1); return 0; }
    }
    if (count != n) return 0;
    *len = n;
    return 1;
}

typedef struct { const char *s; size_t n; int slot; } ekey;

static int cmp_key(const void *a, const void *b)
{
    const ekey *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, m);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

static void put_value(lua_State *L, ectx *e, int idx, int ind, int inseq);

static int is_nonempty_collection(lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return 0;
    size_t len;
    int k = table_kind(L, idx, &len);
    if (k) return len > 0;
    lua_pushnil(L);
    if (lua_next(L, idx)) { lua_pop(L, 2); return 1; }
    return 0;
}

/* Block mapping at indentation ind. When first_inline, the cursor already
 * sits where the first key goes ("- " of a sequence item). */
static void put_mapping(lua_State *L, ectx *e, int idx, int ind, int first_inline)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
    ekey *keys = lua_newuserdata(L, sizeof(ekey) * (size_t)n);
    lua_createtable(L, n * 2, 0);     /* anchors key strings, remembers raw keys */
    int anchor = lua_gettop(L);
    int i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        int t = lua_type(L, -1);
        if (t != LUA_TSTRING && t != LUA_TNUMBER)
            luaL_error(L, "yaml.encode: cannot encode a %s as a mapping key", lua_typename(L, t));
        lua_pushvalue(L, -1);
        lua_rawseti(L, anchor, 2 * i + 1);
        lua_pushvalue(L, -1);
        if (t == LUA_TNUMBER) {     /* the copy, so lua_next keeps its key */
            double d = lua_tonumber(L, -1);
            if (d == floor(d) && fabs(d) < 9007199254740992.0) {
                char buf[32];
                snprintf(buf, sizeof buf, "%.0f", d);
                lua_pop(L, 1);
                lua_pushstring(L, buf);
            } else {
                lua_tostring(L, -1);
            }
        }
        keys[i].s = lua_tolstring(L, -1, &keys[i].n);
        keys[i].slot = 2 * i + 1;
        lua_rawseti(L, anchor, 2 * i + 2);
        i++;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_key);
    for (i = 0; i < n; i++) {
        if (i > 0 || !first_inline) indent(L, e, ind);
        put_string(L, e, keys[i].s, keys[i].n, ind + 2, 1);
        out(L, e, ":", 1);
        lua_rawgeti(L, anchor, keys[i].slot);
        lua_rawget(L, idx);
        int v = lua_gettop(L);
        if (is_nonempty_collection(L, v)) {
            out(L, e, "\n", 1);
            size_t len;
            /* kubectl writes a list under a key at the key's own indentation. */
            put_value(L, e, v, table_kind(L, v, &len) ? ind : ind + 2, 0);
        } else {
            out(L, e, " ", 1);
            put_value(L, e, v, ind + 2, 0);
            out(L, e, "\n", 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}

static void put_sequence(lua_State *L, ectx *e, int idx, size_t len, int ind, int first_inline)
{
    for (size_t i = 1; i <= len; i++) {
        if (i > 1 || !first_inline) indent(L, e, ind);
        out(L, e, "- ", 2);
        lua_rawgeti(L, idx, (int)i);
        int v = lua_gettop(L);
        if (is_nonempty_collection(L, v)) {
            put_value(L, e, v, ind + 2, 1);
        } else {
            put_value(L, e, v, ind + 2, 0);
            out(L, e, "\n", 1);
        }
        lua_pop(L, 1);
    }
}

/* Writes the value at idx. Scalars and empty collections are written inline
 * without a newline; non-empty collections as blocks ending in a newline. */
static void put_value(lua_State *L, ectx *e, int idx, int ind, int inseq)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: OUTS(L, e, "null"); return;
    case LUA_TBOOLEAN: OUTS(L, e, lua_toboolean(L, idx) ? "true" : "false"); return;
    case LUA_TNUMBER: put_number(L, e, lua_tonumber(L, idx)); return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        put_string(L, e, s, n, ind, 0);
        return;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { OUTS(L, e, "null"); return; }
        /* fallthrough */
    default:
        luaL_error(L, "yaml.encode: cannot encode a %s value", luaL_typename(L, idx));
        return;
    case LUA_TTABLE:
        break;
    }
    if (!lua_checkstack(L, 10)) luaL_error(L, "yaml.encode: nesting too deep");
    if (e->depth >= MAX_DEPTH) luaL_error(L, "yaml.encode: nesting deeper than %d levels", MAX_DEPTH);
    lua_pushvalue(L, idx);
    lua_rawget(L, e->visiting);
    if (!lua_isnil(L, -1)) luaL_error(L, "yaml.encode: cannot encode a table that contains itself (a cycle)");
    lua_pop(L, 1);
    size_t len;
    int seq = table_kind(L, idx, &len);
    if (seq && len == 0) { OUTS(L, e, "[]"); return; }
    if (!seq) {
        lua_pushnil(L);
        int empty = !lua_next(L, idx);
        if (!empty) lua_pop(L, 2);
        if (empty) { OUTS(L, e, "{}"); return; }
    }
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, e->visiting);
    e->depth++;
    if (seq) put_sequence(L, e, idx, len, ind, inseq);
    else put_mapping(L, e, idx, ind, inseq);
    e->depth--;
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, e->visiting);
}

static int encode_inner(lua_State *L)
{
    ectx *e = lua_touserdata(L, 1);
    int all = lua_toboolean(L, 3);
    lua_newtable(L);
    e->visiting = lua_gettop(L);
    if (!all) {
        put_value(L, e, 2, lua_istable(L, 2) ? 0 : 2, 0);
        if (e->open_line || !e->n || e->p[e->n - 1] != '\n') out(L, e, "\n", 1);
        return 0;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t n = lua_objlen(L, 2);
    for (size_t i = 1; i <= n; i++) {
        if (i > 1) OUTS(L, e, "---\n");
        lua_rawgeti(L, 2, (int)i);
        put_value(L, e, lua_gettop(L), lua_istable(L, -1) ? 0 : 2, 0);
        if (e->open_line || !e->n || e->p[e->n - 1] != '\n') out(L, e, "\n", 1);
        lua_pop(L, 1);
    }
    return 0;
}

static int encode(lua_State *L, int all)
{
    if (all) luaL_checktype(L, 1, LUA_TTABLE);
    else luaL_checkany(L, 1);
    ectx e;
    memset(&e, 0, sizeof e);
    lua_pushcfunction(L, encode_inner);
    lua_pushlightuserdata(L, &e);
    lua_pushvalue(L, 1);
    lua_pushboolean(L, all);
    int rc = lua_pcall(L, 3, 0, 0);
    if (rc == 0) lua_pushlstring(L, e.p ? e.p : "", e.n);
    free(e.p);
    if (rc != 0) return lua_error(L);
    return 1;
}

/* yaml.encode(value) -> text; raises on values YAML cannot hold. */
static int l_encode(lua_State *L) { return encode(L, 0); }
/* yaml.encode_all({doc, ...}) -> "doc\n---\ndoc\n" */
static int l_encode_all(lua_State *L) { return encode(L, 1); }

int luaopen_vcli_yaml(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"decode", l_decode}, {"decode_all", l_decode_all},
        {"encode", l_encode}, {"encode_all", l_encode_all}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    push_array_mt(L);
    lua_setfield(L, -2, "array_mt");
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
