/* vcli.fs — file-system primitives that must not fork or race: private temporary
 * directories and files (for what must never be readable by others: an edited Secret,
 * an identity overlay), and removing them again.
 *
 *   fs.mkdtemp(prefix)          -> "/tmp/prefixXXXXXX" (mode 0700) | nil, err
 *   fs.write_new(path, data)    -> true | nil, err   created 0600, never over an existing file
 *   fs.rmtree_private(dir)      -> true | nil, err   removes dir and the plain files in it
 */
#include "vcli.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(lua_State *L, const char *what, const char *path) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(errno));
    return 2;
}

static int l_mkdtemp(lua_State *L) {
    size_t n;
    const char *prefix = luaL_checklstring(L, 1, &n);
    if (n == 0 || n > 4000) return luaL_argerror(L, 1, "a path prefix expected");
    char buf[4096];
    snprintf(buf, sizeof buf, "%sXXXXXX", prefix);
    if (!mkdtemp(buf)) return fail(L, "cannot create directory", buf);
    chmod(buf, 0700); /* mkdtemp makes it 0700; say so whatever the umask */
    lua_pushstring(L, buf);
    return 1;
}

static int l_write_new(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return fail(L, "cannot create", path);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(path);
            errno = e;
            return fail(L, "cannot write", path);
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) return fail(L, "cannot write", path);
    lua_pushboolean(L, 1);
    return 1;
}

/* Only a directory of ours (owned by this user, mode 0700) and only what an editor leaves
 * there: plain files and symlinks, one level deep. */
static int l_rmtree_private(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT) { lua_pushboolean(L, 1); return 1; }
        return fail(L, "cannot remove", dir);
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        lua_pushnil(L);
        lua_pushfstring(L, "not removing %s: not a private directory of this user", dir);
        return 2;
    }
    DIR *d = opendir(dir);
    if (!d) return fail(L, "cannot remove", dir);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path); /* a subdirectory stays, and so does dir: rmdir below says so */
    }
    closedir(d);
    if (rmdir(dir) != 0) return fail(L, "cannot remove", dir);
    lua_pushboolean(L, 1);
    return 1;
}

int luaopen_vcli_fs(lua_State *L) {
    static const luaL_Reg fns[] = {{"mkdtemp", l_mkdtemp}, {"write_new", l_write_new},
                                   {"rmtree_private", l_rmtree_private}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
