/* vcli.loop — the process's one event loop: file descriptors, timers,
 * signals (through a self-pipe) and child exits. Everything that waits in
 * vcli waits here; Lua callbacks are only ever called from this loop. */
#include "vcli.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct { int events; loop_fd_fn fn; void *ud; } fdent;
typedef struct { double due; long id; loop_timer_fn fn; void *ud; } timerent;
typedef struct { int pid; loop_child_fn fn; void *ud; } childent;

static struct {
    lua_State *L;
    fdent *fds; int nfds_cap;
    struct pollfd *pfd; int npfd_cap;
    timerent *timers; int ntimers, timers_cap; long next_timer_id;
    childent *children; int nchildren, children_cap;
    int sigpipe[2];
    int stop;
    int err_ref;                /* Lua error handler */
    int sig_ref;                /* table: signal name -> function */
} lp = { .sigpipe = {-1, -1}, .err_ref = LUA_NOREF, .sig_ref = LUA_NOREF };

lua_State *loop_L(void) { return lp.L; }

static void *grow(void *p, int *cap, int need, size_t sz)
{
    if (need <= *cap) return p;
    int n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    void *q = realloc(p, (size_t)n * sz);
    if (!q) abort();
    memset((char *)q + (size_t)*cap * sz, 0, (size_t)(n - *cap) * sz);
    *cap = n;
    return q;
}

void loop_fd(int fd, int events, loop_fd_fn fn, void *ud)
{
    if (fd < 0) return;
    lp.fds = grow(lp.fds, &lp.nfds_cap, fd + 1, sizeof *lp.fds);
    lp.fds[fd] = (fdent){ events, events ? fn : NULL, events ? ud : NULL };
}

long loop_timer(double ms, loop_timer_fn fn, void *ud)
{
    lp.timers = grow(lp.timers, &lp.timers_cap, lp.ntimers + 1, sizeof *lp.timers);
    long id = ++lp.next_timer_id;
    lp.timers[lp.ntimers++] = (timerent){ vm_now_ms() + (ms < 0 ? 0 : ms), id, fn, ud };
    return id;
}

void loop_timer_cancel(long id)
{
    for (int i = 0; i < lp.ntimers; i++)
        if (lp.timers[i].id == id) { lp.timers[i] = lp.timers[--lp.ntimers]; return; }
}

void loop_child(int pid, loop_child_fn fn, void *ud)
{
    lp.children = grow(lp.children, &lp.children_cap, lp.nchildren + 1, sizeof *lp.children);
    lp.children[lp.nchildren++] = (childent){ pid, fn, ud };
}

void loop_report(lua_State *L, const char *where)
{
    const char *msg = lua_tostring(L, -1);
    if (lp.err_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, lp.err_ref);
        lua_pushstring(L, msg ? msg : "(non-string error)");
        lua_pushstring(L, where);
        if (lua_pcall(L, 2, 0, 0) == 0) { lua_pop(L, 1); return; }
        lua_pop(L, 1);
    }
    fprintf(stderr, "vcli: error in %s: %s\n", where, msg ? msg : "?");
    lua_pop(L, 1);
}

/* ---- signals ----------------------------------------------------------- */
static const struct { const char *name; int sig; } signames[] = {
    {"SIGINT", SIGINT}, {"SIGTERM", SIGTERM}, {"SIGHUP", SIGHUP},
    {"SIGWINCH", SIGWINCH}, {"SIGCHLD", SIGCHLD}, {"SIGQUIT", SIGQUIT},
    {"SIGTSTP", SIGTSTP}, {"SIGCONT", SIGCONT}, {NULL, 0}};

static void on_signal(int sig)
{
    int e = errno;
    if (sig == SIGINT) vm_on_sigint();
    unsigned char b = (unsigned char)sig;
    if (write(lp.sigpipe[1], &b, 1) < 0) { /* pipe full: a wakeup is pending anyway */ }
    errno = e;
}

static void reap_children(void)
{
    for (int i = 0; i < lp.nchildren; ) {
        int st;
        int r = waitpid(lp.children[i].pid, &st, WNOHANG);
        if (r == lp.children[i].pid || (r < 0 && errno == ECHILD)) {
            childent c = lp.children[i];
            lp.children[i] = lp.children[--lp.nchildren];
            c.fn(c.pid, r < 0 ? -1 : st, c.ud);
        } else {
            i++;
        }
    }
}

static void on_sigpipe(int fd, int revents, void *ud)
{
    unsigned char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            int sig = buf[i];
            if (sig == SIGCHLD) reap_children();
            const char *name = NULL;
            for (int k = 0; signames[k].name; k++)
                if (signames[k].sig == sig) name = signames[k].name;
            if (!name || lp.sig_ref == LUA_NOREF) continue;
            lua_State *L = lp.L;
            lua_rawgeti(L, LUA_REGISTRYINDEX, lp.sig_ref);
            lua_getfield(L, -1, name);
            lua_remove(L, -2);
            if (lua_isfunction(L, -1)) {
                lua_pushstring(L, name);
                if (vm_pcall(L, 1, 0)) loop_report(L, name);
            } else {
                lua_pop(L, 1);
            }
        }
    }
}

/* SIGINT and SIGQUIT ignored when vcli started (a shell's background job) stay ignored,
 * as a shell's own traps do: Ctrl-C meant for the foreground must not stop them. */
static int ignored_at_start(int sig)
{
    static int known[2], ignored[2];
    int k = sig == SIGINT ? 0 : sig == SIGQUIT ? 1 : -1;
    if (k < 0) return 0;
    if (!known[k]) {
        struct sigaction old;
        known[k] = 1;
        ignored[k] = sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
    }
    return ignored[k];
}

static void install(int sig)
{
    if (ignored_at_start(sig)) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

/* ---- running ----------------------------------------------------------- */
static double next_due(void)
{
    double due = -1;
    for (int i = 0; i < lp.ntimers; i++)
        if (due < 0 || lp.timers[i].due < due) due = lp.timers[i].due;
    return due;
}

static void run_timers(void)
{
    double now = vm_now_ms();
    /* Fire only timers due now; ones added while firing wait for the next turn. */
    long last = lp.next_timer_id;
    for (;;) {
        int best = -1;
        for (int i = 0; i < lp.ntimers; i++)
            if (lp.timers[i].due <= now && lp.timers[i].id <= last &&
                (best < 0 || lp.timers[i].due < lp.timers[best].due)) best = i;
        if (best < 0) break;
        timerent t = lp.timers[best];
        lp.timers[best] = lp.timers[--lp.ntimers];
        t.fn(t.ud);
    }
}

/* One turn: wait at most timeout_ms (negative: until something happens). */
static void loop_step(double timeout_ms)
{
    int n = 0;
    for (int fd = 0; fd < lp.nfds_cap; fd++) {
        if (!lp.fds[fd].events) continue;
        lp.pfd = grow(lp.pfd, &lp.npfd_cap, n + 1, sizeof *lp.pfd);
        lp.pfd[n].fd = fd;
        lp.pfd[n].events = (short)(((lp.fds[fd].events & LOOP_READ) ? POLLIN : 0) |
                                   ((lp.fds[fd].events & LOOP_WRITE) ? POLLOUT : 0));
        lp.pfd[n].revents = 0;
        n++;
    }
    double due = next_due();
    if (due >= 0) {
        double wait = due - vm_now_ms();
        if (wait < 0) wait = 0;
        if (timeout_ms < 0 || wait < timeout_ms) timeout_ms = wait;
    }
    int to = timeout_ms < 0 ? -1 : (int)(timeout_ms + 0.999);
    int r = poll(lp.pfd, (nfds_t)n, to);
    if (r > 0) {
        for (int i = 0; i < n; i++) {
            int fd = lp.pfd[i].fd, re = lp.pfd[i].revents;
            if (!re || fd >= lp.nfds_cap || !lp.fds[fd].fn) continue;
            int ev = 0;
            if (re & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) ev |= LOOP_READ;
            if (re & (POLLOUT | POLLERR)) ev |= LOOP_WRITE;
            ev &= lp.fds[fd].events | ((re & (POLLHUP | POLLERR | POLLNVAL)) ? LOOP_READ | LOOP_WRITE : 0);
            if (re & POLLNVAL) { loop_fd_fn fn = lp.fds[fd].fn; void *ud = lp.fds[fd].ud; loop_fd(fd, 0, NULL, NULL); fn(fd, ev, ud); continue; }
            if (ev) lp.fds[fd].fn(fd, ev, lp.fds[fd].ud);
        }
    }
    run_timers();
}

/* ---- Lua side ---------------------------------------------------------- */
#define FD_META "vcli.loop.fd"
#define TIMER_META "vcli.loop.timer"

typedef struct { int fd, fn_ref, self_ref, events; } lfd;
typedef struct { long id; int fn_ref, self_ref; double repeat; } ltimer;

static void lfd_cb(int fd, int revents, void *ud)
{
    lfd *h = ud;
    lua_State *L = lp.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->fn_ref);
    lua_pushboolean(L, revents & LOOP_READ);
    lua_pushboolean(L, revents & LOOP_WRITE);
    if (vm_pcall(L, 2, 0)) loop_report(L, "fd callback");
}

static void lfd_stop(lua_State *L, lfd *h)
{
    if (h->fd >= 0 && h->events) loop_fd(h->fd, 0, NULL, NULL);
    h->events = 0;
    vcli_unref(L, &h->fn_ref);
    vcli_unref(L, &h->self_ref);
}

/* loop.fd(fd, "r"|"w"|"rw", fn(readable, writable)) -> handle */
static int l_fd(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    const char *ev = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lfd *h = lua_newuserdata(L, sizeof *h);
    h->fd = fd;
    h->events = (strchr(ev, 'r') ? LOOP_READ : 0) | (strchr(ev, 'w') ? LOOP_WRITE : 0);
    luaL_getmetatable(L, FD_META);
    lua_setmetatable(L, -2);
    h->fn_ref = vcli_ref(L, 3);
    h->self_ref = vcli_ref(L, -1);
    loop_fd(fd, h->events, lfd_cb, h);
    return 1;
}

static int lfd_m_stop(lua_State *L) { lfd_stop(L, vcli_checkudata(L, 1, FD_META)); return 0; }

static int lfd_m_set(lua_State *L)
{
    lfd *h = vcli_checkudata(L, 1, FD_META);
    const char *ev = luaL_checkstring(L, 2);
    if (!h->events && h->fn_ref == LUA_NOREF) return luaL_error(L, "fd watcher already stopped");
    h->events = (strchr(ev, 'r') ? LOOP_READ : 0) | (strchr(ev, 'w') ? LOOP_WRITE : 0);
    loop_fd(h->fd, h->events, lfd_cb, h);
    return 0;
}

static void ltimer_cb(void *ud)
{
    ltimer *t = ud;
    lua_State *L = lp.L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->fn_ref);
    if (t->repeat > 0) {
        t->id = loop_timer(t->repeat, ltimer_cb, t);
    } else {
        t->id = 0;
        vcli_unref(L, &t->self_ref); /* may be collected after the call */
    }
    if (vm_pcall(L, 0, 0)) loop_report(L, "timer");
}

/* loop.timer(ms, fn [, repeat_ms]) -> handle */
static int l_timer(lua_State *L)
{
    double ms = luaL_checknumber(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    double repeat = luaL_optnumber(L, 3, 0);
    lua_settop(L, 2);
    ltimer *t = lua_newuserdata(L, sizeof *t);
    t->repeat = repeat;
    luaL_getmetatable(L, TIMER_META);
    lua_setmetatable(L, -2);
    t->fn_ref = vcli_ref(L, 2);
    t->self_ref = vcli_ref(L, -1);
    t->id = loop_timer(ms, ltimer_cb, t);
    return 1;
}

static int ltimer_m_stop(lua_State *L)
{
    ltimer *t = vcli_checkudata(L, 1, TIMER_META);
    if (t->id) loop_timer_cancel(t->id);
    t->id = 0;
    t->repeat = 0;
    vcli_unref(L, &t->self_ref);
    return 0;
}

static int ltimer_gc(lua_State *L)
{
    ltimer *t = vcli_checkudata(L, 1, TIMER_META);
    if (t->id) loop_timer_cancel(t->id);
    vcli_unref(L, &t->fn_ref);
    return 0;
}

static int lfd_gc(lua_State *L) { lfd_stop(L, vcli_checkudata(L, 1, FD_META)); return 0; }

/* loop.signal(name, fn|nil) */
static int l_signal(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    int sig = 0;
    for (int k = 0; signames[k].name; k++)
        if (!strcmp(signames[k].name, name)) sig = signames[k].sig;
    if (!sig) return luaL_error(L, "unknown signal '%s'", name);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp.sig_ref);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, name);
    if (lua_isnoneornil(L, 2) && sig != SIGCHLD) { if (!ignored_at_start(sig)) signal(sig, SIG_DFL); }
    else install(sig);
    return 0;
}

/* loop.handler(name) -> the fn loop.signal set for it, or nil (so a
 * handler can be swapped in for a while and the previous one put back) */
static int l_handler(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp.sig_ref);
    lua_getfield(L, -1, name);
    return 1;
}

static int l_step(lua_State *L) { loop_step(luaL_optnumber(L, 1, -1)); return 0; }

static int l_run(lua_State *L)
{
    lp.stop = 0;
    while (!lp.stop) loop_step(-1);
    lp.stop = 0;
    return 0;
}

static int l_stop(lua_State *L) { lp.stop = 1; return 0; }

static int l_on_error(lua_State *L)
{
    vcli_unref(L, &lp.err_ref);
    if (!lua_isnoneornil(L, 1)) lp.err_ref = vcli_ref(L, 1);
    return 0;
}

/* loop.read(fd [, max]) -> data | nil, "eof" | nil, "again" | nil, err */
static int l_read(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    size_t max = (size_t)luaL_optinteger(L, 2, 65536);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char *p = luaL_prepbuffer(&b);
    ssize_t n = read(fd, p, max < LUAL_BUFFERSIZE ? max : LUAL_BUFFERSIZE);
    if (n > 0) { luaL_addsize(&b, n); luaL_pushresult(&b); return 1; }
    lua_pushnil(L);
    if (n == 0) lua_pushliteral(L, "eof");
    else if (errno == EAGAIN || errno == EINTR) lua_pushliteral(L, "again");
    else lua_pushstring(L, strerror(errno));
    return 2;
}

static int l_nonblock(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    int fl = fcntl(fd, F_GETFL);
    if (lua_toboolean(L, 2)) fl |= O_NONBLOCK; else fl &= ~O_NONBLOCK;
    fcntl(fd, F_SETFL, fl);
    return 0;
}

int luaopen_vcli_loop(lua_State *L)
{
    if (!lp.L) {
        lp.L = L;
        if (pipe2(lp.sigpipe, O_NONBLOCK | O_CLOEXEC) == 0)
            loop_fd(lp.sigpipe[0], LOOP_READ, on_sigpipe, NULL);
        install(SIGCHLD);
        signal(SIGPIPE, SIG_IGN);
        lua_newtable(L);
        lp.sig_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    static const luaL_Reg fd_m[] = {{"stop", lfd_m_stop}, {"set", lfd_m_set}, {"__gc", lfd_gc}, {NULL, NULL}};
    static const luaL_Reg timer_m[] = {{"stop", ltimer_m_stop}, {"__gc", ltimer_gc}, {NULL, NULL}};
    vcli_newclass(L, FD_META, fd_m);
    vcli_newclass(L, TIMER_META, timer_m);
    static const luaL_Reg fns[] = {
        {"fd", l_fd}, {"timer", l_timer}, {"signal", l_signal}, {"handler", l_handler}, {"step", l_step},
        {"run", l_run}, {"stop", l_stop}, {"on_error", l_on_error},
        {"read", l_read}, {"nonblock", l_nonblock}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
