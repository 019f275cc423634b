/* vcli.vm — LuaJIT states with an allocator that counts (and can cap) bytes,
 * tracebacks on every error, and time budgets that stop runaway code. */
#include "vcli.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static lua_State *main_L;

/* ---- helpers every module uses --------------------------------------- */
void vcli_setfuncs(lua_State *L, const luaL_Reg *l)
{
    for (; l->name; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
}

void *vcli_checkudata(lua_State *L, int idx, const char *meta)
{
    return luaL_checkudata(L, idx, meta);
}

int vcli_ref(lua_State *L, int idx)
{
    lua_pushvalue(L, idx);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void vcli_unref(lua_State *L, int *ref)
{
    if (*ref != LUA_NOREF && *ref != LUA_REFNIL) luaL_unref(L, LUA_REGISTRYINDEX, *ref);
    *ref = LUA_NOREF;
}

/* A metatable named meta whose __index is itself, holding methods. */
void vcli_newclass(lua_State *L, const char *meta, const luaL_Reg *methods)
{
    if (luaL_newmetatable(L, meta)) {
        vcli_setfuncs(L, methods);
        lua_pushvalue(L, -1);
        lua_setfield(L, -2, "__index");
        lua_pushstring(L, meta);
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
}


double vm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *vm_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    vm_acct *a = ud;
    if (nsize == 0) {
        if (ptr) a->used -= osize;
        free(ptr);
        return NULL;
    }
    size_t old = ptr ? osize : 0;
    if (a->limit && nsize > old && a->used - old + nsize > a->limit) {
        a->refused++;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    a->used = a->used - old + nsize;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

lua_State *vm_newstate(vm_acct *acct)
{
    memset(acct, 0, sizeof *acct);
    return lua_newstate(vm_alloc, acct);
}

vm_acct *vm_acct_of(lua_State *L)
{
    void *ud;
    lua_Alloc f = lua_getallocf(L, &ud);
    return f == vm_alloc ? ud : NULL;
}

void vm_set_main(lua_State *L) { main_L = L; }

int vm_traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        if (!lua_isnoneornil(L, 1) && lua_type(L, 1) != LUA_TSTRING) return 1; /* error objects pass through */
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int vm_pcall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, vm_traceback);
    lua_insert(L, base);
    int rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

/* ---- time budgets and interrupts -----------------------------------------
 * A count hook checks a deadline. Once it has fired it keeps firing on every
 * count, so a `pcall` inside the runaway code cannot swallow the stop.
 * Compiled traces never call hooks: callers turn the JIT off for code they
 * budget (jit.off(fn, true)), which run_limited does for the function it runs. */
static struct {
    double deadline;            /* 0 = none */
    double budget_ms;
    volatile sig_atomic_t armed, interrupted;
} guard;

static void guard_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (guard.interrupted && guard.armed) {
        guard.interrupted = 0;
        lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1000);
        luaL_error(L, "interrupted");
    }
    if (guard.deadline > 0 && vm_now_ms() > guard.deadline)
        luaL_error(L, "stopped: ran longer than its %d ms time limit", (int)guard.budget_ms);
}

static void guard_update(lua_State *L)
{
    if (guard.deadline > 0 || guard.armed)
        lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1000);
    else
        lua_sethook(L, NULL, 0, 0);
}

void vm_on_sigint(void)
{
    guard.interrupted = 1;
    if (guard.armed && main_L)
        lua_sethook(main_L, guard_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* vm.run_limited(ms, fn, ...) -> ok, results... | false, err */
static int l_run_limited(lua_State *L)
{
    double ms = luaL_checknumber(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    double saved_deadline = guard.deadline, saved_budget = guard.budget_ms;
    /* jit.off(fn, true) so the hook sees every loop. */
    lua_getglobal(L, "jit");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "off");
        lua_pushvalue(L, 2);
        lua_pushboolean(L, 1);
        lua_pcall(L, 2, 0, 0);
    }
    lua_pop(L, 1);
    double dl = vm_now_ms() + ms;
    if (saved_deadline <= 0 || dl < saved_deadline) { guard.deadline = dl; guard.budget_ms = ms; }
    guard_update(L);
    int n = lua_gettop(L) - 2;
    int rc = vm_pcall(L, n, LUA_MULTRET);
    guard.deadline = saved_deadline;
    guard.budget_ms = saved_budget;
    guard_update(L);
    if (rc != 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, 2);
    return lua_gettop(L) - 1;
}

/* vm.arm_interrupt(on) -> previous: while armed, Ctrl-C (SIGINT) raises "interrupted"
 * inside running Lua code; the REPL arms it around a command's own code. */
static int l_arm_interrupt(lua_State *L)
{
    int prev = guard.armed;
    guard.armed = lua_toboolean(L, 1);
    if (guard.armed && !prev) guard.interrupted = 0;
    guard_update(L);
    lua_pushboolean(L, prev);
    return 1;
}

static int l_interrupted(lua_State *L)
{
    lua_pushboolean(L, guard.interrupted);
    guard.interrupted = 0;
    return 1;
}

/* vm.expired() -> true once the running time budget is spent; guarded
 * pcall/xpcall/coroutine.resume re-raise then, so a stop cannot be swallowed. */
static int l_expired(lua_State *L)
{
    lua_pushboolean(L, guard.deadline > 0 && vm_now_ms() > guard.deadline);
    return 1;
}

static int l_memory(lua_State *L)
{
    vm_acct *a = vm_acct_of(L);
    if (!a) return 0;
    lua_pushnumber(L, (lua_Number)a->used);
    lua_pushnumber(L, (lua_Number)a->peak);
    lua_pushnumber(L, (lua_Number)a->limit);
    return 3;
}

static int l_set_limit(lua_State *L)
{
    vm_acct *a = vm_acct_of(L);
    if (a) a->limit = (size_t)luaL_optnumber(L, 1, 0);
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, vm_now_ms());
    return 1;
}

static int l_traceback(lua_State *L)
{
    luaL_traceback(L, L, luaL_optstring(L, 1, NULL), (int)luaL_optinteger(L, 2, 1));
    return 1;
}

int luaopen_vcli_vm(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"run_limited", l_run_limited},
        {"arm_interrupt", l_arm_interrupt},
        {"interrupted", l_interrupted},
        {"expired", l_expired},
        {"memory", l_memory},
        {"set_limit", l_set_limit},
        {"now", l_now},
        {"traceback", l_traceback},
        {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    lua_pushliteral(L, VCLI_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
