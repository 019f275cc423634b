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


/* vcli.wsock: SHA-1, the handshake's accept key, frames (RFC 6455's own examples) */
static void test_wsock(void)
{
    vm_acct a;
    lua_State *L = new_state(&a);
    lua_pushcfunction(L, luaopen_vcli_wsock);
    lua_call(L, 0, 1);
    lua_setglobal(L, "ws");
    eval(L, "function hex(s) return (s:gsub('.', function(c) return ('%02x'):format(c:byte()) end)) end return ''");
    CHECK(strcmp(eval(L, "return hex(ws.sha1('abc'))"), "a9993e364706816aba3e25717850c26c9cd0d89d") == 0, "sha1 of abc");
    CHECK(strcmp(eval(L, "return hex(ws.sha1(''))"), "da39a3ee5e6b4b0d3255bfef95601890afd80709") == 0, "sha1 of nothing");
    CHECK(strcmp(eval(L, "return hex(ws.sha1(string.rep('a', 1000000)))"), "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0,
          "sha1 of a million a's (many blocks)");
    CHECK(strcmp(eval(L, "return hex(ws.sha1('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))"),
                 "84983e441c3bd26ebaae4aa1f95129e5e54670f1") == 0, "sha1 of 56 bytes (padding spills into a second block)");
    CHECK(strcmp(eval(L, "return ws.accept_key('dGhlIHNhbXBsZSBub25jZQ==')"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
          "Sec-WebSocket-Accept of RFC 6455's example key");
    CHECK(strcmp(eval(L, "local k = ws.new_key() return tostring(#k == 24 and k ~= ws.new_key() and k:sub(-2) == '==')"), "true") == 0,
          "new keys: 16 random bytes, base64");
    /* frames out */
    CHECK(strcmp(eval(L, "return hex(ws.frame(1, 'Hello', {mask = false}))"), "810548656c6c6f") == 0, "unmasked text frame");
    CHECK(strcmp(eval(L, "return hex(ws.frame(1, 'Hello', {mask_key = '\\55\\250\\33\\61'}))"), "818537fa213d7f9f4d5158") == 0,
          "masked text frame (RFC 6455 5.7)");
    CHECK(strcmp(eval(L, "local f = ws.frame(2, string.rep('z', 300)) return hex(f:sub(1, 4)) .. ' ' .. #f"), "82fe012c 308") == 0,
          "16-bit length, masked");
    CHECK(strcmp(eval(L, "local f = ws.frame(2, string.rep('z', 70000), {mask = false}) return hex(f:sub(1, 10)) .. ' ' .. #f"),
                 "827f0000000000011170 70010") == 0, "64-bit length");
    CHECK(strcmp(eval(L, "local a, b = ws.frame(2, 'same'), ws.frame(2, 'same') return tostring(a:sub(3, 6) ~= b:sub(3, 6))"), "true") == 0,
          "each frame gets a fresh mask key");
    CHECK(strncmp(eval(L, "return ws.frame(9, string.rep('p', 126))"), "ERR:", 4) == 0, "control frames are at most 125 bytes");
    /* frames in */
    CHECK(strcmp(eval(L, "local d = ws.decoder() local m = d:feed('\\129\\005Hello') return m[1][1] .. m[1][2]"), "1Hello") == 0,
          "decodes a text frame");
    CHECK(strcmp(eval(L, "local d = ws.decoder() local m = d:feed('\\001\\003Hel') local n = d:feed('\\128\\002lo')"
                         " return #m .. ' ' .. n[1][1] .. n[1][2]"), "0 1Hello") == 0, "joins a fragmented message (RFC 6455 5.7)");
    CHECK(strcmp(eval(L, "local d = ws.decoder() local m = d:feed('\\002\\001a\\137\\002hi\\128\\001b')"
                         " return #m .. m[1][1] .. m[1][2] .. m[2][1] .. m[2][2]"), "29hi2ab") == 0,
          "a ping between fragments comes first, the message whole");
    CHECK(strcmp(eval(L, "local d = ws.decoder() local f = ws.frame(2, string.rep('q', 70000), {mask = false}) local all = {}"
                         " for i = 1, #f, 1000 do for _, m in ipairs(d:feed(f:sub(i, i + 999))) do all[#all + 1] = m end end"
                         " return #all .. ' ' .. #all[1][2] .. ' ' .. d:pending()"), "1 70000 0") == 0,
          "a frame split across many reads");
    CHECK(strcmp(eval(L, "local d = ws.decoder({server = true}) local m = d:feed('\\129\\133\\55\\250\\33\\61\\127\\159\\77\\81\\88')"
                         " return m[1][2]"), "Hello") == 0, "unmasks a masked frame (server side)");
    CHECK(strcmp(eval(L, "local d = ws.decoder({server = true}) local m = d:feed(ws.frame(2, string.rep('\\0\\255', 5000))) return"
                         " tostring(m[1][2] == string.rep('\\0\\255', 5000))"), "true") == 0, "mask then unmask gives the bytes back");
    CHECK(strstr(eval(L, "local d = ws.decoder() return select(2, d:feed(ws.frame(1, 'x')))"), "masked") != NULL,
          "a client refuses masked frames");
    CHECK(strstr(eval(L, "local d = ws.decoder() return select(2, d:feed('\\128\\001x'))"), "continuation") != NULL,
          "a continuation without a start is an error");
    CHECK(strstr(eval(L, "local d = ws.decoder() return select(2, d:feed('\\193\\001x'))"), "reserved") != NULL,
          "reserved bits are an error");
    CHECK(strstr(eval(L, "local d = ws.decoder() return select(2, d:feed('\\009\\001x'))"), "fragmented") != NULL,
          "a fragmented control frame is an error");
    CHECK(strstr(eval(L, "local d = ws.decoder({max_message = 10}) return select(2, d:feed('\\130\\020' .. string.rep('y', 20)))"),
                 "larger") != NULL, "max_message bounds a message");
    lua_close(L);
}

int main(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8")) setlocale(LC_CTYPE, "");
    test_allocator();
    test_traceback();
    test_term();
    test_yaml();
    test_wsock();
    printf("C core: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
