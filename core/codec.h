/* codec.c: the byte codecs every other C file uses (no I/O, no state). */
#ifndef VCLI_CODEC_H
#define VCLI_CODEC_H

#include <stddef.h>

/* 4 * ceil(n / 3) bytes written to out (no NUL). */
size_t codec_b64_encode(const unsigned char *in, size_t n, char *out);
/* Decodes the standard and the URL-safe alphabet, skips whitespace, stops at '='.
 * out holds at least n * 3 / 4 + 3 bytes. Returns the length, or (size_t)-1 on a
 * character outside base64. */
size_t codec_b64_decode(const char *in, size_t n, unsigned char *out);

typedef struct { unsigned int h[5]; unsigned long long len; unsigned char buf[64]; size_t n; } codec_sha1_ctx;
void codec_sha1_init(codec_sha1_ctx *c);
void codec_sha1_update(codec_sha1_ctx *c, const void *data, size_t len);
void codec_sha1_final(codec_sha1_ctx *c, unsigned char out[20]);
void codec_sha1(const void *data, size_t len, unsigned char out[20]);
void codec_sha256(const void *data, size_t len, unsigned char out[32]);
void codec_hex(const unsigned char *in, size_t n, char *out);  /* 2n lower-case digits */

#endif
