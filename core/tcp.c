/* vcli.tcp — local TCP listeners and the connections they accept, as plain
 * non-blocking file descriptors for the core loop (port-forward). Reading
 * is vcli.loop's read(fd); waiting is loop.fd(fd, "r"|"w", fn). */
#include "vcli.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void push_errno(lua_State *L, const char *what, int e)
{
    lua_pushnil(L);
    if (e == EAGAIN || e == EWOULDBLOCK) lua_pushliteral(L, "again");
    else if (what) lua_pushfstring(L, "%s: %s", what, strerror(e));
    else lua_pushstring(L, strerror(e));
}

static void addr_str(const struct sockaddr_storage *ss, char *host, size_t hl, int *port)
{
    host[0] = 0;
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hl);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hl);
        *port = ntohs(a->sin6_port);
    }
}

/* tcp.listen(host, port [, backlog]) -> fd, bound_host, bound_port | nil, err
 * host is a numeric address ("127.0.0.1", "::1", "0.0.0.0") or "localhost";
 * port 0 picks a free port. The fd is non-blocking and close-on-exec. */
static int l_listen(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    int port = (int)luaL_checkinteger(L, 2);
    int backlog = (int)luaL_optinteger(L, 3, 128);
    if (port < 0 || port > 65535) return luaL_error(L, "tcp.listen: port %d out of range", port);
    if (!strcmp(host, "localhost")) host = "127.0.0.1";
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    char ps[8];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0 || !res) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s is not an IP address", host);
        return 2;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { freeaddrinfo(res); push_errno(L, "socket", errno); return 2; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot listen on %s:%d: %s", host, port, strerror(e));
        return 2;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[INET6_ADDRSTRLEN];
    int bport = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) addr_str(&ss, h, sizeof h, &bport);
    else snprintf(h, sizeof h, "%s", host);
    lua_pushinteger(L, fd);
    lua_pushstring(L, h);
    lua_pushinteger(L, bport);
    return 3;
}

/* tcp.accept(fd) -> conn_fd, peer_host, peer_port | nil, "again" | nil, err */
static int l_accept(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int c;
    do c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (c < 0 && errno == EINTR);
    if (c < 0) { push_errno(L, NULL, errno); return 2; }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char h[INET6_ADDRSTRLEN];
    int port;
    addr_str(&ss, h, sizeof h, &port);
    lua_pushinteger(L, c);
    lua_pushstring(L, h);
    lua_pushinteger(L, port);
    return 3;
}

/* tcp.write(fd, data [, from]) -> bytes written (maybe fewer) | nil, "again" | nil, err
 * Writes data from byte `from` (1-based, default 1): no copy of the rest. */
static int l_write(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    size_t from = (size_t)luaL_optinteger(L, 3, 1);
    if (from < 1) from = 1;
    if (from > n) { lua_pushinteger(L, 0); return 1; }
    ssize_t w;
    do w = send(fd, s + from - 1, n - (from - 1), MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0) { push_errno(L, NULL, errno); return 2; }
    lua_pushinteger(L, w);
    return 1;
}

/* tcp.shutdown(fd) — no more writes (the peer reads EOF); reading goes on */
static int l_shutdown(lua_State *L)
{
    shutdown((int)luaL_checkinteger(L, 1), SHUT_WR);
    return 0;
}

/* tcp.close(fd) */
static int l_close(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    if (fd > 2) close(fd);
    return 0;
}

int luaopen_vcli_tcp(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"listen", l_listen}, {"accept", l_accept}, {"write", l_write},
        {"shutdown", l_shutdown}, {"close", l_close}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
