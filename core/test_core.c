/* C unit tests for the core primitives, driven through their C and Lua
 * entry points. Prints "N passed, N failed" (read by spec/runner.lua). */
#include "vcli.h"
#include <locale.h>
#include <stdio.h>
#include <string.h>

static int passed, failed;
#define CHECK(cond, name) do { if (cond) passed++; else { failed++; fprintf(stderr, "FAIL %s (%s:%d)\n", name, __FILE__, __LINE__); } } while (0)

static lua_State *new_state(vm_acct *acct)
{
    lua_State *L = vm_newstate(acct);
    luaL_openlibs(L);
    return L;
}

/* Run Lua source; return its single string result (static buffer) or the error. */
static const char *eval(lua_State *L, const char *src)
{
    static char out[4096];
    if (luaL_loadstring(L, src) || vm_pcall(L, 0, 1)) {
        snprintf(out, sizeof out, "ERR:%s", lua_tostring(L, -1));
    } else {
        const char *s = lua_tostring(L, -1);
        snprintf(out, sizeof out, "%s", s ? s : "(nil)");
    }
    lua_pop(L, 1);
    return out;
}

static void test_allocator(void)
{
    vm_acct a;
    lua_State *L = new_state(&a);
    CHECK(a.used > 0 && a.peak >= a.used, "allocator counts bytes");
    size_t before = a.used;
    eval(L, "t = {} for i = 1, 10000 do t[i] = i end return 'ok'");
    CHECK(a.used > before + 10000 * 8, "allocator sees a growing table");
    eval(L, "t = nil collectgarbage() return 'ok'");
    CHECK(a.used < before + 4096, "allocator sees memory freed");
    a.limit = a.used + 1024 * 1024;
    const char *r = eval(L, "return string.rep('x', 8 * 1024 * 1024)");
    CHECK(strstr(r, "not enough memory") != NULL, "limit refuses an allocation bomb");
    CHECK(a.refused > 0, "refused allocations are counted");
    CHECK(strcmp(eval(L, "return 'still ' .. 'alive'"), "still alive") == 0, "state usable after a refusal");
    lua_close(L);
}

static void test_traceback(void)
{
    vm_acct a;
    lua_State *L = new_state(&a);
    const char *r = eval(L, "local function f() error('boom') end f()");
    CHECK(strstr(r, "boom") && strstr(r, "stack traceback"), "vm_pcall adds a traceback");
    lua_close(L);
}

static void test_term(void)
{
    vm_acct a;
    lua_State *L = new_state(&a);
    lua_pushcfunction(L, luaopen_vcli_term);
    lua_call(L, 0, 1);
    lua_setglobal(L, "term");
    CHECK(strcmp(eval(L, "return tostring(term.width('a中b'))"), "4") == 0, "wide characters are two cells");
    CHECK(strcmp(eval(L, "return tostring(term.width('e\\204\\129'))"), "1") == 0, "combining marks take no cell");
    CHECK(strcmp(eval(L, "local c = term.split('\\255x') return c[1]"), "\xEF\xBF\xBD") == 0, "invalid UTF-8 becomes U+FFFD");
    CHECK(strcmp(eval(L, "local d = term.decoder() local e = d:feed('\\27[1;5D') return e[1].key"), "C-Left") == 0, "CSI with modifier decodes");
    CHECK(strcmp(eval(L, "local d = term.decoder() local e = d:feed('\\27[200~a\\nb\\27[201~') return e[1].paste"), "a\nb") == 0, "bracketed paste is one event");
    CHECK(strcmp(eval(L, "local d = term.decoder() d:feed('\\27[20') local e = d:feed('0~x\\27[201~') return e[1].paste"), "x") == 0, "paste start split across reads");
    CHECK(strcmp(eval(L, "local d = term.decoder() local e = d:feed('\\228\\184') return tostring(#e) .. tostring(d:pending())"), "0true") == 0, "a split UTF-8 character waits");
    CHECK(strcmp(eval(L, "local g = term.grid(5, 1) g:put(0, 0, 'a\\27[31mb') return g:text(0)"), "a?[31") == 0, "escape sequences never reach the screen");
    CHECK(strcmp(eval(L, "local g = term.grid(4, 1) g:put(0,0,'abcd') g:flush('screen',0,0) g:put(2,0,'X') return g:flush('screen',0,0)"),
                 "\x1b[?25l\x1b[1;3H\x1b[0mX\x1b[0m\x1b[1;1H\x1b[?25h") == 0, "flush writes only the changed cell");
    lua_close(L);
}

static void test_yaml(void)
{
    vm_acct a;
    lua_State *L = new_state(&a);
    lua_pushcfunction(L, luaopen_vcli_yaml);
    lua_call(L, 0, 1);
    lua_setglobal(L, "yaml");
    CHECK(strcmp(eval(L, "local v = yaml.decode('a:\\n  b: [1, 2]\\n') return tostring(v.a.b[2])"), "2") == 0, "yaml decodes nested values");
    const char *r = eval(L, "local v, e = yaml.decode('a: 1\\n b: 2\\n', 'f.yaml') return e");
    CHECK(strncmp(r, "f.yaml:2:", 9) == 0, "yaml errors carry file:line:col");
    lua_close(L);
}

int main(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "");
    test_allocator();
    test_traceback();
    test_term();
    test_yaml();
    printf("C core: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
