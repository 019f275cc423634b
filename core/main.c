/* vcli — the host: the state of core/host.c, then lua/vcli/main.lua decides
 * everything else. */
#include "vcli.h"
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <pwd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "");
    /* no $HOME (env -i, some service managers): the account's home, as a login
     * would set it, so that "~" means the same to every part of vcli */
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        if (pw && pw->pw_dir && *pw->pw_dir) setenv("HOME", pw->pw_dir, 1);
    }
    const char *dir;
    lua_State *L = vcli_host_new(&dir);
    if (!L) { fputs("vcli: cannot create the Lua state\n", stderr); return 70; }

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
     * unless a leak check wants a clean teardown (sanitizer builds always do,
     * so LeakSanitizer reports only real leaks). */
#if defined(__SANITIZE_ADDRESS__)
    lua_close(L);
#else
    if (getenv("VCLI_CLOSE_STATE")) lua_close(L);
#endif
    return rc;
}
