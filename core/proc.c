/* vcli.proc — child processes with pipes; exits arrive through the loop. */
#include "vcli.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void on_exit_cb(int pid, int status, void *ud)
{
    lua_State *L = loop_L();
    int ref = (int)(intptr_t)ud;
    if (ref == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    if (status < 0) { lua_pushnil(L); lua_pushnil(L); }
    else if (WIFEXITED(status)) { lua_pushinteger(L, WEXITSTATUS(status)); lua_pushnil(L); }
    else { lua_pushinteger(L, 128 + WTERMSIG(status)); lua_pushinteger(L, WTERMSIG(status)); }
    lua_pushinteger(L, pid);
    if (vm_pcall(L, 3, 0)) loop_report(L, "process exit");
}

/* How a child's stdio slot is set up: "inherit", "null", or "pipe". */
static int stdio_mode(lua_State *L, int opts, const char *key)
{
    lua_getfield(L, opts, key);
    const char *m = lua_isstring(L, -1) ? lua_tostring(L, -1) : "inherit";
    int r = !strcmp(m, "pipe") ? 2 : !strcmp(m, "null") ? 1 : 0;
    lua_pop(L, 1);
    return r;
}

/* proc.spawn{argv={...}, env={K=V,...}|nil, cwd=, stdin=, stdout=, stderr=, group=bool,
 *            on_exit=fn(code, signal, pid)} -> {pid=, stdin=fd, stdout=fd, stderr=fd} | nil, err
 * group: the child leads a process group of its own, so proc.kill(pid, sig, true) stops
 * what it started too (a script's children); only for a child that does not use the terminal. */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "argv");
    luaL_checktype(L, -1, LUA_TTABLE);
    int argc = (int)lua_objlen(L, -1);
    if (argc < 1) return luaL_error(L, "proc.spawn: argv is empty");
    for (int i = 0; i < argc; i++) { /* checked before anything is allocated: an error cannot leak */
        lua_rawgeti(L, -1, i + 1);
        if (!lua_isstring(L, -1)) return luaL_error(L, "proc.spawn: argv[%d] is not a string", i + 1);
        lua_pop(L, 1);
    }
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv) return luaL_error(L, "proc.spawn: out of memory");
    for (int i = 0; i < argc; i++) {
        lua_rawgeti(L, -1, i + 1);
        argv[i] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    char **envp = NULL;
    lua_getfield(L, 1, "env");
    if (lua_istable(L, -1)) {
        int n = 0, cap = 16;
        envp = calloc((size_t)cap + 1, sizeof *envp);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
                if (n == cap) { cap *= 2; envp = realloc(envp, ((size_t)cap + 1) * sizeof *envp); }
                lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
                envp[n++] = strdup(lua_tostring(L, -1));
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        envp[n] = NULL;
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "cwd");
    const char *cwd = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "group");
    int group = lua_toboolean(L, -1);
    lua_pop(L, 1);
    int modes[3] = { stdio_mode(L, 1, "stdin"), stdio_mode(L, 1, "stdout"), stdio_mode(L, 1, "stderr") };
    int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int errp[2];
    const char *fail = NULL;
    for (int i = 0; i < 3 && !fail; i++)
        if (modes[i] == 2 && pipe2(pipes[i], O_CLOEXEC) < 0) fail = "pipe";
    if (!fail && pipe2(errp, O_CLOEXEC) < 0) fail = "pipe";
    pid_t pid = -1;
    if (!fail) {
        pid = fork();
        if (pid < 0) fail = "fork";
        else if (pid > 0 && group) setpgid(pid, pid); /* both sides: no race with kill */
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        if (group) setpgid(0, 0);
        for (int i = 0; i < 3; i++) {
            if (modes[i] == 2) dup2(i == 0 ? pipes[i][0] : pipes[i][1], i);
            else if (modes[i] == 1) { int nfd = open("/dev/null", O_RDWR); dup2(nfd, i); close(nfd); }
        }
        if (cwd && chdir(cwd) < 0) { int e = errno; if (write(errp[1], &e, sizeof e) < 0) {} _exit(127); }
        if (envp) execvpe(argv[0], argv, envp); else execvp(argv[0], argv);
        int e = errno;
        if (write(errp[1], &e, sizeof e) < 0) {}
        _exit(127);
    }
    int child_errno = 0;
    if (pid > 0) {
        close(errp[1]);
        if (read(errp[0], &child_errno, sizeof child_errno) != sizeof child_errno) child_errno = 0;
        close(errp[0]);
    }
    for (int i = 0; argv[i]; i++) free(argv[i]);
    free(argv);
    for (int i = 0; envp && envp[i]; i++) free(envp[i]);
    free(envp);
    for (int i = 0; i < 3; i++) {
        if (pipes[i][0] < 0) continue;
        close(i == 0 ? pipes[i][0] : pipes[i][1]);
        if (fail || child_errno) close(i == 0 ? pipes[i][1] : pipes[i][0]);
    }
    if (fail) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot start process: %s failed (%s)", fail, strerror(errno));
        return 2;
    }
    if (child_errno) {
        waitpid(pid, NULL, 0);
        lua_getfield(L, 1, "argv");
        lua_rawgeti(L, -1, 1);
        lua_pushnil(L);
        lua_pushfstring(L, "cannot run '%s': %s", lua_tostring(L, -2), strerror(child_errno));
        return 2;
    }
    lua_getfield(L, 1, "on_exit");
    if (lua_isfunction(L, -1)) {
        int ref = luaL_ref(L, LUA_REGISTRYINDEX);
        loop_child(pid, on_exit_cb, (void *)(intptr_t)ref);
    } else {
        lua_pop(L, 1);
        loop_child(pid, on_exit_cb, (void *)(intptr_t)LUA_NOREF);
    }
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, pid);
    lua_setfield(L, -2, "pid");
    static const char *names[3] = {"stdin", "stdout", "stderr"};
    for (int i = 0; i < 3; i++) {
        if (pipes[i][0] < 0) continue;
        int fd = i == 0 ? pipes[i][1] : pipes[i][0];
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        lua_pushinteger(L, fd);
        lua_setfield(L, -2, names[i]);
    }
    return 1;
}

static int l_kill(lua_State *L)
{
    int pid = (int)luaL_checkinteger(L, 1);
    int sig = (int)luaL_optinteger(L, 2, SIGTERM);
    int group = lua_toboolean(L, 3);
    if (pid <= 0) return luaL_error(L, "proc.kill: bad pid %d", pid);
    lua_pushboolean(L, kill(group ? -pid : pid, sig) == 0);
    return 1;
}

static int l_close(lua_State *L)
{
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

int luaopen_vcli_proc(lua_State *L)
{
    static const luaL_Reg fns[] = {{"spawn", l_spawn}, {"kill", l_kill}, {"close", l_close}, {"getpid", l_getpid}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
