/* libFuzzer harness: one target of spec/fuzz/targets.lua per run, in the
 * host state vcli runs in (core/host.c), the C core built with ASan + UBSan.
 *   VCLI_FUZZ_TARGET=yaml VCLI_DATADIR=. build/fuzz/vcli-fuzz CORPUS…
 * An input is a bug when the target raises { bug = "…" } (a round trip that
 * changed the value, a Lua fault inside a parser: see targets.lua) or the
 * process crashes, hangs, leaks or trips a sanitizer. `make fuzz` runs each. */
#include "../../core/vcli.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lua_State *L;
static int target_ref = LUA_NOREF;
static unsigned long runs;

/* Coverage of the Lua code: libFuzzer sees the C core's edges by itself; a
 * line hook maps each (source, line) pair, after the one before it, onto
 * extra counters it reads too, so inputs that reach new Lua lines (in the
 * shell's word splitter, the JSONPath parser…) are kept and mutated. */
#define LUA_COUNTERS 65536
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_counters[LUA_COUNTERS];
static uintptr_t prev_line;

static void line_hook(lua_State *L, lua_Debug *ar)
{
    if (!lua_getinfo(L, "S", ar)) return;
    uintptr_t h = ((uintptr_t)ar->source * 2654435761u) ^ ((uintptr_t)ar->currentline * 40503u);
    lua_counters[(h ^ (prev_line >> 1)) % LUA_COUNTERS]++;
    prev_line = h;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    const char *name = getenv("VCLI_FUZZ_TARGET");
    const char *dir = getenv("VCLI_DATADIR");
    if (!name || !*name || !dir || !*dir) {
        fputs("vcli-fuzz: set VCLI_FUZZ_TARGET (a target of spec/fuzz/targets.lua) and VCLI_DATADIR (the checkout)\n",
              stderr);
        exit(2);
    }
    L = vcli_host_new(NULL);
    if (!L) { fputs("vcli-fuzz: cannot create the Lua state\n", stderr); exit(2); }
    char path[4096];
    snprintf(path, sizeof path, "%s/spec/fuzz/targets.lua", dir);
    if (luaL_loadfile(L, path) || lua_pcall(L, 0, 1, 0)) {
        fprintf(stderr, "vcli-fuzz: %s\n", lua_tostring(L, -1));
        exit(2);
    }
    lua_getfield(L, -1, name);
    if (!lua_isfunction(L, -1)) { fprintf(stderr, "vcli-fuzz: no target '%s' in %s\n", name, path); exit(2); }
    target_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, target_ref);
    lua_pushlstring(L, (const char *)data, size);
    prev_line = 0;
    lua_sethook(L, line_hook, LUA_MASKLINE, 0);
    int rc = lua_pcall(L, 1, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    if (rc != 0) {
        const char *what = "a bug";
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "bug");
            if (lua_isstring(L, -1)) what = lua_tostring(L, -1);
        } else if (lua_isstring(L, -1)) {
            what = lua_tostring(L, -1);
        }
        fprintf(stderr, "vcli-fuzz: %s: %s\n", getenv("VCLI_FUZZ_TARGET"), what);
        abort();
    }
    /* everything the input made is garbage now: a step of the collector per
     * input and a full collection now and then keep the heap bounded (the
     * Lua heap is the collector's; leaks are looked for in the C core's
     * own allocations, spec/fuzz/lsan.supp) */
    lua_gc(L, LUA_GCSTEP, 0);
    if (++runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
