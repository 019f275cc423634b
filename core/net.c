/* vcli.net — HTTP(S) for the runtime: one libcurl multi handle driven by the
 * core loop.
 *
 * libcurl is dlopen'ed on the first request, never linked: linking it costs
 * every start of vcli ~5 ms and megabytes of RSS, and most runs make no
 * request. <curl/curl.h> is used for types and constants only.
 *
 * libcurl callbacks never call Lua or the multi API: they copy bytes into
 * per-request buffers and mark the request dirty. After curl returns to the
 * loop, drain() hands headers, data and completion to Lua, so Lua code may
 * cancel, pause or start requests at any time, including from on_data. */
#include "vcli.h"
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQ_META "vcli.net.request"
#define LIBCURL "libcurl.so.4"

/* Backpressure: stop reading a response when this much of it waits for Lua,
 * start again once Lua has taken it down to LOW_WATER. */
#define HIGH_WATER (1u << 20)
#define LOW_WATER (256u << 10)
#define CHUNK_MAX (64u << 10)   /* largest string handed to one on_data call */
#define HEADERS_MAX (256u << 10)  /* a response's headers, all of them: more is an error (libcurl's own cap is 300 KiB) */

/* ---- libcurl, loaded on demand ----------------------------------------- */
static struct {
    void *dl;
    char err[256];              /* why loading failed, once it has */
    CURLcode (*global_init)(long);
    curl_version_info_data *(*version_info)(CURLversion);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
    void (*url_cleanup)(CURLU *);
    void (*free)(void *);
    CURLcode (*easy_send)(CURL *, const void *, size_t, size_t *);
    CURLcode (*easy_recv)(CURL *, void *, size_t, size_t *);
    CURLMcode (*multi_cleanup)(CURLM *);
} cu;

static const struct { const char *name; void **slot; } cu_syms[] = {
    {"curl_global_init", (void **)&cu.global_init},
    {"curl_version_info", (void **)&cu.version_info},
    {"curl_easy_init", (void **)&cu.easy_init},
    {"curl_easy_setopt", (void **)&cu.easy_setopt},
    {"curl_easy_getinfo", (void **)&cu.easy_getinfo},
    {"curl_easy_pause", (void **)&cu.easy_pause},
    {"curl_easy_cleanup", (void **)&cu.easy_cleanup},
    {"curl_easy_strerror", (void **)&cu.easy_strerror},
    {"curl_slist_append", (void **)&cu.slist_append},
    {"curl_slist_free_all", (void **)&cu.slist_free_all},
    {"curl_multi_init", (void **)&cu.multi_init},
    {"curl_multi_setopt", (void **)&cu.multi_setopt},
    {"curl_multi_add_handle", (void **)&cu.multi_add_handle},
    {"curl_multi_remove_handle", (void **)&cu.multi_remove_handle},
    {"curl_multi_socket_action", (void **)&cu.multi_socket_action},
    {"curl_multi_info_read", (void **)&cu.multi_info_read},
    {"curl_url", (void **)&cu.url},
    {"curl_url_set", (void **)&cu.url_set},
    {"curl_url_get", (void **)&cu.url_get},
    {"curl_url_cleanup", (void **)&cu.url_cleanup},
    {"curl_free", (void **)&cu.free},
    {"curl_easy_send", (void **)&cu.easy_send},
    {"curl_easy_recv", (void **)&cu.easy_recv},
    {"curl_multi_cleanup", (void **)&cu.multi_cleanup},
    {NULL, NULL}};

/* ---- requests ---------------------------------------------------------- */
typedef struct { char *p; size_t len, off, cap; } nbuf;   /* bytes p[off..len) wait */

enum { R_NEW, R_ACTIVE, R_DONE, R_FINISHED };

typedef struct nreq {
    struct nreq *prev, *next;   /* in net.reqs from start until on_done */
    CURL *easy;
    struct curl_slist *hdrs, *connect_to;
    int state;
    unsigned dirty : 1, busy : 1, lua_paused : 1, recv_paused : 1, hdr_done : 1, hdr_sent : 1, via_proxy : 1, tls_no_cert : 1;
    unsigned body_too_big : 1, hdr_too_big : 1;
    size_t max_body, body_in;   /* opts.max_body (0: none); the body's bytes so far, decoded */
    const char *cancelled;      /* reason, once cancelled */
    int self_ref, on_headers_ref, on_data_ref, on_done_ref;
    nbuf hdr, data;
    long status;
    CURLcode result;
    long os_errno, timeout_ms, http_version, primary_port, num_connects, low_bytes, low_secs;
    double total_ms, connect_ms, size_down, size_up;
    char method[16];
    char *shown_url;            /* for messages: no credentials, no query */
    char *eff_url;
    char primary_ip[48];
    char errbuf[CURL_ERROR_SIZE];
} nreq;

static struct {
    CURLM *multi;
    nreq *reqs;
    long timer_id, kick_id;
    unsigned long started;
    double bytes_in;
    size_t buffered, peak_buffered;
} net;

static size_t pending(const nbuf *b) { return b->len - b->off; }

static int buf_add(nbuf *b, const char *p, size_t n)
{
    if (b->off && b->off == b->len) b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off) {           /* reuse the consumed front before growing */
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        if (cap != b->cap) {
            char *q = realloc(b->p, cap);
            if (!q) return -1;
            b->p = q;
            b->cap = cap;
        }
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static char *dupstr(const char *s)    /* strdup needs _GNU_SOURCE/POSIX; keep this file plain C */
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void buf_free(nbuf *b) { free(b->p); memset(b, 0, sizeof *b); }

static void drop_data(nreq *r)
{
    net.buffered -= pending(&r->data);
    buf_free(&r->data);
    buf_free(&r->hdr);
}

static void link_req(nreq *r)
{
    r->prev = NULL;
    r->next = net.reqs;
    if (net.reqs) net.reqs->prev = r;
    net.reqs = r;
}

static void unlink_req(nreq *r)
{
    if (r->prev) r->prev->next = r->next;
    else if (net.reqs == r) net.reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static int load_curl(void)
{
    if (cu.dl) return 1;
    if (cu.err[0]) return 0;
    const char *lib = getenv("VCLI_LIBCURL");   /* tests point this at a missing file */
    if (!lib || !*lib) lib = LIBCURL;
    void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(cu.err, sizeof cu.err, "vcli.net: cannot load %s (%s)", lib, e ? e : "dlopen failed");
        return 0;
    }
    for (int i = 0; cu_syms[i].name; i++) {
        *cu_syms[i].slot = dlsym(dl, cu_syms[i].name);
        if (!*cu_syms[i].slot) {
            snprintf(cu.err, sizeof cu.err, "vcli.net: %s lacks %s (libcurl 7.71 or newer needed)", lib, cu_syms[i].name);
            dlclose(dl);
            return 0;
        }
    }
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(cu.err, sizeof cu.err, "vcli.net: %s failed to initialise", lib);
        dlclose(dl);
        return 0;
    }
    cu.dl = dl;
    return 1;
}

/* ---- libcurl callbacks: C only, no Lua, no multi calls ------------------ */
static void mark_dirty(nreq *r) { r->dirty = 1; }

static size_t on_write(char *p, size_t sz, size_t n, void *ud)
{
    nreq *r = ud;
    size_t len = sz * n;
    if (r->max_body && len > r->max_body - r->body_in) { r->body_too_big = 1; return 0; }  /* fails the transfer */
    if (r->on_data_ref == LUA_NOREF) { r->body_in += len; net.bytes_in += (double)len; return len; }
    if (r->lua_paused || pending(&r->data) >= HIGH_WATER) {
        r->recv_paused = 1;     /* curl keeps these bytes and offers them again on unpause */
        return CURL_WRITEFUNC_PAUSE;
    }
    if (buf_add(&r->data, p, len) < 0) return 0;  /* out of memory: curl fails the transfer */
    r->body_in += len;
    net.bytes_in += (double)len;
    net.buffered += len;
    if (net.buffered > net.peak_buffered) net.peak_buffered = net.buffered;
    mark_dirty(r);
    return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    nreq *r = ud;
    size_t len = sz * n;
    if (r->hdr_done) return len;                /* trailers */
    if (len > 5 && !memcmp(p, "HTTP/", 5)) {    /* a new response: 1xx, or the real one */
        r->hdr.off = r->hdr.len = 0;
        const char *sp = memchr(p, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        if (r->status >= 200) { r->hdr_done = 1; mark_dirty(r); }
        return len;
    }
    if (len > HEADERS_MAX - r->hdr.len) { r->hdr_too_big = 1; return 0; }
    return buf_add(&r->hdr, p, len) < 0 ? 0 : len;
}

static void size_text(char *out, size_t cap, size_t n)
{
    if (n >= (1u << 20) && !(n & ((1u << 20) - 1))) snprintf(out, cap, "%zu MiB", n >> 20);
    else if (n >= 1024 && !(n & 1023)) snprintf(out, cap, "%zu KiB", n >> 10);
    else snprintf(out, cap, "%zu bytes", n);
}

static void sock_ready(int fd, int revents, void *ud);
static void timer_fired(void *ud);

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    int ev = 0;
    if (what != CURL_POLL_REMOVE) {
        if (what & CURL_POLL_IN) ev |= LOOP_READ;
        if (what & CURL_POLL_OUT) ev |= LOOP_WRITE;
    }
    loop_fd(s, ev, sock_ready, NULL);
    return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
    if (net.timer_id) loop_timer_cancel(net.timer_id);
    net.timer_id = ms < 0 ? 0 : loop_timer((double)ms, timer_fired, NULL);
    return 0;
}

/* ---- from the loop: completion and delivery ----------------------------- */
static void gather_info(nreq *r)
{
    CURL *e = r->easy;
    long l = 0;
    curl_off_t o = 0;
    char *s = NULL;
    if (cu.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &l) == CURLE_OK && l) r->status = l;
    if (cu.easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &o) == CURLE_OK) r->total_ms = (double)o / 1e3;
    if (cu.easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &o) == CURLE_OK) r->connect_ms = (double)o / 1e3;
    if (cu.easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &o) == CURLE_OK) r->size_down = (double)o;
    if (cu.easy_getinfo(e, CURLINFO_SIZE_UPLOAD_T, &o) == CURLE_OK) r->size_up = (double)o;
    if (cu.easy_getinfo(e, CURLINFO_OS_ERRNO, &l) == CURLE_OK) r->os_errno = l;
    if (cu.easy_getinfo(e, CURLINFO_HTTP_VERSION, &l) == CURLE_OK) r->http_version = l;
    if (cu.easy_getinfo(e, CURLINFO_PRIMARY_PORT, &l) == CURLE_OK) r->primary_port = l;
    if (cu.easy_getinfo(e, CURLINFO_NUM_CONNECTS, &l) == CURLE_OK) r->num_connects = l;
    if (cu.easy_getinfo(e, CURLINFO_PRIMARY_IP, &s) == CURLE_OK && s)
        snprintf(r->primary_ip, sizeof r->primary_ip, "%s", s);
    s = NULL;
    if (!r->eff_url && cu.easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &s) == CURLE_OK && s)
        r->eff_url = dupstr(s);
}

/* Detach from curl: the connection goes back to the pool (or is closed). */
static void release_easy(nreq *r)
{
    if (r->easy) {
        gather_info(r);
        if (r->state == R_ACTIVE) cu.multi_remove_handle(net.multi, r->easy);
        cu.easy_cleanup(r->easy);
        r->easy = NULL;
    }
    if (r->hdrs) { cu.slist_free_all(r->hdrs); r->hdrs = NULL; }
    if (r->connect_to) { cu.slist_free_all(r->connect_to); r->connect_to = NULL; }
}

static void kicked(void *ud);
static void kick(void)
{
    if (!net.kick_id) net.kick_id = loop_timer(0, kicked, NULL);
}

static void collect_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = cu.multi_info_read(net.multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result;           /* m dies with the handle's removal */
        char *p = NULL;
        cu.easy_getinfo(e, CURLINFO_PRIVATE, &p);
        nreq *r = (nreq *)p;
        if (!r || r->state != R_ACTIVE) continue;
        r->result = rc;
        release_easy(r);
        r->state = R_DONE;
        mark_dirty(r);
    }
}

static void push_headers(lua_State *L, nreq *r)
{
    lua_newtable(L);
    if (!r->hdr.p) return;
    const char *p = r->hdr.p + r->hdr.off, *end = r->hdr.p + r->hdr.len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol) eol = end;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon && colon > p && colon - p < 128 && *p != ' ' && *p != '\t') {
            char name[128];
            size_t nl = (size_t)(colon - p);
            for (size_t i = 0; i < nl; i++) name[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
            name[nl] = 0;
            const char *v = colon + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            lua_getfield(L, -1, name);
            if (lua_isstring(L, -1)) {          /* repeated header: join as HTTP allows */
                lua_pushliteral(L, ", ");
                lua_pushlstring(L, v, (size_t)(ve - v));
                lua_concat(L, 3);
            } else {
                lua_pop(L, 1);
                lua_pushlstring(L, v, (size_t)(ve - v));
            }
            lua_setfield(L, -2, name);
        }
        p = next;
    }
}

static void set_num(lua_State *L, const char *k, double v) { lua_pushnumber(L, v); lua_setfield(L, -2, k); }
static void set_str(lua_State *L, const char *k, const char *v) { if (v && *v) { lua_pushstring(L, v); lua_setfield(L, -2, k); } }

static void push_info(lua_State *L, nreq *r)
{
    lua_createtable(L, 0, 12);
    set_num(L, "status", (double)r->status);
    set_num(L, "total_time_ms", r->total_ms);
    set_num(L, "connect_time_ms", r->connect_ms);
    set_num(L, "size_download", r->size_down);
    set_num(L, "size_upload", r->size_up);
    set_str(L, "effective_url", r->eff_url);
    set_str(L, "method", r->method);
    set_str(L, "primary_ip", r->primary_ip);
    if (r->primary_port) set_num(L, "primary_port", (double)r->primary_port);
    const char *hv = r->http_version == CURL_HTTP_VERSION_1_0 ? "1.0"
                   : r->http_version == CURL_HTTP_VERSION_1_1 ? "1.1"
                   : r->http_version == CURL_HTTP_VERSION_2_0 ? "2"
                   : r->http_version == CURL_HTTP_VERSION_3 ? "3" : NULL;
    set_str(L, "http_version", hv);
    lua_pushboolean(L, r->status > 0 && r->num_connects == 0);
    lua_setfield(L, -2, "reused");
    if (!r->cancelled && r->result != CURLE_OK) set_num(L, "curl_code", (double)r->result);
}

/* One line: what failed, where, why. Never headers: they may carry tokens. */
static void push_error(lua_State *L, nreq *r)
{
    char why[CURL_ERROR_SIZE + 96];
    const char *eb = r->errbuf;
    switch (r->result) {
    case CURLE_COULDNT_CONNECT:
        if (r->os_errno) {
            snprintf(why, sizeof why, "%s%s", r->via_proxy ? "proxy: " : "", strerror((int)r->os_errno));
            char *c = why + (r->via_proxy ? 7 : 0);
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
        } else {
            snprintf(why, sizeof why, "cannot connect%s%s", *eb ? ": " : "", eb);
        }
        break;
    case CURLE_UNSUPPORTED_PROTOCOL: snprintf(why, sizeof why, "unsupported scheme (http and https only)"); break;
    case CURLE_COULDNT_RESOLVE_HOST: snprintf(why, sizeof why, "cannot resolve host"); break;
    case CURLE_COULDNT_RESOLVE_PROXY: snprintf(why, sizeof why, "cannot resolve proxy"); break;
    case CURLE_OPERATION_TIMEDOUT:
        if (!strncmp(eb, "Operation too slow", 18))
            snprintf(why, sizeof why, "stalled: less than %ld bytes/s for %ld s", r->low_bytes, r->low_secs);
        else if (!strncmp(eb, "Connection timed out", 20) || !strncmp(eb, "Resolving timed out", 19))
            snprintf(why, sizeof why, "connect timed out after %.0f ms", r->total_ms);
        else if (r->timeout_ms)
            snprintf(why, sizeof why, "timed out after %ld ms", r->timeout_ms);
        else
            snprintf(why, sizeof why, "timed out after %.0f ms", r->total_ms);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        snprintf(why, sizeof why, "TLS verification failed: %s", *eb ? eb : "server certificate not trusted");
        break;
    case CURLE_SSL_CONNECT_ERROR: snprintf(why, sizeof why, "TLS handshake failed: %s", eb); break;
    case CURLE_SSL_CERTPROBLEM: snprintf(why, sizeof why, "cannot use the client certificate: %s", eb); break;
    case CURLE_SSL_CACERT_BADFILE: snprintf(why, sizeof why, "cannot use the CA certificates: %s", eb); break;
    case CURLE_RECV_ERROR:
        /* TLS 1.3 servers reject a client certificate after the handshake */
        if (strstr(eb, "certificate required")) {
            snprintf(why, sizeof why, "the server requires a client certificate");
            break;
        }
        if (strstr(eb, "alert bad certificate") || strstr(eb, "alert unknown ca")) {
            snprintf(why, sizeof why, "the server rejected the client certificate: %s", eb);
            break;
        }
        /* fall through */
    case CURLE_PARTIAL_FILE:
        snprintf(why, sizeof why, "connection closed mid-response after %.0f bytes%s%s",
                 r->size_down, *eb ? ": " : "", eb);
        break;
    case CURLE_SEND_ERROR:
        /* TLS 1.3 servers that want a client certificate may close before
         * their alert is read: the request write then fails instead */
        snprintf(why, sizeof why, "send failed: %s%s", eb,
                 r->tls_no_cert && !r->status && r->shown_url && !strncmp(r->shown_url, "https:", 6)
                 ? " (does the server require a client certificate?)" : "");
        break;
    case CURLE_GOT_NOTHING: snprintf(why, sizeof why, "server closed the connection without replying"); break;
    case CURLE_WRITE_ERROR: {
        char lim[32];
        if (r->body_too_big) {
            size_text(lim, sizeof lim, r->max_body);
            snprintf(why, sizeof why, "response body larger than %s (the limit)", lim);
        } else if (r->hdr_too_big) {
            size_text(lim, sizeof lim, HEADERS_MAX);
            snprintf(why, sizeof why, "response headers larger than %s (the limit)", lim);
        } else {
            snprintf(why, sizeof why, "out of memory buffering the response");
        }
        break;
    }
    default:
        snprintf(why, sizeof why, "%s", *eb ? eb : cu.easy_strerror(r->result));
    }
    for (char *c = why; *c; c++) if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    size_t n = strlen(why);
    while (n && why[n - 1] == ' ') why[--n] = 0;
    lua_pushfstring(L, "%s %s: %s", r->method, r->shown_url ? r->shown_url : "?", why);
}

static void unref_all(lua_State *L, nreq *r)
{
    vcli_unref(L, &r->on_headers_ref);
    vcli_unref(L, &r->on_data_ref);
    vcli_unref(L, &r->on_done_ref);
    vcli_unref(L, &r->self_ref);
}

static void finish(lua_State *L, nreq *r)
{
    r->state = R_FINISHED;
    unlink_req(r);
    drop_data(r);
    int has_fn = r->on_done_ref != LUA_NOREF;
    if (has_fn) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->on_done_ref);
        if (r->cancelled) lua_pushstring(L, r->cancelled);
        else if (r->result != CURLE_OK) push_error(L, r);
        else lua_pushnil(L);
        push_info(L, r);
    }
    unref_all(L, r);            /* the caller's stack slot keeps r alive through the call */
    if (has_fn && vm_pcall(L, 2, 0)) loop_report(L, "net on_done");
}

static void cancel_req(nreq *r, const char *why)
{
    if (r->state == R_FINISHED || r->cancelled) return;
    r->cancelled = why;
    release_easy(r);
    if (r->state != R_NEW) r->state = R_DONE;
    drop_data(r);
    mark_dirty(r);
    kick();
}

static void unpause_if_caught_up(nreq *r)
{
    if (r->state == R_ACTIVE && r->recv_paused && !r->lua_paused && pending(&r->data) < LOW_WATER) {
        r->recv_paused = 0;
        cu.easy_pause(r->easy, CURLPAUSE_CONT);  /* may call on_write at once: fine, it only buffers */
    }
}

static void deliver(lua_State *L, nreq *r)
{
    lua_checkstack(L, 8);
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->self_ref);  /* anchors r while Lua runs */
    r->dirty = 0;
    r->busy = 1;
    if (r->hdr_done && !r->hdr_sent && !r->cancelled) {
        r->hdr_sent = 1;
        if (r->on_headers_ref != LUA_NOREF) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, r->on_headers_ref);
            lua_pushnumber(L, (lua_Number)r->status);
            push_headers(L, r);
            if (vm_pcall(L, 2, 0)) loop_report(L, "net on_headers");
        }
    }
    while (r->hdr_sent && !r->cancelled && !r->lua_paused && pending(&r->data)) {
        size_t n = pending(&r->data);
        if (n > CHUNK_MAX) n = CHUNK_MAX;
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->on_data_ref);
        lua_pushlstring(L, r->data.p + r->data.off, n);
        r->data.off += n;
        net.buffered -= n;
        if (vm_pcall(L, 1, 0)) {
            loop_report(L, "net on_data");
            cancel_req(r, "cancelled: on_data failed");
        }
        unpause_if_caught_up(r);
    }
    unpause_if_caught_up(r);
    r->busy = 0;
    if (r->state == R_DONE && (r->cancelled || !pending(&r->data) || !r->hdr_done)) finish(L, r);
    lua_settop(L, top);
}

static void drain(void)
{
    lua_State *L = loop_L();
    for (;;) {
        nreq *r = net.reqs;
        while (r && !(r->dirty && !r->busy)) r = r->next;
        if (!r) break;
        deliver(L, r);  /* may start, cancel or finish any request: rescan */
    }
}

static void after_curl(void)
{
    collect_done();
    drain();
}

static void sock_ready(int fd, int revents, void *ud)
{
    int flags = ((revents & LOOP_READ) ? CURL_CSELECT_IN : 0) | ((revents & LOOP_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    cu.multi_socket_action(net.multi, fd, flags, &running);
    after_curl();
}

static void timer_fired(void *ud)
{
    int running;
    net.timer_id = 0;
    cu.multi_socket_action(net.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    after_curl();
}

static void kicked(void *ud)
{
    net.kick_id = 0;
    after_curl();
}

/* ---- Lua API ------------------------------------------------------------ */
static const char *opt_str(lua_State *L, const char *k, size_t *len)
{
    lua_getfield(L, 1, k);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "net.request: %s must be a string", k);
        s = lua_tolstring(L, -1, len);
    }
    lua_pop(L, 1);              /* still referenced by the opts table */
    return s;
}

static double opt_num(lua_State *L, const char *k, double dflt)
{
    lua_getfield(L, 1, k);
    double v = dflt;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "net.request: %s must be a number", k);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int opt_fn(lua_State *L, const char *k)
{
    lua_getfield(L, 1, k);
    int ref = LUA_NOREF;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TFUNCTION) luaL_error(L, "net.request: %s must be a function", k);
        ref = vcli_ref(L, -1);
    }
    lua_pop(L, 1);
    return ref;
}

static void add_header(lua_State *L, nreq *r, const char *line)
{
    if (strpbrk(line, "\r\n")) luaL_error(L, "net.request: a header contains a line break");
    struct curl_slist *l = cu.slist_append(r->hdrs, line);
    if (!l) luaL_error(L, "net.request: out of memory");
    r->hdrs = l;
}

/* Returns whether the caller set a Host header. */
static int set_headers(lua_State *L, nreq *r)
{
    int has_host = 0;
    add_header(L, r, "Expect:");   /* no 100-continue round trip for bodies */
    lua_getfield(L, 1, "headers");
    if (lua_isnil(L, -1)) { lua_pop(L, 1); return 0; }
    if (!lua_istable(L, -1)) luaL_error(L, "net.request: headers must be a table");
    int t = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        const char *line;
        if (lua_type(L, -2) == LUA_TNUMBER) {
            if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "net.request: headers[%d] must be a \"Name: value\" string", (int)lua_tointeger(L, -2));
            line = lua_tostring(L, -1);
            if (!strchr(line, ':') && !strchr(line, ';')) luaL_error(L, "net.request: header '%s' lacks a ':'", line);
            if (!strncasecmp(line, "host:", 5)) has_host = 1;
            add_header(L, r, line);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            const char *name = lua_tostring(L, -2);
            if (!*name || strpbrk(name, ": \t\r\n")) luaL_error(L, "net.request: invalid header name '%s'", name);
            if (!lua_isstring(L, -1)) luaL_error(L, "net.request: header %s must be a string", name);
            const char *v = lua_tostring(L, -1);
            if (!strcasecmp(name, "host")) has_host = 1;
            /* "Name;" is curl's way to send a header with an empty value */
            line = *v ? lua_pushfstring(L, "%s: %s", name, v) : lua_pushfstring(L, "%s;", name);
            add_header(L, r, line);
            lua_pop(L, 1);
        } else {
            luaL_error(L, "net.request: header names must be strings");
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return has_host;
}

static void setopt_blob(CURL *e, CURLoption o, const char *p, size_t n)
{
    struct curl_blob b = { (void *)p, n, CURL_BLOB_COPY };
    cu.easy_setopt(e, o, &b);
}

static void check(lua_State *L, CURLcode rc, const char *what)
{
    if (rc != CURLE_OK) luaL_error(L, "net.request: %s: %s", what, cu.easy_strerror(rc));
}

/* The URL to connect to, the one shown in messages, and for server_name the
 * CONNECT_TO rule: curl then talks to the URL's host:port while TLS (SNI and
 * certificate name check) uses server_name, as kubeconfig's tls-server-name means. */
static void setup_url(lua_State *L, nreq *r, const char *url, const char *server_name, int has_host)
{
    CURLU *u = cu.url();
    if (!u) luaL_error(L, "net.request: out of memory");
    if (cu.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        cu.url_cleanup(u);
        luaL_error(L, "net.request: url is not a valid http(s) URL");
    }
    char *host = NULL, *port = NULL, *s = NULL;
    cu.url_get(u, CURLUPART_HOST, &host, 0);
    cu.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    const char *err = NULL;
    CURLcode rc = CURLE_OK;
    if (server_name && host && port) {
        char rule[600], hosthdr[600];
        snprintf(rule, sizeof rule, "%s:%s:%s:%s", server_name, port, host, port);
        r->connect_to = cu.slist_append(NULL, rule);
        if (!has_host) {
            char *p0 = NULL;    /* the Host the server expects is the URL's, as without server_name */
            cu.url_get(u, CURLUPART_PORT, &p0, 0);
            snprintf(hosthdr, sizeof hosthdr, "Host: %s%s%s", host, p0 ? ":" : "", p0 ? p0 : "");
            if (p0) cu.free(p0);
            struct curl_slist *l = cu.slist_append(r->hdrs, hosthdr);
            if (l) r->hdrs = l;
        }
        if (cu.url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK) err = "server_name is not a valid host name";
        else if (cu.url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK) err = "cannot apply server_name";
        else {
            rc = cu.easy_setopt(r->easy, CURLOPT_URL, s);
            if (rc == CURLE_OK) rc = cu.easy_setopt(r->easy, CURLOPT_CONNECT_TO, r->connect_to);
            r->eff_url = dupstr(url);
        }
        if (s) { cu.free(s); s = NULL; }
        cu.url_set(u, CURLUPART_HOST, host, 0);
    } else {
        rc = cu.easy_setopt(r->easy, CURLOPT_URL, url);
    }
    if (!err && rc == CURLE_OK) {
        cu.url_set(u, CURLUPART_USER, NULL, 0);
        cu.url_set(u, CURLUPART_PASSWORD, NULL, 0);
        cu.url_set(u, CURLUPART_OPTIONS, NULL, 0);
        cu.url_set(u, CURLUPART_QUERY, NULL, 0);
        cu.url_set(u, CURLUPART_FRAGMENT, NULL, 0);
        if (cu.url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) { r->shown_url = dupstr(s); cu.free(s); }
    }
    if (host) cu.free(host);
    if (port) cu.free(port);
    cu.url_cleanup(u);
    if (err) luaL_error(L, "net.request: %s", err);
    check(L, rc, "url");
}

static void setup_body(lua_State *L, nreq *r)
{
    size_t blen = 0;
    const char *body = opt_str(L, "body", &blen);
    CURL *e = r->easy;
    const char *m = r->method;
    if (!strcmp(m, "GET") && !body) { cu.easy_setopt(e, CURLOPT_HTTPGET, 1L); return; }
    if (!strcmp(m, "HEAD")) { cu.easy_setopt(e, CURLOPT_NOBODY, 1L); return; }
    if (strcmp(m, "POST")) cu.easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    if (body || !strcmp(m, "POST")) {
        cu.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        check(L, cu.easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body ? body : ""), "body");
    }
}

static void setup_tls(lua_State *L, nreq *r)
{
    CURL *e = r->easy;
    size_t n;
    const char *s;
    /* A given CA is the only one trusted, as kubectl does: curl would
     * otherwise also load the system bundle (and pay ~10 MB RSS for it). */
    const char *ca_file = opt_str(L, "ca_file", NULL), *ca_pem = opt_str(L, "ca_pem", &n);
    if (ca_file || ca_pem) {
        cu.easy_setopt(e, CURLOPT_CAPATH, (char *)NULL);
        check(L, cu.easy_setopt(e, CURLOPT_CAINFO, ca_file), "ca_file");
    }
    if (ca_pem) setopt_blob(e, CURLOPT_CAINFO_BLOB, ca_pem, n);
    if ((s = opt_str(L, "cert_file", NULL))) check(L, cu.easy_setopt(e, CURLOPT_SSLCERT, s), "cert_file");
    if ((s = opt_str(L, "key_file", NULL))) check(L, cu.easy_setopt(e, CURLOPT_SSLKEY, s), "key_file");
    if ((s = opt_str(L, "cert_pem", &n))) {
        cu.easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        setopt_blob(e, CURLOPT_SSLCERT_BLOB, s, n);
    }
    if ((s = opt_str(L, "key_pem", &n))) {
        cu.easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
        setopt_blob(e, CURLOPT_SSLKEY_BLOB, s, n);
    }
    r->tls_no_cert = !opt_str(L, "cert_pem", NULL) && !opt_str(L, "cert_file", NULL);
    lua_getfield(L, 1, "insecure");
    if (lua_toboolean(L, -1)) {
        cu.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        cu.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    lua_pop(L, 1);
}

static int multi_setup(void)
{
    if (net.multi) return 1;
    net.multi = cu.multi_init();
    if (!net.multi) return 0;
    cu.multi_setopt(net.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    cu.multi_setopt(net.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    return 1;
}

/* net.request(opts) -> handle | nil, err (libcurl unavailable); bad opts raise */
static int l_request(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    const char *url = opt_str(L, "url", NULL);
    if (!url) return luaL_error(L, "net.request: url is required");
    if (!load_curl() || !multi_setup()) {
        lua_pushnil(L);
        lua_pushstring(L, cu.err[0] ? cu.err : "vcli.net: cannot create a libcurl multi handle");
        return 2;
    }
    nreq *r = lua_newuserdata(L, sizeof *r);   /* index 2 */
    memset(r, 0, sizeof *r);
    r->self_ref = r->on_headers_ref = r->on_data_ref = r->on_done_ref = LUA_NOREF;
    r->state = R_NEW;
    luaL_getmetatable(L, REQ_META);
    lua_setmetatable(L, -2);    /* from here __gc frees whatever a failed setup leaves */

    const char *method = opt_str(L, "method", NULL);
    if (!method) method = "GET";
    size_t ml = strlen(method);
    if (!ml || ml >= sizeof r->method) return luaL_error(L, "net.request: invalid method");
    for (size_t i = 0; i < ml; i++) {
        char c = method[i];
        if (c >= 'a' && c <= 'z') c = (char)(c - 32);
        if (c < 'A' || c > 'Z') return luaL_error(L, "net.request: invalid method");
        r->method[i] = c;
    }

    r->easy = cu.easy_init();
    if (!r->easy) return luaL_error(L, "net.request: cannot create a curl handle");
    CURL *e = r->easy;
    int has_host = set_headers(L, r);
    setup_url(L, r, url, opt_str(L, "server_name", NULL), has_host);
    setup_body(L, r);
    setup_tls(L, r);

    r->timeout_ms = (long)opt_num(L, "timeout_ms", 0);
    double mb = opt_num(L, "max_body", 0);
    if (mb < 0) return luaL_error(L, "net.request: max_body must be a number of bytes, 0 for no limit");
    r->max_body = mb > (double)SIZE_MAX ? SIZE_MAX : (size_t)mb;
    long cto = (long)opt_num(L, "connect_timeout_ms", 0);
    if (r->timeout_ms > 0) cu.easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    if (cto > 0) cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto);
    lua_getfield(L, 1, "low_speed");
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        lua_getfield(L, -3, "bytes_per_s");
        lua_getfield(L, -4, "seconds");
        r->low_bytes = (long)(lua_isnumber(L, -2) ? lua_tonumber(L, -2) : lua_tonumber(L, -4));
        r->low_secs = (long)(lua_isnumber(L, -1) ? lua_tonumber(L, -1) : lua_tonumber(L, -3));
        lua_pop(L, 4);
        if (r->low_bytes <= 0 || r->low_secs <= 0)
            return luaL_error(L, "net.request: low_speed must be {bytes_per_s, seconds}, both positive");
        cu.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, r->low_bytes);
        cu.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, r->low_secs);
    } else if (!lua_isnil(L, -1)) {
        return luaL_error(L, "net.request: low_speed must be {bytes_per_s, seconds}");
    }
    lua_pop(L, 1);
    const char *s;
    if ((s = opt_str(L, "proxy", NULL))) {
        check(L, cu.easy_setopt(e, CURLOPT_PROXY, s), "proxy");
        r->via_proxy = *s != 0;
    }
    if ((s = opt_str(L, "http_version", NULL))) {
        long v = !strcmp(s, "1.1") ? CURL_HTTP_VERSION_1_1 : !strcmp(s, "1.0") ? CURL_HTTP_VERSION_1_0
               : !strcmp(s, "2") ? CURL_HTTP_VERSION_2_0 : -1;
        if (v < 0) return luaL_error(L, "net.request: http_version must be \"1.1\" or \"2\"");
        check(L, cu.easy_setopt(e, CURLOPT_HTTP_VERSION, v), "http_version");
    }

    cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* compressed = false: no Accept-Encoding (kubeconfig's disable-compression) */
    lua_getfield(L, 1, "compressed");
    int plain = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
        return luaL_error(L, "net.request: compressed must be a boolean");
    lua_pop(L, 1);
    if (!plain) cu.easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    cu.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    cu.easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    cu.easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
    cu.easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    cu.easy_setopt(e, CURLOPT_USERAGENT, "vcli/" VCLI_VERSION);
    cu.easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    cu.easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    cu.easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    cu.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    cu.easy_setopt(e, CURLOPT_WRITEDATA, r);
    cu.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    cu.easy_setopt(e, CURLOPT_HEADERDATA, r);

    r->on_headers_ref = opt_fn(L, "on_headers");
    r->on_data_ref = opt_fn(L, "on_data");
    r->on_done_ref = opt_fn(L, "on_done");

    CURLMcode mc = cu.multi_add_handle(net.multi, e);
    if (mc != CURLM_OK) {
        vcli_unref(L, &r->on_headers_ref);
        vcli_unref(L, &r->on_data_ref);
        vcli_unref(L, &r->on_done_ref);
        return luaL_error(L, "net.request: cannot start the transfer (curl multi error %d)", (int)mc);
    }
    r->state = R_ACTIVE;
    r->self_ref = vcli_ref(L, 2);
    link_req(r);
    net.started++;
    lua_settop(L, 2);
    return 1;
}

static nreq *checkreq(lua_State *L) { return vcli_checkudata(L, 1, REQ_META); }

/* req:cancel() -> whether it was still running; on_done then gets "cancelled" */
static int m_cancel(lua_State *L)
{
    nreq *r = checkreq(L);
    int live = r->state == R_ACTIVE || r->state == R_DONE;
    if (live && !r->cancelled) cancel_req(r, "cancelled");
    lua_pushboolean(L, live);
    return 1;
}

static int m_pause(lua_State *L)
{
    nreq *r = checkreq(L);
    if (r->state == R_ACTIVE && !r->lua_paused) {
        r->lua_paused = 1;
        r->recv_paused = 1;
        cu.easy_pause(r->easy, CURLPAUSE_RECV);
    } else if (r->state == R_DONE) {
        r->lua_paused = 1;
    }
    return 0;
}

static int m_resume(lua_State *L)
{
    nreq *r = checkreq(L);
    if (!r->lua_paused) return 0;
    r->lua_paused = 0;
    unpause_if_caught_up(r);
    mark_dirty(r);
    kick();
    return 0;
}

static int m_tostring(lua_State *L)
{
    nreq *r = checkreq(L);
    static const char *const states[] = {"new", "active", "done", "finished"};
    lua_pushfstring(L, "net.request %s %s (%s%s)", r->method, r->shown_url ? r->shown_url : "?",
                    states[r->state], r->lua_paused ? ", paused" : "");
    return 1;
}

static int m_gc(lua_State *L)
{
    nreq *r = checkreq(L);
    /* Live requests are anchored by self_ref: reaching here live means the
     * setup failed half-way, or the state is closing. No Lua from here. */
    if (r->state != R_FINISHED) {
        if (r->easy) {
            if (r->state == R_ACTIVE) cu.multi_remove_handle(net.multi, r->easy);
            cu.easy_cleanup(r->easy);
            r->easy = NULL;
        }
        if (r->hdrs) cu.slist_free_all(r->hdrs);
        if (r->connect_to) cu.slist_free_all(r->connect_to);
        r->hdrs = r->connect_to = NULL;
        unlink_req(r);
        drop_data(r);
        r->state = R_FINISHED;
    }
    free(r->shown_url);
    free(r->eff_url);
    r->shown_url = r->eff_url = NULL;
    return 0;
}

/* net.stats([reset_peak]) -> {active, paused, requests, bytes_in, buffered, peak_buffered} */
static int l_stats(lua_State *L)
{
    int active = 0, paused = 0;
    for (nreq *r = net.reqs; r; r = r->next) { active++; if (r->lua_paused || r->recv_paused) paused++; }
    lua_createtable(L, 0, 6);
    set_num(L, "active", active);
    set_num(L, "paused", paused);
    set_num(L, "requests", (double)net.started);
    set_num(L, "bytes_in", net.bytes_in);
    set_num(L, "buffered", (double)net.buffered);
    set_num(L, "peak_buffered", (double)net.peak_buffered);
    if (lua_toboolean(L, 1)) net.peak_buffered = net.buffered;
    return 1;
}

/* net.available() -> true, "libcurl/x.y.z OpenSSL/…" | false, err */
static int l_available(lua_State *L)
{
    if (!load_curl()) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, cu.err);
        return 2;
    }
    curl_version_info_data *v = cu.version_info(CURLVERSION_NOW);
    lua_pushboolean(L, 1);
    lua_pushfstring(L, "libcurl/%s%s%s%s", v->version, v->ssl_version ? " " : "", v->ssl_version ? v->ssl_version : "",
                    (v->features & CURL_VERSION_HTTP2) ? " http2" : "");
    return 2;
}

/* ---- raw connections: net.connect ---------------------------------------
 * A TCP (+TLS, + proxy tunnel) byte stream that libcurl sets up with every
 * option net.request honours (CA, client certificate, insecure,
 * server_name, proxy), then hands over with CURLOPT_CONNECT_ONLY: bytes
 * move with curl_easy_send/recv on CURLINFO_ACTIVESOCKET, polled on the
 * core loop. vcli.websocket speaks HTTP/1.1 Upgrade and RFC 6455 over it.
 * Each connection has a multi handle of its own: a connect-only connection
 * stays in its multi's connection cache, where the housekeeping of other
 * transfers (pruning idle connections after 118 s) must never find it. */
#define CONN_META "vcli.net.conn"
enum { C_CONNECTING, C_OPEN, C_CLOSED };
#define CONN_FDS 4

typedef struct nconn {
    nreq r;                     /* easy handle, URL, TLS, error text: as a request */
    CURLM *multi;
    int state, fd, events;
    int cfd[CONN_FDS];          /* sockets curl watches while connecting */
    long timer_id, kick_id;
    unsigned busy : 1, paused : 1, drained : 1;
    int self_ref, on_open_ref, on_data_ref, on_close_ref, on_drain_ref;
    nbuf out;                   /* bytes waiting to be sent */
    char err[CURL_ERROR_SIZE + 128];  /* a failure found while Lua runs, delivered from the loop */
} nconn;

static void conn_unref(lua_State *L, nconn *c)
{
    vcli_unref(L, &c->on_open_ref);
    vcli_unref(L, &c->on_data_ref);
    vcli_unref(L, &c->on_close_ref);
    vcli_unref(L, &c->on_drain_ref);
    vcli_unref(L, &c->self_ref);
}

/* Drop everything curl and the loop hold for c; no Lua. */
static void conn_release(nconn *c)
{
    c->state = C_CLOSED;
    for (int i = 0; i < CONN_FDS; i++)
        if (c->cfd[i] >= 0) { loop_fd(c->cfd[i], 0, NULL, NULL); c->cfd[i] = -1; }
    if (c->fd >= 0) { loop_fd(c->fd, 0, NULL, NULL); c->fd = -1; }
    c->events = 0;
    if (c->timer_id) { loop_timer_cancel(c->timer_id); c->timer_id = 0; }
    if (c->kick_id) { loop_timer_cancel(c->kick_id); c->kick_id = 0; }
    if (c->r.easy) {
        if (c->multi) cu.multi_remove_handle(c->multi, c->r.easy);  /* closes a connect-only connection */
        cu.easy_cleanup(c->r.easy);
        c->r.easy = NULL;
    }
    if (c->multi) { cu.multi_cleanup(c->multi); c->multi = NULL; }
    if (c->r.hdrs) { cu.slist_free_all(c->r.hdrs); c->r.hdrs = NULL; }
    if (c->r.connect_to) { cu.slist_free_all(c->r.connect_to); c->r.connect_to = NULL; }
    buf_free(&c->out);
}

static void conn_io(int fd, int revents, void *ud);

static void conn_watch(nconn *c)
{
    if (c->state != C_OPEN) return;
    int ev = (c->paused ? 0 : LOOP_READ) | (pending(&c->out) ? LOOP_WRITE : 0);
    if (ev != c->events) {
        loop_fd(c->fd, ev, conn_io, c);
        c->events = ev;
    }
}

/* on_close(err) once, last; err nil at a clean end of the stream */
static void conn_finish(lua_State *L, nconn *c, const char *err)
{
    if (c->state == C_CLOSED) return;
    conn_release(c);
    int fn = c->on_close_ref;
    c->on_close_ref = LUA_NOREF;
    if (fn != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
        luaL_unref(L, LUA_REGISTRYINDEX, fn);
        if (err) lua_pushstring(L, err); else lua_pushnil(L);
        if (vm_pcall(L, 1, 0)) loop_report(L, "net.connect on_close");
    }
    conn_unref(L, c);
}

static void conn_fail_text(nconn *c, const char *what, CURLcode rc)
{
    snprintf(c->err, sizeof c->err, "%s %s: %s (%s)", c->r.method, c->r.shown_url ? c->r.shown_url : "?", what,
             cu.easy_strerror(rc));
}

/* Send what waits; -1 on a failure (text in c->err). */
static int conn_flush(nconn *c)
{
    while (pending(&c->out)) {
        size_t sent = 0;
        CURLcode rc = cu.easy_send(c->r.easy, c->out.p + c->out.off, pending(&c->out), &sent);
        if (rc == CURLE_AGAIN) break;
        if (rc != CURLE_OK) { conn_fail_text(c, "connection lost while sending", rc); return -1; }
        if (!sent) break;
        c->out.off += sent;
    }
    if (!pending(&c->out)) c->out.off = c->out.len = 0;
    return 0;
}

/* Read until the socket (and TLS) has nothing more, handing each piece to on_data. */
static void conn_read(lua_State *L, nconn *c)
{
    static char buf[CHUNK_MAX];
    while (c->state == C_OPEN && !c->paused) {
        size_t got = 0;
        CURLcode rc = cu.easy_recv(c->r.easy, buf, sizeof buf, &got);
        if (rc == CURLE_AGAIN) return;
        if (rc != CURLE_OK) {
            conn_fail_text(c, "connection lost", rc);
            conn_finish(L, c, c->err);
            return;
        }
        if (!got) { conn_finish(L, c, NULL); return; }    /* the peer closed the stream */
        net.bytes_in += (double)got;
        if (c->on_data_ref != LUA_NOREF) {
            lua_rawgeti(L, LUA_REGISTRYINDEX, c->on_data_ref);
            lua_pushlstring(L, buf, got);
            if (vm_pcall(L, 1, 0)) {
                loop_report(L, "net.connect on_data");
                conn_finish(L, c, "cancelled: on_data failed");
                return;
            }
        }
    }
}

static void conn_drained(lua_State *L, nconn *c)
{
    if (c->state == C_OPEN && !pending(&c->out) && !c->drained && c->on_drain_ref != LUA_NOREF) {
        c->drained = 1;
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->on_drain_ref);
        if (vm_pcall(L, 0, 0)) loop_report(L, "net.connect on_drain");
    }
}

static void conn_io(int fd, int revents, void *ud)
{
    nconn *c = ud;
    lua_State *L = loop_L();
    int top = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->self_ref);    /* anchors c while Lua runs */
    c->busy = 1;
    if ((revents & LOOP_WRITE) && c->state == C_OPEN) {
        if (conn_flush(c) < 0) conn_finish(L, c, c->err);
        else conn_drained(L, c);
    }
    if ((revents & LOOP_READ) && c->state == C_OPEN) conn_read(L, c);
    c->busy = 0;
    conn_watch(c);
    lua_settop(L, top);
}

static void conn_kicked(void *ud)
{
    nconn *c = ud;
    c->kick_id = 0;
    conn_io(c->fd, c->err[0] ? 0 : LOOP_READ | LOOP_WRITE, c);
    if (c->err[0] && c->state == C_OPEN) {
        lua_State *L = loop_L();
        int top = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->self_ref);
        conn_finish(L, c, c->err);
        lua_settop(L, top);
    }
}

static void conn_kick(nconn *c)
{
    if (!c->kick_id && c->state == C_OPEN) c->kick_id = loop_timer(0, conn_kicked, c);
}

/* ---- connecting: curl's multi on the loop --------------------------------- */
static void conn_sock_ready(int fd, int revents, void *ud);

static int conn_on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    nconn *c = userp;
    if (c->state != C_CONNECTING) return 0;
    int slot = -1;
    for (int i = 0; i < CONN_FDS; i++) if (c->cfd[i] == s) slot = i;
    if (what == CURL_POLL_REMOVE) {
        loop_fd(s, 0, NULL, NULL);
        if (slot >= 0) c->cfd[slot] = -1;
        return 0;
    }
    if (slot < 0) for (int i = 0; i < CONN_FDS && slot < 0; i++) if (c->cfd[i] < 0) slot = i;
    if (slot >= 0) c->cfd[slot] = s;
    loop_fd(s, ((what & CURL_POLL_IN) ? LOOP_READ : 0) | ((what & CURL_POLL_OUT) ? LOOP_WRITE : 0), conn_sock_ready, c);
    return 0;
}

static void conn_timer_fired(void *ud);
static int conn_on_timer(CURLM *m, long ms, void *userp)
{
    nconn *c = userp;
    if (c->timer_id) loop_timer_cancel(c->timer_id);
    c->timer_id = (ms < 0 || c->state != C_CONNECTING) ? 0 : loop_timer((double)ms, conn_timer_fired, c);
    return 0;
}

static void conn_progress(nconn *c)
{
    CURLMsg *m;
    int left;
    while (c->state == C_CONNECTING && (m = cu.multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode rc = m->data.result;
        lua_State *L = loop_L();
        int top = lua_gettop(L);
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->self_ref);
        c->r.result = rc;
        gather_info(&c->r);
        curl_socket_t sock = CURL_SOCKET_BAD;
        if (rc == CURLE_OK && (cu.easy_getinfo(c->r.easy, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD)) {
            rc = CURLE_COULDNT_CONNECT;
            c->r.result = rc;
        }
        int fn = c->on_open_ref;
        c->on_open_ref = LUA_NOREF;
        if (rc == CURLE_OK) {
            for (int i = 0; i < CONN_FDS; i++)
                if (c->cfd[i] >= 0) { loop_fd(c->cfd[i], 0, NULL, NULL); c->cfd[i] = -1; }
            if (c->timer_id) { loop_timer_cancel(c->timer_id); c->timer_id = 0; }
            c->state = C_OPEN;
            c->fd = (int)sock;
            conn_watch(c);
            if (pending(&c->out)) conn_kick(c);
            if (fn != LUA_NOREF) {
                lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
                lua_pushnil(L);
                push_info(L, &c->r);
                if (vm_pcall(L, 2, 0)) loop_report(L, "net.connect on_open");
            }
        } else {
            conn_release(c);
            if (fn != LUA_NOREF) {
                lua_rawgeti(L, LUA_REGISTRYINDEX, fn);
                push_error(L, &c->r);
                if (vm_pcall(L, 1, 0)) loop_report(L, "net.connect on_open");
            }
            conn_unref(L, c);
        }
        if (fn != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, fn);
        lua_settop(L, top);
        return;
    }
}

static void conn_sock_ready(int fd, int revents, void *ud)
{
    nconn *c = ud;
    if (c->state != C_CONNECTING) return;
    int running;
    int flags = ((revents & LOOP_READ) ? CURL_CSELECT_IN : 0) | ((revents & LOOP_WRITE) ? CURL_CSELECT_OUT : 0);
    cu.multi_socket_action(c->multi, fd, flags, &running);
    conn_progress(c);
}

static void conn_timer_fired(void *ud)
{
    nconn *c = ud;
    c->timer_id = 0;
    if (c->state != C_CONNECTING) return;
    int running;
    cu.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    conn_progress(c);
}

/* net.connect(opts) -> conn | nil, err (libcurl unavailable); bad opts raise.
 * opts: url (http/https: where to connect; nothing is requested), method
 * (for messages only), connect_timeout_ms, ca_*, cert_*, key_*, insecure,
 * server_name, proxy (always a CONNECT tunnel); on_open(err, info),
 * on_data(chunk), on_close(err), on_drain(). */
static int l_connect(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    const char *url = opt_str(L, "url", NULL);
    if (!url) return luaL_error(L, "net.connect: url is required");
    if (!load_curl()) {
        lua_pushnil(L);
        lua_pushstring(L, cu.err);
        return 2;
    }
    nconn *c = lua_newuserdata(L, sizeof *c);   /* index 2 */
    memset(c, 0, sizeof *c);
    c->fd = -1;
    for (int i = 0; i < CONN_FDS; i++) c->cfd[i] = -1;
    c->r.self_ref = c->r.on_headers_ref = c->r.on_data_ref = c->r.on_done_ref = LUA_NOREF;
    c->self_ref = c->on_open_ref = c->on_data_ref = c->on_close_ref = c->on_drain_ref = LUA_NOREF;
    c->state = C_CLOSED;        /* until the setup below has succeeded */
    luaL_getmetatable(L, CONN_META);
    lua_setmetatable(L, -2);
    const char *method = opt_str(L, "method", NULL);
    snprintf(c->r.method, sizeof c->r.method, "%s", method && *method ? method : "GET");
    c->r.easy = cu.easy_init();
    c->multi = cu.multi_init();
    if (!c->r.easy || !c->multi) return luaL_error(L, "net.connect: cannot create a curl handle");
    CURL *e = c->r.easy;
    setup_url(L, &c->r, url, opt_str(L, "server_name", NULL), 1);
    setup_tls(L, &c->r);
    long cto = (long)opt_num(L, "connect_timeout_ms", 0);
    if (cto > 0) {
        cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, cto);
        c->r.timeout_ms = cto;
    }
    const char *s;
    if ((s = opt_str(L, "proxy", NULL))) {
        check(L, cu.easy_setopt(e, CURLOPT_PROXY, s), "proxy");
        c->r.via_proxy = *s != 0;
    }
    cu.easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
    cu.easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
    cu.easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);   /* ALPN: no h2 for an Upgrade */
    cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    cu.easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    cu.easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
    cu.easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    cu.easy_setopt(e, CURLOPT_USERAGENT, "vcli/" VCLI_VERSION);
    cu.easy_setopt(e, CURLOPT_ERRORBUFFER, c->r.errbuf);
    cu.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, conn_on_socket);
    cu.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    cu.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, conn_on_timer);
    cu.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    lua_getfield(L, 1, "on_open");
    lua_getfield(L, 1, "on_data");
    lua_getfield(L, 1, "on_close");
    lua_getfield(L, 1, "on_drain");
    for (int i = -4; i < 0; i++)
        if (!lua_isnil(L, i) && !lua_isfunction(L, i)) return luaL_error(L, "net.connect: callbacks must be functions");
    c->state = C_CONNECTING;
    CURLMcode mc = cu.multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        conn_release(c);
        return luaL_error(L, "net.connect: cannot start (curl multi error %d)", (int)mc);
    }
    if (!lua_isnil(L, -1)) c->on_drain_ref = vcli_ref(L, -1);
    if (!lua_isnil(L, -2)) c->on_close_ref = vcli_ref(L, -2);
    if (!lua_isnil(L, -3)) c->on_data_ref = vcli_ref(L, -3);
    if (!lua_isnil(L, -4)) c->on_open_ref = vcli_ref(L, -4);
    c->self_ref = vcli_ref(L, 2);
    lua_settop(L, 2);
    return 1;
}

static nconn *checkconn(lua_State *L) { return vcli_checkudata(L, 1, CONN_META); }

/* conn:send(data) -> bytes still waiting to be sent | nil, err (closed).
 * Never blocks: what the socket does not take now goes out from the loop. */
static int c_send(lua_State *L)
{
    nconn *c = checkconn(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (c->state == C_CLOSED || c->err[0]) { lua_pushnil(L); lua_pushliteral(L, "the connection is closed"); return 2; }
    if (buf_add(&c->out, s, n) < 0) return luaL_error(L, "net.connect: out of memory");
    c->drained = 0;
    if (c->state == C_OPEN && !c->busy) {
        if (conn_flush(c) < 0) conn_kick(c);   /* the failure reaches on_close from the loop */
        conn_watch(c);
    }
    lua_pushinteger(L, (lua_Integer)pending(&c->out));
    return 1;
}

/* conn:buffered() -> bytes waiting to be sent */
static int c_buffered(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)pending(&checkconn(L)->out));
    return 1;
}

static int c_pause(lua_State *L)
{
    nconn *c = checkconn(L);
    c->paused = 1;
    conn_watch(c);
    return 0;
}

static int c_resume(lua_State *L)
{
    nconn *c = checkconn(L);
    if (!c->paused) return 0;
    c->paused = 0;
    conn_watch(c);
    conn_kick(c);               /* TLS may hold bytes the socket no longer signals */
    return 0;
}

/* conn:close() -> whether it was open. What waits to be sent gets one
 * last non-blocking try; no callback follows. */
static int c_close(lua_State *L)
{
    nconn *c = checkconn(L);
    int live = c->state != C_CLOSED;
    if (c->state == C_OPEN && !c->err[0]) conn_flush(c);
    if (live) conn_release(c);
    conn_unref(L, c);
    lua_pushboolean(L, live);
    return 1;
}

static int c_tostring(lua_State *L)
{
    nconn *c = checkconn(L);
    static const char *const states[] = {"connecting", "open", "closed"};
    lua_pushfstring(L, "net.conn %s (%s)", c->r.shown_url ? c->r.shown_url : "?", states[c->state]);
    return 1;
}

static int c_gc(lua_State *L)
{
    nconn *c = checkconn(L);
    if (c->state != C_CLOSED || c->r.easy || c->multi) conn_release(c);
    free(c->r.shown_url);
    free(c->r.eff_url);
    c->r.shown_url = c->r.eff_url = NULL;
    return 0;
}

int luaopen_vcli_net(lua_State *L)
{
    static const luaL_Reg req_m[] = {
        {"cancel", m_cancel}, {"pause", m_pause}, {"resume", m_resume},
        {"__tostring", m_tostring}, {"__gc", m_gc}, {NULL, NULL}};
    vcli_newclass(L, REQ_META, req_m);
    static const luaL_Reg conn_m[] = {
        {"send", c_send}, {"buffered", c_buffered}, {"pause", c_pause}, {"resume", c_resume},
        {"close", c_close}, {"__tostring", c_tostring}, {"__gc", c_gc}, {NULL, NULL}};
    vcli_newclass(L, CONN_META, conn_m);
    static const luaL_Reg fns[] = {
        {"request", l_request}, {"connect", l_connect}, {"stats", l_stats}, {"available", l_available}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
