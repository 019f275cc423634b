/* vcli.codec — the byte codecs, written once: base64 (standard out; standard
 * or URL-safe in), SHA-1 (the WebSocket accept key), SHA-256 (plugin file and
 * package digests), hex. Pure functions of their input: the host and every
 * plugin state may use them (plugins as require("vcli.codec")). The C API is
 * codec.h (wsock.c's accept key uses it).
 *
 *   codec.base64_encode(s) -> text        codec.base64_decode(s) -> bytes | nil
 *   codec.sha1(s [, "hex"]) -> 20 bytes | 40 hex digits
 *   codec.sha256(s [, "raw"]) -> 64 hex digits | 32 bytes
 *   codec.hex(s) -> hex digits
 */
#include "vcli.h"
#include "codec.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 ------------------------------------------------------------ */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t codec_b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = B64[v >> 18 & 63];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? B64[v & 63] : '=';
    }
    return o;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

size_t codec_b64_decode(const char *in, size_t n, unsigned char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v') continue;
        if (c == '=') break;
        int v = b64_value(c);
        if (v < 0) return (size_t)-1;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

/* ---- SHA-1 (FIPS 180-1) ------------------------------------------------ */
#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha1_block(codec_sha1_ctx *c, const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & cc) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ cc ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & cc) | (b & d) | (cc & d); k = 0x8F1BBCDC; }
        else { f = b ^ cc ^ d; k = 0xCA62C1D6; }
        uint32_t t = ROL(a, 5) + f + e + k + w[i];
        e = d; d = cc; cc = ROL(b, 30); b = a; a = t;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += e;
}

void codec_sha1_init(codec_sha1_ctx *c)
{
    static const uint32_t h0[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    for (int i = 0; i < 5; i++) c->h[i] = h0[i];
    c->len = 0;
    c->n = 0;
}

void codec_sha1_update(codec_sha1_ctx *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->len += len;
    while (len) {
        size_t k = 64 - c->n < len ? 64 - c->n : len;
        memcpy(c->buf + c->n, p, k);
        c->n += k; p += k; len -= k;
        if (c->n == 64) { sha1_block(c, c->buf); c->n = 0; }
    }
}

void codec_sha1_final(codec_sha1_ctx *c, unsigned char out[20])
{
    uint64_t bits = (uint64_t)c->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    codec_sha1_update(c, &pad, 1);
    while (c->n != 56) codec_sha1_update(c, &zero, 1);
    for (int i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    codec_sha1_update(c, lenb, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(c->h[i] >> 24); out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->h[i] >> 8); out[4 * i + 3] = (unsigned char)c->h[i];
    }
}

void codec_sha1(const void *data, size_t len, unsigned char out[20])
{
    codec_sha1_ctx c;
    codec_sha1_init(&c);
    codec_sha1_update(&c, data, len);
    codec_sha1_final(&c, out);
}

/* ---- SHA-256 (FIPS 180-4) ---------------------------------------------- */
static const uint32_t K256[64] = {
    0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
    0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
    0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
    0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
    0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
    0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, k;
    for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4*i] << 24 | (uint32_t)p[4*i+1] << 16 | (uint32_t)p[4*i+2] << 8 | p[4*i+3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3);
        uint32_t s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
        w[i] = w[i-16] + s0 + w[i-7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void codec_sha256(const void *data, size_t n, unsigned char out[32])
{
    const unsigned char *s = data;
    uint32_t h[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha256_block(h, s + i);
    unsigned char tail[128] = {0};
    size_t r = n - i;
    memcpy(tail, s + i, r);
    tail[r] = 0x80;
    size_t tl = r + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int j = 0; j < 8; j++) tail[tl - 1 - j] = (unsigned char)(bits >> (8 * j));
    sha256_block(h, tail);
    if (tl == 128) sha256_block(h, tail + 64);
    for (int j = 0; j < 8; j++) {
        out[4 * j] = (unsigned char)(h[j] >> 24); out[4 * j + 1] = (unsigned char)(h[j] >> 16);
        out[4 * j + 2] = (unsigned char)(h[j] >> 8); out[4 * j + 3] = (unsigned char)h[j];
    }
}

void codec_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

/* ---- Lua --------------------------------------------------------------- */
static int l_b64_encode(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    if (n > ((size_t)1 << 30)) return luaL_error(L, "base64_encode: input too large");
    char stackbuf[1024];
    size_t need = (n + 2) / 3 * 4;
    char *out = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!out) return luaL_error(L, "base64_encode: out of memory");
    lua_pushlstring(L, out, codec_b64_encode(s, n, out));
    if (out != stackbuf) free(out);
    return 1;
}

static int l_b64_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char stackbuf[1024];
    size_t need = n / 4 * 3 + 3;
    unsigned char *out = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!out) return luaL_error(L, "base64_decode: out of memory");
    size_t got = codec_b64_decode(s, n, out);
    if (got == (size_t)-1) lua_pushnil(L);
    else lua_pushlstring(L, (const char *)out, got);
    if (out != stackbuf) free(out);
    return 1;
}

static int push_digest(lua_State *L, const unsigned char *d, size_t n, int hex)
{
    if (!hex) { lua_pushlstring(L, (const char *)d, n); return 1; }
    char out[64];
    codec_hex(d, n, out);
    lua_pushlstring(L, out, 2 * n);
    return 1;
}

static int l_sha1(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *form = luaL_optstring(L, 2, "raw");
    unsigned char d[20];
    codec_sha1(s, n, d);
    return push_digest(L, d, 20, !strcmp(form, "hex"));
}

static int l_sha256(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *form = luaL_optstring(L, 2, "hex");
    unsigned char d[32];
    codec_sha256(s, n, d);
    return push_digest(L, d, 32, strcmp(form, "raw") != 0);
}

static int l_hex(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        char two[2];
        codec_hex(s + i, 1, two);
        luaL_addlstring(&b, two, 2);
    }
    luaL_pushresult(&b);
    return 1;
}

int luaopen_vcli_codec(lua_State *L)
{
    static const luaL_Reg fns[] = {{"base64_encode", l_b64_encode}, {"base64_decode", l_b64_decode},
                                   {"sha1", l_sha1}, {"sha256", l_sha256}, {"hex", l_hex}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
