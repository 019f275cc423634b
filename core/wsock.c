/* vcli.wsock — WebSocket (RFC 6455) framing: the handshake's accept key
 * (SHA-1 + base64, from codec.c), frames out (client frames masked with fresh random
 * keys) and a decoder that turns received bytes into whole messages
 * (continuation frames joined, control frames passed through, protocol
 * violations reported as one line). No I/O here: the byte stream is
 * vcli.net's connect(), the policy (handshake, ping/pong, close) is
 * lua/vcli/websocket.lua. Masking every byte is the part that is slow in
 * interpreted Lua, hence C. */
#include "vcli.h"
#include "codec.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define DEC_META "vcli.wsock.decoder"
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define DEFAULT_MAX_MESSAGE (64u << 20)

/* ---- random bytes (mask keys, Sec-WebSocket-Key) ----------------------- */
static unsigned char rpool[256];
static size_t rpool_left;

static int random_bytes(unsigned char *out, size_t n)
{
    while (n) {
        if (!rpool_left) {
            ssize_t got = getrandom(rpool, sizeof rpool, 0);
            if (got <= 0) { if (got < 0 && errno == EINTR) continue; return -1; }
            rpool_left = (size_t)got;
        }
        size_t k = n < rpool_left ? n : rpool_left;
        memcpy(out, rpool + sizeof rpool - rpool_left, k);
        memset(rpool + sizeof rpool - rpool_left, 0, k);   /* never hand out the same bytes twice */
        rpool_left -= k; out += k; n -= k;
    }
    return 0;
}

/* wsock.sha1(data) -> 20 raw bytes (codec.sha1; kept for the accept-key tests) */
static int l_sha1(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char d[20];
    codec_sha1(s, n, d);
    lua_pushlstring(L, (const char *)d, 20);
    return 1;
}

/* wsock.accept_key(key) -> base64(SHA-1(key .. GUID)): the Sec-WebSocket-Accept a server must answer */
static int l_accept_key(lua_State *L)
{
    size_t n;
    const char *key = luaL_checklstring(L, 1, &n);
    codec_sha1_ctx c;
    unsigned char d[20];
    char out[32];
    codec_sha1_init(&c);
    codec_sha1_update(&c, key, n);
    codec_sha1_update(&c, WS_GUID, sizeof WS_GUID - 1);
    codec_sha1_final(&c, d);
    lua_pushlstring(L, out, codec_b64_encode(d, 20, out));
    return 1;
}

/* wsock.new_key() -> a fresh Sec-WebSocket-Key (16 random bytes, base64) */
static int l_new_key(lua_State *L)
{
    unsigned char r[16];
    char out[32];
    if (random_bytes(r, sizeof r) < 0) return luaL_error(L, "wsock: no random bytes (%s)", strerror(errno));
    lua_pushlstring(L, out, codec_b64_encode(r, sizeof r, out));
    return 1;
}

/* ---- frames out ---------------------------------------------------------
 * wsock.frame(opcode, payload [, opts]) -> bytes
 *   opts.fin (default true), opts.mask (default true: a client's frames are
 *   masked), opts.mask_key (4 bytes; tests), opts.rsv (never set by vcli) */
static int l_frame(lua_State *L)
{
    int op = (int)luaL_checkinteger(L, 1);
    size_t n;
    const char *p = luaL_optlstring(L, 2, "", &n);
    int fin = 1, mask = 1;
    unsigned char key[4];
    int have_key = 0;
    if (op < 0 || op > 15) return luaL_error(L, "wsock.frame: opcode %d out of range", op);
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "fin");
        if (!lua_isnil(L, -1)) fin = lua_toboolean(L, -1);
        lua_getfield(L, 3, "mask");
        if (!lua_isnil(L, -1)) mask = lua_toboolean(L, -1);
        lua_getfield(L, 3, "mask_key");
        if (!lua_isnil(L, -1)) {
            size_t kl;
            const char *k = lua_tolstring(L, -1, &kl);
            if (!k || kl != 4) return luaL_error(L, "wsock.frame: mask_key must be 4 bytes");
            memcpy(key, k, 4);
            have_key = 1;
        }
        lua_pop(L, 3);
    }
    if (op >= 8 && (n > 125 || !fin)) return luaL_error(L, "wsock.frame: control frames carry at most 125 bytes and are never fragmented");
    if (mask && !have_key && random_bytes(key, 4) < 0) return luaL_error(L, "wsock: no random bytes (%s)", strerror(errno));
    size_t hl = 2 + (n >= 126 ? (n > 0xFFFF ? 8 : 2) : 0) + (mask ? 4 : 0);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    unsigned char h[14];
    size_t o = 0;
    h[o++] = (unsigned char)((fin ? 0x80 : 0) | op);
    if (n < 126) h[o++] = (unsigned char)((mask ? 0x80 : 0) | n);
    else if (n <= 0xFFFF) { h[o++] = (unsigned char)((mask ? 0x80 : 0) | 126); h[o++] = (unsigned char)(n >> 8); h[o++] = (unsigned char)n; }
    else {
        h[o++] = (unsigned char)((mask ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--) h[o++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    if (mask) { memcpy(h + o, key, 4); o += 4; }
    (void)hl;
    luaL_addlstring(&b, (const char *)h, o);
    if (!mask) {
        luaL_addlstring(&b, p, n);
    } else {
        for (size_t off = 0; off < n;) {
            char *dst = luaL_prepbuffer(&b);
            size_t k = n - off < LUAL_BUFFERSIZE ? n - off : LUAL_BUFFERSIZE;
            for (size_t i = 0; i < k; i++) dst[i] = (char)(p[off + i] ^ key[(off + i) & 3]);
            luaL_addsize(&b, k);
            off += k;
        }
    }
    luaL_pushresult(&b);
    return 1;
}

/* ---- frames in ----------------------------------------------------------
 * wsock.decoder([opts]) -> d; d:feed(bytes) -> { {op, data}, … } | nil, err
 * Data messages (op 1 text, 2 binary) come whole, however fragmented;
 * control frames (8 close, 9 ping, 10 pong) as they arrive, also between
 * the fragments of a message. opts.server = true accepts (and unmasks)
 * masked frames, which a client must refuse; opts.max_message (64 MiB). */
typedef struct {
    unsigned char *in; size_t in_len, in_cap;      /* bytes not yet a whole frame */
    unsigned char *msg; size_t msg_len, msg_cap;   /* fragments of the current message */
    int msg_op;                                    /* 0: no message in progress */
    int server;
    size_t max_message;
    char err[160];
} wdec;

static int grow(unsigned char **p, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    unsigned char *q = realloc(*p, c);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static void push_msg(lua_State *L, int *count, int op, const unsigned char *p, size_t n)
{
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, op);
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, (const char *)p, n);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, ++*count);
}

/* Parse whole frames from d->in; returns bytes consumed, or -1 with d->err. */
static long parse(lua_State *L, wdec *d, int *count)
{
    size_t off = 0;
    while (d->in_len - off >= 2) {
        unsigned char *h = d->in + off;
        size_t avail = d->in_len - off;
        int fin = h[0] & 0x80, rsv = h[0] & 0x70, op = h[0] & 0x0F, masked = h[1] & 0x80;
        uint64_t n = h[1] & 0x7F;
        size_t hl = 2;
        if (n == 126) {
            if (avail < 4) break;
            n = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (n == 127) {
            if (avail < 10) break;
            n = 0;
            for (int i = 0; i < 8; i++) n = n << 8 | h[2 + i];
            hl = 10;
        }
        if (rsv) { snprintf(d->err, sizeof d->err, "reserved bits set in a frame (no extension was negotiated)"); return -1; }
        if (masked && !d->server) { snprintf(d->err, sizeof d->err, "the server sent a masked frame"); return -1; }
        if (!masked && d->server) { snprintf(d->err, sizeof d->err, "the client sent an unmasked frame"); return -1; }
        if (op >= 8) {
            if (op > 10) { snprintf(d->err, sizeof d->err, "unknown control opcode %d", op); return -1; }
            if (!fin || n > 125) { snprintf(d->err, sizeof d->err, "a fragmented or oversized control frame"); return -1; }
        } else if (op != 0 && op != 1 && op != 2) {
            snprintf(d->err, sizeof d->err, "unknown data opcode %d", op); return -1;
        } else if (op == 0 && !d->msg_op) {
            snprintf(d->err, sizeof d->err, "a continuation frame without a message to continue"); return -1;
        } else if (op != 0 && d->msg_op) {
            snprintf(d->err, sizeof d->err, "a new message began before the previous one ended"); return -1;
        }
        if (op < 8 && d->msg_len + n > d->max_message) {
            snprintf(d->err, sizeof d->err, "a message larger than %zu bytes", d->max_message); return -1;
        }
        if (masked) hl += 4;
        if (avail < hl || avail - hl < n) break;
        unsigned char *pl = h + hl;
        if (masked) {
            const unsigned char *k = h + hl - 4;
            for (uint64_t i = 0; i < n; i++) pl[i] ^= k[i & 3];
        }
        if (op >= 8) {
            push_msg(L, count, op, pl, (size_t)n);
        } else if (fin && !d->msg_op) {
            push_msg(L, count, op, pl, (size_t)n);   /* the common case: a message in one frame */
        } else {
            if (op) d->msg_op = op;
            if (n) {                    /* an empty fragment adds nothing (d->msg may be NULL yet) */
                if (grow(&d->msg, &d->msg_cap, d->msg_len + (size_t)n) < 0) { snprintf(d->err, sizeof d->err, "out of memory"); return -1; }
                memcpy(d->msg + d->msg_len, pl, (size_t)n);
                d->msg_len += (size_t)n;
            }
            if (fin) {
                push_msg(L, count, d->msg_op, d->msg, d->msg_len);
                d->msg_op = 0;
                d->msg_len = 0;
            }
        }
        off += hl + (size_t)n;
    }
    return (long)off;
}

static int dec_feed(lua_State *L)
{
    wdec *d = vcli_checkudata(L, 1, DEC_META);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (d->err[0]) { lua_pushnil(L); lua_pushstring(L, d->err); return 2; }
    if (grow(&d->in, &d->in_cap, d->in_len + n) < 0) return luaL_error(L, "wsock: out of memory");
    memcpy(d->in + d->in_len, s, n);
    d->in_len += n;
    lua_newtable(L);
    int count = 0;
    long used = parse(L, d, &count);
    if (used < 0) { lua_pushnil(L); lua_pushstring(L, d->err); return 2; }
    memmove(d->in, d->in + used, d->in_len - (size_t)used);
    d->in_len -= (size_t)used;
    if (d->in_cap > (1u << 20) && d->in_len < (64u << 10)) {   /* give back a big buffer after a big frame */
        unsigned char *q = realloc(d->in, 64u << 10);
        if (q) { d->in = q; d->in_cap = 64u << 10; }
    }
    return 1;
}

/* d:pending() -> bytes held: an incomplete frame plus fragments of an unfinished message */
static int dec_pending(lua_State *L)
{
    wdec *d = vcli_checkudata(L, 1, DEC_META);
    lua_pushinteger(L, (lua_Integer)(d->in_len + d->msg_len));
    return 1;
}

static int dec_gc(lua_State *L)
{
    wdec *d = vcli_checkudata(L, 1, DEC_META);
    free(d->in);
    free(d->msg);
    d->in = d->msg = NULL;
    d->in_len = d->in_cap = d->msg_len = d->msg_cap = 0;
    return 0;
}

static int l_decoder(lua_State *L)
{
    wdec *d = lua_newuserdata(L, sizeof *d);
    memset(d, 0, sizeof *d);
    d->max_message = DEFAULT_MAX_MESSAGE;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "server");
        d->server = lua_toboolean(L, -1);
        lua_getfield(L, 1, "max_message");
        if (lua_isnumber(L, -1) && lua_tonumber(L, -1) > 0) d->max_message = (size_t)lua_tonumber(L, -1);
        lua_pop(L, 2);
    }
    luaL_getmetatable(L, DEC_META);
    lua_setmetatable(L, -2);
    return 1;
}

int luaopen_vcli_wsock(lua_State *L)
{
    static const luaL_Reg dec_m[] = {{"feed", dec_feed}, {"pending", dec_pending}, {"__gc", dec_gc}, {NULL, NULL}};
    vcli_newclass(L, DEC_META, dec_m);
    static const luaL_Reg fns[] = {
        {"sha1", l_sha1}, {"accept_key", l_accept_key}, {"new_key", l_new_key},
        {"frame", l_frame}, {"decoder", l_decoder}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    lua_pushinteger(L, 0); lua_setfield(L, -2, "CONTINUATION");
    lua_pushinteger(L, 1); lua_setfield(L, -2, "TEXT");
    lua_pushinteger(L, 2); lua_setfield(L, -2, "BINARY");
    lua_pushinteger(L, 8); lua_setfield(L, -2, "CLOSE");
    lua_pushinteger(L, 9); lua_setfield(L, -2, "PING");
    lua_pushinteger(L, 10); lua_setfield(L, -2, "PONG");
    return 1;
}
