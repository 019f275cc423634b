/* vcli.store — durable key/value storage on LMDB, one named database per
 * owner ("core:history", "plugin:kubernetes"), each with an optional quota.
 * LMDB forbids opening one environment twice in a process, so environments
 * are shared per directory; it is multi-process safe through its lock file.
 * Usage (key + value bytes) is kept in a side database and updated in the
 * same write transaction as the data, so it stays exact across crashes. */
#include "vcli.h"
#include <lmdb.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_META "vcli.store.env"
#define DB_META "vcli.store.db"
#define LOCK_META "vcli.store.lock"
#define META_DB ".meta"                 /* names starting with '.' are ours */
#define DEFAULT_MAPSIZE ((size_t)1 << 30)
#define DEFAULT_MAXMAP ((size_t)16 << 30)
#define QUOTA_EXCEEDED (-1)             /* not an LMDB code */

typedef struct senv {
    MDB_env *env;                       /* NULL once closed */
    char *path;
    int refs;                           /* Lua handles (env and db) pointing here */
    size_t maxmap;
    MDB_dbi meta;
    MDB_txn *rtxn;                      /* reset read txn, renewed per read */
    struct senv *next;
} senv;

typedef struct { senv *e; } envud;

typedef struct {
    senv *e;
    MDB_dbi dbi;
    char name[256];
} dbud;

static senv *open_envs;
static int envs_ref = LUA_NOREF;        /* weak table: path -> env userdata */

static void senv_unref(senv *e);

/* ---- environment lifetime --------------------------------------------- */
static void senv_close(senv *e)
{
    if (!e->env) return;
    if (e->rtxn) mdb_txn_abort(e->rtxn);
    e->rtxn = NULL;
    mdb_env_close(e->env);
    e->env = NULL;
    for (senv **p = &open_envs; *p; p = &(*p)->next)
        if (*p == e) { *p = e->next; break; }
}

static void senv_unref(senv *e)
{
    if (--e->refs > 0) return;
    senv_close(e);
    free(e->path);
    free(e);
}

static int mkdirs(const char *dir)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0700) < 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST) return -1;
    struct stat st;
    if (stat(buf, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return -1; }
    return 0;
}

static int fail(lua_State *L, const char *what, const char *msg)
{
    lua_pushnil(L);
    lua_pushfstring(L, "store: %s (%s)", what, msg);
    return 2;
}

static void push_env(lua_State *L, senv *e)
{
    envud *u = lua_newuserdata(L, sizeof *u);
    u->e = e;
    e->refs++;
    luaL_getmetatable(L, ENV_META);
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, envs_ref);
    lua_pushstring(L, e->path);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* store.open(dir [, {mapsize=, maxdbs=, max_mapsize=}]) -> env | nil, err */
static int l_open(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    size_t mapsize = DEFAULT_MAPSIZE, maxmap = DEFAULT_MAXMAP;
    unsigned maxdbs = 256;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "mapsize");
        if (!lua_isnil(L, -1)) mapsize = (size_t)luaL_checknumber(L, -1);
        lua_getfield(L, 2, "maxdbs");
        if (!lua_isnil(L, -1)) maxdbs = (unsigned)luaL_checknumber(L, -1);
        lua_getfield(L, 2, "max_mapsize");
        if (!lua_isnil(L, -1)) maxmap = (size_t)luaL_checknumber(L, -1);
        lua_pop(L, 3);
    }
    if (mapsize < 65536) mapsize = 65536;
    if (maxmap < mapsize) maxmap = mapsize;
    if (mkdirs(dir) < 0)
        return fail(L, lua_pushfstring(L, "cannot create directory %s", dir), strerror(errno));
    char real[PATH_MAX];
    if (!realpath(dir, real)) return fail(L, lua_pushfstring(L, "cannot open %s", dir), strerror(errno));

    lua_rawgeti(L, LUA_REGISTRYINDEX, envs_ref);
    lua_getfield(L, -1, real);
    if (!lua_isnil(L, -1)) {
        envud *u = lua_touserdata(L, -1);
        if (u && u->e && u->e->env) return 1;
    }
    lua_pop(L, 2);
    /* The Lua handle may be gone (awaiting __gc) while the env is still
     * open: share it rather than open the same files twice. */
    for (senv *e = open_envs; e; e = e->next)
        if (!strcmp(e->path, real)) { push_env(L, e); return 1; }

    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc) return fail(L, "cannot create an environment", mdb_strerror(rc));
    mdb_env_set_maxdbs(env, maxdbs + 1);
    mdb_env_set_mapsize(env, mapsize);
    rc = mdb_env_open(env, real, MDB_NOTLS, 0600);
    if (rc) {
        mdb_env_close(env);
        return fail(L, lua_pushfstring(L, "cannot open %s", real), mdb_strerror(rc));
    }
    MDB_txn *txn;
    MDB_dbi meta = 0;
    rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (!rc) rc = mdb_dbi_open(txn, META_DB, MDB_CREATE, &meta);
    if (!rc) rc = mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
    if (rc) {
        mdb_env_close(env);
        return fail(L, lua_pushfstring(L, "cannot open %s", real), mdb_strerror(rc));
    }
    senv *e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(real))) {
        free(e);
        mdb_env_close(env);
        return luaL_error(L, "store: out of memory");
    }
    e->env = env;
    e->maxmap = maxmap;
    e->meta = meta;
    e->next = open_envs;
    open_envs = e;
    push_env(L, e);
    return 1;
}

static senv *check_env(lua_State *L, int idx)
{
    envud *u = vcli_checkudata(L, idx, ENV_META);
    if (!u->e || !u->e->env) luaL_error(L, "store: the environment is closed");
    return u->e;
}

static int env_gc(lua_State *L)
{
    envud *u = vcli_checkudata(L, 1, ENV_META);
    if (u->e) senv_unref(u->e);
    u->e = NULL;
    return 0;
}

/* env:close(): every handle on this directory stops working. */
static int env_close(lua_State *L)
{
    envud *u = vcli_checkudata(L, 1, ENV_META);
    if (u->e) senv_close(u->e);
    return 0;
}

/* ---- transactions ------------------------------------------------------ */
/* Double the map, up to the limit, when a write ran out of room. */
static int grow(senv *e)
{
    MDB_envinfo info;
    mdb_env_info(e->env, &info);
    if (info.me_mapsize >= e->maxmap) return 0;
    size_t next = info.me_mapsize * 2;
    if (next > e->maxmap) next = e->maxmap;
    if (e->rtxn) { mdb_txn_abort(e->rtxn); e->rtxn = NULL; }
    return mdb_env_set_mapsize(e->env, next) == 0;
}

static int begin(senv *e, unsigned flags, MDB_txn **txn)
{
    int rc;
    for (int tries = 0; tries < 3; tries++) {
        if (flags & MDB_RDONLY && e->rtxn) {
            MDB_txn *t = e->rtxn;
            e->rtxn = NULL;
            rc = mdb_txn_renew(t);
            if (!rc) { *txn = t; return 0; }
            mdb_txn_abort(t);
        }
        rc = mdb_txn_begin(e->env, NULL, flags, txn);
        if (rc != MDB_MAP_RESIZED) return rc;
        /* another process grew the map: adopt its size */
        if (e->rtxn) { mdb_txn_abort(e->rtxn); e->rtxn = NULL; }
        mdb_env_set_mapsize(e->env, 0);
    }
    return rc;
}

static void end_read(senv *e, MDB_txn *txn)
{
    if (e->rtxn || !e->env) { mdb_txn_abort(txn); return; }
    mdb_txn_reset(txn);
    e->rtxn = txn;
}

typedef int (*write_fn)(senv *e, dbud *d, MDB_txn *txn, void *ud);

/* Run fn in a write transaction, growing the map and retrying when full. */
static int run_write(dbud *d, write_fn fn, void *ud)
{
    senv *e = d->e;
    for (;;) {
        MDB_txn *txn;
        int rc = begin(e, 0, &txn);
        if (rc) return rc;
        rc = fn(e, d, txn, ud);
        if (rc == 0) rc = mdb_txn_commit(txn);
        else mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL && grow(e)) continue;
        return rc;
    }
}

/* ---- usage and quota, in the side database ----------------------------- */
static void meta_key(dbud *d, char kind, char *buf, MDB_val *k)
{
    size_t n = strlen(d->name);
    buf[0] = kind;
    buf[1] = ':';
    memcpy(buf + 2, d->name, n);
    k->mv_data = buf;
    k->mv_size = n + 2;
}

static int meta_get(MDB_txn *txn, senv *e, dbud *d, char kind, uint64_t *out)
{
    char buf[260];
    MDB_val k, v;
    meta_key(d, kind, buf, &k);
    int rc = mdb_get(txn, e->meta, &k, &v);
    if (rc) return rc;
    if (v.mv_size != sizeof *out) return MDB_CORRUPTED;
    memcpy(out, v.mv_data, sizeof *out);
    return 0;
}

static int meta_put(MDB_txn *txn, senv *e, dbud *d, char kind, uint64_t val)
{
    char buf[260];
    MDB_val k, v = {sizeof val, &val};
    meta_key(d, kind, buf, &k);
    return mdb_put(txn, e->meta, &k, &v, 0);
}

/* Usage as recorded; a database without a record is measured once. */
static int usage_of(MDB_txn *txn, senv *e, dbud *d, uint64_t *u)
{
    int rc = meta_get(txn, e, d, 'u', u);
    if (rc != MDB_NOTFOUND) return rc;
    MDB_cursor *cur;
    MDB_val k, v;
    *u = 0;
    if ((rc = mdb_cursor_open(txn, d->dbi, &cur))) return rc;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) *u += k.mv_size + v.mv_size;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- databases ---------------------------------------------------------- */
static dbud *check_db(lua_State *L, int idx)
{
    dbud *d = vcli_checkudata(L, idx, DB_META);
    if (!d->e->env) luaL_error(L, "store '%s': the environment is closed", d->name);
    return d;
}

static int db_gc(lua_State *L)
{
    dbud *d = vcli_checkudata(L, 1, DB_META);
    if (d->e) senv_unref(d->e);
    d->e = NULL;
    return 0;
}

/* env:db(name) -> db (created when missing) */
static int env_db(lua_State *L)
{
    senv *e = check_env(L, 1);
    size_t n;
    const char *name = luaL_checklstring(L, 2, &n);
    if (n == 0 || n > 250 || strlen(name) != n || name[0] == '.')
        return luaL_error(L, "store: bad database name '%s' (1-250 bytes, no NUL, not starting with '.')", name);
    MDB_dbi dbi;
    int rc;
    for (;;) {
        MDB_txn *txn;
        rc = begin(e, 0, &txn);
        if (rc) break;
        rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi);
        if (!rc) rc = mdb_txn_commit(txn);
        else mdb_txn_abort(txn);
        if (rc == MDB_MAP_FULL && grow(e)) continue;
        break;
    }
    if (rc) return fail(L, lua_pushfstring(L, "cannot open database '%s'", name), mdb_strerror(rc));
    dbud *d = lua_newuserdata(L, sizeof *d);
    d->e = e;
    e->refs++;
    d->dbi = dbi;
    memcpy(d->name, name, n + 1);
    luaL_getmetatable(L, DB_META);
    lua_setmetatable(L, -2);
    return 1;
}

static const char *check_key(lua_State *L, dbud *d, int idx, size_t *n)
{
    const char *k = luaL_checklstring(L, idx, n);
    int max = mdb_env_get_maxkeysize(d->e->env);
    if (*n == 0) luaL_error(L, "store '%s': keys must not be empty", d->name);
    if (*n > (size_t)max) luaL_error(L, "store '%s': key of %d bytes is too long (at most %d)", d->name, (int)*n, max);
    return k;
}

/* db:get(key) -> value | nil */
static int db_get(lua_State *L)
{
    dbud *d = check_db(L, 1);
    size_t kn;
    const char *ks = check_key(L, d, 2, &kn);
    MDB_txn *txn;
    int rc = begin(d->e, MDB_RDONLY, &txn);
    if (rc) return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    MDB_val k = {kn, (void *)ks}, v;
    rc = mdb_get(txn, d->dbi, &k, &v);
    if (rc == 0) lua_pushlstring(L, v.mv_data, v.mv_size);
    end_read(d->e, txn);
    if (rc == MDB_NOTFOUND) { lua_pushnil(L); return 1; }
    if (rc) return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    return 1;
}

typedef struct { const char *k, *v; size_t kn, vn; int del; } kv;
/* expect: the values the batch is conditional on (del: the key is absent) */
typedef struct { kv *items; size_t n; uint64_t quota, before, after; kv *expect; size_t nexpect; } batch;
#define EXPECTATION_FAILED (-2)         /* not an LMDB code */

static int apply_batch(senv *e, dbud *d, MDB_txn *txn, void *ud)
{
    batch *b = ud;
    uint64_t u;
    int rc;
    for (size_t i = 0; i < b->nexpect; i++) {
        kv *x = &b->expect[i];
        MDB_val k = {x->kn, (void *)x->k}, cur;
        rc = mdb_get(txn, d->dbi, &k, &cur);
        if (rc && rc != MDB_NOTFOUND) return rc;
        if (x->del ? rc == 0 : (rc || cur.mv_size != x->vn || memcmp(cur.mv_data, x->v, x->vn)))
            return EXPECTATION_FAILED;
    }
    rc = usage_of(txn, e, d, &u);
    if (rc) return rc;
    b->before = u;
    for (size_t i = 0; i < b->n; i++) {
        kv *it = &b->items[i];
        MDB_val k = {it->kn, (void *)it->k}, old;
        rc = mdb_get(txn, d->dbi, &k, &old);
        if (rc == 0) u -= it->kn + old.mv_size;
        else if (rc != MDB_NOTFOUND) return rc;
        if (it->del) {
            if (rc == 0 && (rc = mdb_del(txn, d->dbi, &k, NULL))) return rc;
        } else {
            MDB_val v = {it->vn, (void *)it->v};
            if ((rc = mdb_put(txn, d->dbi, &k, &v, 0))) return rc;
            u += it->kn + it->vn;
        }
    }
    b->after = u;
    rc = meta_get(txn, e, d, 'q', &b->quota);
    if (rc == MDB_NOTFOUND) b->quota = 0;
    else if (rc) return rc;
    if (b->quota && u > b->quota && u > b->before) return QUOTA_EXCEEDED;
    return u == b->before ? 0 : meta_put(txn, e, d, 'u', u);
}

static int write_result(lua_State *L, dbud *d, batch *b, int rc, const char *what)
{
    if (rc == EXPECTATION_FAILED) {
        lua_pushnil(L);
        lua_pushliteral(L, "changed");
        return 2;
    }
    if (rc == QUOTA_EXCEEDED) {
        lua_pushnil(L);
        lua_pushfstring(L, "store '%s': quota of %.0f bytes exceeded", d->name, (double)b->quota);
        return 2;
    }
    if (rc) return fail(L, lua_pushfstring(L, "%s '%s' failed", what, d->name),
                        rc == MDB_MAP_FULL ? "the store is full: map size limit reached" : mdb_strerror(rc));
    lua_pushboolean(L, 1);
    return 1;
}

/* db:put(key, value) -> true | nil, err */
static int db_put(lua_State *L)
{
    dbud *d = check_db(L, 1);
    kv it = {0};
    it.k = check_key(L, d, 2, &it.kn);
    it.v = luaL_checklstring(L, 3, &it.vn);
    batch b = {&it, 1, 0, 0, 0, NULL, 0};
    return write_result(L, d, &b, run_write(d, apply_batch, &b), "put into");
}

/* db:del(key) -> true (also when it was missing) */
static int db_del(lua_State *L)
{
    dbud *d = check_db(L, 1);
    kv it = {0};
    it.k = check_key(L, d, 2, &it.kn);
    it.del = 1;
    batch b = {&it, 1, 0, 0, 0, NULL, 0};
    return write_result(L, d, &b, run_write(d, apply_batch, &b), "delete from");
}

/* Items of a {key = string | false} table at idx into a new array (GC'd on error) */
static kv *read_items(lua_State *L, dbud *d, int idx, size_t *count, const char *what)
{
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { lua_pop(L, 1); n++; }
    kv *items = lua_newuserdata(L, sizeof(kv) * (n ? n : 1));
    size_t i = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        kv *it = &items[i++];
        memset(it, 0, sizeof *it);
        if (lua_type(L, -2) != LUA_TSTRING)
        {
            luaL_error(L, "store '%s': %s keys must be strings, got a %s", d->name, what, luaL_typename(L, -2));
            return NULL;
        }
        it->k = check_key(L, d, -2, &it->kn);
        if (lua_type(L, -1) == LUA_TSTRING) it->v = lua_tolstring(L, -1, &it->vn);
        else if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) it->del = 1;
        else {
            luaL_error(L, "store '%s': %s value for '%s' must be a string or false, got a %s",
                       d->name, what, it->k, luaL_typename(L, -1));
            return NULL;
        }
        lua_pop(L, 1);
    }
    *count = n;
    return items;
}

/* db:put_many({key = value | false, ...} [, expect]) -> true | nil, err; all
 * or nothing. expect ({key = value | false}): only if each key holds that
 * value (false: is absent) when the transaction runs; otherwise nothing is
 * written and the answer is nil, "changed" (compare-and-swap). */
static int db_put_many(lua_State *L)
{
    dbud *d = check_db(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int has_expect = !lua_isnoneornil(L, 3);
    if (has_expect) luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);                   /* the item arrays go above the arguments */
    batch b = {0};
    b.items = read_items(L, d, 2, &b.n, "put_many");
    if (has_expect) b.expect = read_items(L, d, 3, &b.nexpect, "put_many expect");
    return write_result(L, d, &b, run_write(d, apply_batch, &b), "put_many into");
}

/* scan/keys: cursor from prefix, while keys start with it. */
static int walk(lua_State *L, int pairs)
{
    dbud *d = check_db(L, 1);
    size_t pn;
    const char *prefix = luaL_optlstring(L, 2, "", &pn);
    lua_Number limit = luaL_optnumber(L, 3, 0);
    MDB_txn *txn;
    int rc = begin(d->e, MDB_RDONLY, &txn);
    if (rc) return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, d->dbi, &cur))) {
        end_read(d->e, txn);
        return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    }
    MDB_val k = {pn, (void *)prefix}, v;
    lua_newtable(L);
    int n = 0;
    rc = mdb_cursor_get(cur, &k, &v, pn ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && (limit <= 0 || n < limit)) {
        if (k.mv_size < pn || memcmp(k.mv_data, prefix, pn) != 0) break;
        if (pairs) {
            lua_createtable(L, 2, 0);
            lua_pushlstring(L, k.mv_data, k.mv_size);
            lua_rawseti(L, -2, 1);
            lua_pushlstring(L, v.mv_data, v.mv_size);
            lua_rawseti(L, -2, 2);
        } else {
            lua_pushlstring(L, k.mv_data, k.mv_size);
        }
        lua_rawseti(L, -2, ++n);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    end_read(d->e, txn);
    return 1;
}

/* db:scan(prefix [, limit]) -> {{key, value}, ...} in key order */
static int db_scan(lua_State *L) { return walk(L, 1); }
/* db:keys(prefix [, limit]) -> {key, ...} */
static int db_keys(lua_State *L) { return walk(L, 0); }

static int db_count(lua_State *L)
{
    dbud *d = check_db(L, 1);
    MDB_txn *txn;
    MDB_stat st;
    int rc = begin(d->e, MDB_RDONLY, &txn);
    if (rc) return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    rc = mdb_stat(txn, d->dbi, &st);
    end_read(d->e, txn);
    if (rc) return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    lua_pushnumber(L, (lua_Number)st.ms_entries);
    return 1;
}

static int clear_fn(senv *e, dbud *d, MDB_txn *txn, void *ud)
{
    int rc = mdb_drop(txn, d->dbi, 0);
    return rc ? rc : meta_put(txn, e, d, 'u', 0);
}

/* db:clear() -> true | nil, err (the quota stays) */
static int db_clear(lua_State *L)
{
    dbud *d = check_db(L, 1);
    batch b = {0};
    return write_result(L, d, &b, run_write(d, clear_fn, NULL), "clear");
}

static int quota_fn(senv *e, dbud *d, MDB_txn *txn, void *ud)
{
    return meta_put(txn, e, d, 'q', *(uint64_t *)ud);
}

/* db:set_quota(bytes) -> true | nil, err; 0 removes the quota. Data already
 * over a new quota stays; only writes that grow it are refused. */
static int db_set_quota(lua_State *L)
{
    dbud *d = check_db(L, 1);
    lua_Number q = luaL_checknumber(L, 2);
    luaL_argcheck(L, q >= 0, 2, "quota must be >= 0");
    uint64_t quota = (uint64_t)q;
    batch b = {0};
    return write_result(L, d, &b, run_write(d, quota_fn, &quota), "set the quota of");
}

/* db:usage() -> bytes, quota */
static int db_usage(lua_State *L)
{
    dbud *d = check_db(L, 1);
    MDB_txn *txn = NULL;
    uint64_t u = 0, q = 0;
    int rc = begin(d->e, MDB_RDONLY, &txn);
    if (rc) txn = NULL;
    if (!rc) rc = usage_of(txn, d->e, d, &u);
    if (!rc && (rc = meta_get(txn, d->e, d, 'q', &q)) == MDB_NOTFOUND) rc = 0;
    if (txn) end_read(d->e, txn);
    if (rc) return fail(L, lua_pushfstring(L, "cannot read '%s'", d->name), mdb_strerror(rc));
    lua_pushnumber(L, (lua_Number)u);
    lua_pushnumber(L, (lua_Number)q);
    return 2;
}

static int db_tostring(lua_State *L)
{
    dbud *d = vcli_checkudata(L, 1, DB_META);
    lua_pushfstring(L, "store '%s'", d->name);
    return 1;
}

/* env:stats() -> {path, mapsize, max_mapsize, used, pagesize, dbs, readers} */
static int env_stats(lua_State *L)
{
    senv *e = check_env(L, 1);
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(e->env, &info);
    mdb_env_stat(e->env, &st);
    lua_createtable(L, 0, 7);
    lua_pushstring(L, e->path); lua_setfield(L, -2, "path");
    lua_pushnumber(L, (lua_Number)info.me_mapsize); lua_setfield(L, -2, "mapsize");
    lua_pushnumber(L, (lua_Number)e->maxmap); lua_setfield(L, -2, "max_mapsize");
    lua_pushnumber(L, (lua_Number)(info.me_last_pgno + 1) * st.ms_psize); lua_setfield(L, -2, "used");
    lua_pushnumber(L, (lua_Number)st.ms_psize); lua_setfield(L, -2, "pagesize");
    lua_pushnumber(L, (lua_Number)info.me_numreaders); lua_setfield(L, -2, "readers");
    /* named databases are the keys of the main one, less our side database */
    lua_pushnumber(L, st.ms_entries > 0 ? (lua_Number)st.ms_entries - 1 : 0);
    lua_setfield(L, -2, "dbs");
    return 1;
}

/* ---- locks ------------------------------------------------------------- */
/* env:lock(name) -> lock | nil, "held"; an exclusive lock of the store
 * directory's file NAME.lock (flock), held until lock:release(), the handle
 * is collected, or the process ends however it ends (kill -9 included: the
 * kernel drops it). Not inherited by child processes. */
typedef struct { int fd; } lockud;

static int env_lock(lua_State *L)
{
    senv *e = check_env(L, 1);
    size_t n;
    const char *name = luaL_checklstring(L, 2, &n);
    if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
        return luaL_error(L, "store: lock names are 1-64 letters, digits, '_' or '-'");
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s.lock", e->path, name) >= (int)sizeof path)
        return fail(L, "cannot lock", "path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail(L, lua_pushfstring(L, "cannot open %s", path), strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        close(fd);
        if (err == EWOULDBLOCK) { lua_pushnil(L); lua_pushliteral(L, "held"); return 2; }
        return fail(L, lua_pushfstring(L, "cannot lock %s", path), strerror(err));
    }
    lockud *u = lua_newuserdata(L, sizeof *u);
    u->fd = fd;
    luaL_getmetatable(L, LOCK_META);
    lua_setmetatable(L, -2);
    return 1;
}

static int lock_release(lua_State *L)
{
    lockud *u = vcli_checkudata(L, 1, LOCK_META);
    if (u->fd >= 0) close(u->fd);   /* closing the only descriptor drops the flock */
    u->fd = -1;
    return 0;
}

static int env_tostring(lua_State *L)
{
    envud *u = vcli_checkudata(L, 1, ENV_META);
    if (u->e && u->e->env) lua_pushfstring(L, "store env %s", u->e->path);
    else lua_pushliteral(L, "store env (closed)");
    return 1;
}

int luaopen_vcli_store(lua_State *L)
{
    static const luaL_Reg env_m[] = {
        {"db", env_db}, {"stats", env_stats}, {"close", env_close}, {"lock", env_lock},
        {"__gc", env_gc}, {"__tostring", env_tostring}, {NULL, NULL}};
    static const luaL_Reg db_m[] = {
        {"get", db_get}, {"put", db_put}, {"del", db_del}, {"put_many", db_put_many},
        {"scan", db_scan}, {"keys", db_keys}, {"count", db_count}, {"clear", db_clear},
        {"set_quota", db_set_quota}, {"usage", db_usage},
        {"__gc", db_gc}, {"__tostring", db_tostring}, {NULL, NULL}};
    vcli_newclass(L, ENV_META, env_m);
    vcli_newclass(L, DB_META, db_m);
    static const luaL_Reg lock_m[] = {{"release", lock_release}, {"__gc", lock_release}, {NULL, NULL}};
    vcli_newclass(L, LOCK_META, lock_m);
    if (envs_ref == LUA_NOREF) {
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "v");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        envs_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    static const luaL_Reg fns[] = {{"open", l_open}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
