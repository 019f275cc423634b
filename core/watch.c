/* vcli.watch — inotify file watching for hot reload. Watch directories, not
 * files: editors save by writing a new file and renaming it over the old
 * one, which a watch on the old inode would never see. */
#include "vcli.h"
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

static int ifd = -1;
static int cb_ref = LUA_NOREF;   /* table: wd -> {path=, fn=} */

static void on_inotify(int fd, int revents, void *ud)
{
    (void)revents; (void)ud;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    lua_State *L = loop_L();
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            lua_rawgeti(L, LUA_REGISTRYINDEX, cb_ref);
            lua_rawgeti(L, -1, ev->wd);
            lua_remove(L, -2);
            if (!lua_istable(L, -1)) { lua_pop(L, 1); continue; }
            lua_getfield(L, -1, "fn");
            lua_getfield(L, -2, "path");
            lua_remove(L, -3);
            if (ev->len && ev->name[0]) lua_pushfstring(L, "%s/%s", lua_tostring(L, -1), ev->name);
            else lua_pushvalue(L, -1);
            lua_remove(L, -2);
            const char *what = (ev->mask & (IN_DELETE | IN_DELETE_SELF | IN_MOVED_FROM)) ? "delete"
                             : (ev->mask & IN_CREATE) ? "create" : "change";
            lua_pushstring(L, what);
            if (vm_pcall(L, 2, 0)) loop_report(L, "file watch");
        }
    }
}

/* watch.add(path, fn(path, "change"|"create"|"delete")) -> id | nil, err */
static int l_add(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (ifd < 0) {
        ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ifd < 0) { lua_pushnil(L); lua_pushfstring(L, "inotify: %s", strerror(errno)); return 2; }
        loop_fd(ifd, LOOP_READ, on_inotify, NULL);
        lua_newtable(L);
        cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    int wd = inotify_add_watch(ifd, path, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
                                              IN_MOVED_FROM | IN_DELETE_SELF | IN_MODIFY);
    if (wd < 0) { lua_pushnil(L); lua_pushfstring(L, "cannot watch %s: %s", path, strerror(errno)); return 2; }
    lua_rawgeti(L, LUA_REGISTRYINDEX, cb_ref);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "path");
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "fn");
    lua_rawseti(L, -2, wd);
    lua_pop(L, 1);
    lua_pushinteger(L, wd);
    return 1;
}

static int l_remove(lua_State *L)
{
    int wd = (int)luaL_checkinteger(L, 1);
    if (ifd < 0) return 0;
    inotify_rm_watch(ifd, wd);
    lua_rawgeti(L, LUA_REGISTRYINDEX, cb_ref);
    lua_pushnil(L);
    lua_rawseti(L, -2, wd);
    lua_pop(L, 1);
    return 0;
}

int luaopen_vcli_watch(lua_State *L)
{
    static const luaL_Reg fns[] = {{"add", l_add}, {"remove", l_remove}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
