/*
 * proto/reader.h: bounded reads of msgpack, inlined where they are hot:
 * every read checks the bytes left first. Internal to the library.
 */
#ifndef SNI_READER_H
#define SNI_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <synchronicity/error.h>
#include <synchronicity/value.h>

#include "detail.h"

/* A bounded cursor over bytes that are already in memory. */
typedef struct sni_reader {
	const uint8_t *p;
	const uint8_t *end;
} sni_reader;

static inline void
sni_reader_init(sni_reader *r, const void *p, size_t n)
{
	r->p   = (const uint8_t *) p;
	r->end = r->p + n;
}

static inline size_t
sni_reader_left(const sni_reader *r)
{
	return (size_t) (r->end - r->p);
}

/* Records "message truncated" as the detail and returns SYN_EPROTO. */
int sni_truncated(void);

/* ---- bounded primitive reads ------------------------------------------ */

static inline bool
sni_take(sni_reader *r, size_t n, const uint8_t **p)
{
	if (sni_reader_left(r) < n) {
		return false;
	}
	*p = r->p;
	r->p += n;
	return true;
}

static inline uint64_t
sni_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++) {
		v = (v << 8) | p[i];
	}
	return v;
}

/* Reads an n-byte big-endian length or number. */
static inline bool
sni_take_be(sni_reader *r, int n, uint64_t *v)
{
	const uint8_t *p;
	if (!sni_take(r, (size_t) n, &p)) {
		return false;
	}
	*v = sni_be(p, n);
	return true;
}

/* What a leading byte announces. */
typedef enum sni_shape {
	SH_NIL,
	SH_BOOL,
	SH_UINT,
	SH_NINT, /* negative fixint or intN */
	SH_FLOAT32,
	SH_FLOAT64,
	SH_STR,
	SH_BIN,
	SH_ARRAY,
	SH_MAP,
	SH_EXT,
	SH_BAD,
} sni_shape;

/*
 * A value's header: its shape, and for strings, binaries, arrays, maps
 * and exts its length (and ext type); for integers the number, for bools
 * the value. Numbers and float bits come back in num.
 */
typedef struct sni_head {
	sni_shape sh;
	uint64_t  num;  /* integer bits, float bits, bool, or length */
	int8_t    type; /* ext type */
} sni_head;

/* A big-endian number of n bytes at p (n is 1, 2, 4 or 8). */
static inline uint64_t
sni_load_be(const uint8_t *p, int n)
{
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	switch (n) {
	case 1:
		return p[0];
	case 2:
		memcpy(&u16, p, 2);
		return __builtin_bswap16(u16);
	case 4:
		memcpy(&u32, p, 4);
		return __builtin_bswap32(u32);
	default:
		memcpy(&u64, p, 8);
		return __builtin_bswap64(u64);
	}
}

/*
 * The hot path for the commonest values: an integer, nil or bool, read
 * and consumed inline. Returns false, consuming nothing, for any other
 * value (and for a truncated one, which the full readers report).
 */
static inline bool
sni_read_simple(sni_reader *r, syn_value *out)
{
	if (r->p >= r->end) {
		return false;
	}
	uint8_t b = r->p[0];
	if (b <= 0x7f || b >= 0xe0) {
		*out = syn_int((int8_t) b); /* fixints, both signs */
		r->p++;
		return true;
	}
	if ((unsigned) (b - 0xcc) > 0xd3 - 0xcc) { /* not an int or uint */
		if (b != 0xc0 && b != 0xc2 && b != 0xc3) {
			return false;
		}
		*out = b == 0xc0 ? syn_nil() : syn_bool(b == 0xc3);
		r->p++;
		return true;
	}
	int n = 1 << ((b - 0xcc) & 3);
	if (sni_reader_left(r) < (size_t) n + 1) {
		return false;
	}
	uint64_t v = sni_load_be(r->p + 1, n);
	if (b >= 0xd0) { /* signed: sign-extend */
		int shift = 64 - 8 * n;
		*out      = syn_int(((int64_t) (v << shift)) >> shift);
	} else {
		*out = v > INT64_MAX ? syn_uint(v) : syn_int((int64_t) v);
	}
	r->p += n + 1;
	return true;
}

/* The header of a value whose leading byte b is 0xc1 or 0xc4..0xdf. */
int sni_read_sized(sni_reader *r, uint8_t b, sni_head *h);

static inline int
sni_read_head(sni_reader *r, sni_head *h)
{
	const uint8_t *p;
	if (!sni_take(r, 1, &p)) {
		return sni_truncated();
	}
	uint8_t b = p[0];
	h->type   = 0;
	if (b <= 0x7f) {
		h->sh  = SH_UINT;
		h->num = b;
		return 0;
	}
	if (b >= 0xe0) {
		h->sh  = SH_NINT;
		h->num = (uint64_t) (int64_t) (int8_t) b;
		return 0;
	}
	if (b <= 0xbf) {
		h->sh  = b <= 0x8f ? SH_MAP : (b <= 0x9f ? SH_ARRAY : SH_STR);
		h->num = b <= 0x9f ? (b & 0x0f) : (b & 0x1f);
		return 0;
	}
	switch (b) {
	case 0xc0:
		h->sh = SH_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		h->sh  = SH_BOOL;
		h->num = b == 0xc3;
		return 0;
	default:
		return sni_read_sized(r, b, h);
	}
}

/* The length of the longest well-formed UTF-8 prefix of s[0..n-1]. */
size_t sni_utf8_prefix(const uint8_t *s, size_t n);

/* 8 and 4 bytes at p, as numbers to compare (no alignment needed). */
static inline uint64_t
sni_load8(const void *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}

static inline uint32_t
sni_load4(const void *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

/*
 * Whether the len bytes of a name in a message (wire) equal those of
 * known. Reads exactly len bytes of each, a word at a time (the last
 * word overlapping the one before): a vector compare (glibc's memcmp)
 * reads on to the next cache line, which may be the calling thread's
 * own (a future's), and pulls it away from that thread.
 */
static inline bool
sni_name_equal(const char *known, const char *wire, size_t len)
{
	if (len >= 8) {
		size_t i = 0;
		for (; i + 8 <= len; i += 8) {
			if (sni_load8(known + i) != sni_load8(wire + i)) {
				return false;
			}
		}
		return i == len ||
		    sni_load8(known + len - 8) == sni_load8(wire + len - 8);
	}
	if (len >= 4) {
		return sni_load4(known) == sni_load4(wire) &&
		    sni_load4(known + len - 4) == sni_load4(wire + len - 4);
	}
	for (size_t i = 0; i < len; i++) {
		if (known[i] != wire[i]) {
			return false;
		}
	}
	return true;
}

/* Whether the len bytes at p are all ASCII; reads exactly those. */
static inline bool
sni_all_ascii(const uint8_t *p, size_t len)
{
	if (len >= 8) {
		uint64_t bits = 0;
		size_t   i    = 0;
		for (; i + 8 <= len; i += 8) {
			bits |= sni_load8(p + i);
		}
		bits |= sni_load8(p + len - 8);
		return (bits & 0x8080808080808080ull) == 0;
	}
	if (len >= 4) {
		return ((sni_load4(p) | sni_load4(p + len - 4)) &
		           0x80808080u) == 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x80) {
			return false;
		}
	}
	return true;
}

/* True when s[0..n-1] is well-formed UTF-8 (no surrogates, no overlongs). */
static inline bool
sni_utf8_valid(const uint8_t *s, size_t n)
{
	return sni_all_ascii(s, n) || sni_utf8_prefix(s, n) == n;
}

/* Takes the n bytes of a string, which must be UTF-8; SYN_EPROTO. */
static inline int
sni_take_utf8(sni_reader *r, size_t n, const uint8_t **p)
{
	if (!sni_take(r, n, p)) {
		return sni_truncated();
	}
	if (!sni_utf8_valid(*p, n)) {
		sni_detail_set("string is not valid UTF-8");
		return SYN_EPROTO;
	}
	return 0;
}

/* ---- small typed reads, for message headers ---------------------------- */

static inline int
sni_read_uint(sni_reader *r, uint64_t *u)
{
	sni_head h;
	if (sni_read_head(r, &h) != 0 || h.sh != SH_UINT) {
		sni_detail_set("expected an unsigned integer");
		return SYN_EPROTO;
	}
	*u = h.num;
	return 0;
}

static inline int
sni_read_str(sni_reader *r, const char **s, uint32_t *len)
{
	sni_head       h;
	const uint8_t *p = NULL;
	if (sni_read_head(r, &h) != 0 || h.sh != SH_STR) {
		sni_detail_set("expected a string");
		return SYN_EPROTO;
	}
	int rc = sni_take_utf8(r, h.num, &p);
	if (rc != 0) {
		return rc;
	}
	*s   = (const char *) p;
	*len = (uint32_t) h.num;
	return 0;
}

static inline bool
sni_read_nil(sni_reader *r)
{
	if (sni_reader_left(r) > 0 && r->p[0] == 0xc0) {
		r->p++;
		return true;
	}
	return false;
}

/* Reads a true; false (r untouched) for anything else. */
static inline bool
sni_read_true(sni_reader *r)
{
	if (sni_reader_left(r) > 0 && r->p[0] == 0xc3) {
		r->p++;
		return true;
	}
	return false;
}

static inline int
sni_read_handle(sni_reader *r, syn_handle *hd)
{
	sni_head       h;
	const uint8_t *p;
	if (sni_read_head(r, &h) != 0 || h.sh != SH_EXT ||
	    h.type != SNI_EXT_HANDLE || h.num != 16) {
		sni_detail_set("expected a handle");
		return SYN_EPROTO;
	}
	if (!sni_take(r, 16, &p)) {
		return sni_truncated();
	}
	hd->owner  = sni_be(p, 8);
	hd->object = sni_be(p + 8, 8);
	return 0;
}

#endif /* SNI_READER_H */
