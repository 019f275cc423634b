/* vcli — the host: one LuaJIT state with the core modules preloaded, then
 * lua/vcli/main.lua decides everything else. */
#include "vcli.h"
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "");
    static vm_acct acct;
    lua_State *L = vm_newstate(&acct);
    if (!L) { fputs("vcli: cannot create the Lua state\n", stderr); return 70; }
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
    preload(L, "cjson", luaopen_cjson);
    preload(L, "cjson.safe", luaopen_cjson_safe);

    const char *dir = datadir();
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua", dir, dir);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);

    int rc = 70;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "vcli.main");
    if (vm_pcall(L, 1, 1) == 0) {
        lua_newtable(L);
        for (int i = 1; i < argc; i++) {
            lua_pushstring(L, argv[i]);
            lua_rawseti(L, -2, i);
        }
        lua_pushstring(L, dir);
        if (vm_pcall(L, 2, 1) == 0) {
            rc = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
        } else {
            fprintf(stderr, "vcli: %s\n", lua_tostring(L, -1));
        }
    } else {
        fprintf(stderr, "vcli: cannot start: %s\n", lua_tostring(L, -1));
    }
    fflush(stdout);
    /* Closing the state would run every finalizer for nothing: exit directly,
     * unless a leak check wants a clean teardown. */
    if (getenv("VCLI_CLOSE_STATE")) lua_close(L);
    return rc;
}
