/* vcli.sandbox — one Lua state per plugin. Each state has its own accounting
 * allocator (memory is counted and capped exactly), a CPU-clock timer whose
 * signal sets the hook that stops a call past its time limit (no hook runs
 * until then: LuaJIT's hooked dispatch makes every instruction ~2x slower),
 * no JIT (compiled traces never call hooks), and
 * only the base libraries a plugin may use. Values cross between the host and
 * a plugin state only as copied plain data (nil, booleans, numbers, strings,
 * tables of those): functions never cross, so a plugin holds no reference
 * into the host. Capability calls go through one C entry point that checks
 * the grant kept in the sandbox struct, which Lua cannot reach.
 *
 *   sb = sandbox.new{ name=, dir=, memory=, grants={...}, prelude=text, host=fn, data=plain }
 *                           (data: plain data for the prelude, as prims.data)
 *   sb:call(...)            -> "done", results... | "wait", thread, ticket | "error", msg, kind
 *   sb:resume(thread, ...)  -> same
 *   sb:cancel(thread); sb:output() -> stdout, stderr; sb:stats(); sb:close()
 *   sb:gc() (a full collection); sb:gc(kb) -> done (one incremental step)
 *
 * The CPU limit bounds each run of plugin code between two waits on the host
 * (one sb:call or sb:resume), not the sum over a call that waits many times.
 */
#include "vcli.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <luajit.h>

#define SB_META "vcli.sandbox"
#define SB_MAXDEPTH 32
#define SB_MAXCOPY ((size_t)64 << 20)   /* bytes of plain data per crossing */
#define SB_MAXOUT ((size_t)16 << 20)    /* buffered output per call */
#define SB_MAXGRANTS 32
#define SB_DISPATCH "vcli.sandbox.dispatch"
#define SB_THREADS "vcli.sandbox.threads"

typedef struct { char *p; size_t n, cap; } sbuf;

typedef struct sandbox {
    vm_acct acct;               /* first: the allocator's ud is the sandbox */
    lua_State *L;               /* NULL once closed */
    lua_State *host;            /* host thread running a call (for host calls) */
    int host_ref;               /* host function (registry of the main state) */
    char name[64];
    char dir[4096];
    char *grants[SB_MAXGRANTS];
    int ngrants;
    double cpu_limit_ms;        /* per call */
    double deadline, call_cpu;  /* the running call (deadline > 0 while one runs; wall clock) */
    double cpu_start, cpu_host; /* CPU clock at the stretch's start; CPU the host spent in it */
    int expired;
    double cpu_total_ms;
    double calls, errors;
    sbuf out, err;
} sandbox;

static sandbox *sb_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* The time a stretch of plugin code runs: it runs alone on this thread
 * between two waits, so the monotonic clock (a vDSO read, not a system call
 * like the thread CPU clock) measures it at a cost that fits every call. */
/* CPU time of this thread (the only one running Lua): the limit is CPU, so a loaded
 * machine slows a plugin down without stopping it. */
static double cpu_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return vm_now_ms();
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- plain data copies ----------------------------------------------------
 * encode reads a value of one state into a C buffer; decode builds it in
 * another. Reading and writing each happen under that state's own protection,
 * so an allocation failure in a plugin state can never unwind the host. */
static int buf_add(sbuf *b, const void *p, size_t n)
{
    if (n == 0) return 0;   /* (nothing to add: p may be NULL then, which memcpy may not be given) */
    if (b->n + n > SB_MAXCOPY) return -1;
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n) c *= 2;
        char *q = realloc(b->p, c);
        if (!q) return -1;
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

typedef struct {
    sbuf b;
    const void *path[SB_MAXDEPTH + 1];
    const char *err;
} enc;

static int encode(lua_State *L, int idx, enc *e, int depth)
{
    char t;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: case LUA_TNONE: t = 'n'; return buf_add(&e->b, &t, 1);
    case LUA_TBOOLEAN: t = lua_toboolean(L, idx) ? 't' : 'f'; return buf_add(&e->b, &t, 1);
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        t = 'd';
        if (buf_add(&e->b, &t, 1) || buf_add(&e->b, &d, sizeof d)) goto toobig;
        return 0;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        uint32_t n32 = (uint32_t)n;
        t = 's';
        if (n > SB_MAXCOPY || buf_add(&e->b, &t, 1) || buf_add(&e->b, &n32, 4) || buf_add(&e->b, s, n)) goto toobig;
        return 0;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) { t = 'n'; return buf_add(&e->b, &t, 1); } /* cjson/yaml null */
        break;
    case LUA_TTABLE: {
        const void *p = lua_topointer(L, idx);
        if (depth >= SB_MAXDEPTH) { e->err = "a table nested deeper than 32 levels cannot be copied"; return -1; }
        for (int i = 0; i < depth; i++)
            if (e->path[i] == p) { e->err = "a table that contains itself (a cycle) cannot be copied"; return -1; }
        e->path[depth] = p;
        if (!lua_checkstack(L, 4)) { e->err = "stack overflow while copying a table"; return -1; }
        if (idx < 0) idx = lua_gettop(L) + idx + 1;
        t = 'T';
        if (buf_add(&e->b, &t, 1)) goto toobig;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            int kt = lua_type(L, -2);
            if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN) {
                lua_pop(L, 2);
                e->err = "only strings, numbers and booleans can be table keys in copied data";
                return -1;
            }
            if (encode(L, -2, e, depth + 1) || encode(L, -1, e, depth + 1)) { lua_pop(L, 2); return -1; }
            lua_pop(L, 1);
        }
        t = 'E';
        if (buf_add(&e->b, &t, 1)) goto toobig;
        return 0;
    }
    default: break;
    }
    e->err = lua_type(L, idx) == LUA_TFUNCTION
        ? "functions cannot cross between a plugin and the host (pass data; register handlers by name)"
        : "only nil, booleans, numbers, strings and tables of those can cross between a plugin and the host";
    return -1;
toobig:
    if (!e->err) e->err = "data too large to copy (the limit is 64 MiB)";
    return -1;
}

/* Encode n values starting at idx; on failure sets e->err. */
static int encode_n(lua_State *L, int idx, int n, enc *e)
{
    uint32_t n32 = (uint32_t)n;
    if (buf_add(&e->b, &n32, 4)) { e->err = "data too large to copy"; return -1; }
    for (int i = 0; i < n; i++)
        if (encode(L, idx + i, e, 0)) {
            if (!e->err) e->err = "data too large to copy (the limit is 64 MiB)";
            return -1;
        }
    return 0;
}

typedef struct { const char *p; size_t n, pos; } dec;

static void decode(lua_State *L, dec *d)
{
    char t = d->p[d->pos++];
    switch (t) {
    case 'n': lua_pushnil(L); break;
    case 't': lua_pushboolean(L, 1); break;
    case 'f': lua_pushboolean(L, 0); break;
    case 'd': { double v; memcpy(&v, d->p + d->pos, sizeof v); d->pos += sizeof v; lua_pushnumber(L, v); break; }
    case 's': {
        uint32_t n;
        memcpy(&n, d->p + d->pos, 4);
        d->pos += 4;
        lua_pushlstring(L, d->p + d->pos, n);
        d->pos += n;
        break;
    }
    case 'T':
        luaL_checkstack(L, 4, "copying a table");
        lua_newtable(L);
        while (d->p[d->pos] != 'E') {
            decode(L, d);
            decode(L, d);
            if (lua_isnil(L, -2)) lua_pop(L, 2); else lua_rawset(L, -3);
        }
        d->pos++;
        break;
    }
}

static int decode_n(lua_State *L, dec *d)
{
    uint32_t n;
    memcpy(&n, d->p + d->pos, 4);
    d->pos += 4;
    luaL_checkstack(L, (int)n + 4, "copying values");
    for (uint32_t i = 0; i < n; i++) decode(L, d);
    return (int)n;
}

/* Decode under protection of L: cpcall with this. */
typedef struct { dec d; int n; } decjob;
static int decode_job(lua_State *L)
{
    decjob *j = lua_touserdata(L, 1);
    lua_pop(L, 1);
    j->n = decode_n(L, &j->d);
    return j->n;
}

/* ---- the state ------------------------------------------------------------ */
/* The CPU limit without a hook on every instruction: while plugin code runs,
 * a timer on this thread's CPU clock is armed for what its limit leaves; its
 * signal sets a count hook on the running state, and that hook (in the state's
 * own thread, between two instructions) weighs the CPU really used (the host's
 * share of the stretch aside): over the limit, the call stops; under it (the
 * host's time counted on the clock), the timer is armed again for the rest and
 * the hook goes. Where no such timer can be made, the count hook of old runs
 * all the time (sb_timer_ok < 0). */
static timer_t sb_timer;
static int sb_timer_ok;                     /* 0 not tried yet, 1 made, -1 none */
static lua_State *volatile sb_running;      /* the plugin state of the innermost run */
static volatile sig_atomic_t sb_fired;
static void sb_hook(lua_State *L, lua_Debug *ar);

static void on_cpu_timer(int sig)
{
    (void)sig;
    sb_fired = 1;
    lua_State *L = sb_running;
    /* as luajit.c's own SIGINT handler does: the next instruction calls the hook */
    if (L) lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
}

static int cpu_timer_init(void)
{
    if (sb_timer_ok) return sb_timer_ok > 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cpu_timer;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGVTALRM;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (sigaction(SIGVTALRM, &sa, NULL) == 0 && timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &sb_timer) == 0)
        sb_timer_ok = 1;
    else
        sb_timer_ok = -1;
    return sb_timer_ok > 0;
}

/* arm the timer for ms of CPU from now (0: disarm) */
static void cpu_timer_arm(double ms)
{
    if (sb_timer_ok <= 0) return;
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    if (ms > 0) {
        if (ms < 0.05) ms = 0.05;
        it.it_value.tv_sec = (time_t)(ms / 1000);
        it.it_value.tv_nsec = (long)((ms - it.it_value.tv_sec * 1000.0) * 1e6);
    }
    timer_settime(sb_timer, 0, &it, NULL);
}

/* the plugin's own CPU in this stretch: the thread's, less the host's */
static double stretch_used(sandbox *sb) { return cpu_now_ms() - sb->cpu_start - sb->cpu_host; }

static void sb_hook(lua_State *L, lua_Debug *ar)
{
    sandbox *sb = sb_of(L);
    if (!sb->expired) {
        if (sb_timer_ok > 0) {
            if (!ar && !sb_fired) return;   /* the matcher's tick between two signals */
            /* disarmed first: no signal can come while the hook is changed (one
             * generated before is delivered as timer_settime returns) */
            cpu_timer_arm(0);
            sb_fired = 0;
            if (sb->deadline <= 0) { lua_sethook(L, NULL, 0, 0); return; }   /* not running */
            double used = stretch_used(sb);
            if (used < sb->cpu_limit_ms) {
                lua_sethook(L, NULL, 0, 0);
                cpu_timer_arm(sb->cpu_limit_ms - used);
                return;
            }
        } else {
            /* the count hook on every 1000 instructions: the wall clock first (cheap) */
            if (sb->deadline <= 0 || vm_now_ms() <= sb->deadline) return;
            double used = stretch_used(sb);
            if (used < sb->cpu_limit_ms) {   /* a busy machine: move the wall deadline by what is left */
                sb->deadline = vm_now_ms() + (sb->cpu_limit_ms - used);
                return;
            }
        }
        sb->expired = 1;
        /* From now on every instruction raises again: a pcall inside the
         * plugin cannot swallow the stop. */
        lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1);
    }
    luaL_error(L, "plugin %s: stopped: a call ran longer than its %d ms CPU limit",
               sb->name, (int)sb->cpu_limit_ms);
}

/* the hook while no call runs: none with the timer, the count hook without it */
static void idle_hook(lua_State *L)
{
    if (sb_timer_ok > 0) lua_sethook(L, NULL, 0, 0);
    else lua_sethook(L, sb_hook, LUA_MASKCOUNT, 1000);
}

/* the CPU check from inside a long C call (the pattern matcher) */
static void sb_tick(lua_State *L) { sb_hook(L, NULL); }

static int has_grant(sandbox *sb, const char *cap)
{
    for (int i = 0; i < sb->ngrants; i++)
        if (!strcmp(sb->grants[i], cap)) return 1;
    return 0;
}

/* Run a host function with values of the plugin stack; results come back
 * as copies. Everything the host does runs in the host thread under pcall. */
typedef struct { sandbox *sb; enc in; enc out; int ok; } hostjob;

static int host_job(lua_State *H)
{
    hostjob *j = lua_touserdata(H, 1);
    lua_pop(H, 1);
    int base = lua_gettop(H);
    lua_rawgeti(H, LUA_REGISTRYINDEX, j->sb->host_ref);
    lua_pushstring(H, j->sb->name);
    dec d = { j->in.b.p, j->in.b.n, 0 };
    int n = decode_n(H, &d);
    /* no traceback handler: the plugin gets the host's one-line message (a
     * command may print it as its own error, e.g. apply's "no such file") */
    j->ok = lua_pcall(H, n + 1, LUA_MULTRET, 0) == 0;
    int nres = lua_gettop(H) - base;
    if (!j->ok && !lua_isstring(H, -1)) { lua_pop(H, 1); lua_pushliteral(H, "host call failed"); }
    if (encode_n(H, base + 1, nres, &j->out)) {
        j->out.b.n = 0;
        j->ok = 0;
        lua_settop(H, base);
        lua_pushstring(H, j->out.err);
        j->out.err = NULL;
        encode_n(H, base + 1, 1, &j->out);
    }
    lua_settop(H, base);
    return 0;
}

/* __host(cap, op, ...) in a plugin: the one door to the host. */
static int sb_host(lua_State *L)
{
    sandbox *sb = sb_of(L);
    const char *cap = luaL_checkstring(L, 1);
    luaL_checkstring(L, 2);
    if (strcmp(cap, "core") && !has_grant(sb, cap))
        return luaL_error(L, "plugin %s lacks capability '%s' (add it to capabilities: in plugin.yaml)", sb->name, cap);
    if (!sb->host || sb->host_ref == LUA_NOREF)
        return luaL_error(L, "plugin %s: the host is not reachable here", sb->name);
    hostjob j;
    memset(&j, 0, sizeof j);
    j.sb = sb;
    if (encode_n(L, 1, lua_gettop(L), &j.in)) {
        free(j.in.b.p);
        return luaL_error(L, "%s", j.in.err);
    }
    /* Host time does not count against the plugin's CPU limit. */
    double t0 = vm_now_ms(), c0 = cpu_now_ms();
    lua_State *H = sb->host;
    int rc = lua_cpcall(H, host_job, &j);
    if (sb->deadline > 0) {
        sb->deadline += vm_now_ms() - t0;
        sb->cpu_host += cpu_now_ms() - c0;
    }
    free(j.in.b.p);
    if (rc != 0) {
        lua_pop(H, 1);
        free(j.out.b.p);
        return luaL_error(L, "plugin %s: host call failed (out of memory)", sb->name);
    }
    lua_settop(L, 0);
    dec d = { j.out.b.p, j.out.b.n, 0 };
    int n = 0;
    if (d.n) {
        /* Decoding allocates in this (plugin) state; an error here is the
         * plugin's own and unwinds only it — but free the buffer first. */
        decjob dj = { d, 0 };
        lua_pushcfunction(L, decode_job);
        lua_pushlightuserdata(L, &dj);
        int drc = lua_pcall(L, 1, LUA_MULTRET, 0);
        free(j.out.b.p);
        if (drc != 0) return lua_error(L);
        n = lua_gettop(L);
    } else {
        free(j.out.b.p);
    }
    if (!j.ok) return lua_error(L);
    return n;
}

/* __out(text [, 2]) -> bytes now waiting for the host to take them */
static int sb_out(lua_State *L)
{
    sandbox *sb = sb_of(L);
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    sbuf *b = luaL_optinteger(L, 2, 1) == 2 ? &sb->err : &sb->out;
    if (b->n + n > SB_MAXOUT) return luaL_error(L, "plugin %s: more than 16 MiB of output in one call", sb->name);
    if (buf_add(b, s, n)) return luaL_error(L, "plugin %s: out of memory for output", sb->name);
    lua_pushinteger(L, (lua_Integer)b->n);
    return 1;
}

/* Load text (never bytecode) as a chunk; cached: a plugin's own module, whose
 * compiled form may come from the host's bytecode cache (core/host.c: keyed
 * by exactly this text). load() strings are never cached. */
static int load_text_as(lua_State *L, const char *s, size_t n, const char *name, int cached)
{
    if (n > 0 && s[0] == LUA_SIGNATURE[0]) {
        lua_pushfstring(L, "%s: bytecode is not allowed in plugins (load takes text only)", name);
        return LUA_ERRSYNTAX;
    }
    return cached ? vcli_bc_load_text(L, s, n, name) : luaL_loadbuffer(L, s, n, name);
}

static int load_text(lua_State *L, const char *s, size_t n, const char *name) { return load_text_as(L, s, n, name, 0); }

/* __load(text, chunkname) -> fn | nil, err */
static int sb_load(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, "=(load)");
    if (load_text(L, s, n, name) != 0) { lua_pushnil(L); lua_insert(L, -2); return 2; }
    return 1;
}

/* __readmod(modname) -> fn | nil, err: a module from the plugin's own directory. */
static int sb_readmod(lua_State *L)
{
    sandbox *sb = sb_of(L);
    const char *mod = luaL_checkstring(L, 1);
    size_t ml = strlen(mod);
    if (ml == 0 || ml > 200) goto bad;
    for (const char *c = mod; *c; c++)
        if (!(*c == '.' || *c == '_' || *c == '-' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            goto bad;
    if (mod[0] == '.' || strstr(mod, "..")) goto bad;
    char rel[256], path[4400];
    size_t i;
    for (i = 0; mod[i]; i++) rel[i] = mod[i] == '.' ? '/' : mod[i];
    rel[i] = 0;
    snprintf(path, sizeof path, "%s/%s.lua", sb->dir, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "module '%s' not found in plugin %s (looked for %s)", mod, sb->name, path);
        return 2;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
        close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "module '%s': %s is not a readable file of at most 16 MiB", mod, path);
        return 2;
    }
    char *text = malloc((size_t)st.st_size + 1);
    ssize_t got = text ? read(fd, text, (size_t)st.st_size) : -1;
    close(fd);
    if (got < 0) { free(text); return luaL_error(L, "cannot read %s", path); }
    char chunk[400];
    snprintf(chunk, sizeof chunk, "@%.64s/%.256s.lua", sb->name, rel);
    int rc = load_text_as(L, text, (size_t)got, chunk, 1);
    free(text);
    lua_pushnil(L);
    if (rc != 0) lua_insert(L, -2);   /* nil, err */
    return 2;
bad:
    return luaL_error(L, "require: '%s' is not a module name of this plugin (letters, digits, '_', '-', '.')", mod);
}

/* __expired() -> true once the running call's time is spent (guarded pcall). */
static int sb_expired(lua_State *L)
{
    lua_pushboolean(L, sb_of(L)->expired);
    return 1;
}

/* prims.traceback(co, msg): msg and the stack of the failed coroutine co (a
 * plugin task), for the host to show with global.debug. The prelude keeps it
 * to itself: no plugin code reaches another stack. */
static int sb_traceback(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    const char *msg = luaL_optstring(L, 2, "");
    if (!co) { lua_pushstring(L, msg); return 1; }
    luaL_traceback(L, co, msg, 0);
    return 1;
}

static int sb_clock(lua_State *L)
{
    lua_pushnumber(L, vm_now_ms());
    return 1;
}

/* The one deny-list: globals no plugin gets (the libraries io, debug, ffi and jit
 * are never opened in a plugin state; the rest are removed). The prelude reads it
 * (prims.denied) to refuse each by name; vcli.sandbox.DENIED shows it to the host. */
static const char *const DENIED[] = { "io", "debug", "ffi", "jit", "package", "dofile", "loadfile", "getfenv",
                                      "setfenv", "newproxy", "module", "gcinfo", NULL };
/* Removed too, and handed to the prelude only, which puts guarded versions in their
 * place (text-only load, the plugin's own require, a limited collectgarbage). */
static const char *const REPLACED[] = { "load", "loadstring", "require", "collectgarbage", NULL };

static void push_names(lua_State *L, const char *const *names)
{
    lua_newtable(L);
    for (int i = 0; names[i]; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

typedef struct { sandbox *sb; const char *prelude; size_t plen; enc grants; enc data; } setupjob;

static int setup_job(lua_State *L)
{
    setupjob *j = lua_touserdata(L, 1);
    lua_pop(L, 1);
    static const lua_CFunction libs[] = { luaopen_base, luaopen_table, luaopen_string, luaopen_math,
                                          luaopen_bit, luaopen_os, NULL };
    for (int i = 0; libs[i]; i++) {
        lua_pushcfunction(L, libs[i]);
        lua_call(L, 0, 0);
    }
    /* What no plugin ever gets, whatever the prelude does. */
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    /* Patterns that check the CPU limit as they backtrack: LuaJIT's run
     * inside one C call, where the count hook never fires. */
    vcli_pattern_install(L, sb_tick);
    lua_newtable(L);  /* the taken originals, handed to the prelude only */
    for (int pass = 0; pass < 2; pass++) {
        const char *const *names = pass ? REPLACED : DENIED;
        for (int i = 0; names[i]; i++) {
            lua_getglobal(L, names[i]);
            lua_setfield(L, -2, names[i]);
            lua_pushnil(L);
            lua_setglobal(L, names[i]);
        }
    }
    int originals = lua_gettop(L);
    lua_getglobal(L, "os");
    lua_newtable(L);
    static const char *os_keep[] = { "time", "clock", "date", "difftime", NULL };
    for (int i = 0; os_keep[i]; i++) {
        lua_getfield(L, -2, os_keep[i]);
        lua_setfield(L, -2, os_keep[i]);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
    if (load_text(L, j->prelude, j->plen, "=vcli/plugin/prelude") != 0) lua_error(L);
    lua_newtable(L);
    static const luaL_Reg prims[] = { {"host", sb_host}, {"out", sb_out}, {"load", sb_load},
                                      {"readmod", sb_readmod}, {"expired", sb_expired},
                                      {"now", sb_clock}, {"traceback", sb_traceback}, {NULL, NULL} };
    vcli_setfuncs(L, prims);
    /* Pure data codecs every plugin may use: C speed, nothing to reach. */
    lua_pushcfunction(L, luaopen_cjson_safe);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, "json");
    lua_pushcfunction(L, luaopen_vcli_yaml);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, "yaml");
    lua_pushcfunction(L, luaopen_vcli_jsonfmt);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, "jsonfmt");
    /* and the full-screen widgets' primitives: row order, POSIX regex, text width */
    lua_pushcfunction(L, luaopen_vcli_sort);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, "sort");
    lua_pushcfunction(L, luaopen_vcli_regex);
    lua_call(L, 0, 1);
    lua_setfield(L, -2, "regex");
    lua_pushcfunction(L, vcli_term_width);
    lua_setfield(L, -2, "width");
    lua_pushcfunction(L, vcli_term_split);
    lua_setfield(L, -2, "split");
    lua_pushstring(L, j->sb->name);
    lua_setfield(L, -2, "name");
    dec d = { j->grants.b.p, j->grants.b.n, 0 };
    decode_n(L, &d);
    lua_setfield(L, -2, "grants");
    lua_pushvalue(L, originals);
    lua_setfield(L, -2, "originals");
    push_names(L, DENIED);
    lua_setfield(L, -2, "denied");
    /* plain data from the host for the prelude: the capability registry's plugin sides */
    if (j->data.b.n) {
        dec dd = { j->data.b.p, j->data.b.n, 0 };
        decode_n(L, &dd);
        lua_setfield(L, -2, "data");
    }
    lua_call(L, 1, 1);
    if (!lua_isfunction(L, -1)) luaL_error(L, "the plugin prelude must return its dispatch function");
    lua_setfield(L, LUA_REGISTRYINDEX, SB_DISPATCH);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, SB_THREADS);
    lua_settop(L, 0);
    return 0;
}

static sandbox *check_sb(lua_State *L)
{
    sandbox **u = vcli_checkudata(L, 1, SB_META);
    if (!*u || !(*u)->L) luaL_error(L, "sandbox is closed");
    return *u;
}

static void sb_free(lua_State *H, sandbox *sb)
{
    if (sb->L) { lua_close(sb->L); sb->L = NULL; }
    vcli_unref(H, &sb->host_ref);
    for (int i = 0; i < sb->ngrants; i++) free(sb->grants[i]);
    sb->ngrants = 0;
    free(sb->out.p);
    free(sb->err.p);
    sb->out = sb->err = (sbuf){0};
}

static int l_new(lua_State *H)
{
    luaL_checktype(H, 1, LUA_TTABLE);
    lua_getfield(H, 1, "name");
    lua_getfield(H, 1, "dir");
    lua_getfield(H, 1, "prelude");
    lua_getfield(H, 1, "memory");
    lua_getfield(H, 1, "cpu_ms");
    lua_getfield(H, 1, "grants");
    lua_getfield(H, 1, "host");
    lua_getfield(H, 1, "data");
    lua_insert(H, 2);   /* out of the way of the slots below */
    lua_getfield(H, 1, "gc_pause");
    int gc_pause = (int)luaL_optinteger(H, -1, 0);
    lua_pop(H, 1);
    const char *name = luaL_checkstring(H, -7);
    const char *dir = luaL_optstring(H, -6, ".");
    size_t plen;
    const char *prelude = luaL_checklstring(H, -5, &plen);
    size_t memory = (size_t)luaL_optnumber(H, -4, 32 << 20);
    double cpu = luaL_optnumber(H, -3, 1000);
    luaL_checktype(H, -1, LUA_TFUNCTION);
    sandbox **u = lua_newuserdata(H, sizeof *u);
    *u = NULL;
    luaL_getmetatable(H, SB_META);
    lua_setmetatable(H, -2);
    sandbox *sb = calloc(1, sizeof *sb);
    if (!sb) return luaL_error(H, "out of memory");
    *u = sb;
    sb->host_ref = LUA_NOREF;
    snprintf(sb->name, sizeof sb->name, "%s", name);
    snprintf(sb->dir, sizeof sb->dir, "%s", dir);
    sb->cpu_limit_ms = cpu;
    if (lua_istable(H, -3)) {
        int n = (int)lua_objlen(H, -3);
        for (int i = 1; i <= n && sb->ngrants < SB_MAXGRANTS; i++) {
            lua_rawgeti(H, -3, i);
            if (lua_isstring(H, -1)) sb->grants[sb->ngrants++] = strdup(lua_tostring(H, -1));
            lua_pop(H, 1);
        }
    }
    sb->host_ref = vcli_ref(H, -2);
    /* vm_newstate zeroes the acct, which is the head of sb. */
    lua_State *L = vm_newstate(&sb->acct);
    if (!L) { sb_free(H, sb); lua_pushnil(H); lua_pushliteral(H, "cannot create a Lua state"); return 2; }
    sb->L = L;
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    setupjob j;
    memset(&j, 0, sizeof j);
    j.sb = sb;
    j.prelude = prelude;
    j.plen = plen;
    lua_newtable(H);
    for (int i = 0; i < sb->ngrants; i++) {
        lua_pushstring(H, sb->grants[i]);
        lua_rawseti(H, -2, i + 1);
    }
    encode_n(H, lua_gettop(H), 1, &j.grants);
    lua_pop(H, 1);
    if (!lua_isnil(H, 2) && encode_n(H, 2, 1, &j.data)) {
        free(j.grants.b.p);
        free(j.data.b.p);
        lua_pushnil(H);
        lua_pushfstring(H, "plugin %s: cannot set up its state: data: %s", sb->name, j.data.err);
        sb_free(H, sb);
        return 2;
    }
    sb->host = H;
    int rc = lua_cpcall(L, setup_job, &j);
    sb->host = NULL;
    free(j.grants.b.p);
    free(j.data.b.p);
    if (rc != 0) {
        lua_pushnil(H);
        lua_pushfstring(H, "plugin %s: cannot set up its state: %s", sb->name, lua_tostring(L, -1));
        sb_free(H, sb);
        return 2;
    }
    sb->acct.limit = memory;
    /* gc_pause (percent): a cycle starts when the heap reaches this much of
     * what the last one left (Lua's default 200 lets a big heap double) */
    if (gc_pause > 0) lua_gc(L, LUA_GCSETPAUSE, gc_pause);
    cpu_timer_init();
    idle_hook(L);
    return 1;
}

/* Host-side bookkeeping in a plugin state (stack slots, the thread table)
 * runs without the plugin's memory cap: a plugin at its limit must still be
 * stoppable, and an allocation failure outside a protected call would abort. */
#define UNCAPPED(sb, stmt) do { size_t lim_ = (sb)->acct.limit; (sb)->acct.limit = 0; stmt; (sb)->acct.limit = lim_; } while (0)

typedef struct { int op; int tref; lua_State *co; } thrjob;
enum { THR_NEW, THR_GET, THR_DROP };

static int thread_job(lua_State *P)
{
    thrjob *j = lua_touserdata(P, 1);
    lua_pop(P, 1);
    lua_getfield(P, LUA_REGISTRYINDEX, SB_THREADS);
    if (j->op == THR_NEW) {
        j->co = lua_newthread(P);
        j->tref = luaL_ref(P, -2);
        lua_checkstack(j->co, 40); /* arguments check for more themselves */
    } else if (j->op == THR_GET) {
        lua_rawgeti(P, -1, j->tref);
        j->co = lua_tothread(P, -1);
        if (j->co) lua_checkstack(j->co, 200);
    } else {
        luaL_unref(P, -1, j->tref);
    }
    lua_settop(P, 0);
    return 0;
}

static int thread_op(sandbox *sb, int op, int tref, lua_State **co)
{
    thrjob j = { op, tref, NULL };
    int rc;
    UNCAPPED(sb, rc = lua_cpcall(sb->L, thread_job, &j));
    if (rc) { lua_pop(sb->L, 1); return -1; }
    if (co) *co = j.co;
    return j.tref;
}

/* Copy host values [idx, idx+n) onto thread co: built in the plugin's main
 * thread under its cap (so oversized arguments fail cleanly), then moved. */
static int push_into(lua_State *H, int idx, int n, sandbox *sb, lua_State *co, const char **err)
{
    enc e;
    memset(&e, 0, sizeof e);
    if (encode_n(H, idx, n, &e)) { free(e.b.p); *err = e.err; return -1; }
    lua_State *P = sb->L;
    decjob dj = { { e.b.p, e.b.n, 0 }, 0 };
    lua_settop(P, 0);
    UNCAPPED(sb, (lua_pushcfunction(P, decode_job), lua_pushlightuserdata(P, &dj)));
    int rc = lua_pcall(P, 1, LUA_MULTRET, 0);
    free(e.b.p);
    if (rc != 0) { lua_settop(P, 0); *err = "not enough memory for the arguments"; return -1; }
    int got = lua_gettop(P);
    UNCAPPED(sb, lua_checkstack(co, got + 8));
    lua_xmove(P, co, got);
    return got;
}

/* Resume co with nargs on its stack; return the outcome to the host. */
static int run(lua_State *H, sandbox *sb, lua_State *co, int tref, int nargs)
{
    lua_State *P = sb->L;
    sb->host = H;
    size_t refused = sb->acct.refused;
    double c0 = cpu_now_ms();
    /* The limit bounds each stretch of plugin code between two waits on the
     * host: a call that waits (a watch between events) starts afresh. */
    sb->deadline = vm_now_ms() + sb->cpu_limit_ms;
    sb->cpu_start = c0;
    sb->cpu_host = 0;
    sb->expired = 0;
    /* a run inside another plugin's host call (plugin A -> host -> plugin B):
     * the timer is B's until B is done, then A's again */
    lua_State *outer = sb_running;
    cpu_timer_arm(0);
    idle_hook(P);
    sb_fired = 0;
    sb_running = P;
    cpu_timer_arm(sb->cpu_limit_ms);
    int rc = lua_resume(co, nargs);
    cpu_timer_arm(0);
    sb_running = outer;
    if (outer) {
        /* what A has left, as far as is known now (B's time is A's host time
         * once the host call returns: an early signal only weighs it again) */
        sandbox *o = sb_of(outer);
        double left = o->cpu_limit_ms - stretch_used(o);
        sb_fired = 0;
        if (left <= 0) { sb_fired = 1; lua_sethook(outer, sb_hook, LUA_MASKCOUNT, 1); }
        else cpu_timer_arm(left);
    }
    double spent = cpu_now_ms() - c0 - sb->cpu_host;
    sb->host = NULL;
    sb->deadline = 0;
    sb->call_cpu += spent;
    sb->cpu_total_ms += spent;
    int expired = sb->expired;
    sb->expired = 0;
    idle_hook(P);
    int top = lua_gettop(H);
    if (rc == LUA_YIELD || rc == 0) {
        enc e;
        memset(&e, 0, sizeof e);
        int n = lua_gettop(co), bad;
        UNCAPPED(sb, bad = encode_n(co, 1, n, &e));
        lua_settop(co, 0);
        if (bad) {
            free(e.b.p);
            sb->errors++;
            lua_pushliteral(H, "error");
            lua_pushfstring(H, "plugin %s: %s", sb->name, e.err);
            lua_pushliteral(H, "error");
            return 3;
        }
        if (rc == LUA_YIELD) {
            lua_pushliteral(H, "wait");
            lua_pushinteger(H, tref);
        } else {
            lua_pushliteral(H, "done");
        }
        dec d = { e.b.p, e.b.n, 0 };
        decode_n(H, &d);
        free(e.b.p);
        return lua_gettop(H) - top;
    }
    sb->errors++;
    const char *msg = lua_tostring(co, -1);
    lua_pushliteral(H, "error");
    const char *kind = "error";
    if (sb->acct.refused > refused || rc == LUA_ERRMEM) {
        kind = "memory";
        lua_pushfstring(H, "plugin %s: memory limit %d MiB exceeded", sb->name, (int)(sb->acct.limit >> 20));
    } else if (expired) {
        kind = "time";
        lua_pushfstring(H, "plugin %s: stopped: a call ran longer than its %d ms CPU limit", sb->name, (int)sb->cpu_limit_ms);
    } else if (msg) {
        lua_pushstring(H, msg);
    } else {
        lua_pushfstring(H, "plugin %s: error object is a %s value", sb->name, luaL_typename(co, -1));
    }
    lua_pushstring(H, kind);
    return 3;
}

static void drop_thread(sandbox *sb, int tref) { thread_op(sb, THR_DROP, tref, NULL); }

/* A call into a plugin while it is inside a host call (a plugin calling
 * itself through the host): refused in one line, without a position. */
static int busy(lua_State *H, sandbox *sb)
{
    lua_pushfstring(H, "plugin %s is busy: a call into it is running (it may not call itself through the host)", sb->name);
    return lua_error(H);
}

/* sb:call(...) — dispatch(...) in a fresh coroutine of the plugin state. */
static int l_call(lua_State *H)
{
    sandbox *sb = check_sb(H);
    if (sb->host) return busy(H, sb);
    int nargs = lua_gettop(H) - 1;
    lua_State *co;
    int tref = thread_op(sb, THR_NEW, 0, &co);
    if (tref < 0) return luaL_error(H, "plugin %s: cannot create a call", sb->name);
    UNCAPPED(sb, lua_getfield(co, LUA_REGISTRYINDEX, SB_DISPATCH));
    const char *err = NULL;
    int n = push_into(H, 2, nargs, sb, co, &err);
    if (n < 0) {
        drop_thread(sb, tref);
        return luaL_error(H, "plugin %s: %s", sb->name, err);
    }
    sb->calls++;
    sb->call_cpu = 0;
    int r = run(H, sb, co, tref, n);
    if (strcmp(lua_tostring(H, -r), "wait")) drop_thread(sb, tref);
    return r;
}

/* sb:resume(thread, ...) — continue a call that waited on the host. */
static int l_resume(lua_State *H)
{
    sandbox *sb = check_sb(H);
    if (sb->host) return busy(H, sb);
    int tref = (int)luaL_checkinteger(H, 2);
    lua_State *co = NULL;
    thread_op(sb, THR_GET, tref, &co);
    if (!co || lua_status(co) != LUA_YIELD) return luaL_error(H, "plugin %s: call %d is not waiting", sb->name, tref);
    const char *err = NULL;
    int n = push_into(H, 3, lua_gettop(H) - 2, sb, co, &err);
    if (n < 0) return luaL_error(H, "plugin %s: %s", sb->name, err);
    int r = run(H, sb, co, tref, n);
    if (strcmp(lua_tostring(H, -r), "wait")) drop_thread(sb, tref);
    return r;
}

static int l_cancel(lua_State *H)
{
    sandbox *sb = check_sb(H);
    drop_thread(sb, (int)luaL_checkinteger(H, 2));
    return 0;
}

static int l_output(lua_State *H)
{
    sandbox **u = vcli_checkudata(H, 1, SB_META);
    sandbox *sb = *u;
    if (!sb) return 0;
    lua_pushlstring(H, sb->out.p ? sb->out.p : "", sb->out.n);
    lua_pushlstring(H, sb->err.p ? sb->err.p : "", sb->err.n);
    sb->out.n = sb->err.n = 0;
    if (sb->out.cap > 65536) { free(sb->out.p); sb->out = (sbuf){0}; }
    if (sb->err.cap > 65536) { free(sb->err.p); sb->err = (sbuf){0}; }
    return 2;
}

static int l_stats(lua_State *H)
{
    sandbox *sb = check_sb(H);
    lua_createtable(H, 0, 8);
    lua_pushnumber(H, (lua_Number)sb->acct.used); lua_setfield(H, -2, "memory");
    lua_pushnumber(H, (lua_Number)sb->acct.peak); lua_setfield(H, -2, "peak");
    lua_pushnumber(H, (lua_Number)sb->acct.limit); lua_setfield(H, -2, "limit");
    lua_pushnumber(H, (lua_Number)sb->acct.refused); lua_setfield(H, -2, "refused");
    lua_pushnumber(H, sb->cpu_total_ms); lua_setfield(H, -2, "cpu_ms");
    lua_pushnumber(H, sb->calls); lua_setfield(H, -2, "calls");
    lua_pushnumber(H, sb->errors); lua_setfield(H, -2, "errors");
    return 1;
}

/* sb:limits{memory=, cpu_ms=} */
static int l_limits(lua_State *H)
{
    sandbox *sb = check_sb(H);
    luaL_checktype(H, 2, LUA_TTABLE);
    lua_getfield(H, 2, "memory");
    if (!lua_isnil(H, -1)) sb->acct.limit = (size_t)luaL_checknumber(H, -1);
    lua_getfield(H, 2, "cpu_ms");
    if (!lua_isnil(H, -1)) sb->cpu_limit_ms = luaL_checknumber(H, -1);
    lua_pop(H, 2);
    return 0;
}

/* sb:gc() — a full collection in the plugin state (stats after a reload).
 * sb:gc(kb) -> done: one step of the incremental collector, as if kb KiB had
 * been allocated; done is true when that step ended a cycle. The host steps
 * the states of open panels while the interface is idle, so that a cycle ends
 * there and not inside the next keystroke (a cycle's last, atomic part over a
 * 100 MiB heap is tens of ms). Protected and uncapped: a finalizer's error or
 * the string table's resize at the cap must not escape. */
typedef struct { int kb, done; } gcjob;
static int gc_job(lua_State *L)
{
    gcjob *j = lua_touserdata(L, 1);
    if (j->kb < 0) lua_gc(L, LUA_GCCOLLECT, 0);
    else j->done = lua_gc(L, LUA_GCSTEP, j->kb);
    return 0;
}

static int l_gc(lua_State *H)
{
    sandbox *sb = check_sb(H);
    gcjob j = { lua_isnoneornil(H, 2) ? -1 : (int)luaL_checkinteger(H, 2), 0 };
    if (j.kb > (1 << 20)) j.kb = 1 << 20;
    int rc;
    UNCAPPED(sb, rc = lua_cpcall(sb->L, gc_job, &j));
    if (rc != 0) lua_pop(sb->L, 1);
    lua_pushboolean(H, rc == 0 && j.done);
    return 1;
}

static int l_close(lua_State *H)
{
    sandbox **u = vcli_checkudata(H, 1, SB_META);
    if (*u) { sb_free(H, *u); free(*u); *u = NULL; }
    return 0;
}

static int l_closed(lua_State *H)
{
    sandbox **u = vcli_checkudata(H, 1, SB_META);
    lua_pushboolean(H, !*u || !(*u)->L);
    return 1;
}

static int l_tostring(lua_State *H)
{
    sandbox **u = vcli_checkudata(H, 1, SB_META);
    lua_pushfstring(H, "sandbox(%s)", *u ? (*u)->name : "closed");
    return 1;
}

/* sandbox.copy(v) -> a deep copy through the plain-data rules (specs, bus). */
static int l_copy(lua_State *H)
{
    enc e;
    memset(&e, 0, sizeof e);
    int n = lua_gettop(H);
    if (encode_n(H, 1, n, &e)) { free(e.b.p); return luaL_error(H, "%s", e.err); }
    dec d = { e.b.p, e.b.n, 0 };
    decjob dj = { d, 0 };
    int top = lua_gettop(H);
    lua_pushcfunction(H, decode_job);
    lua_pushlightuserdata(H, &dj);
    int rc = lua_pcall(H, 1, LUA_MULTRET, 0);
    free(e.b.p);
    if (rc) return lua_error(H);
    return lua_gettop(H) - top;
}

/* ---- the host side of exec ------------------------------------------------ */
/* sandbox.environ() -> { NAME = value, ... } of this process (exec's env merge) */
extern char **environ;
static int l_environ(lua_State *H)
{
    lua_newtable(H);
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e) continue;
        lua_pushlstring(H, *e, (size_t)(eq - *e));
        lua_pushstring(H, eq + 1);
        lua_rawset(H, -3);
    }
    return 1;
}

int luaopen_vcli_sandbox(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"call", l_call}, {"resume", l_resume}, {"cancel", l_cancel}, {"output", l_output},
        {"stats", l_stats}, {"limits", l_limits}, {"gc", l_gc}, {"close", l_close},
        {"closed", l_closed}, {"__gc", l_close}, {"__tostring", l_tostring}, {NULL, NULL}};
    vcli_newclass(L, SB_META, methods);
    static const luaL_Reg fns[] = {{"new", l_new}, {"copy", l_copy}, {"environ", l_environ}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    push_names(L, DENIED);   /* what no plugin gets: docs and specs read the one list */
    lua_setfield(L, -2, "DENIED");
    return 1;
}
