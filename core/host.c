/* The host state: one LuaJIT state with the core modules preloaded and
 * vcli's Lua on its path (with a bytecode cache). main.c runs lua/vcli/main.lua
 * in it; the fuzz harness (spec/fuzz/harness.c) runs its targets in it. */
#include "vcli.h"
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <luajit.h>


/* ---- module loading with a bytecode cache ----------------------------------
 * Parsing vcli's Lua sources costs several ms at every start; loading their
 * bytecode costs a tenth of that. The first require of a module dumps its
 * chunk (with debug info, so tracebacks keep file:line) to
 * $XDG_CACHE_HOME/vcli/bc/, keyed by the source's path, mtime, size and the
 * LuaJIT version: an edited source is a new key, so a stale entry is never
 * used. Hot reload reads sources directly and is unaffected.
 *
 * Plugin modules (sandbox.c's require) use the same cache through
 * vcli_bc_load_text, keyed by the SHA-256 of exactly the text read (and its
 * chunk name and the LuaJIT version): a plugin cannot hand its state
 * bytecode (load takes text only), but the bytecode this parser made of a
 * text it was given is that text; the kubernetes plugin's ~12 000 lines
 * took ~35 ms to parse at every start, their bytecode a few. Entries are
 * only read from a cache directory of this user that no one else can write
 * (as the host's own modules, which run unsandboxed, already require). */
static char bc_dir[PATH_MAX];

static void bc_init(void)
{
    if (getenv("VCLI_NO_BYTECODE_CACHE")) return;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(bc_dir, sizeof bc_dir, "%s/vcli/bc", xdg);
    else if (home && *home) snprintf(bc_dir, sizeof bc_dir, "%s/.cache/vcli/bc", home);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ULL; }
    return h;
}

static int bc_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    (void)L;
    return fwrite(p, 1, n, ud) == n ? 0 : 1;
}

static void mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *q = tmp + 1; *q; q++)
        if (*q == '/') { *q = 0; mkdir(tmp, 0700); *q = '/'; }
    mkdir(tmp, 0700);
}

/* The cache entry at path, loaded as chunkname: 0 with the function pushed,
 * else nothing pushed (none, or a damaged one: the caller compiles). */
static int bc_read(lua_State *L, const char *path, const char *chunkname)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char *buf = NULL;
    size_t cap = 0, len = 0, n;
    do {
        if (len + 65536 > cap) {
            size_t ncap = (cap ? cap * 2 : 65536) + 65536;
            char *nb = realloc(buf, ncap);
            if (!nb) { free(buf); fclose(f); return -1; }
            buf = nb;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    int rc = len > 0 && buf[0] == LUA_SIGNATURE[0] ? luaL_loadbuffer(L, buf, len, chunkname) : -1;
    free(buf);
    if (rc == 0) return 0;
    if (rc > 0) lua_pop(L, 1);
    return -1;
}

static int bc_dump(lua_State *L)
{
    void *out = lua_touserdata(L, 2);
    lua_settop(L, 1);   /* lua_dump writes the function on top */
    lua_pushboolean(L, lua_dump(L, bc_writer, out) == 0);
    return 1;
}

/* The function on top of L's stack, dumped to path (through a temporary
 * file renamed into place; protected: a state at its memory limit just
 * leaves no entry). */
static void bc_write(lua_State *L, const char *path)
{
    mkdirs(bc_dir);
    char tmp[PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    FILE *out = fopen(tmp, "wb");
    if (!out) return;
    lua_pushcfunction(L, bc_dump);
    lua_pushvalue(L, -2);
    lua_pushlightuserdata(L, out);
    int ok = lua_pcall(L, 2, 1, 0) == 0 && lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (fclose(out) != 0 || !ok || rename(tmp, path) != 0) unlink(tmp);
}

/* Load the Lua file at path (source or cached bytecode). 0 on success. */
static int bc_load(lua_State *L, const char *path)
{
    struct stat st;
    if (!bc_dir[0] || stat(path, &st) != 0) return luaL_loadfile(L, path);
    uint64_t h = 1469598103934665603ULL;
    h = fnv1a(h, path, strlen(path));
    h = fnv1a(h, &st.st_mtim, sizeof st.st_mtim);
    h = fnv1a(h, &st.st_size, sizeof st.st_size);
    h = fnv1a(h, LUAJIT_VERSION, sizeof LUAJIT_VERSION);
    char cache[PATH_MAX + 32];
    snprintf(cache, sizeof cache, "%s/%016llx.bc", bc_dir, (unsigned long long)h);
    lua_pushfstring(L, "@%s", path);
    int hit = bc_read(L, cache, lua_tostring(L, -1)) == 0;
    if (hit) { lua_remove(L, -2); return 0; }
    lua_pop(L, 1);
    int rc = luaL_loadfile(L, path);
    if (rc != 0) return rc;
    bc_write(L, cache);
    return 0;
}

/* The cache directory is this user's, and only theirs to write. */
static int bc_dir_private(void)
{
    struct stat st;
    return bc_dir[0] && stat(bc_dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022);
}

int vcli_bc_load_text(lua_State *L, const char *text, size_t n, const char *chunkname)
{
    if (!bc_dir[0]) return luaL_loadbuffer(L, text, n, chunkname);
    unsigned char d[32], key[32];
    size_t cl = strlen(chunkname);
    /* sha256(version NUL chunkname NUL text), without copying the text: of their digests */
    unsigned char parts[sizeof LUAJIT_VERSION + 1 + 32 + 32];
    codec_sha256(text, n, d);
    memcpy(parts, LUAJIT_VERSION, sizeof LUAJIT_VERSION);
    parts[sizeof LUAJIT_VERSION] = 0;
    memcpy(parts + sizeof LUAJIT_VERSION + 1, d, 32);
    codec_sha256(chunkname, cl, d);
    memcpy(parts + sizeof LUAJIT_VERSION + 1 + 32, d, 32);
    codec_sha256(parts, sizeof parts, key);
    char cache[PATH_MAX + 48];
    int o = snprintf(cache, sizeof cache, "%s/p", bc_dir);
    for (int i = 0; i < 16 && o + 3 < (int)sizeof cache; i++) o += snprintf(cache + o, sizeof cache - (size_t)o, "%02x", key[i]);
    snprintf(cache + o, sizeof cache - (size_t)o, ".bc");
    if (bc_dir_private() && bc_read(L, cache, chunkname) == 0) return 0;
    int rc = luaL_loadbuffer(L, text, n, chunkname);
    if (rc != 0) return rc;
    bc_write(L, cache);
    return 0;
}

/* package.loaders entry: finds name on package.path, loads it via the cache. */
static int host_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    const char *path = lua_tostring(L, -1);
    if (!path) return 0;
    char fname[PATH_MAX];
    char mod[PATH_MAX];
    snprintf(mod, sizeof mod, "%s", name);
    for (char *q = mod; *q; q++) if (*q == '.') *q = '/';
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, ';');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        size_t o = 0;
        for (size_t i = 0; i < len && o < sizeof fname - 1; i++) {
            if (p[i] == '?') { size_t ml = strlen(mod); if (o + ml >= sizeof fname) break; memcpy(fname + o, mod, ml); o += ml; }
            else fname[o++] = p[i];
        }
        fname[o] = 0;
        if (o && access(fname, R_OK) == 0) {
            if (bc_load(L, fname) != 0) return lua_error(L);
            return 1;
        }
        p += len;
        if (*p == ';') p++;
    }
    lua_pushfstring(L, "\n\tno file for '%s' on vcli's path", name);
    return 1;
}

/* The directory holding lua/ and plugins/: next to the binary when run from a
 * checkout, else the installed data dir. */
static const char *datadir(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("VCLI_DATADIR");
    if (env && *env) return env;
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 32);
    if (n > 0) {
        buf[n] = 0;
        char *slash = strrchr(buf, '/');
        if (slash) {
            strcpy(slash, "/lua/vcli/main.lua");
            if (access(buf, R_OK) == 0) { *slash = 0; return buf; }
        }
    }
    return VCLI_DATADIR;
}

static void preload(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
    lua_pop(L, 2);
}

lua_State *vcli_host_new(const char **dirp)
{
    static vm_acct acct;
    lua_State *L = vm_newstate(&acct);
    if (!L) return NULL;
    vm_set_main(L);
    luaL_openlibs(L);
    preload(L, "vcli.vm", luaopen_vcli_vm);
    preload(L, "vcli.loop", luaopen_vcli_loop);
    preload(L, "vcli.term", luaopen_vcli_term);
    preload(L, "vcli.yaml", luaopen_vcli_yaml);
    preload(L, "vcli.store", luaopen_vcli_store);
    preload(L, "vcli.net", luaopen_vcli_net);
    preload(L, "vcli.watch", luaopen_vcli_watch);
    preload(L, "vcli.proc", luaopen_vcli_proc);
    preload(L, "vcli.sandbox", luaopen_vcli_sandbox);
    preload(L, "vcli.wsock", luaopen_vcli_wsock);
    preload(L, "vcli.jsonfmt", luaopen_vcli_jsonfmt);
    preload(L, "vcli.tcp", luaopen_vcli_tcp);
    preload(L, "vcli.fs", luaopen_vcli_fs);
    preload(L, "vcli.codec", luaopen_vcli_codec);
    preload(L, "vcli.sort", luaopen_vcli_sort);
    preload(L, "vcli.regex", luaopen_vcli_regex);
    preload(L, "vcli.pattern", luaopen_vcli_pattern);
    preload(L, "cjson", luaopen_cjson);
    preload(L, "cjson.safe", luaopen_cjson_safe);

    const char *dir = datadir();
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua", dir, dir);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    /* our searcher goes right after the preload one */
    bc_init();
    lua_getfield(L, -1, "loaders");
    for (int i = (int)lua_objlen(L, -1); i >= 2; i--) { lua_rawgeti(L, -1, i); lua_rawseti(L, -2, i + 1); }
    lua_pushcfunction(L, host_searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
    if (dirp) *dirp = dir;
    return L;
}
