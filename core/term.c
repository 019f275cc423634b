/* vcli.term — terminal primitives: raw mode, key decoding, UTF-8 display
 * widths, and a cell grid that flushes only what changed. The line editor
 * (inline, relative cursor moves) and the full-screen TUI (absolute moves)
 * both draw through the grid. */
#include "vcli.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

/* ---- UTF-8 ------------------------------------------------------------- */
/* Decode one code point at s[i..n); returns its length (>=1). Invalid or
 * truncated sequences decode as U+FFFD of length 1. */
static int utf8_next(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
    unsigned c = s[i];
    int len;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; return 1; }
    else if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
    else { *cp = 0xFFFD; return 1; }
    if (i + (size_t)len > n) { *cp = 0xFFFD; return 1; }
    for (int k = 1; k < len; k++) {
        unsigned cc = s[i + k];
        if ((cc & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = (v << 6) | (cc & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cp = 0xFFFD; return 1; }
    *cp = v;
    return len;
}

/* Bytes a complete sequence starting with byte c needs (0 if c is invalid). */
static int utf8_seqlen(unsigned c)
{
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 0;
}

static int utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Display width: 0 for combining marks, 2 for wide/fullwidth, -1 for controls. */
static int cp_width(uint32_t cp)
{
    if (cp == 0) return -1;
    if (cp < 32 || (cp >= 0x7F && cp < 0xA0)) return -1;
    if (cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F)) return 0; /* ZWJ, variation selectors */
    if (cp >= 0x1F300 && cp <= 0x1FAFF) return 2;                   /* emoji blocks */
    int w = wcwidth((wchar_t)cp);
    if (w < 0) return 1; /* unassigned printable: assume narrow */
    return w;
}

/* ---- raw mode ---------------------------------------------------------- */
static struct termios saved;
static int saved_ok, raw_mode; /* 0 the original mode, 1 raw keys, 2 fully raw */

/* What term.on_exit registered: written to the terminal when the process
 * ends, by exit or by a fatal signal (the full-screen interface's "leave the
 * alternate screen, show the cursor"). */
static char exit_seq[256];
static volatile sig_atomic_t exit_len;

static void term_restore(void)
{
    if (raw_mode && saved_ok) tcsetattr(0, TCSADRAIN, &saved); /* never drop typeahead */
    raw_mode = 0;
}

static void term_at_exit(void)
{
    if (exit_len > 0 && write(1, exit_seq, (size_t)exit_len) < 0) { /* nothing more to do */ }
    exit_len = 0;
    term_restore();
}

/* a crash: put the terminal back (async-signal-safe calls only), then die of
 * the same signal, so the shell and a core dump see what happened */
static void term_fatal(int sig)
{
    if (exit_len > 0 && write(1, exit_seq, (size_t)exit_len) < 0) { /* dying anyway */ }
    exit_len = 0;
    if (raw_mode && saved_ok) tcsetattr(0, TCSANOW, &saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void term_hooks(void)
{
    static int done;
    if (done) return;
    done = 1;
    atexit(term_at_exit);
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction old;
        /* leave a handler someone else installed (AddressSanitizer's) alone */
        if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO)) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = term_fatal;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESETHAND | SA_NODEFER;
            sigaction(fatal[i], &sa, NULL);
        }
    }
}

/* term.on_exit(bytes | nil): what to write to the terminal if the process
 * ends (exit, or a crash) before it is cleared with nil. At most 255 bytes. */
static int l_on_exit(lua_State *L)
{
    size_t n = 0;
    const char *s = lua_isnoneornil(L, 1) ? NULL : luaL_checklstring(L, 1, &n);
    if (n >= sizeof exit_seq) return luaL_error(L, "term.on_exit: %d bytes is more than %d", (int)n, (int)sizeof exit_seq - 1);
    term_hooks();
    exit_len = 0;
    if (s) { memcpy(exit_seq, s, n); exit_len = (sig_atomic_t)n; }
    return 0;
}

/* term.raw(on [, "full"]): raw keys for the editor/TUI; "full" also turns
 * off output processing and the remaining input translations — a remote
 * program's terminal (k8s exec -it, as kubectl's). Off restores the original
 * mode (so a running command gets Ctrl-C as SIGINT, as in any shell), as
 * does the process's exit. */
static int l_raw(lua_State *L)
{
    int on = lua_toboolean(L, 1);
    int want = on ? (lua_isstring(L, 2) && !strcmp(lua_tostring(L, 2), "full") ? 2 : 1) : 0;
    if (!isatty(0)) { lua_pushboolean(L, 0); return 1; }
    if (!saved_ok) {
        if (tcgetattr(0, &saved) < 0) { lua_pushboolean(L, 0); return 1; }
        saved_ok = 1;
        term_hooks();
    }
    if (want && want != raw_mode) {
        struct termios t = saved;
        t.c_iflag &= ~(unsigned)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
        t.c_cflag |= CS8;
        t.c_lflag &= ~(unsigned)(ECHO | ICANON | IEXTEN | ISIG);
        if (want == 2) {
            t.c_iflag &= ~(unsigned)(IGNBRK | PARMRK | INLCR | IGNCR);
            t.c_oflag &= ~(unsigned)OPOST;
            t.c_lflag &= ~(unsigned)ECHONL;
            t.c_cflag &= ~(unsigned)(CSIZE | PARENB);
            t.c_cflag |= CS8;
        }
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(0, TCSADRAIN, &t) < 0) { lua_pushboolean(L, 0); return 1; }
        raw_mode = want;
    } else if (!want) {
        term_restore();
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

static int l_size(lua_State *L)
{
    struct winsize ws;
    int cols = 0, rows = 0;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 || ioctl(0, TIOCGWINSZ, &ws) == 0) { cols = ws.ws_col; rows = ws.ws_row; }
    if (cols <= 0) { const char *c = getenv("COLUMNS"); cols = c ? atoi(c) : 0; }
    if (rows <= 0) { const char *r = getenv("LINES"); rows = r ? atoi(r) : 0; }
    lua_pushinteger(L, cols > 0 ? cols : 80);
    lua_pushinteger(L, rows > 0 ? rows : 24);
    return 2;
}

/* term.write(s [, fd]): the whole string, waiting when the fd is full.
 * Returns true, or nil and an error (e.g. "broken pipe" when a reader left). */
static int l_write(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int fd = (int)luaL_optinteger(L, 2, 1);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w > 0) { s += w; n -= (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, 1000);
            continue;
        }
        lua_pushnil(L);
        lua_pushstring(L, errno == EPIPE ? "broken pipe" : strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- text measurement --------------------------------------------------- */
/* term.width(s) -> display cells (controls count as 1: they are shown as '?'). */
static int l_width(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    long w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)utf8_next(s, n, i, &cp);
        int cw = cp_width(cp);
        w += cw < 0 ? 1 : cw;
    }
    lua_pushinteger(L, w);
    return 1;
}

/* term.split(s) -> clusters, widths: a base character with its zero-width
 * followers is one cluster, the unit the editor moves and deletes by. */
static int l_split(lua_State *L)
{
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    lua_newtable(L);
    lua_newtable(L);
    int k = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t start = i;
        int len = utf8_next(s, n, i, &cp);
        i += (size_t)len;
        int w = cp_width(cp);
        if (w < 0) w = 1;
        for (;;) { /* absorb combining marks / ZWJ sequences */
            if (i >= n) break;
            uint32_t c2;
            int l2 = utf8_next(s, n, i, &c2);
            int w2 = cp_width(c2);
            if (w2 != 0) {
                if (cp == 0x200D) { /* char after ZWJ joins the cluster */ }
                break;
            }
            i += (size_t)l2;
            cp = c2;
            if (c2 == 0x200D && i < n) { /* join the next char too */
                uint32_t c3;
                int l3 = utf8_next(s, n, i, &c3);
                i += (size_t)l3;
            }
        }
        k++;
        if (len == 1 && s[start] >= 0x80) lua_pushliteral(L, "\xEF\xBF\xBD");
        else lua_pushlstring(L, (const char *)s + start, i - start);
        lua_rawseti(L, -3, k);
        lua_pushinteger(L, w);
        lua_rawseti(L, -2, k);
    }
    return 2;
}

/* The two alone, for the plugin states (sandbox.c): pure, they reach nothing. */
int vcli_term_width(lua_State *L) { return l_width(L); }
int vcli_term_split(lua_State *L) { return l_split(L); }

/* ---- key decoding ------------------------------------------------------ */
#define DEC_META "vcli.term.decoder"
typedef struct {
    char *buf; size_t len, cap;   /* undecoded bytes */
    int in_paste;
    char *paste; size_t plen, pcap;
} decoder;

static void buf_add(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (n == 0) return;                 /* (*b may still be NULL: no pointer arithmetic on it) */
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n) c *= 2;
        char *nb = realloc(*b, c);
        if (!nb) abort();
        *b = nb;
        *cap = c;
    }
    memcpy(*b + *len, s, n);
    *len += n;
}

static int ev_n;
static void push_key(lua_State *L, const char *k)
{
    lua_createtable(L, 0, 1);
    lua_pushstring(L, k);
    lua_setfield(L, -2, "key");
    lua_rawseti(L, -2, ++ev_n);
}

static void push_text(lua_State *L, const char *field, const char *s, size_t n)
{
    if (n == 0) return;
    lua_createtable(L, 0, 1);
    lua_pushlstring(L, s, n);
    lua_setfield(L, -2, field);
    lua_rawseti(L, -2, ++ev_n);
}

static const char *mod_prefix(int m)
{
    /* xterm modifier parameter: 1 + (shift 1, alt 2, ctrl 4) */
    switch (m) {
    case 2: return "S-"; case 3: return "M-"; case 4: return "M-S-"; case 5: return "C-";
    case 6: return "C-S-"; case 7: return "C-M-"; case 8: return "C-M-S-"; default: return "";
    }
}

/* Decode one CSI/SS3 sequence at p (after ESC). Returns bytes consumed
 * (including ESC), 0 if incomplete, -1 if not a sequence we know. */
static int decode_seq(lua_State *L, decoder *d, const unsigned char *p, size_t n, int final_flush)
{
    (void)d;
    if (n < 2) return 0;
    char name[48];
    if (p[1] == 'O') {
        if (n < 3) return final_flush ? -1 : 0;
        const char *k = NULL;
        switch (p[2]) {
        case 'A': k = "Up"; break; case 'B': k = "Down"; break; case 'C': k = "Right"; break;
        case 'D': k = "Left"; break; case 'H': k = "Home"; break; case 'F': k = "End"; break;
        case 'P': k = "F1"; break; case 'Q': k = "F2"; break; case 'R': k = "F3"; break; case 'S': k = "F4"; break;
        case 'M': k = "Enter"; break;
        }
        if (!k) return -1;
        push_key(L, k);
        return 3;
    }
    if (p[1] != '[') return -1;
    size_t i = 2;
    int sgr_mouse = 0;
    if (i < n && p[i] == '<') { sgr_mouse = 1; i++; }
    int params[8] = {0}, np = 0;
    int have = 0;
    for (; i < n; i++) {
        unsigned c = p[i];
        if (c >= '0' && c <= '9') {
            /* a terminal never sends a number this long: held at 1e6 rather than overflowing */
            if (np < 8 && params[np] < 1000000) params[np] = params[np] * 10 + (int)(c - '0');
            have = 1;
        }
        else if (c == ';') { if (np < 7) np++; }
        else if (c >= 0x40 && c <= 0x7E) break;
        else if (c < 0x20 || c > 0x7E) return -1;
        if (i > 40) return -1;
    }
    if (i >= n) return final_flush ? -1 : 0;
    if (have || np) np++;
    unsigned fin = p[i];
    int used = (int)i + 1;
    if (sgr_mouse) {
        if (fin != 'M' && fin != 'm') return -1;
        lua_createtable(L, 0, 5);
        lua_pushliteral(L, "Mouse"); lua_setfield(L, -2, "key");
        lua_pushinteger(L, params[0]); lua_setfield(L, -2, "button");
        lua_pushinteger(L, params[1] - 1); lua_setfield(L, -2, "x");
        lua_pushinteger(L, params[2] - 1); lua_setfield(L, -2, "y");
        lua_pushboolean(L, fin == 'M'); lua_setfield(L, -2, "press");
        lua_rawseti(L, -2, ++ev_n);
        return used;
    }
    int mod = np >= 2 ? params[1] : 1;
    const char *k = NULL;
    switch (fin) {
    case 'A': k = "Up"; break; case 'B': k = "Down"; break; case 'C': k = "Right"; break;
    case 'D': k = "Left"; break; case 'H': k = "Home"; break; case 'F': k = "End"; break;
    case 'Z': k = "Tab"; mod = 2; break;
    case 'I': k = "FocusIn"; break; case 'O': k = "FocusOut"; break;
    case 'P': k = "F1"; break; case 'Q': k = "F2"; break; case 'S': k = "F4"; break;
    case '~':
        switch (params[0]) {
        case 1: case 7: k = "Home"; break; case 4: case 8: k = "End"; break;
        case 2: k = "Insert"; break; case 3: k = "Delete"; break;
        case 5: k = "PageUp"; break; case 6: k = "PageDown"; break;
        case 11: k = "F1"; break; case 12: k = "F2"; break; case 13: k = "F3"; break; case 14: k = "F4"; break;
        case 15: k = "F5"; break; case 17: k = "F6"; break; case 18: k = "F7"; break; case 19: k = "F8"; break;
        case 20: k = "F9"; break; case 21: k = "F10"; break; case 23: k = "F11"; break; case 24: k = "F12"; break;
        case 200: return -2 - used; /* paste start: caller switches mode */
        case 201: return used;       /* stray paste end */
        }
        break;
    }
    if (!k) { snprintf(name, sizeof name, "CSI-%c", fin); push_key(L, name); return used; }
    snprintf(name, sizeof name, "%s%s", mod_prefix(mod), k);
    push_key(L, name);
    return used;
}

static const char *ctrl_name(unsigned c, char *tmp)
{
    switch (c) {
    case 0x0D: case 0x0A: return "Enter";
    case 0x09: return "Tab";
    case 0x7F: case 0x08: return "Backspace";
    case 0x00: return "C-Space";
    case 0x1C: return "C-\\";
    case 0x1D: return "C-]";
    case 0x1E: return "C-^";
    case 0x1F: return "C-_";
    }
    snprintf(tmp, 8, "C-%c", (char)(c + 'a' - 1));
    return tmp;
}

/* Decode what is buffered. final_flush: the caller's ESC timeout expired, so a
 * lone ESC is the Esc key and incomplete sequences are given up on. */
static void decode(lua_State *L, decoder *d, int final_flush)
{
    lua_newtable(L);
    ev_n = 0;
    const unsigned char *p = (const unsigned char *)d->buf;
    size_t n = d->len, i = 0, text_start = 0, text_len = 0;
    static const char end_paste[] = "\x1b[201~";
#define FLUSH_TEXT() do { if (text_len) push_text(L, "text", (const char *)p + text_start, text_len); text_len = 0; } while (0)
    while (i < n) {
        if (d->in_paste) {
            /* Everything up to ESC[201~ is pasted text, controls included. */
            const char *e = memmem(p + i, n - i, end_paste, 6);
            size_t upto = e ? (size_t)((const unsigned char *)e - p) : n;
            if (!e) { /* keep a possible partial terminator */
                size_t keep = 0;
                for (size_t k = 1; k < 6 && k <= n - i; k++)
                    if (!memcmp(p + n - k, end_paste, k)) keep = k;
                upto = n - keep;
            }
            buf_add(&d->paste, &d->plen, &d->pcap, (const char *)p + i, upto - i);
            i = upto;
            if (e) {
                i += 6;
                d->in_paste = 0;
                push_text(L, "paste", d->paste, d->plen);
                if (d->plen == 0) { lua_createtable(L, 0, 1); lua_pushliteral(L, ""); lua_setfield(L, -2, "paste"); lua_rawseti(L, -2, ++ev_n); }
                d->plen = 0;
            } else {
                break;
            }
            text_start = i;
            continue;
        }
        unsigned c = p[i];
        if (c == 0x1B) {
            FLUSH_TEXT();
            if (i + 1 >= n) {
                if (!final_flush) break;
                push_key(L, "Esc");
                i++;
            } else {
                int r = decode_seq(L, d, p + i, n - i, final_flush);
                if (r == 0) break;
                if (r <= -2) { i += (size_t)(-2 - r); d->in_paste = 1; }
                else if (r > 0) i += (size_t)r;
                else { /* ESC + key: Alt/Meta */
                    unsigned c2 = p[i + 1];
                    char tmp[8], nm[24];
                    if (c2 == 0x1B) { push_key(L, "Esc"); i++; text_start = i; continue; }
                    if (c2 < 0x20 || c2 == 0x7F) snprintf(nm, sizeof nm, "M-%s", ctrl_name(c2, tmp));
                    else if (c2 < 0x80) snprintf(nm, sizeof nm, "M-%c", (char)c2);
                    else { push_key(L, "Esc"); i++; text_start = i; continue; }
                    push_key(L, nm);
                    i += 2;
                }
            }
            text_start = i;
        } else if (c < 0x20 || c == 0x7F) {
            FLUSH_TEXT();
            char tmp[8];
            push_key(L, ctrl_name(c, tmp));
            i++;
            text_start = i;
        } else if (c >= 0x80) {
            int need = utf8_seqlen(c);
            if (need && i + (size_t)need > n && !final_flush) break; /* wait for the rest */
            uint32_t cp;
            int len = utf8_next(p, n, i, &cp);
            if (cp == 0xFFFD && len == 1) {
                /* invalid byte: replace it so nothing undecodable reaches Lua */
                FLUSH_TEXT();
                push_text(L, "text", "\xEF\xBF\xBD", 3);
                i++;
                text_start = i;
            } else {
                if (text_len == 0) text_start = i;
                text_len += (size_t)len;
                i += (size_t)len;
            }
        } else {
            if (text_len == 0) text_start = i;
            text_len++;
            i++;
        }
    }
    FLUSH_TEXT();
#undef FLUSH_TEXT
    if (n > i) memmove(d->buf, d->buf + i, n - i);   /* (d->buf may be NULL when nothing was fed) */
    d->len = n - i;
}

static int l_decoder(lua_State *L)
{
    decoder *d = lua_newuserdata(L, sizeof *d);
    memset(d, 0, sizeof *d);
    luaL_getmetatable(L, DEC_META);
    lua_setmetatable(L, -2);
    return 1;
}

/* d:feed(bytes) -> events; each is {key=NAME} | {text=S} | {paste=S} | {key="Mouse",…} */
static int dec_feed(lua_State *L)
{
    decoder *d = vcli_checkudata(L, 1, DEC_META);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    buf_add(&d->buf, &d->len, &d->cap, s, n);
    decode(L, d, 0);
    return 1;
}

/* d:pending() -> true when bytes wait for more input (a lone ESC, say). */
static int dec_pending(lua_State *L)
{
    decoder *d = vcli_checkudata(L, 1, DEC_META);
    lua_pushboolean(L, d->len > 0 && !d->in_paste);
    return 1;
}

static int dec_flush(lua_State *L)
{
    decoder *d = vcli_checkudata(L, 1, DEC_META);
    decode(L, d, 1);
    return 1;
}

static int dec_gc(lua_State *L)
{
    decoder *d = vcli_checkudata(L, 1, DEC_META);
    free(d->buf);
    free(d->paste);
    d->buf = d->paste = NULL;
    return 0;
}

/* ---- cell grid ---------------------------------------------------------- */
#define GRID_META "vcli.term.grid"
typedef struct {
    char ch[15];      /* UTF-8 of the cluster; "" for the right half of a wide char */
    uint8_t len;
    uint32_t style;
} cell;

typedef struct {
    int w, h;
    cell *cur, *prev;
    int prev_valid;
    /* inline mode: where the terminal cursor is, relative to the region */
    int cx, cy, rows_drawn;
} grid;

/* A cell's style is a number term.style handed out: an index into one table
 * of the distinct styles seen (0 is the terminal's default). A colour is 0
 * (default), 1..256 (a 256-colour index + 1), or COL_RGB | 0xRRGGBB. */
enum { ST_BOLD = 1, ST_DIM = 2, ST_ITALIC = 4, ST_UNDER = 8, ST_REVERSE = 16 };
#define COL_RGB 0x1000000u
#define MAX_STYLES 65536
typedef struct { uint32_t fg, bg; uint8_t attrs; } style_def;
static style_def *style_tab;
static uint32_t style_n, style_cap;
static const struct { const char *k; uint8_t bit; } style_flags[] = {
    {"bold", ST_BOLD}, {"dim", ST_DIM}, {"italic", ST_ITALIC}, {"underline", ST_UNDER}, {"reverse", ST_REVERSE}};

static void cell_blank(cell *c, uint32_t style) { c->ch[0] = ' '; c->len = 1; c->style = style; }

static void grid_alloc(grid *g, int w, int h)
{
    free(g->cur);
    free(g->prev);
    g->w = w < 1 ? 1 : w;
    g->h = h < 0 ? 0 : h;
    size_t n = (size_t)g->w * (size_t)(g->h ? g->h : 1);
    g->cur = calloc(n, sizeof(cell));
    g->prev = calloc(n, sizeof(cell));
    if (!g->cur || !g->prev) abort();
    for (size_t i = 0; i < n; i++) cell_blank(&g->cur[i], 0);
    g->prev_valid = 0;
}

static int l_grid(lua_State *L)
{
    int w = (int)luaL_checkinteger(L, 1), h = (int)luaL_checkinteger(L, 2);
    grid *g = lua_newuserdata(L, sizeof *g);
    memset(g, 0, sizeof *g);
    grid_alloc(g, w, h);
    luaL_getmetatable(L, GRID_META);
    lua_setmetatable(L, -2);
    return 1;
}

static grid *checkgrid(lua_State *L) { return vcli_checkudata(L, 1, GRID_META); }

/* g:resize(w, h): keeps the inline cursor state; content is cleared. */
static int grid_resize(lua_State *L)
{
    grid *g = checkgrid(L);
    int w = (int)luaL_checkinteger(L, 2), h = (int)luaL_checkinteger(L, 3);
    if (w == g->w && h == g->h) return 0;
    int width_changed = w != g->w;
    cell *old = g->prev;
    int oldw = g->w, oldh = g->h, valid = g->prev_valid;
    g->prev = NULL;
    free(g->cur);
    g->cur = NULL;
    grid_alloc(g, w, h);
    /* Height-only changes keep the previous frame so flush stays a diff. */
    if (!width_changed && valid) {
        for (int y = 0; y < h && y < oldh; y++)
            memcpy(&g->prev[(size_t)y * w], &old[(size_t)y * oldw], sizeof(cell) * (size_t)w);
        for (int y = oldh; y < h; y++)
            for (int x = 0; x < w; x++) cell_blank(&g->prev[(size_t)y * w + x], 0);
        g->prev_valid = 1;
    }
    free(old);
    return 0;
}

static int grid_size(lua_State *L)
{
    grid *g = checkgrid(L);
    lua_pushinteger(L, g->w);
    lua_pushinteger(L, g->h);
    return 2;
}

static int grid_clear(lua_State *L)
{
    grid *g = checkgrid(L);
    uint32_t st = (uint32_t)luaL_optinteger(L, 2, 0);
    for (int i = 0; i < g->w * g->h; i++) cell_blank(&g->cur[i], st);
    return 0;
}

/* g:put(x, y, text [, style [, maxw]]) -> x after the text. Controls are shown
 * as '?', so server-supplied text can never inject escape sequences. */
static int grid_put(lua_State *L)
{
    grid *g = checkgrid(L);
    int x = (int)luaL_checkinteger(L, 2), y = (int)luaL_checkinteger(L, 3);
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 4, &n);
    uint32_t st = (uint32_t)luaL_optinteger(L, 5, 0);
    int limit = lua_isnoneornil(L, 6) ? g->w : x + (int)luaL_checkinteger(L, 6);
    if (limit > g->w) limit = g->w;
    if (y < 0 || y >= g->h) { lua_pushinteger(L, x); return 1; }
    cell *row = &g->cur[(size_t)y * g->w];
    size_t i = 0;
    while (i < n && x < limit) {
        uint32_t cp;
        size_t start = i;
        i += (size_t)utf8_next(s, n, i, &cp);
        int w = cp_width(cp);
        char tmp[4];
        const char *bytes = (const char *)s + start;
        size_t blen = i - start;
        if (w < 0) { tmp[0] = '?'; bytes = tmp; blen = 1; w = 1; }
        else if (cp == 0xFFFD && blen == 1) { bytes = "\xEF\xBF\xBD"; blen = 3; }
        if (w == 0) { /* combining: attach to the previous cell if room */
            if (x > 0) {
                cell *c = &row[x - 1];
                if (c->len == 0 && x > 1) c = &row[x - 2];
                if (c->len + blen < sizeof c->ch) { memcpy(c->ch + c->len, bytes, blen); c->len = (uint8_t)(c->len + blen); }
            }
            continue;
        }
        if (x < 0) { x += w; continue; }
        if (x + w > limit) { /* a wide char that does not fit */
            cell_blank(&row[x], st);
            x++;
            break;
        }
        cell *c = &row[x];
        memcpy(c->ch, bytes, blen < sizeof c->ch ? blen : sizeof c->ch - 1);
        c->len = (uint8_t)(blen < sizeof c->ch ? blen : sizeof c->ch - 1);
        c->style = st;
        if (w == 2) { row[x + 1].len = 0; row[x + 1].ch[0] = 0; row[x + 1].style = st; }
        x += w;
    }
    lua_pushinteger(L, x);
    return 1;
}

/* g:fill(x, y, w, h, char, style) */
static int grid_fill(lua_State *L)
{
    grid *g = checkgrid(L);
    int x0 = (int)luaL_checkinteger(L, 2), y0 = (int)luaL_checkinteger(L, 3);
    int w = (int)luaL_checkinteger(L, 4), h = (int)luaL_checkinteger(L, 5);
    size_t n;
    const char *ch = luaL_optlstring(L, 6, " ", &n);
    uint32_t st = (uint32_t)luaL_optinteger(L, 7, 0);
    if (n == 0 || n >= sizeof(((cell *)0)->ch)) { ch = " "; n = 1; }
    for (int y = y0; y < y0 + h; y++) {
        if (y < 0 || y >= g->h) continue;
        for (int x = x0; x < x0 + w; x++) {
            if (x < 0 || x >= g->w) continue;
            cell *c = &g->cur[(size_t)y * g->w + x];
            memcpy(c->ch, ch, n);
            c->len = (uint8_t)n;
            c->style = st;
        }
    }
    return 0;
}

static int grid_invalidate(lua_State *L)
{
    checkgrid(L)->prev_valid = 0;
    return 0;
}

static int cell_eq(const cell *a, const cell *b)
{
    return a->len == b->len && a->style == b->style && memcmp(a->ch, b->ch, a->len) == 0;
}

/* one colour's SGR parameters: base (30/40) for 0-7, bright (90/100) for 8-15,
 * ext (38/48) with ;5;N for the rest of the 256 and ;2;R;G;B for truecolour */
static void emit_colour(luaL_Buffer *b, uint32_t c, int base, int bright, int ext)
{
    char tmp[32];
    if (!c) return;
    if (c & COL_RGB)
        snprintf(tmp, sizeof tmp, ";%d;2;%u;%u;%u", ext, (c >> 16) & 0xFF, (c >> 8) & 0xFF, c & 0xFF);
    else if (c <= 8) snprintf(tmp, sizeof tmp, ";%d", base + (int)c - 1);
    else if (c <= 16) snprintf(tmp, sizeof tmp, ";%d", bright + (int)c - 9);
    else snprintf(tmp, sizeof tmp, ";%d;5;%d", ext, (int)c - 1);
    luaL_addstring(b, tmp);
}

static void emit_sgr(luaL_Buffer *b, uint32_t st)
{
    luaL_addstring(b, "\x1b[0");
    if (st == 0 || st >= style_n) { luaL_addchar(b, 'm'); return; }
    const style_def *d = &style_tab[st];
    if (d->attrs & ST_BOLD) luaL_addstring(b, ";1");
    if (d->attrs & ST_DIM) luaL_addstring(b, ";2");
    if (d->attrs & ST_ITALIC) luaL_addstring(b, ";3");
    if (d->attrs & ST_UNDER) luaL_addstring(b, ";4");
    if (d->attrs & ST_REVERSE) luaL_addstring(b, ";7");
    emit_colour(b, d->fg, 30, 90, 38);
    emit_colour(b, d->bg, 40, 100, 48);
    luaL_addchar(b, 'm');
}

typedef struct { grid *g; luaL_Buffer *b; int screen; int top; } flushctx;

static void move_to(flushctx *f, int x, int y)
{
    grid *g = f->g;
    char tmp[32];
    if (f->screen) {
        snprintf(tmp, sizeof tmp, "\x1b[%d;%dH", f->top + y + 1, x + 1);
        luaL_addstring(f->b, tmp);
        g->cx = x; g->cy = y;
        return;
    }
    if (y >= g->rows_drawn) { /* new rows below: newlines scroll the screen if needed */
        int last = g->rows_drawn > 0 ? g->rows_drawn - 1 : 0;
        if (g->cy < last) { snprintf(tmp, sizeof tmp, "\x1b[%dB", last - g->cy); luaL_addstring(f->b, tmp); }
        if (g->rows_drawn == 0) g->rows_drawn = 1;
        g->cy = g->rows_drawn - 1;
        while (g->cy < y) { luaL_addstring(f->b, "\r\n"); g->cy++; }
        g->rows_drawn = y + 1;
        g->cx = 0;
    }
    if (y < g->cy) { snprintf(tmp, sizeof tmp, "\x1b[%dA", g->cy - y); luaL_addstring(f->b, tmp); }
    else if (y > g->cy) { snprintf(tmp, sizeof tmp, "\x1b[%dB", y - g->cy); luaL_addstring(f->b, tmp); }
    g->cy = y;
    if (x != g->cx) {
        luaL_addchar(f->b, '\r');
        if (x > 0) { snprintf(tmp, sizeof tmp, "\x1b[%dC", x); luaL_addstring(f->b, tmp); }
        g->cx = x;
    }
}

/* g:flush(mode, cursor_x, cursor_y [, top]) -> escape string that turns the
 * previous frame into this one. mode "inline": the region starts where the
 * editor started and moves are relative; "screen": absolute, from row top. */
static int grid_flush(lua_State *L)
{
    grid *g = checkgrid(L);
    const char *mode = luaL_checkstring(L, 2);
    int curx = (int)luaL_optinteger(L, 3, 0), cury = (int)luaL_optinteger(L, 4, 0);
    flushctx f = { g, NULL, strcmp(mode, "screen") == 0, (int)luaL_optinteger(L, 5, 0) };
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    f.b = &b;
    luaL_addstring(&b, "\x1b[?25l"); /* hide the cursor while drawing */
    uint32_t cur_style = 0xFFFFFFFF;
    if (!f.screen && g->rows_drawn > g->h && g->h > 0) { /* region shrank: wipe the rows below */
        move_to(&f, 0, g->h - 1);
        luaL_addstring(&b, "\r\n\x1b[J");
        g->cy = g->h; g->cx = 0;
        g->rows_drawn = g->h + 1; /* the row we stand on exists */
        move_to(&f, 0, g->h - 1);
        g->rows_drawn = g->h;
    } else if (!f.screen && g->h == 0 && g->rows_drawn > 0) {
        move_to(&f, 0, 0);
        luaL_addstring(&b, "\r\x1b[J");
        g->rows_drawn = 0;
    }
    for (int y = 0; y < g->h; y++) {
        cell *row = &g->cur[(size_t)y * g->w], *prow = &g->prev[(size_t)y * g->w];
        int row_new = !f.screen && y >= g->rows_drawn;
        for (int x = 0; x < g->w; x++) {
            cell *c = &row[x];
            int changed = !g->prev_valid || row_new || !cell_eq(c, &prow[x]);
            /* a changed right half means its wide left half must be redrawn */
            if (!changed && c->len && x + 1 < g->w && row[x + 1].len == 0 && !cell_eq(&row[x + 1], &prow[x + 1])) changed = 1;
            if (!changed) continue;
            if (c->len == 0) continue; /* right half: drawn with its left half */
            if (g->cx != x || g->cy != y) move_to(&f, x, y);
            if (c->style != cur_style) { emit_sgr(&b, c->style); cur_style = c->style; }
            luaL_addlstring(&b, c->ch, c->len);
            int w = (x + 1 < g->w && row[x + 1].len == 0) ? 2 : 1;
            g->cx += w;
            if (g->cx >= g->w) g->cx = -1; /* pending wrap: position unknown until the next move */
        }
    }
    if (cur_style != 0xFFFFFFFF) luaL_addstring(&b, "\x1b[0m");
    if (!f.screen && g->rows_drawn < g->h) g->rows_drawn = g->h;
    if (cury >= g->h) cury = g->h - 1;
    if (cury < 0) cury = 0;
    if (curx >= g->w) curx = g->w - 1;
    if (g->h > 0) move_to(&f, curx, cury);
    if (g->cx != curx) { g->cx = -1; move_to(&f, curx, cury); }
    luaL_addstring(&b, "\x1b[?25h");
    cell *t = g->prev; g->prev = g->cur; g->cur = t;
    memcpy(g->cur, g->prev, sizeof(cell) * (size_t)g->w * (size_t)(g->h ? g->h : 1));
    g->prev_valid = 1;
    luaL_pushresult(&b);
    return 1;
}

/* g:finish_inline() -> escape string leaving the cursor on a fresh line below
 * the region; the next flush starts a new region there. */
static int grid_finish_inline(lua_State *L)
{
    grid *g = checkgrid(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    flushctx f = { g, &b, 0, 0 };
    if (g->rows_drawn > 0) {
        move_to(&f, 0, g->rows_drawn - 1);
        luaL_addstring(&b, "\r\n");
    }
    g->rows_drawn = 0;
    g->cx = g->cy = 0;
    g->prev_valid = 0;
    luaL_pushresult(&b);
    return 1;
}

/* g:text(y) -> the row as plain text (tests and screen dumps). */
static int grid_text(lua_State *L)
{
    grid *g = checkgrid(L);
    int y = (int)luaL_checkinteger(L, 2);
    if (y < 0 || y >= g->h) return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int x = 0; x < g->w; x++) {
        cell *c = &g->cur[(size_t)y * g->w + x];
        luaL_addlstring(&b, c->ch, c->len);
    }
    luaL_pushresult(&b);
    return 1;
}

static int grid_gc(lua_State *L)
{
    grid *g = checkgrid(L);
    free(g->cur);
    free(g->prev);
    g->cur = g->prev = NULL;
    return 0;
}

/* a colour field of term.style's table: an index 0-255, or "#rrggbb" */
static uint32_t style_colour(lua_State *L, const char *key)
{
    uint32_t c = 0;
    lua_getfield(L, 1, key);
    if (lua_type(L, -1) == LUA_TNUMBER) {
        lua_Integer n = lua_tointeger(L, -1);
        if (n < 0 || n > 255) luaL_error(L, "term.style: %s = %d is not a colour index (0-255)", key, (int)n);
        c = (uint32_t)n + 1;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        unsigned v = 0;
        int end = 0;
        if (strlen(s) != 7 || sscanf(s, "#%6x%n", &v, &end) != 1 || end != 7)
            luaL_error(L, "term.style: %s = \"%s\" is not #rrggbb", key, s);
        c = COL_RGB | v;
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "term.style: %s must be a colour index or \"#rrggbb\"", key);
    }
    lua_pop(L, 1);
    return c;
}

/* term.style{fg=, bg=, bold=, dim=, italic=, underline=, reverse=} -> the
 * style's number for g:put (the same number for the same style). */
static int l_style(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    style_def d = { style_colour(L, "fg"), style_colour(L, "bg"), 0 };
    for (size_t i = 0; i < sizeof style_flags / sizeof style_flags[0]; i++) {
        lua_getfield(L, 1, style_flags[i].k);
        if (lua_toboolean(L, -1)) d.attrs |= style_flags[i].bit;
        lua_pop(L, 1);
    }
    if (!style_n) { /* 0: the default */
        style_tab = calloc(style_cap = 64, sizeof *style_tab);
        if (!style_tab) return luaL_error(L, "term.style: out of memory");
        style_n = 1;
    }
    for (uint32_t i = 0; i < style_n; i++)
        if (style_tab[i].fg == d.fg && style_tab[i].bg == d.bg && style_tab[i].attrs == d.attrs) {
            lua_pushinteger(L, i);
            return 1;
        }
    if (style_n >= MAX_STYLES) return luaL_error(L, "term.style: more than %d distinct styles", MAX_STYLES);
    if (style_n == style_cap) {
        style_def *t = realloc(style_tab, sizeof *t * style_cap * 2);
        if (!t) return luaL_error(L, "term.style: out of memory");
        style_tab = t;
        style_cap *= 2;
    }
    style_tab[style_n] = d;
    lua_pushinteger(L, style_n++);
    return 1;
}

/* term.style_of(n) -> the table term.style made n from ({} for 0 or an unknown n) */
static void push_colour(lua_State *L, const char *key, uint32_t c)
{
    if (!c) return;
    if (c & COL_RGB) {
        char hex[8];
        snprintf(hex, sizeof hex, "#%06x", c & 0xFFFFFF);
        lua_pushstring(L, hex);
    } else {
        lua_pushinteger(L, (lua_Integer)c - 1);
    }
    lua_setfield(L, -2, key);
}

static int l_style_of(lua_State *L)
{
    lua_Number n = luaL_checknumber(L, 1);
    lua_newtable(L);
    if (n < 1 || n >= style_n || n != (lua_Number)(uint32_t)n) return 1;
    const style_def *d = &style_tab[(uint32_t)n];
    push_colour(L, "fg", d->fg);
    push_colour(L, "bg", d->bg);
    for (size_t i = 0; i < sizeof style_flags / sizeof style_flags[0]; i++)
        if (d->attrs & style_flags[i].bit) { lua_pushboolean(L, 1); lua_setfield(L, -2, style_flags[i].k); }
    return 1;
}

/* term.char(codepoint) -> UTF-8 string */
static int l_char(lua_State *L)
{
    char out[4];
    uint32_t cp = (uint32_t)luaL_checkinteger(L, 1);
    if (cp > 0x10FFFF) cp = 0xFFFD;
    lua_pushlstring(L, out, (size_t)utf8_put(out, cp));
    return 1;
}

int luaopen_vcli_term(lua_State *L)
{
    static const luaL_Reg dec_m[] = {{"feed", dec_feed}, {"pending", dec_pending}, {"flush", dec_flush}, {"__gc", dec_gc}, {NULL, NULL}};
    static const luaL_Reg grid_m[] = {
        {"resize", grid_resize}, {"size", grid_size}, {"clear", grid_clear}, {"put", grid_put},
        {"fill", grid_fill}, {"flush", grid_flush}, {"finish_inline", grid_finish_inline},
        {"invalidate", grid_invalidate}, {"text", grid_text}, {"__gc", grid_gc}, {NULL, NULL}};
    vcli_newclass(L, DEC_META, dec_m);
    vcli_newclass(L, GRID_META, grid_m);
    static const luaL_Reg fns[] = {
        {"raw", l_raw}, {"on_exit", l_on_exit}, {"isatty", l_isatty}, {"size", l_size}, {"write", l_write},
        {"width", l_width}, {"split", l_split}, {"decoder", l_decoder}, {"grid", l_grid},
        {"style", l_style}, {"style_of", l_style_of}, {"char", l_char}, {NULL, NULL}};
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
