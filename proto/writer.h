/*
 * proto/writer.h: writing msgpack into a growable buffer, inlined where it
 * is hot. Internal to the library.
 */
#ifndef SNI_WRITER_H
#define SNI_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <synchronicity/error.h>
#include <synchronicity/value.h>

/*
 * A sni_wbuf collects bytes, first in its inline array (or the caller's
 * array, sni_wbuf_init_at), then on the heap; err records the first
 * failure so that callers check once.
 */
typedef struct sni_wbuf {
	uint8_t *buf;
	size_t   len;
	size_t   cap;
	int      err;
	uint8_t *first; /* the array it starts in: never freed here */
	uint8_t  inline_buf[240];
} sni_wbuf;

/* Makes w empty, using its inline array. */
void sni_wbuf_init(sni_wbuf *w);

/*
 * Makes w empty, writing first into the caller's array of cap bytes, which
 * must outlive w; what does not fit moves to the heap (w->buf != array).
 */
void sni_wbuf_init_at(sni_wbuf *w, uint8_t *array, size_t cap);

/* Frees the heap part of w, if any. */
void sni_wbuf_fini(sni_wbuf *w);

/* Appends n bytes; on failure sets w->err (SYN_ENOMEM) and drops them. */
void sni_wbuf_put(sni_wbuf *w, const void *p, size_t n);

/*
 * msgpack-c's packer is a template (pack_template.h) over its output: here
 * it is instantiated to append straight into a sni_wbuf, so that packing a
 * small value is a few inlined stores instead of a callback per element.
 */
static inline int
sink(sni_wbuf *w, const void *buf, size_t len)
{
	if (len == 0) {
		return 0; /* buf may be NULL (an empty string or binary) */
	}
	if (len <= w->cap - w->len && w->err == 0) {
		memcpy(w->buf + w->len, buf, len);
		w->len += len;
		return 0;
	}
	sni_wbuf_put(w, buf, len);
	return 0;
}

#include <limits.h>

#include <msgpack/pack_define.h>
#include <msgpack/sysdep.h>
#include <msgpack/timestamp.h>

#define msgpack_pack_inline_func(name) static inline int sni_mp##name
#define msgpack_pack_inline_func_cint(name) static inline int sni_mp##name
#define msgpack_pack_inline_func_fixint(name) static inline int sni_mp_fix##name
#define msgpack_pack_user sni_wbuf *
#define msgpack_pack_append_buffer(user, buf, len) return sink(user, buf, len)
#define msgpack_pack_ext sni_mp_ext /* the template calls it by name */
#include <msgpack/pack_template.h>
#undef msgpack_pack_ext
#undef msgpack_pack_inline_func_cint
#undef msgpack_pack_inline_func_fixint

static inline void
sni_mp_str_with_body(sni_wbuf *w, const void *b, size_t l)
{
	sni_mp_str(w, l);
	sni_mp_str_body(w, b, l);
}

static inline void
sni_mp_bin_with_body(sni_wbuf *w, const void *b, size_t l)
{
	sni_mp_bin(w, l);
	sni_mp_bin_body(w, b, l);
}

static inline void
sni_mp_ext_with_body(sni_wbuf *w, const void *b, size_t l, int8_t type)
{
	sni_mp_ext(w, l, type);
	sni_mp_ext_body(w, b, l);
}

static inline void
sni_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t) v;
		v >>= 8;
	}
}

static inline void
sni_pack_fixext16(sni_wbuf *pk, int8_t type, uint64_t a, uint64_t b)
{
	uint8_t body[16];
	sni_put_be64(body, a);
	sni_put_be64(body + 8, b);
	sni_mp_ext_with_body(pk, body, sizeof(body), type);
}

static inline void
sni_encode_uint(sni_wbuf *w, uint64_t u)
{
	sni_mp_uint64(w, u);
}

static inline void
sni_encode_nil(sni_wbuf *w)
{
	sni_mp_nil(w);
}

static inline void
sni_encode_str(sni_wbuf *w, const char *s, size_t len)
{
	sni_mp_str_with_body(w, s, len);
}

static inline void
sni_encode_handle(sni_wbuf *w, const syn_handle *h)
{
	sni_pack_fixext16(w, SNI_EXT_HANDLE, h->owner, h->object);
}

/*
 * Where n more bytes can be written in place (the writer then adds n to
 * w->len), or NULL when w has no room for them or has failed.
 */
static inline uint8_t *
sni_wbuf_room(sni_wbuf *w, size_t n)
{
	return n <= w->cap - w->len && w->err == 0 ? w->buf + w->len : NULL;
}

/* Writes tag, then the low n bytes of u big-endian (n: 1, 2, 4 or 8). */
static inline size_t
sni_put_tagged(uint8_t *p, uint8_t tag, uint64_t u, int n)
{
	p[0] = tag;
	switch (n) {
	case 1:
		p[1] = (uint8_t) u;
		break;
	case 2: {
		uint16_t be = __builtin_bswap16((uint16_t) u);
		memcpy(p + 1, &be, 2);
		break;
	}
	case 4: {
		uint32_t be = __builtin_bswap32((uint32_t) u);
		memcpy(p + 1, &be, 4);
		break;
	}
	default: {
		uint64_t be = __builtin_bswap64(u);
		memcpy(p + 1, &be, 8);
		break;
	}
	}
	return (size_t) n + 1;
}

/* An unsigned integer in its shortest form (as msgpack-c writes it). */
static inline size_t
sni_put_uint(uint8_t *p, uint64_t u)
{
	if (u < 128) {
		p[0] = (uint8_t) u;
		return 1;
	}
	return u <= UINT8_MAX ? sni_put_tagged(p, 0xcc, u, 1)
	    : u <= UINT16_MAX ? sni_put_tagged(p, 0xcd, u, 2)
	    : u <= UINT32_MAX ? sni_put_tagged(p, 0xce, u, 4)
	                      : sni_put_tagged(p, 0xcf, u, 8);
}

/* A signed integer in its shortest form (as msgpack-c writes it). */
static inline size_t
sni_put_int(uint8_t *p, int64_t d)
{
	if (d >= -32 && d < 128) {
		p[0] = (uint8_t) d; /* a positive or negative fixint */
		return 1;
	}
	if (d >= 0) {
		return sni_put_uint(p, (uint64_t) d);
	}
	uint64_t u = (uint64_t) d;
	return d >= INT8_MIN ? sni_put_tagged(p, 0xd0, u, 1)
	    : d >= INT16_MIN ? sni_put_tagged(p, 0xd1, u, 2)
	    : d >= INT32_MIN ? sni_put_tagged(p, 0xd2, u, 4)
	                     : sni_put_tagged(p, 0xd3, u, 8);
}

/*
 * Writes v at p, which has room for 9 bytes, when it is nil, a bool or a
 * number, byte for byte as msgpack-c's packer would; returns the bytes
 * written, or 0, writing nothing, for any other value.
 */
static inline size_t
sni_put_simple(uint8_t *p, const syn_value *v)
{
	switch (v->type) {
	case SYN_TYPE_NIL:
		p[0] = 0xc0;
		return 1;
	case SYN_TYPE_BOOL:
		p[0] = v->as.b ? 0xc3 : 0xc2;
		return 1;
	case SYN_TYPE_INT:
		return sni_put_int(p, v->as.i);
	case SYN_TYPE_UINT:
		return sni_put_uint(p, v->as.u);
	case SYN_TYPE_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, &v->as.d, sizeof(bits));
		return sni_put_tagged(p, 0xcb, bits, 8);
	}
	default:
		return 0;
	}
}

/*
 * The hot path for the commonest values: writes nil, a bool or a number
 * and returns true; returns false, writing nothing, for any other value.
 */
static inline bool
sni_encode_simple(sni_wbuf *w, const syn_value *v)
{
	uint8_t *at = sni_wbuf_room(w, 9);
	if (at != NULL) {
		size_t n = sni_put_simple(at, v);
		w->len += n;
		return n > 0;
	}
	uint8_t tmp[9];
	size_t  n = sni_put_simple(tmp, v);
	if (n > 0) {
		sni_wbuf_put(w, tmp, n);
	}
	return n > 0;
}

#endif /* SNI_WRITER_H */
