/* vcli.sort — a stable sort of row indices by their keys, in C: the full-screen
 * tables sort 50 000 rows inside a keystroke (table.sort with a Lua comparator
 * takes ~100 ms for that; this takes a few). Pure: the host and every plugin
 * state have it (plugins as vcli.sort).
 *
 *   sort.order(keys [, desc [, natural]]) -> perm
 *
 * keys is an array 1..#keys of strings or numbers (nil, booleans and anything
 * else count as the empty string). perm is a new array of the indices 1..#keys
 * in the keys' order: numbers (ascending, NaN last) before strings (bytewise,
 * then the shorter first). desc reverses the order of the keys; equal keys stay
 * in ascending index order either way (stable). natural compares runs of digits
 * in strings by their value: "pod-2" < "pod-10" (leading zeros do not count;
 * "07" and "7" then fall back to the bytewise order).
 *
 * How: a radix sort of 16-byte items, each an unsigned 64-bit key and the
 * key's index: MSD on the top bits where the keys differ, stable, down to a
 * merge sort for short buckets. A number's key is its double's bits made
 * order-preserving; a string's is 7 of its bytes from a depth d (zero-padded)
 * and, in the low byte, how many bytes it has from d on, capped at 8 ("goes on
 * past these 7"). A run of equal keys whose strings go on is sorted again
 * deeper (an explicit stack, no recursion), past the bytes all its strings
 * share; equal strings are one pointer in LuaJIT and stop there. desc
 * complements the keys (stability keeps ascending indices). natural sorts an
 * encoding of each string: a digit run becomes '0', its length without
 * leading zeros, its digits; then a NUL byte and the string itself (so "07"
 * and "7" still have an order). The strings lie anywhere in memory, so the
 * reads of them are prefetched a few ahead. They stay anchored in the keys
 * table (argument 1) while it runs; every buffer is one userdata, so an error
 * frees it. 50 000 short strings: a few ms; most of it is reading the table
 * and building the result through the Lua API. */
#include "vcli.h"
#include <limits.h>
#include <string.h>

typedef struct item {
    uint64_t key;
    uint32_t e;         /* 0-based index into the keys */
    uint32_t pad;       /* natural: the encoding's length, until it is written */
} item;

typedef struct str {
    const char *s;      /* the bytes sorted on (the encoding under natural) */
    size_t len;
    const void *id;     /* the Lua string: equal strings, one pointer */
} str;

typedef struct seg {
    uint32_t lo, n;
    size_t depth;
} seg;

#define BITS 11
#define NBUCK (1u << BITS)
#define MERGE 128       /* merge sort below (so a radix level takes >= 7 bits) */
#define HLEVELS (64 / 7 + 1)
#define SMALL 24        /* insertion sort below */
#define AHEAD 12        /* how far ahead the reads of strings are prefetched */

static void insertion(item *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (a[i].key >= a[i - 1].key) continue;
        item t = a[i];
        size_t j = i;
        do { a[j] = a[j - 1]; j--; } while (j > 0 && t.key < a[j - 1].key);
        a[j] = t;
    }
}

/* A stable merge sort by key, for the runs too short to pay for the radix
 * sort's histograms: a[0..n) with tmp[0..n), the result in a. */
static void merge(item *a, item *tmp, size_t n)
{
    if (n < SMALL) { insertion(a, n); return; }
    size_t h = n / 2;
    merge(a, tmp, h);
    merge(a + h, tmp, n - h);
    if (a[h - 1].key <= a[h].key) return;
    memcpy(tmp, a, h * sizeof *a);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) a[k++] = a[j].key < tmp[i].key ? a[j++] : tmp[i++];
    while (i < h) a[k++] = tmp[i++];
}

/* Sorts a[0..n) by key, stably; tmp has room for n, hist for HLEVELS
 * histograms of min(n, NBUCK) counters. MSD: the top bits where the keys
 * differ (up to BITS of them, fewer for fewer items: a level's buckets are
 * at most its n) scatter the items into buckets, in order (stable); each
 * bucket is sorted the same way on the bits below, down to the merge sort
 * once a bucket is short. */
static void radix_at(item *a, item *tmp, size_t n, uint32_t *hist)
{
    if (n < MERGE) { merge(a, tmp, n); return; }
    uint64_t all = ~(uint64_t)0, any = 0;
    for (size_t i = 0; i < n; i++) { all &= a[i].key; any |= a[i].key; }
    uint64_t diff = all ^ any;
    if (!diff) return;   /* all equal */
    int top = 63 - __builtin_clzll(diff);   /* the highest bit that differs */
    int bits = 63 - __builtin_clzll((uint64_t)n);   /* about log2(n): buckets of a few */
    if (bits > BITS) bits = BITS;
    int shift = top + 1 - bits;
    if (shift < 0) { bits = top + 1; shift = 0; }
    uint32_t nb = 1u << bits, mask = nb - 1;
    memset(hist, 0, sizeof(uint32_t) * nb);
    for (size_t i = 0; i < n; i++) hist[(a[i].key >> shift) & mask]++;
    uint32_t sum = 0;
    for (uint32_t j = 0; j < nb; j++) { uint32_t v = hist[j]; hist[j] = sum; sum += v; }
    for (size_t i = 0; i < n; i++) tmp[hist[(a[i].key >> shift) & mask]++] = a[i];
    memcpy(a, tmp, n * sizeof *a);
    if (shift == 0) return;   /* (the last bits: each bucket is one key) */
    for (uint32_t j = 0, lo = 0; j < nb; j++) {   /* hist[j] is now bucket j's end */
        uint32_t hi = hist[j];
        if (hi - lo > 1) radix_at(a + lo, tmp, hi - lo, hist + nb);
        lo = hi;
    }
}

static void radix(item *a, item *tmp, size_t n)
{
    radix_at(a, tmp, n, (uint32_t *)(void *)(tmp + n));   /* the histograms after tmp */
}

static inline uint64_t str_key(const str *x, size_t d, int desc)
{
    uint64_t k = 0;
    size_t left = x->len - d;
    const unsigned char *p = (const unsigned char *)x->s + d;
    if (left >= 8) {   /* one load of 8 bytes (all inside the string), the 8th dropped */
        memcpy(&k, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        k = __builtin_bswap64(k);
#endif
        k = (k & ~(uint64_t)0xff) | 8;
    } else {
        for (size_t i = 0; i < left; i++) k |= (uint64_t)p[i] << (56 - 8 * i);
        k |= left;
    }
    return desc ? ~k : k;
}

static inline int goes_on(const str *x, size_t d) { return x->len - d >= 8; }

/* Sorts the string items a[0..n) (their keys from depth 0 already set): by
 * 7 bytes, then each run of equal keys that goes on from past what its strings
 * share. stack has room for n / 2 + 1 (pending runs are disjoint, 2 or more). */
static void sort_strings(item *a, item *tmp, size_t n, const str *ss, seg *stack, int desc)
{
    size_t top = 0;
    if (n > 1) stack[top++] = (seg){ 0, (uint32_t)n, 0 };
    while (top) {
        seg g = stack[--top];
        item *r = a + g.lo;
        if (g.depth) {
            /* the run shares its first depth bytes; skip what else they all share */
            const str *f = &ss[r[0].e];
            size_t lcp = f->len - g.depth;
            for (uint32_t i = 1; i < g.n && lcp; i++) {
                /* random reads (the items are in key order): fetch ahead */
                if (i + 2 * AHEAD < g.n) __builtin_prefetch(&ss[r[i + 2 * AHEAD].e]);
                if (i + AHEAD < g.n) __builtin_prefetch(ss[r[i + AHEAD].e].s + g.depth);
                const str *x = &ss[r[i].e];
                size_t m = x->len - g.depth < lcp ? x->len - g.depth : lcp, k = 0;
                const char *p = f->s + g.depth, *q = x->s + g.depth;
                for (uint64_t u, v; k + 8 <= m; k += 8) {   /* 8 bytes at a time, then 1 */
                    memcpy(&u, p + k, 8);
                    memcpy(&v, q + k, 8);
                    if (u != v) break;
                }
                while (k < m && p[k] == q[k]) k++;
                lcp = k;
            }
            g.depth += lcp;
            for (uint32_t i = 0; i < g.n; i++) {
                if (i + 2 * AHEAD < g.n) __builtin_prefetch(&ss[r[i + 2 * AHEAD].e]);
                if (i + AHEAD < g.n) __builtin_prefetch(ss[r[i + AHEAD].e].s + g.depth);
                r[i].key = str_key(&ss[r[i].e], g.depth, desc);
            }
        }
        radix(r, tmp, g.n);
        for (uint32_t i = 0; i < g.n;) {
            uint32_t j = i + 1;
            while (j < g.n && r[j].key == r[i].key) j++;
            if (j - i > 1 && goes_on(&ss[r[i].e], g.depth)) {
                const void *id = ss[r[i].e].id;
                uint32_t k = i + 1;
                while (k < j && ss[r[k].e].id == id) k++;
                if (k < j) stack[top++] = (seg){ g.lo + i, j - i, g.depth + 7 };   /* not all one string */
            }
            i = j;
        }
    }
}

static inline uint64_t num_key(double x, int desc)
{
    uint64_t u;
    if (x != x) u = ~(uint64_t)0;   /* NaN: after every number */
    else {
        if (x == 0) x = 0;          /* -0 is 0 */
        memcpy(&u, &x, sizeof u);
        u = u >> 63 ? ~u : u | (uint64_t)1 << 63;
    }
    return desc ? ~u : u;
}

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* The natural encoding of s into out (NULL: only its length). */
static size_t natural(const unsigned char *s, size_t n, unsigned char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (!is_digit(s[i])) {
            if (out) out[o] = s[i];
            o++;
            i++;
            continue;
        }
        while (i < n && s[i] == '0') i++;
        size_t e = i;
        while (e < n && is_digit(s[e])) e++;
        size_t l = e - i;
        if (out) out[o] = '0';
        o++;
        if (l < 255) {
            if (out) out[o] = (unsigned char)l;
            o++;
        } else {
            uint32_t c = l > 0xffffffffu ? 0xffffffffu : (uint32_t)l;
            if (out) { out[o] = 255; out[o + 1] = c >> 24; out[o + 2] = c >> 16 & 255; out[o + 3] = c >> 8 & 255; out[o + 4] = c & 255; }
            o += 5;
        }
        if (out) memcpy(out + o, s + i, l);
        o += l;
        i = e;
    }
    if (out) { out[o] = 0; memcpy(out + o + 1, s, n); }
    return o + 1 + n;
}

static int l_order(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int desc = lua_toboolean(L, 2), nat = lua_toboolean(L, 3);
    size_t n = lua_objlen(L, 1);
    if (n > (size_t)INT_MAX / 4) return luaL_error(L, "sort.order: too many keys (%f)", (lua_Number)n);
    /* one block: items (n) | tmp (n) + histograms | strings (n) | stack (n/2 + 1) */
    size_t hist = n < MERGE ? 0 : sizeof(uint32_t) * HLEVELS * (n < NBUCK ? n : NBUCK);
    size_t hist_items = (hist + sizeof(item) - 1) / sizeof(item);
    size_t bytes = (2 * n + hist_items) * sizeof(item) + n * sizeof(str) + (n / 2 + 1) * sizeof(seg);
    item *items = lua_newuserdata(L, bytes);
    item *tmp = items + n;
    str *ss = (str *)(void *)(tmp + n + hist_items);
    seg *stack = (seg *)(void *)(ss + n);
    /* numbers to the front of items, strings to the back (both in index order) */
    size_t nn = 0, ns = 0, total = 0;
    /* The values AHEAD on wait in a ring of stack slots, their strings
     * fetched (an address costs nothing; a string's length and bytes miss). */
    luaL_checkstack(L, AHEAD + 2, "sort.order");
    int ring = lua_gettop(L) + 1, types[AHEAD];
    for (size_t i = 0; i < n + AHEAD; i++) {
        int slot = ring + (int)(i % AHEAD);
        if (i >= AHEAD) {
            size_t k = i - AHEAD;
            int t = types[i % AHEAD];
            if (t == LUA_TNUMBER) {
                items[nn].key = num_key(lua_tonumber(L, slot), desc);
                items[nn++].e = (uint32_t)k;
            } else {
                str *x = &ss[k];
                if (t == LUA_TSTRING) x->s = lua_tolstring(L, slot, &x->len);   /* anchored in keys */
                else { x->s = ""; x->len = 0; }
                x->id = x->s;
                ns++;
                items[n - ns].e = (uint32_t)k;
                if (!nat) items[n - ns].key = str_key(x, 0, desc);
                else {   /* the encoding's length, while the string is at hand */
                    size_t l = natural((const unsigned char *)x->s, x->len, NULL);
                    if (l > UINT32_MAX || l > SIZE_MAX - total) return luaL_error(L, "sort.order: keys too long");
                    items[n - ns].pad = (uint32_t)l;
                    total += l;
                }
            }
        }
        if (i < n) {
            lua_rawgeti(L, 1, (int)i + 1);
            int t = types[i % AHEAD] = lua_type(L, -1);
            if (t == LUA_TSTRING) {
                const char *p = lua_tolstring(L, -1, NULL);
                __builtin_prefetch(p - 24);   /* the header with the length */
                __builtin_prefetch(p);
            }
            if (i >= AHEAD) lua_replace(L, slot);
        }
    }
    lua_settop(L, ring - 1);
    item *sa = items + (n - ns);
    for (size_t i = 0, j = ns; i < j / 2; i++) { item t = sa[i]; sa[i] = sa[j - 1 - i]; sa[j - 1 - i] = t; }
    if (nat && ns) {
        unsigned char *buf = lua_newuserdata(L, total ? total : 1), *o = buf;
        for (size_t i = 0; i < ns; i++) {
            if (i + AHEAD < ns) __builtin_prefetch(ss[sa[i + AHEAD].e].s);
            str *x = &ss[sa[i].e];
            natural((const unsigned char *)x->s, x->len, o);
            x->s = (const char *)o;
            x->len = sa[i].pad;
            sa[i].key = str_key(x, 0, desc);
            o += x->len;
        }
    }
    radix(items, tmp, nn);
    sort_strings(sa, tmp, ns, ss, stack, desc);
    lua_createtable(L, (int)n, 0);
    int k = 1;
    /* ascending: numbers then strings; descending: strings then numbers */
    for (int part = 0; part < 2; part++) {
        int numbers = (part == 0) != (desc != 0);
        item *p = numbers ? items : sa;
        size_t m = numbers ? nn : ns;
        for (size_t i = 0; i < m; i++) {
            lua_pushinteger(L, (lua_Integer)p[i].e + 1);
            lua_rawseti(L, -2, k++);
        }
    }
    return 1;
}

int luaopen_vcli_sort(lua_State *L)
{
    static const luaL_Reg fns[] = { {"order", l_order}, {NULL, NULL} };
    lua_newtable(L);
    vcli_setfuncs(L, fns);
    return 1;
}
