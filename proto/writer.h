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
 * The hot path for the commonest values: writes nil, a bool or a number
 * and returns true; returns false, writing nothing, for any other value.
 */
static inline bool
sni_encode_simple(sni_wbuf *w, const syn_value *v)
{
	switch (v->type) {
	case SYN_TYPE_NIL:
		sni_mp_nil(w);
		return true;
	case SYN_TYPE_BOOL:
		v->as.b ? sni_mp_true(w) : sni_mp_false(w);
		return true;
	case SYN_TYPE_INT:
		sni_mp_int64(w, v->as.i);
		return true;
	case SYN_TYPE_UINT:
		sni_mp_uint64(w, v->as.u);
		return true;
	case SYN_TYPE_DOUBLE:
		sni_mp_double(w, v->as.d);
		return true;
	default:
		return false;
	}
}

#endif /* SNI_WRITER_H */
