/*
 * proto/decode.c: strict msgpack decoding into syn_values, in two passes.
 *
 * Pass one (scan) reads nothing it has not bounds-checked, rejects every
 * malformed input with SYN_EPROTO, enforces the nesting limit, checks the
 * UTF-8 of strings and the ext types, and counts the memory pass two will
 * take. Pass two (fill) then decodes into exactly that much memory without
 * any further checks. A container's count is checked against the bytes
 * left before anything is allocated, so memory stays proportional to the
 * input: at most 24 bytes per input byte (an empty string, one byte:
 * its 16-byte value and its NUL, rounded to 8).
 *
 * msgpack-c's own unpacker is not used here: it allocates a container's
 * elements from the count in its header before checking that the bytes
 * exist (a 5-byte input can ask for gigabytes), and has no depth limit.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int
sni_truncated(void)
{
	sni_detail_set("message truncated");
	return SYN_EPROTO;
}

/* ---- the shape of the next value -------------------------------------- */

int
sni_read_sized(sni_reader *r, uint8_t b, sni_head *h)
{
	/* 0xc4..0xdf: sized forms; n is the bytes of length or number */
	static const struct {
		uint8_t sh;
		uint8_t n;
	} forms[] = {
		[0xc4 - 0xc4] = { SH_BIN, 1 },
		[0xc5 - 0xc4] = { SH_BIN, 2 },
		[0xc6 - 0xc4] = { SH_BIN, 4 },
		[0xc7 - 0xc4] = { SH_EXT, 1 },
		[0xc8 - 0xc4] = { SH_EXT, 2 },
		[0xc9 - 0xc4] = { SH_EXT, 4 },
		[0xca - 0xc4] = { SH_FLOAT32, 4 },
		[0xcb - 0xc4] = { SH_FLOAT64, 8 },
		[0xcc - 0xc4] = { SH_UINT, 1 },
		[0xcd - 0xc4] = { SH_UINT, 2 },
		[0xce - 0xc4] = { SH_UINT, 4 },
		[0xcf - 0xc4] = { SH_UINT, 8 },
		[0xd0 - 0xc4] = { SH_NINT, 1 },
		[0xd1 - 0xc4] = { SH_NINT, 2 },
		[0xd2 - 0xc4] = { SH_NINT, 4 },
		[0xd3 - 0xc4] = { SH_NINT, 8 },
		[0xd4 - 0xc4] = { SH_EXT, 0 }, /* fixext 1..16 */
		[0xd5 - 0xc4] = { SH_EXT, 0 },
		[0xd6 - 0xc4] = { SH_EXT, 0 },
		[0xd7 - 0xc4] = { SH_EXT, 0 },
		[0xd8 - 0xc4] = { SH_EXT, 0 },
		[0xd9 - 0xc4] = { SH_STR, 1 },
		[0xda - 0xc4] = { SH_STR, 2 },
		[0xdb - 0xc4] = { SH_STR, 4 },
		[0xdc - 0xc4] = { SH_ARRAY, 2 },
		[0xdd - 0xc4] = { SH_ARRAY, 4 },
		[0xde - 0xc4] = { SH_MAP, 2 },
		[0xdf - 0xc4] = { SH_MAP, 4 },
	};
	if (b == 0xc1) {
		sni_detail_set("byte 0xc1 is never used by msgpack");
		return SYN_EPROTO;
	}
	int n = forms[b - 0xc4].n;
	h->sh = forms[b - 0xc4].sh;
	if (b >= 0xd4 && b <= 0xd8) {
		h->num = (uint64_t) 1 << (b - 0xd4);
	} else if (sni_reader_left(r) < (size_t) n) {
		return sni_truncated();
	} else {
		h->num = sni_load_be(r->p, n);
		r->p += n;
	}
	if (h->sh == SH_NINT) {
		/* sign-extend the n-byte two's complement number */
		int shift = 64 - 8 * n;
		h->num    = (uint64_t) (((int64_t) (h->num << shift)) >> shift);
		if ((int64_t) h->num >= 0) {
			h->sh = SH_UINT; /* a non-negative intN */
		}
	}
	if (h->sh == SH_EXT) {
		if (sni_reader_left(r) < 1) {
			return sni_truncated();
		}
		h->type = (int8_t) *r->p++;
		if (b < 0xd4 &&
		    (h->type == SNI_EXT_HANDLE || h->type == SNI_EXT_OBJECT ||
		        h->type == SNI_EXT_PTR || h->type == SNI_EXT_PROXY)) {
			/* one encoding only: a connection rewrites handles
			 * where it finds them, as fixext16 */
			sni_detail_set("ext type %d not as fixext16", h->type);
			return SYN_EPROTO;
		}
	}
	return 0;
}

/* ---- pass one --------------------------------------------------------- */

static int scan(
    sni_reader *r, const sni_limits *lim, uint32_t depth, size_t *need);

static int
scan_error_ext(const uint8_t *p, size_t n, size_t *need)
{
	sni_reader sub;
	sni_head   h;
	sni_reader_init(&sub, p, n);
	if (sni_read_head(&sub, &h) != 0 || h.sh != SH_ARRAY || h.num != 3) {
		sni_detail_set("error value is not [code, message, where]");
		return SYN_EPROTO;
	}
	if (sni_read_head(&sub, &h) != 0 ||
	    (h.sh != SH_UINT && h.sh != SH_NINT) ||
	    (h.sh == SH_UINT && h.num > INT32_MAX) ||
	    (h.sh == SH_NINT && (int64_t) h.num < INT32_MIN)) {
		sni_detail_set("error code is not a 32-bit integer");
		return SYN_EPROTO;
	}
	*need += sni_bump_round(sizeof(syn_error));
	for (int i = 0; i < 2; i++) {
		const char *s;
		uint32_t    len;
		if (sni_read_str(&sub, &s, &len) != 0) {
			sni_detail_set("error message or path is not a string");
			return SYN_EPROTO;
		}
		*need += sni_bump_round((size_t) len + 1);
	}
	if (sni_reader_left(&sub) != 0) {
		sni_detail_set("error value has trailing bytes");
		return SYN_EPROTO;
	}
	return 0;
}

static int
scan_ext(sni_reader *r, const sni_limits *lim, const sni_head *h, size_t *need)
{
	const uint8_t *p;
	if (!sni_take(r, h->num, &p)) {
		return sni_truncated();
	}
	switch (h->type) {
	case SNI_EXT_HANDLE:
	case SNI_EXT_OBJECT:
		if (h->num != 16) {
			break;
		}
		if (lim->deny_handles) {
			sni_detail_set("a handle where none may come");
			return SYN_EPROTO;
		}
		if (lim->deny_owned && h->type == SNI_EXT_OBJECT) {
			sni_detail_set("a reference handed out by a peer that "
			               "owns no object here");
			return SYN_EPROTO;
		}
		*need += sni_bump_round(sizeof(syn_handle));
		return 0;
	case SNI_EXT_PROXY:
		if (h->num != 16) {
			break;
		}
		if (!lim->allow_ptr || lim->deny_handles) {
			sni_detail_set("a proxy's reference cannot come from "
			               "another process or over a socket");
			return SYN_EPROTO;
		}
		*need += sni_bump_round(sizeof(syn_handle));
		return 0;
	case SNI_EXT_PTR:
		if (h->num != 16) {
			break;
		}
		if (!lim->allow_ptr || sni_be(p, 8) != sni_process_nonce()) {
			sni_detail_set("a pointer value cannot come from "
			               "another process or over a socket");
			return SYN_EPROTO;
		}
		return 0;
	case SNI_EXT_ERROR:
		return scan_error_ext(p, h->num, need);
	default:
		sni_detail_set("unknown ext type %d", h->type);
		return SYN_EPROTO;
	}
	sni_detail_set("ext type %d has length %u", h->type, (unsigned) h->num);
	return SYN_EPROTO;
}

static int
scan_items(sni_reader *r, const sni_limits *lim, uint32_t depth, uint64_t count,
    size_t *need)
{
	for (uint64_t i = 0; i < count; i++) {
		syn_value scalar;
		if (sni_read_simple(r, &scalar)) {
			continue; /* numbers, nil, bools: nothing more to check
			           */
		}
		int rc = scan(r, lim, depth - 1, need);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
scan_container(sni_reader *r, const sni_limits *lim, uint32_t depth,
    const sni_head *h, size_t *need)
{
	uint64_t items = h->sh == SH_MAP ? h->num * 2 : h->num;
	if (items > sni_reader_left(r)) {
		sni_detail_set("container of %llu items is longer than the "
		               "message",
		    (unsigned long long) h->num);
		return SYN_EPROTO;
	}
	if (depth <= 1 && h->num > 0) {
		sni_detail_set("values nested deeper than %u levels",
		    (unsigned) lim->max_depth);
		return SYN_EPROTO;
	}
	if (h->num > 0 && sni_stack_short()) {
		return SYN_ENOMEM; /* (filling goes as deep: checked here) */
	}
	*need += sni_bump_round(
	    h->num * (h->sh == SH_MAP ? sizeof(syn_pair) : sizeof(syn_value)));
	return scan_items(r, lim, depth, items, need);
}

static int
scan(sni_reader *r, const sni_limits *lim, uint32_t depth, size_t *need)
{
	sni_head       h;
	const uint8_t *p;
	int            rc = sni_read_head(r, &h);
	if (rc != 0) {
		return rc;
	}
	switch (h.sh) {
	case SH_STR:
		if ((rc = sni_take_utf8(r, h.num, &p)) != 0) {
			return rc;
		}
		*need += sni_bump_round(h.num + 1);
		return 0;
	case SH_BIN:
		if (!sni_take(r, h.num, &p)) {
			return sni_truncated();
		}
		*need += sni_bump_round(h.num);
		return 0;
	case SH_FLOAT32:
	case SH_FLOAT64: /* read_head consumed the bits */
	case SH_NIL:
	case SH_BOOL:
	case SH_UINT:
	case SH_NINT:
		return 0;
	case SH_ARRAY:
	case SH_MAP:
		return scan_container(r, lim, depth, &h, need);
	case SH_EXT:
		return scan_ext(r, lim, &h, need);
	default:
		return SYN_EPROTO;
	}
}

int
sni_scan_value(sni_reader *r, const sni_limits *lim, size_t *need)
{
	return scan(r, lim, lim->max_depth, need);
}

int
sni_scan_array(
    sni_reader *r, const sni_limits *lim, uint32_t *count, size_t *need)
{
	sni_head h;
	int      rc = sni_read_head(r, &h);
	if (rc != 0) {
		return rc;
	}
	if (h.sh != SH_ARRAY) {
		sni_detail_set("arguments are not a list");
		return SYN_EPROTO;
	}
	/* (each argument may be as deep as any value: the array is no
	 * level of its own) */
	rc = scan_container(r, lim, lim->max_depth + 1, &h, need);
	if (rc == 0) {
		*count = (uint32_t) h.num;
	}
	return rc;
}

/* ---- pass two --------------------------------------------------------- */

static void *
bump(sni_bump *b, size_t n)
{
	void *p = b->p;
	if (b->p != NULL) { /* NULL when the value needs no memory */
		b->p += sni_bump_round(n);
	}
	return p;
}

static const char *
bump_str(sni_bump *b, const uint8_t *s, size_t n)
{
	char *d = bump(b, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static double
float_bits(const sni_head *h)
{
	if (h->sh == SH_FLOAT32) {
		uint32_t bits = (uint32_t) h->num;
		float    f;
		memcpy(&f, &bits, sizeof(f));
		return f;
	}
	double d;
	memcpy(&d, &h->num, sizeof(d));
	return d;
}

static void fill(sni_reader *r, sni_bump *b, syn_value *out);

static void
fill_error(const uint8_t *p, size_t n, sni_bump *b, syn_value *out)
{
	sni_reader sub;
	sni_head   h = { SH_NIL, 0, 0 };
	syn_error *e = bump(b, sizeof(*e));
	sni_reader_init(&sub, p, n);
	sni_read_head(&sub, &h); /* the array of 3 */
	sni_read_head(&sub, &h);
	e->code         = (int) (int64_t) h.num;
	const char *s   = NULL;
	uint32_t    len = 0;
	sni_read_str(&sub, &s, &len);
	e->message = bump_str(b, (const uint8_t *) s, len);
	sni_read_str(&sub, &s, &len);
	e->where      = bump_str(b, (const uint8_t *) s, len);
	out->type     = SYN_TYPE_ERROR;
	out->as.error = e;
}

static void
fill_ext(sni_reader *r, sni_bump *b, const sni_head *h, syn_value *out)
{
	const uint8_t *p = NULL;
	sni_take(r, h->num, &p);
	if (h->type == SNI_EXT_HANDLE || h->type == SNI_EXT_OBJECT ||
	    h->type == SNI_EXT_PROXY) {
		syn_handle *hd = bump(b, sizeof(*hd));
		hd->owner      = sni_be(p, 8);
		hd->object     = sni_be(p + 8, 8);
		out->type      = SYN_TYPE_HANDLE;
		out->len       = h->type == SNI_EXT_OBJECT ? SNI_HANDLE_OWNED
		          : h->type == SNI_EXT_PROXY       ? SNI_HANDLE_CARRIED
		                                           : 0;
		out->as.handle = hd;
	} else if (h->type == SNI_EXT_PTR) {
		out->type   = SYN_TYPE_PTR;
		out->as.ptr = (void *) (uintptr_t) sni_be(p + 8, 8);
	} else {
		fill_error(p, h->num, b, out);
	}
}

static void
fill_container(sni_reader *r, sni_bump *b, const sni_head *h, syn_value *out)
{
	out->len = (uint32_t) h->num;
	if (h->sh == SH_ARRAY) {
		syn_value *items = bump(b, h->num * sizeof(syn_value));
		for (uint64_t i = 0; i < h->num; i++) {
			fill(r, b, &items[i]);
		}
		out->type    = SYN_TYPE_LIST;
		out->as.list = h->num > 0 ? items : NULL;
		return;
	}
	syn_pair *pairs = bump(b, h->num * sizeof(syn_pair));
	for (uint64_t i = 0; i < h->num; i++) {
		fill(r, b, &pairs[i].key);
		fill(r, b, &pairs[i].value);
	}
	out->type   = SYN_TYPE_MAP;
	out->as.map = h->num > 0 ? pairs : NULL;
}

static void
fill(sni_reader *r, sni_bump *b, syn_value *out)
{
	if (sni_read_simple(r, out)) {
		return;
	}
	sni_head       h = { SH_NIL, 0, 0 };
	const uint8_t *p = NULL;
	*out             = syn_nil();
	sni_read_head(r, &h);
	switch (h.sh) {
	case SH_BOOL:
		*out = syn_bool(h.num != 0);
		return;
	case SH_UINT:
		*out = h.num > INT64_MAX ? syn_uint(h.num)
		                         : syn_int((int64_t) h.num);
		return;
	case SH_NINT:
		*out = syn_int((int64_t) h.num);
		return;
	case SH_FLOAT32:
	case SH_FLOAT64:
		*out = syn_double(float_bits(&h));
		return;
	case SH_STR:
		sni_take(r, h.num, &p);
		*out = syn_strn(bump_str(b, p, h.num), h.num);
		return;
	case SH_BIN:
		sni_take(r, h.num, &p);
		*out = syn_bytes(
		    h.num > 0 ? memcpy(bump(b, h.num), p, h.num) : NULL, h.num);
		return;
	case SH_ARRAY:
	case SH_MAP:
		fill_container(r, b, &h, out);
		return;
	case SH_EXT:
		fill_ext(r, b, &h, out);
		return;
	default: /* nil */
		return;
	}
}

void
sni_fill_value(sni_reader *r, sni_bump *b, syn_value *out)
{
	fill(r, b, out);
}

void
sni_fill_array(sni_reader *r, sni_bump *b, syn_value *out)
{
	sni_head h = { SH_NIL, 0, 0 };
	sni_read_head(r, &h);
	for (uint64_t i = 0; i < h.num; i++) {
		fill(r, b, &out[i]);
	}
}

/* A value that is one scalar filling the input, decoded in one pass. */
static bool
decode_scalar(const sni_reader *r, syn_value *out)
{
	sni_reader c = *r;
	if (sni_read_simple(&c, out)) {
		return sni_reader_left(&c) == 0;
	}
	sni_head h;
	if (sni_read_head(&c, &h) != 0 || sni_reader_left(&c) != 0 ||
	    (h.sh != SH_FLOAT32 && h.sh != SH_FLOAT64)) {
		return false;
	}
	c = *r;
	fill(&c, NULL, out); /* scalars take no memory */
	return true;
}

/* Pass two at r into need bytes of new memory (in *memp; none for 0). */
static int
fill_new(sni_reader *r, size_t need, syn_value *out, void **memp)
{
	sni_bump b = { NULL, NULL };
	if (need > 0) {
		if ((*memp = malloc(need)) == NULL) {
			return SYN_ENOMEM;
		}
		b.p   = *memp;
		b.end = b.p + need;
	}
	fill(r, &b, out);
	return 0;
}

int
sni_decode_value(const void *p, size_t len, const sni_limits *lim,
    syn_value *out, void **memp)
{
	sni_reader r;
	size_t     need = 0;
	*memp           = NULL;
	if (len > lim->max_size) {
		sni_detail_set(
		    "value of %zu bytes is larger than the limit", len);
		return SYN_EMSGSIZE;
	}
	sni_reader_init(&r, p, len);
	if (decode_scalar(&r, out)) {
		return 0; /* the common case: one number, nil or bool */
	}
	int rc = sni_scan_value(&r, lim, &need);
	if (rc == 0 && sni_reader_left(&r) != 0) {
		sni_detail_set("trailing bytes after the value");
		rc = SYN_EPROTO;
	}
	if (rc != 0) {
		return rc;
	}
	sni_reader_init(&r, p, len);
	return fill_new(&r, need, out, memp);
}

int
sni_decode_value_next(
    sni_reader *r, const sni_limits *lim, syn_value *out, void **memp)
{
	*memp = NULL;
	if (sni_read_simple(r, out)) {
		return 0; /* numbers, nil, bools: no memory */
	}
	sni_reader start = *r;
	size_t     need  = 0;
	int        rc    = sni_scan_value(r, lim, &need);
	if (rc != 0) {
		return rc;
	}
	return fill_new(&start, need, out, memp);
}
