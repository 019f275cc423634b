/* vcli.tty — the terminal handed to a remote program (k8s exec -it): fully
 * raw mode (no echo, no signals from keys, no output processing, as
 * kubectl's) with the previous mode restored on raw(false) and at exit, and
 * resize notifications on the loop. SIGWINCH is chained, not taken: the
 * handler that was installed (the shell's) still runs. */
#include "vcli.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int is_raw, exit_hooked;

static void restore(void)
{
    if (is_raw) tcsetattr(0, TCSADRAIN, &saved);
    is_raw = 0;
}

/* tty.raw(on) -> true | nil, err. raw(false) puts back the mode raw(true) found. */
static int l_raw(lua_State *L)
{
    int on = lua_toboolean(L, 1);
    if (!on) { restore(); lua_pushboolean(L, 1); return 1; }
    if (is_raw) { lua_pushboolean(L, 1); return 1; }
    if (!isatty(0)) { lua_pushnil(L); lua_pushliteral(L, "stdin is not a terminal"); return 2; }
    if (tcgetattr(0, &saved) < 0) { lua_pushnil(L); lua_pushstring(L, strerror(errno)); return 2; }
    struct termios t = saved;
    t.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_oflag &= ~(unsigned)OPOST;
    t.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(unsigned)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(0, TCSADRAIN, &t) < 0) { lua_pushnil(L); lua_pushstring(L, strerror(errno)); return 2; }
    is_raw = 1;
    if (!exit_hooked) { atexit(restore); exit_hooked = 1; }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_is_raw(lua_State *L) { lua_pushboolean(L, is_raw); return 1; }

/* ---- resize ------------------------------------------------------------- */
static struct sigaction prev;
static int winch_on, wpipe[2] = {-1, -1}, resize_ref = LUA_NOREF;

static void on_winch(int sig, siginfo_t *si, void *uc)
{
    int e = errno;
    unsigned char b = 1;
    if (write(wpipe[1], &b, 1) < 0) { /* full: a wakeup is pending anyway */ }
    if (prev.sa_flags & SA_SIGINFO) { if (prev.sa_sigaction) prev.sa_sigaction(sig, si, uc); }
    else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) prev.sa_handler(sig);
    errno = e;
}

static void get_size(int *cols, int *rows)
{
    struct winsize ws;
    *cols = *rows = 0;
    if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0) { *cols = ws.ws_col; *rows = ws.ws_row; }
}

static void winch_ready(int fd, int revents, void *ud)
{
    unsigned char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {}
    if (resize_ref == LUA_NOREF) return;
    lua_State *L = loop_L();
    int cols, rows;
    get_size(&cols, &rows);
    lua_rawgeti(L, LUA_REGISTRYINDEX, resize_ref);
    lua_pushinteger(L, cols);
    lua_pushinteger(L, rows);
    if (vm_pcall(L, 2, 0)) loop_report(L, "tty on_resize");
}

/* tty.on_resize(fn(cols, rows) | nil): call fn from the loop after each
 * SIGWINCH; nil stops it and puts the previous handler back. */
static int l_on_resize(lua_State *L)
{
    vcli_unref(L, &resize_ref);
    if (lua_isnoneornil(L, 1)) {
        if (winch_on) {
            struct sigaction cur;
            sigaction(SIGWINCH, NULL, &cur);
            if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_winch) sigaction(SIGWINCH, &prev, NULL);
            loop_fd(wpipe[0], 0, NULL, NULL);
            winch_on = 0;
        }
        return 0;
    }
    luaL_checktype(L, 1, LUA_TFUNCTION);
    resize_ref = vcli_ref(L, 1);
    if (wpipe[0] < 0 && pipe2(wpipe, O_NONBLOCK | O_CLOEXEC) < 0) return luaL_error(L, "tty.on_resize: %s", strerror(errno));
    if (!winch_on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_winch;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGWINCH, &sa, &prev);
        loop_fd(wpipe[0], LOOP_READ, winch_ready, NULL);
        winch_on = 1;
    }
    return 0;
}

/* tty.size() -> cols, rows (0, 0 without a terminal) */
static int l_size(lua_State *L)
{
    int cols, rows;
    get_size(&cols, &rows);
    lua_pushinteger(L, cols);
    lua_pushinteger(L, rows);
    return 2;
}

int luaopen_vcli_tty(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"raw", l_raw}, {"is_raw", l_is_raw}, {"on_resize", l_on_resize}, {"size", l_size}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
