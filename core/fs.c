/* vcli.fs — file-system primitives, as system calls (one thread, no blocking
 * forks of mkdir/find/rm): directories, listings, file status, real paths,
 * removal; and private temporary directories and files (for what must never
 * be readable by others: an edited Secret, an identity overlay).
 *
 *   fs.mkdir_p(path [, mode])   -> true | nil, err   every missing directory (mode 0777 & ~umask)
 *   fs.list(dir [, all])        -> { names... } | nil, err   unsorted; without all, no names starting with "."
 *   fs.stat(path [, nofollow])  -> { type = "file"|"dir"|"link"|"other", size=, mtime=, mode= } | nil, err
 *                                  ("link" only with nofollow: the link itself)
 *   fs.realpath(path)           -> the absolute path, symlinks resolved | nil, err
 *   fs.remove(path [, recursive]) -> true | nil, err   a file, a symlink (never its target) or an
 *                                  empty directory; recursive: a directory and all it holds (symlinks
 *                                  inside are removed, not followed); a missing path is not an error
 *   fs.mkdtemp(prefix)          -> "/tmp/prefixXXXXXX" (mode 0700) | nil, err
 *   fs.write_new(path, data)    -> true | nil, err   created 0600, never over an existing file
 *   fs.rmtree_private(dir)      -> true | nil, err   removes dir and the plain files in it
 *   fs.read_exact(path [, max]) -> data | nil, err   path must be absolute and free of symlinks;
 *                                  a file over max bytes is refused, naming the limit
 *   fs.write_exact(path, data)  -> true | nil, err   (a real path, checked): each component is
 *                                  opened without following links, so a symlink swapped in after
 *                                  the check fails the call instead of leading elsewhere
 */
#include "vcli.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

static int fail(lua_State *L, const char *what, const char *path) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(errno));
    return 2;
}

static int l_mkdir_p(lua_State *L) {
    size_t n;
    const char *path = luaL_checklstring(L, 1, &n);
    mode_t mode = (mode_t)luaL_optinteger(L, 2, 0777);
    if (n == 0 || n >= PATH_MAX) { errno = n ? ENAMETOOLONG : ENOENT; return fail(L, "cannot create directory", path); }
    char buf[PATH_MAX];
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, mode) != 0 && errno != EEXIST) return fail(L, "cannot create directory", buf);
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) != 0) return fail(L, "cannot create directory", path);
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return fail(L, "cannot create directory", path); }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_list(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    int all = lua_toboolean(L, 2);
    DIR *d = opendir(dir);
    if (!d) { lua_pushnil(L); lua_pushstring(L, strerror(errno)); return 2; }
    lua_newtable(L);
    int i = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!all || !e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++i);
    }
    closedir(d);
    return 1;
}

static int l_stat(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if ((lua_toboolean(L, 2) ? lstat(path, &st) : stat(path, &st)) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_createtable(L, 0, 4);
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other");
    lua_setfield(L, -2, "type");
    lua_pushnumber(L, (lua_Number)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9);
    lua_setfield(L, -2, "mtime");
    lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
    lua_setfield(L, -2, "mode");
    return 1;
}

static int l_realpath(lua_State *L) {
    char buf[PATH_MAX];
    if (!realpath(luaL_checkstring(L, 1), buf)) { lua_pushnil(L); lua_pushstring(L, strerror(errno)); return 2; }
    lua_pushstring(L, buf);
    return 1;
}

/* Remove path (never following a symlink); depth bounds a runaway tree. */
static int remove_tree(char *path, size_t len, int depth) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    if (depth > 64) { errno = ELOOP; return -1; }
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t nl = strlen(e->d_name);
        if (len + 1 + nl >= PATH_MAX) { errno = ENAMETOOLONG; rc = -1; break; }
        path[len] = '/';
        memcpy(path + len + 1, e->d_name, nl + 1);
        rc = remove_tree(path, len + 1 + nl, depth + 1);
        path[len] = 0;
    }
    int e2 = errno;
    closedir(d);
    errno = e2;
    if (rc != 0) return rc;
    return rmdir(path);
}

static int l_remove(lua_State *L) {
    size_t n;
    const char *path = luaL_checklstring(L, 1, &n);
    if (n == 0 || n >= PATH_MAX) return luaL_argerror(L, 1, "a path expected");
    int rc;
    if (lua_toboolean(L, 2)) {
        char buf[PATH_MAX];
        memcpy(buf, path, n + 1);
        while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
        if (!strcmp(buf, "/")) { errno = EPERM; return fail(L, "cannot remove", path); }
        rc = remove_tree(buf, n, 0);
    } else {
        struct stat st;
        if (lstat(path, &st) != 0) {
            if (errno == ENOENT) { lua_pushboolean(L, 1); return 1; }
            return fail(L, "cannot remove", path);
        }
        rc = S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path);
    }
    if (rc != 0) return fail(L, "cannot remove", path);
    lua_pushboolean(L, 1);
    return 1;
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

/* open an absolute path component by component, never following a link
 * (O_NOFOLLOW each step): -> fd, or -1 with errno (ELOOP: a symlink on the way) */
static int open_exact(const char *path, int flags, mode_t mode) {
    if (path[0] != '/') { errno = EINVAL; return -1; }
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    const char *p = path;
    char comp[256];
    for (;;) {
        while (*p == '/') p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (end && end[1] == '/') end++;
        int last = !end || end[1] == 0;
        if (n == 0) { close(dir); errno = EISDIR; return -1; }   /* "/" itself, or a trailing slash */
        if (n >= sizeof comp) { close(dir); errno = ENAMETOOLONG; return -1; }
        memcpy(comp, p, n);
        comp[n] = 0;
        if (!strcmp(comp, "..") || !strcmp(comp, ".")) { close(dir); errno = EINVAL; return -1; }
        int fd = last ? openat(dir, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode)
                      : openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(dir);
        if (fd < 0) {
            /* a symlink where a directory was checked: O_NOFOLLOW|O_DIRECTORY says ENOTDIR */
            if (!last && e == ENOTDIR) e = ELOOP;
            errno = e;
            return -1;
        }
        if (last) return fd;
        dir = fd;
        p = end + 1;
    }
}

static int exact_fail(lua_State *L, const char *what, const char *path) {
    if (errno == ELOOP) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s %s: a symbolic link is on the way (it changed after the check)", what, path);
        return 2;
    }
    return fail(L, what, path);
}

static int l_read_exact(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    double max = luaL_optnumber(L, 2, 0);   /* bytes; 0: no limit */
    int fd = open_exact(path, O_RDONLY, 0);
    if (fd < 0) return exact_fail(L, "cannot read", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read %s: not a regular file", path);
        return 2;
    }
    if (max > 0 && (double)st.st_size > max) {
        close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read %s: %d MiB, larger than the limit (%d MiB)", path,
                        (int)((double)st.st_size / 1048576 + 0.5), (int)(max / 1048576));
        return 2;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        char *buf = luaL_prepbuffer(&b);
        ssize_t r = read(fd, buf, LUAL_BUFFERSIZE);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { int e = errno; close(fd); errno = e; return fail(L, "cannot read", path); }
        if (r == 0) break;
        luaL_addsize(&b, (size_t)r);
    }
    close(fd);
    luaL_pushresult(&b);
    return 1;
}

static int l_write_exact(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    int fd = open_exact(path, O_WRONLY | O_CREAT, 0666);   /* truncated only once it is the right file */
    if (fd < 0) return exact_fail(L, "cannot write", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || ftruncate(fd, 0) != 0) {
        close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write %s: not a regular file", path);
        return 2;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) { int e = errno; close(fd); errno = e; return fail(L, "cannot write", path); }
        off += (size_t)w;
    }
    if (close(fd) != 0) return fail(L, "cannot write", path);
    lua_pushboolean(L, 1);
    return 1;
}

int luaopen_vcli_fs(lua_State *L) {
    static const luaL_Reg fns[] = {{"mkdir_p", l_mkdir_p}, {"list", l_list}, {"stat", l_stat},
                                   {"realpath", l_realpath}, {"remove", l_remove},
                                   {"mkdtemp", l_mkdtemp}, {"write_new", l_write_new},
                                   {"rmtree_private", l_rmtree_private}, {"read_exact", l_read_exact},
                                   {"write_exact", l_write_exact}, {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
