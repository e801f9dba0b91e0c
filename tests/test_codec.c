/*
 * The wire codec (proto/encode.c, decode.c, message.c, utf8.c): round
 * trips of every type and integer width, the strict decoder's rejection of
 * truncated, mutated and malformed input, its limits, strict UTF-8, a
 * differential check against msgpack-c's own unpacker, and the framing of
 * CALL, RETURN and ERROR messages.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "helpers.h"
#include "proto/proto.h"

static const sni_limits lim_default = { SNI_DEFAULT_MAX_DEPTH,
	SNI_DEFAULT_MAX_SIZE, false, false, false, false };
static const sni_limits lim_ptr = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE,
	true, false, false, false };

/* ---- helpers ---------------------------------------------------------- */

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Encodes v (asserting success) into w, which the caller finishes. */
static void
encode_ok(sni_wbuf *w, const syn_value *v)
{
	sni_wbuf_init(w);
	ck_assert_msg(sni_encode_value(w, v, SNI_DEFAULT_MAX_DEPTH, 0) == 0,
	    "encode: %s", sni_detail_get());
}

/*
 * Decodes exactly len bytes from a heap copy of the exact size (so that
 * ASan sees any read past the end). Returns the decoder's code.
 */
static int
decode(const void *p, size_t len, const sni_limits *lim, syn_value *out,
    void **memp)
{
	void *copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(copy);
	if (len > 0) {
		memcpy(copy, p, len);
	}
	int rc = sni_decode_value(copy, len, lim, out, memp);
	free(copy); /* decoded values never point into the input */
	return rc;
}

/* Encodes v, decodes it, and asserts that the result equals v. */
static void
assert_round_trip(const syn_value *v)
{
	sni_wbuf  w;
	syn_value out;
	void     *mem;
	encode_ok(&w, v);
	int rc = decode(w.buf, w.len, &lim_default, &out, &mem);
	ck_assert_msg(
	    rc == 0, "decode: %s: %s", syn_errname(rc), sni_detail_get());
	char a[256], b[256];
	syn_value_format(v, a, sizeof(a));
	syn_value_format(&out, b, sizeof(b));
	ck_assert_msg(syn_value_equal(v, &out), "sent %s, got %s", a, b);
	free(mem);
	sni_wbuf_fini(&w);
}

/* A rich nested value of every type; the storage lives in the struct. */
typedef struct rich {
	syn_handle handle;
	syn_error  error;
	uint8_t    blob[5];
	syn_value  deep[4];
	syn_value  inner[5];
	syn_pair   pairs[4];
	syn_value  items[9];
	syn_value  top;
} rich;

static void
rich_init(rich *r)
{
	r->handle = (syn_handle) { 0x0102030405060708ULL, UINT64_MAX };
	r->error  = (syn_error) { SYN_EUSER(77), "bad \xe2\x82\xac", "f <- g" };
	memcpy(r->blob, "\0a\0\xff\0", 5);
	r->deep[0]  = syn_list(&r->deep[1], 1);
	r->deep[1]  = syn_list(&r->deep[2], 2);
	r->deep[2]  = syn_str("deep");
	r->deep[3]  = syn_int(-200);
	r->inner[0] = syn_int(-1);
	r->inner[1] = syn_uint(UINT64_MAX);
	r->inner[2] = syn_list(NULL, 0);
	r->inner[3] = syn_double(-0.0);
	r->inner[4] = syn_list(r->deep, 1);
	r->pairs[0] =
	    (syn_pair) { syn_str("k\xf0\x9f\x98\x80"), syn_list(r->inner, 5) };
	r->pairs[1] =
	    (syn_pair) { syn_int(70000), syn_handle_value(&r->handle) };
	r->pairs[2] = (syn_pair) { syn_nil(), syn_error_value(&r->error) };
	r->pairs[3] = (syn_pair) { syn_bytes(r->blob, 5), syn_map(NULL, 0) };
	r->items[0] = syn_str("h\xc3\xa9llo, w\xe2\x82\xacrld");
	r->items[1] = syn_bytes(r->blob, sizeof(r->blob));
	r->items[2] = syn_map(r->pairs, 4);
	r->items[3] = syn_double(1e300);
	r->items[4] = syn_bool(true);
	r->items[5] = syn_bool(false);
	r->items[6] = syn_str("");
	r->items[7] = syn_int(INT64_MIN);
	r->items[8] = syn_bytes(NULL, 0);
	r->top      = syn_list(r->items, 9);
}

/* ---- round trips ------------------------------------------------------ */

START_TEST(round_trip_scalars)
{
	syn_handle      h      = { 1, 2 };
	syn_handle      hz     = { 0, 0 };
	syn_error       e      = { SYN_ETIMEDOUT, "timed out", "" };
	syn_error       en     = { -5, "", "a <- b <- c" };
	const syn_value vals[] = { syn_nil(), syn_bool(true), syn_bool(false),
		syn_double(0.0), syn_double(3.141592653589793),
		syn_double(-1e-310), syn_double(DBL_MAX), syn_double(INFINITY),
		syn_double(-INFINITY), syn_str(""), syn_str("a"),
		syn_str("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
		syn_strn("a\0b", 3), syn_strn(NULL, 0), syn_bytes("", 0),
		syn_bytes(NULL, 0), syn_bytes("\0\0\0", 3),
		syn_handle_value(&h), syn_handle_value(&hz),
		syn_error_value(&e), syn_error_value(&en), syn_list(NULL, 0),
		syn_map(NULL, 0) };
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		assert_round_trip(&vals[k]);
	}
}
END_TEST

/* -0.0 keeps its sign, NaN stays NaN, decoded strings end in NUL. */
START_TEST(round_trip_details)
{
	sni_wbuf  w;
	syn_value out;
	void     *mem;
	syn_value v = syn_double(-0.0);
	encode_ok(&w, &v);
	ck_assert_syn_ok(decode(w.buf, w.len, &lim_default, &out, &mem));
	ck_assert(
	    out.type == SYN_TYPE_DOUBLE && out.as.d == 0 && signbit(out.as.d));
	free(mem);
	sni_wbuf_fini(&w);
	v = syn_double(NAN);
	encode_ok(&w, &v);
	ck_assert_syn_ok(decode(w.buf, w.len, &lim_default, &out, &mem));
	ck_assert(out.type == SYN_TYPE_DOUBLE && isnan(out.as.d));
	free(mem);
	sni_wbuf_fini(&w);
	v = syn_strn("abcdef", 3);
	encode_ok(&w, &v);
	ck_assert_syn_ok(decode(w.buf, w.len, &lim_default, &out, &mem));
	ck_assert(out.type == SYN_TYPE_STR && out.len == 3);
	ck_assert_str_eq(out.as.str, "abc");
	free(mem);
	sni_wbuf_fini(&w);
}
END_TEST

/* Integers at every msgpack width boundary: value, type and wire size. */
START_TEST(round_trip_int_widths)
{
	static const struct {
		int64_t i;
		size_t  wire;
	} ints[] = {
		{ 0, 1 },
		{ 127, 1 },
		{ 128, 2 },
		{ 255, 2 },
		{ 256, 3 },
		{ 65535, 3 },
		{ 65536, 5 },
		{ 4294967295LL, 5 },
		{ 4294967296LL, 9 },
		{ INT64_MAX, 9 },
		{ -1, 1 },
		{ -32, 1 },
		{ -33, 2 },
		{ -128, 2 },
		{ -129, 3 },
		{ -32768, 3 },
		{ -32769, 5 },
		{ (int64_t) INT32_MIN, 5 },
		{ (int64_t) INT32_MIN - 1, 9 },
		{ INT64_MIN, 9 },
	};
	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		for (int asuint = 0; asuint < 2; asuint++) {
			if (asuint && ints[k].i < 0) {
				continue;
			}
			syn_value v = asuint ? syn_uint((uint64_t) ints[k].i)
			                     : syn_int(ints[k].i);
			sni_wbuf  w;
			syn_value out;
			void     *mem;
			encode_ok(&w, &v);
			ck_assert_msg(w.len == ints[k].wire, "%lld: %zu bytes",
			    (long long) ints[k].i, w.len);
			ck_assert_syn_ok(
			    decode(w.buf, w.len, &lim_default, &out, &mem));
			ck_assert_msg(
			    out.type == SYN_TYPE_INT && out.as.i == ints[k].i,
			    "%lld came back as %s %lld", (long long) ints[k].i,
			    syn_type_name(out.type), (long long) out.as.i);
			ck_assert_ptr_null(mem);
			sni_wbuf_fini(&w);
		}
	}
	/* above INT64_MAX an integer decodes as UINT */
	const uint64_t big[] = { (uint64_t) INT64_MAX + 1, UINT64_MAX };
	for (size_t k = 0; k < 2; k++) {
		syn_value v = syn_uint(big[k]);
		sni_wbuf  w;
		syn_value out;
		void     *mem;
		encode_ok(&w, &v);
		ck_assert_uint_eq(w.len, 9);
		ck_assert_syn_ok(
		    decode(w.buf, w.len, &lim_default, &out, &mem));
		ck_assert(out.type == SYN_TYPE_UINT && out.as.u == big[k]);
		sni_wbuf_fini(&w);
	}
}
END_TEST

START_TEST(round_trip_containers)
{
	rich r;
	rich_init(&r);
	assert_round_trip(&r.top);
	assert_round_trip(&r.items[2]);
	assert_round_trip(&r.inner[4]);
	/* a map with keys of every kind and a list longer than fixarray */
	syn_value many[20];
	syn_pair  kp[20];
	for (int k = 0; k < 20; k++) {
		many[k]     = syn_int(k * 1000);
		kp[k].key   = k % 2 ? syn_int(-k) : syn_str("same");
		kp[k].value = syn_list(many, (size_t) k);
	}
	syn_value l = syn_list(many, 20);
	syn_value m = syn_map(kp, 20);
	assert_round_trip(&l);
	assert_round_trip(&m);
}
END_TEST

/* Long strings, bytes and lists take the 16 and 32-bit length forms. */
START_TEST(round_trip_long_forms)
{
	enum { N = 70000 };
	char      *s     = malloc(N + 1);
	syn_value *items = malloc(N * sizeof(*items));
	ck_assert(s != NULL && items != NULL);
	for (size_t k = 0; k < N; k++) {
		s[k]     = (char) ('a' + k % 26);
		items[k] = syn_int((int64_t) k);
	}
	s[N]                = '\0';
	const size_t lens[] = { 31, 32, 255, 256, 65535, 65536, N };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		syn_value v = syn_strn(s, lens[k]);
		assert_round_trip(&v);
		v = syn_bytes(s, lens[k]);
		assert_round_trip(&v);
		v = syn_list(items, lens[k]);
		assert_round_trip(&v);
	}
	free(items);
	free(s);
}
END_TEST

/* A float32 on the wire decodes as a double. */
START_TEST(float32_decodes_as_double)
{
	static const uint8_t one_and_half[] = { 0xca, 0x3f, 0xc0, 0x00, 0x00 };
	static const uint8_t neg_inf[]      = { 0xca, 0xff, 0x80, 0x00, 0x00 };
	static const uint8_t tenth[]        = { 0xca, 0x3d, 0xcc, 0xcc, 0xcd };
	syn_value            out;
	void                *mem;
	ck_assert_syn_ok(decode(one_and_half, 5, &lim_default, &out, &mem));
	ck_assert(out.type == SYN_TYPE_DOUBLE && out.as.d == 1.5);
	ck_assert_syn_ok(decode(neg_inf, 5, &lim_default, &out, &mem));
	ck_assert(
	    out.type == SYN_TYPE_DOUBLE && isinf(out.as.d) && out.as.d < 0);
	ck_assert_syn_ok(decode(tenth, 5, &lim_default, &out, &mem));
	ck_assert(out.type == SYN_TYPE_DOUBLE && out.as.d == (double) 0.1f);
	ck_assert_int_eq(
	    decode(tenth, 4, &lim_default, &out, &mem), SYN_EPROTO);
}
END_TEST

/* ---- truncation, trailing bytes, mutations ---------------------------- */

/* Every proper prefix of a valid value is refused. */
static void
assert_prefixes_rejected_value(const uint8_t *p, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		syn_value out;
		void     *mem = (void *) 1;
		int       rc  = decode(p, n, &lim_ptr, &out, &mem);
		ck_assert_msg(rc == SYN_EPROTO, "prefix of %zu/%zu bytes: %s",
		    n, len, syn_errname(rc));
		ck_assert_ptr_null(mem);
	}
}

START_TEST(prefixes_of_values_rejected)
{
	rich     r;
	sni_wbuf w;
	rich_init(&r);
	encode_ok(&w, &r.top);
	ck_assert_uint_gt(w.len, 100);
	assert_prefixes_rejected_value(w.buf, w.len);
	/* and the whole value, with any byte after it, is refused too */
	uint8_t *longer = malloc(w.len + 1);
	memcpy(longer, w.buf, w.len);
	for (int b = 0; b < 256; b += 15) {
		syn_value out;
		void     *mem;
		longer[w.len] = (uint8_t) b;
		ck_assert_int_eq(
		    decode(longer, w.len + 1, &lim_default, &out, &mem),
		    SYN_EPROTO);
	}
	free(longer);
	sni_wbuf_fini(&w);
}
END_TEST

/* Decodes a message body of either kind; returns the decoder's code. */
static int
decode_msg(const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(copy);
	if (len > 0) {
		memcpy(copy, p, len);
	}
	int rc;
	if (sni_msg_kind(copy, len) == SNI_MSG_CALL) {
		sni_call_view v;
		rc = sni_msg_decode_call(copy, len, &lim_default, &v);
	} else {
		uint64_t         id;
		int              code;
		syn_value        val;
		const syn_error *err;
		void            *mem;
		rc = sni_msg_decode_reply(
		    copy, len, &lim_default, &id, &code, &val, &err, &mem);
		free(mem);
	}
	free(copy);
	return rc;
}

START_TEST(prefixes_of_messages_rejected)
{
	rich     r;
	sni_wbuf w[4];
	rich_init(&r);
	syn_handle target = { 9, 10 };
	for (int k = 0; k < 4; k++) {
		sni_wbuf_init(&w[k]);
	}
	ck_assert_syn_ok(sni_msg_encode_call(
	    &w[0], 12345, &target, "method", 6, r.items, 9, &lim_default));
	ck_assert_syn_ok(
	    sni_msg_encode_call(&w[1], 1, NULL, "f", 1, NULL, 0, &lim_default));
	ck_assert_syn_ok(
	    sni_msg_encode_return(&w[2], UINT64_MAX, &r.top, &lim_default));
	sni_msg_encode_error(&w[3], 77, SYN_EUSER(3), "went wrong", "a <- b");
	for (int k = 0; k < 4; k++) {
		ck_assert_int_eq(w[k].err, 0);
		ck_assert_syn_ok(decode_msg(w[k].buf, w[k].len));
		for (size_t n = 0; n < w[k].len; n++) {
			int rc = decode_msg(w[k].buf, n);
			ck_assert_msg(rc == SYN_EPROTO,
			    "message %d, prefix of %zu/%zu bytes: %s", k, n,
			    w[k].len, syn_errname(rc));
		}
		uint8_t *longer = malloc(w[k].len + 1);
		memcpy(longer, w[k].buf, w[k].len);
		longer[w[k].len] = 0xc0;
		ck_assert_int_eq(decode_msg(longer, w[k].len + 1), SYN_EPROTO);
		free(longer);
		sni_wbuf_fini(&w[k]);
	}
}
END_TEST

/* Flips, inserts or deletes bytes of buf (length *len, room cap). */
static void
mutate(uint8_t *buf, size_t *len, size_t cap, uint64_t *seed)
{
	int edits = 1 + (int) (rnd(seed) % 4);
	for (int e = 0; e < edits; e++) {
		uint64_t x  = rnd(seed);
		size_t   at = *len > 0 ? (size_t) (x >> 8) % *len : 0;
		switch (x % 5) {
		case 0: /* flip one bit */
			if (*len > 0) {
				buf[at] ^= (uint8_t) (1u << ((x >> 40) % 8));
			}
			break;
		case 1: /* a random byte */
			if (*len > 0) {
				buf[at] = (uint8_t) (x >> 48);
			}
			break;
		case 2: /* an interesting byte */
			if (*len > 0) {
				static const uint8_t hot[] = { 0x00, 0x7f, 0x80,
					0xc1, 0xd4, 0xd8, 0xdc, 0xdd, 0xdf,
					0xff, 0xc7, 0xc9, 0xdb };
				buf[at] = hot[(x >> 48) % sizeof(hot)];
			}
			break;
		case 3: /* insert a byte */
			if (*len < cap) {
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = (uint8_t) (x >> 48);
				(*len)++;
			}
			break;
		default: /* delete a byte */
			if (*len > 0) {
				memmove(buf + at, buf + at + 1, *len - at - 1);
				(*len)--;
			}
			break;
		}
	}
}

static void
check_mutation(const uint8_t *p, size_t len, const sni_limits *lim)
{
	syn_value out;
	void     *mem;
	char      text[64];
	int       rc = decode(p, len, lim, &out, &mem);
	ck_assert_msg(rc == 0 || rc == SYN_EPROTO || rc == SYN_EMSGSIZE,
	    "decoder returned %s", syn_errname(rc));
	if (rc == 0) {
		/* the value must be usable: walk all of it, copy it */
		syn_result copy = SYN_RESULT_INIT;
		syn_value_format(&out, text, sizeof(text));
		(void) syn_value_equal(&out, &out);
		ck_assert_syn_ok(syn_value_copy(&out, &copy));
		syn_result_fini(&copy);
		free(mem);
	} else {
		ck_assert_ptr_null(mem);
	}
}

START_TEST(mutations_never_crash)
{
	rich       r;
	sni_wbuf   w;
	uint8_t    buf[512];
	uint64_t   seed     = 0x9e3779b97f4a7c15ULL;
	int        accepted = 0;
	sni_limits small    = { 4, 200, true, false, false, false };
	rich_init(&r);
	encode_ok(&w, &r.top);
	ck_assert_uint_lt(w.len, sizeof(buf));
	for (int it = 0; it < 20000; it++) {
		size_t len = w.len;
		memcpy(buf, w.buf, len);
		mutate(buf, &len, sizeof(buf), &seed);
		check_mutation(buf, len, &lim_default);
		check_mutation(buf, len, &small);
		syn_value out;
		void     *mem;
		if (decode(buf, len, &lim_default, &out, &mem) == 0) {
			accepted++;
			free(mem);
		}
	}
	/* some mutations stay valid (e.g. a changed digit) */
	ck_assert_int_gt(accepted, 100);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(message_mutations_never_crash)
{
	rich       r;
	sni_wbuf   w[3];
	uint8_t    buf[512];
	uint64_t   seed   = 42;
	syn_handle target = { 1, 2 };
	rich_init(&r);
	for (int k = 0; k < 3; k++) {
		sni_wbuf_init(&w[k]);
	}
	ck_assert_syn_ok(sni_msg_encode_call(
	    &w[0], 7, &target, "fn", 2, r.items, 9, &lim_default));
	ck_assert_syn_ok(sni_msg_encode_return(&w[1], 7, &r.top, &lim_default));
	sni_msg_encode_error(&w[2], 7, SYN_EUSER(1), "e", "w");
	for (int it = 0; it < 15000; it++) {
		const sni_wbuf *src = &w[it % 3];
		size_t          len = src->len;
		memcpy(buf, src->buf, len);
		mutate(buf, &len, sizeof(buf), &seed);
		int rc = decode_msg(buf, len);
		ck_assert_msg(rc == 0 || rc == SYN_EPROTO || rc == SYN_EMSGSIZE,
		    "decoder returned %s", syn_errname(rc));
	}
	for (int k = 0; k < 3; k++) {
		sni_wbuf_fini(&w[k]);
	}
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

/* n nested arrays of one item around a 0: n bytes 0x91 and a 0x00. */
static uint8_t *
nested_arrays(uint32_t n, size_t *len)
{
	uint8_t *p = malloc(n + 1);
	memset(p, 0x91, n);
	p[n] = 0x00;
	*len = n + 1;
	return p;
}

START_TEST(decode_depth_limit)
{
	syn_value out;
	void     *mem;
	size_t    len;
	for (uint32_t n = 0; n <= 40; n++) {
		uint8_t *p  = nested_arrays(n, &len);
		int      rc = decode(p, len, &lim_default, &out, &mem);
		/* max_depth levels: n arrays plus the leaf */
		int want = n + 1 <= SNI_DEFAULT_MAX_DEPTH ? 0 : SYN_EPROTO;
		ck_assert_msg(rc == want, "%u arrays: %s", n, syn_errname(rc));
		free(mem);
		free(p);
	}
	/* maps count too, in keys as in values: 31 maps, each the key of
	 * the next, are fine; 32 put the leaf at level 33 */
	uint8_t keys[2 * SNI_DEFAULT_MAX_DEPTH + 1];
	memset(keys, 0x81, SNI_DEFAULT_MAX_DEPTH - 1);
	memset(keys + SNI_DEFAULT_MAX_DEPTH - 1, 0x00, SNI_DEFAULT_MAX_DEPTH);
	ck_assert_syn_ok(decode(
	    keys, 2 * SNI_DEFAULT_MAX_DEPTH - 1, &lim_default, &out, &mem));
	free(mem);
	memset(keys, 0x81, SNI_DEFAULT_MAX_DEPTH);
	memset(keys + SNI_DEFAULT_MAX_DEPTH, 0x00, SNI_DEFAULT_MAX_DEPTH + 1);
	ck_assert_int_eq(
	    decode(keys, sizeof(keys), &lim_default, &out, &mem), SYN_EPROTO);
	/* a million nested arrays: refused, no stack overflow */
	uint8_t *p = nested_arrays(1000000, &len);
	ck_assert_int_eq(decode(p, len, &lim_default, &out, &mem), SYN_EPROTO);
	free(p);
}
END_TEST

/* Encoder and decoder agree on what is too deep, for values and calls. */
START_TEST(encode_depth_limit_matches_decoder)
{
	syn_value chain[20];
	for (uint32_t depth = 1; depth <= 8; depth++) {
		sni_limits lim = { depth, SNI_DEFAULT_MAX_SIZE, false, false,
			false, false };
		for (int n = 0; n < 12; n++) {
			chain[n] = syn_int(1);
			for (int k = n - 1; k >= 0; k--) {
				chain[k] = syn_list(&chain[k + 1], 1);
			}
			sni_wbuf w;
			sni_wbuf_init(&w);
			int enc  = sni_encode_value(&w, &chain[0], depth, 0);
			int want = (uint32_t) n + 1 <= depth ? 0 : SYN_EINVAL;
			ck_assert_msg(enc == want, "depth %u, %d lists: %s",
			    depth, n, syn_errname(enc));
			if (enc == 0) {
				syn_value out;
				void     *mem;
				ck_assert_syn_ok(
				    decode(w.buf, w.len, &lim, &out, &mem));
				ck_assert(syn_value_equal(&out, &chain[0]));
				free(mem);
			}
			sni_wbuf_fini(&w);
			/* as a call argument: as deep as a value (the
			 * argument list is no level of its own) */
			sni_wbuf_init(&w);
			enc = sni_msg_encode_call(
			    &w, 1, NULL, "f", 1, &chain[0], 1, &lim);
			want = (uint32_t) n + 1 <= depth ? 0 : SYN_EINVAL;
			ck_assert_msg(enc == want,
			    "call depth %u, %d lists: %s", depth, n,
			    syn_errname(enc));
			if (enc == 0) {
				sni_call_view v;
				ck_assert_syn_ok(sni_msg_decode_call(
				    w.buf, w.len, &lim, &v));
			} else if ((uint32_t) n == depth) { /* one too deep */
				sni_limits    lax = lim;
				sni_call_view v;
				lax.max_depth = depth + 1;
				sni_wbuf_fini(&w);
				sni_wbuf_init(&w);
				ck_assert_syn_ok(sni_msg_encode_call(
				    &w, 1, NULL, "f", 1, &chain[0], 1, &lax));
				ck_assert_syn_rc(
				    sni_msg_decode_call(w.buf, w.len, &lim, &v),
				    SYN_EPROTO);
			}
			sni_wbuf_fini(&w);
		}
	}
}
END_TEST

START_TEST(huge_counts_rejected_without_allocating)
{
	static const uint8_t inputs[][6] = {
		{ 0xdd, 0xff, 0xff, 0xff, 0xff },       /* array32 */
		{ 0xdf, 0xff, 0xff, 0xff, 0xff },       /* map32 */
		{ 0xdb, 0xff, 0xff, 0xff, 0xff },       /* str32 */
		{ 0xc6, 0xff, 0xff, 0xff, 0xff },       /* bin32 */
		{ 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01 }, /* ext32 */
		{ 0xdc, 0xff, 0xff },                   /* array16 */
		{ 0x9f },                               /* fixarray 15 */
		{ 0x8f },                               /* fixmap 15 */
	};
	static const size_t lens[] = { 5, 5, 5, 5, 6, 3, 1, 1 };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		syn_value  out;
		void      *mem  = (void *) 1;
		size_t     need = 0;
		sni_reader r;
		ck_assert_int_eq(
		    decode(inputs[k], lens[k], &lim_default, &out, &mem),
		    SYN_EPROTO);
		ck_assert_ptr_null(mem);
		sni_reader_init(&r, inputs[k], lens[k]);
		ck_assert_int_eq(
		    sni_scan_value(&r, &lim_default, &need), SYN_EPROTO);
		ck_assert_uint_eq(need, 0);
	}
	/* a map of n pairs needs 2n bytes at least */
	static const uint8_t half[] = { 0x82, 0x01, 0x02, 0x03 };
	syn_value            out;
	void                *mem;
	ck_assert_int_eq(decode(half, 4, &lim_default, &out, &mem), SYN_EPROTO);
}
END_TEST

START_TEST(size_limit)
{
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, 10, false, false, false,
		false };
	syn_value  v   = syn_str("0123456789"); /* 11 bytes encoded */
	sni_wbuf   w;
	syn_value  out;
	void      *mem = (void *) 1;
	encode_ok(&w, &v);
	ck_assert_uint_eq(w.len, 11);
	ck_assert_int_eq(decode(w.buf, w.len, &lim, &out, &mem), SYN_EMSGSIZE);
	ck_assert_ptr_null(mem);
	lim.max_size = 11;
	ck_assert_syn_ok(decode(w.buf, w.len, &lim, &out, &mem));
	free(mem);
	sni_wbuf_fini(&w);
	/* messages: both directions */
	lim.max_size = 20;
	sni_wbuf_init(&w);
	v = syn_str("01234567890123456789");
	ck_assert_int_eq(sni_msg_encode_return(&w, 1, &v, &lim), SYN_EMSGSIZE);
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	ck_assert_int_eq(sni_msg_encode_call(&w, 1, NULL, "f", 1, &v, 1, &lim),
	    SYN_EMSGSIZE);
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_return(&w, 1, &v, &lim_default));
	uint64_t         id;
	int              code;
	const syn_error *err;
	ck_assert_int_eq(sni_msg_decode_reply(
	                     w.buf, w.len, &lim, &id, &code, &out, &err, &mem),
	    SYN_EMSGSIZE);
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(
	    sni_msg_encode_call(&w, 1, NULL, "f", 1, &v, 1, &lim_default));
	sni_call_view cv;
	ck_assert_int_eq(
	    sni_msg_decode_call(w.buf, w.len, &lim, &cv), SYN_EMSGSIZE);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(bad_bytes_rejected)
{
	static const struct {
		uint8_t b[20];
		size_t  len;
	} bad[] = {
		{ { 0xc1 }, 1 },
		{ { 0x91, 0xc1 }, 2 },
		{ { 0x81, 0xc1, 0x00 }, 3 },
		{ { 0x81, 0x00, 0xc1 }, 3 },
		/* unknown ext types, fixext and ext8 */
		{ { 0xd4, 0x00, 0x00 }, 3 },
		{ { 0xd4, 0xff, 0x00 }, 3 }, /* -1: msgpack timestamp */
		{ { 0xd6, 0xff, 0, 0, 0, 0 }, 6 },
		{ { 0xc7, 0x01, 0x04, 0x00 }, 4 },
		/* a handle must be exactly 16 bytes */
		{ { 0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 }, 10 },
		{ { 0xc7, 0x11, 0x01 }, 20 }, /* 17 zero bytes */
		{ { 0xc7, 0x00, 0x01 }, 3 },
		/* handles, references and pointers only as fixext16 (a
		 * connection rewrites handles where it finds them) */
		{ { 0xc7, 0x10, 0x01 }, 19 },
		{ { 0xc7, 0x10, 0x04 }, 19 },
		{ { 0xc7, 0x10, 0x03 }, 19 },
		{ { 0xc8, 0x00, 0x10, 0x01 }, 20 },
		/* an error must be [int32, str, str] */
		{ { 0xc7, 0x03, 0x02, 0x92, 0x01, 0xa0 }, 6 },
		{ { 0xc7, 0x04, 0x02, 0x93, 0xa0, 0xa0, 0xa0 }, 7 },
		{ { 0xc7, 0x04, 0x02, 0x93, 0x01, 0xa0, 0x01 }, 7 },
		{ { 0xc7, 0x05, 0x02, 0x93, 0x01, 0xa0, 0xa0, 0xc0 }, 8 },
		{ { 0xc7, 0x08, 0x02, 0x93, 0xce, 0x80, 0, 0, 0, 0xa0, 0xa0 },
		    11 },
		{ { 0xc7, 0x0c, 0x02, 0x93, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff,
		      0xff, 0xff, 0xff, 0xa0, 0xa0 },
		    15 },
		{ { 0xc7, 0x05, 0x02, 0x93, 0x01, 0xa1, 0xff, 0xa0 }, 8 },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		syn_value out;
		void     *mem = (void *) 1;
		int rc = decode(bad[k].b, bad[k].len, &lim_ptr, &out, &mem);
		ck_assert_msg(
		    rc == SYN_EPROTO, "input %zu: %s", k, syn_errname(rc));
		ck_assert_ptr_null(mem);
	}
}
END_TEST

/* Hand-written error ext values at the edges of what is accepted. */
START_TEST(error_ext_edges)
{
	/* code INT32_MIN as int32, empty strings */
	static const uint8_t min[] = { 0xc7, 0x08, 0x02, 0x93, 0xd2, 0x80, 0x00,
		0x00, 0x00, 0xa0, 0xa0 };
	syn_value            out;
	void                *mem;
	ck_assert_syn_ok(decode(min, sizeof(min), &lim_default, &out, &mem));
	ck_assert_int_eq(out.type, SYN_TYPE_ERROR);
	ck_assert_int_eq(out.as.error->code, INT32_MIN);
	ck_assert_str_eq(out.as.error->message, "");
	ck_assert_str_eq(out.as.error->where, "");
	free(mem);
}
END_TEST

static const struct {
	const char *s;
	size_t      n;
	bool        ok;
} utf8_table[] = {
	{ "", 0, true },
	{ "plain ascii, long enough for the 8-byte path", 45, true },
	{ "a\0b", 3, true },
	{ "\x7f", 1, true },
	{ "\xc2\x80", 2, true },
	{ "\xdf\xbf", 2, true },
	{ "\xe0\xa0\x80", 3, true },
	{ "\xed\x9f\xbf", 3, true }, /* U+D7FF */
	{ "\xee\x80\x80", 3, true }, /* U+E000 */
	{ "\xef\xbf\xbf", 3, true },
	{ "\xf0\x90\x80\x80", 4, true },
	{ "\xf4\x8f\xbf\xbf", 4, true }, /* U+10FFFF */
	{ "12345678\xe2\x82\xac"
	  "12345678\xf0\x9f\x98\x80",
	    23, true },
	{ "\x80", 1, false },
	{ "\xbf", 1, false },
	{ "\xc0\x80", 2, false }, /* overlong NUL */
	{ "\xc1\xbf", 2, false },
	{ "\xe0\x80\x80", 3, false },
	{ "\xe0\x9f\xbf", 3, false },
	{ "\xf0\x80\x80\x80", 4, false },
	{ "\xf0\x8f\xbf\xbf", 4, false },
	{ "\xed\xa0\x80", 3, false },             /* U+D800 */
	{ "\xed\xbf\xbf", 3, false },             /* U+DFFF */
	{ "\xed\xa0\xbd\xed\xb8\x80", 6, false }, /* CESU-8 pair */
	{ "\xf4\x90\x80\x80", 4, false },         /* U+110000 */
	{ "\xf5\x80\x80\x80", 4, false },
	{ "\xf8\x88\x80\x80\x80", 5, false },
	{ "\xfe", 1, false },
	{ "\xff", 1, false },
	{ "\xc2", 1, false }, /* truncated */
	{ "\xe2\x82", 2, false },
	{ "\xf0\x9f\x98", 3, false },
	{ "\xe2\x82\xac", 2, false }, /* the rest lies past n */
	{ "abcdefgh\xf0\x9f\x98\x80", 11, false },
	{ "\xc2\x41", 2, false },
	{ "\xe2\x28\xa1", 3, false },
	{ "\xe2\x82\x28", 3, false },
	{ "\xf0\x9f\x98\x28", 4, false },
	{ "\xf0\x9f\xc0\x80", 4, false },
	{ "abcdefghi\x80", 10, false },
	{ "\xc3\xa9\x80", 3, false },
};

START_TEST(utf8_validation_table)
{
	for (size_t k = 0; k < sizeof(utf8_table) / sizeof(utf8_table[0]);
	     k++) {
		size_t   n = utf8_table[k].n;
		uint8_t *p = malloc(n > 0 ? n : 1);
		memcpy(p, utf8_table[k].s, n);
		ck_assert_msg(sni_utf8_valid(p, n) == utf8_table[k].ok,
		    "entry %zu should be %s", k,
		    utf8_table[k].ok ? "valid" : "invalid");
		free(p);
	}
}
END_TEST

/* The table again, through the encoder (SYN_EINVAL) and decoder (EPROTO). */
START_TEST(utf8_checked_by_codec)
{
	for (size_t k = 0; k < sizeof(utf8_table) / sizeof(utf8_table[0]);
	     k++) {
		size_t    n  = utf8_table[k].n;
		bool      ok = utf8_table[k].ok;
		syn_value v  = syn_strn(utf8_table[k].s, n);
		sni_wbuf  w;
		sni_wbuf_init(&w);
		ck_assert_int_eq(
		    sni_encode_value(&w, &v, SNI_DEFAULT_MAX_DEPTH, 0),
		    ok ? 0 : SYN_EINVAL);
		sni_wbuf_fini(&w);
		/* the same bytes, hand-framed as a str8 */
		uint8_t   buf[64] = { 0xd9, (uint8_t) n };
		syn_value out;
		void     *mem;
		memcpy(buf + 2, utf8_table[k].s, n);
		int rc = decode(buf, n + 2, &lim_default, &out, &mem);
		ck_assert_msg(rc == (ok ? 0 : SYN_EPROTO), "entry %zu: %s", k,
		    syn_errname(rc));
		ck_assert(ok || strstr(sni_detail_get(), "UTF-8") != NULL);
		if (ok) {
			ck_assert(out.len == n &&
			    memcmp(out.as.str, utf8_table[k].s, n) == 0);
			free(mem);
		}
		/* and as bin, any bytes go */
		buf[0] = 0xc4;
		ck_assert_syn_ok(decode(buf, n + 2, &lim_default, &out, &mem));
		free(mem);
	}
}
END_TEST

/* Error values with bad UTF-8 are refused by the encoder as well. */
START_TEST(utf8_checked_in_error_values)
{
	syn_error e1 = { 1, "bad \xff", "" };
	syn_error e2 = { 1, "", "\xed\xa0\x80" };
	syn_value v1 = syn_error_value(&e1), v2 = syn_error_value(&e2);
	sni_wbuf  w;
	sni_wbuf_init(&w);
	ck_assert_int_eq(sni_encode_value(&w, &v1, 8, 0), SYN_EINVAL);
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	ck_assert_int_eq(sni_encode_value(&w, &v2, 8, 0), SYN_EINVAL);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(invalid_values_refused_by_encoder)
{
	syn_value bad[6];
	bad[0]      = syn_str(NULL);
	bad[1]      = syn_strn(NULL, 2);
	bad[2]      = syn_bytes(NULL, 2);
	bad[3]      = syn_list(NULL, 1);
	bad[4]      = syn_map(NULL, 1);
	bad[5]      = syn_nil();
	bad[5].type = 42;
	for (size_t k = 0; k < 6; k++) {
		sni_wbuf w;
		sni_wbuf_init(&w);
		ck_assert_int_eq(
		    sni_encode_value(&w, &bad[k], SNI_DEFAULT_MAX_DEPTH, 0),
		    SYN_EINVAL);
		ck_assert_int_eq(w.err, SYN_EINVAL);
		sni_wbuf_fini(&w);
		/* inside a list too */
		syn_value items[2] = { syn_int(1), bad[k] };
		syn_value l        = syn_list(items, 2);
		sni_wbuf_init(&w);
		ck_assert_int_eq(
		    sni_encode_value(&w, &l, SNI_DEFAULT_MAX_DEPTH, 0),
		    SYN_EINVAL);
		sni_wbuf_fini(&w);
	}
}
END_TEST

START_TEST(pointer_values)
{
	int       x;
	syn_value v = syn_ptr(&x), out;
	sni_wbuf  w;
	void     *mem;
	sni_wbuf_init(&w);
	ck_assert_int_eq(sni_encode_value(&w, &v, 4, 0), SYN_ENOTSUP);
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_encode_value(&w, &v, 4, SNI_ENCODE_PTR));
	ck_assert_uint_eq(w.len, 18); /* fixext16 */
	ck_assert_syn_ok(decode(w.buf, w.len, &lim_ptr, &out, &mem));
	ck_assert(out.type == SYN_TYPE_PTR && out.as.ptr == &x);
	free(mem);
	ck_assert_int_eq(
	    decode(w.buf, w.len, &lim_default, &out, &mem), SYN_EPROTO);
	/* the same pointer under another process's nonce */
	uint8_t forged[18];
	memcpy(forged, w.buf, 18);
	forged[9] ^= 0x01; /* last byte of the nonce */
	ck_assert_int_eq(decode(forged, 18, &lim_ptr, &out, &mem), SYN_EPROTO);
	/* a ptr ext of the wrong length */
	uint8_t short_ptr[] = { 0xd7, SNI_EXT_PTR, 0, 0, 0, 0, 0, 0, 0, 0 };
	ck_assert_int_eq(
	    decode(short_ptr, sizeof(short_ptr), &lim_ptr, &out, &mem),
	    SYN_EPROTO);
	sni_wbuf_fini(&w);
	/* a pointer inside a call's arguments */
	sni_limits nolim = lim_default;
	sni_wbuf_init(&w);
	ck_assert_int_eq(
	    sni_msg_encode_call(&w, 1, NULL, "f", 1, &v, 1, &nolim),
	    SYN_ENOTSUP);
	ck_assert_ptr_nonnull(strstr(sni_detail_get(), "argument 0"));
	sni_wbuf_fini(&w);
}
END_TEST

/* Counts the handles sni_msg_each_handle shows. */
static int
count_handle(void *ctx, syn_handle *h, bool *owned)
{
	(void) h, (void) owned;
	++*(int *) ctx;
	return 0;
}

/*
 * A reply's proxy written with a reference for a reader of this process
 * (SNI_ENCODE_PROXY_REFS) is a PROXY ext: read back as a handle that
 * carries it, and refused wherever a message may come from or go to
 * another process. Without the flag, or in a call, a proxy is a plain
 * handle.
 */
START_TEST(carried_proxies)
{
	/* (the codec reads only the handle a proxy begins with) */
	syn_handle h = { 7, 9 };
	syn_value  v = { .type = SYN_TYPE_PROXY,
		 .as.proxy     = (syn_proxy *) (void *) &h };
	syn_value  out;
	void      *mem;
	sni_wbuf   w;
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_encode_value(&w, &v, 4, SNI_ENCODE_PTR));
	ck_assert_uint_eq(w.buf[1], SNI_EXT_HANDLE);
	w.len = 0;
	ck_assert_syn_ok(sni_encode_value(
	    &w, &v, 4, SNI_ENCODE_PTR | SNI_ENCODE_PROXY_REFS));
	ck_assert_uint_eq(w.len, 18); /* fixext16 */
	ck_assert_uint_eq(w.buf[1], SNI_EXT_PROXY);
	ck_assert_syn_ok(decode(w.buf, w.len, &lim_ptr, &out, &mem));
	ck_assert_int_eq(out.type, SYN_TYPE_HANDLE);
	ck_assert_uint_eq(out.len, SNI_HANDLE_CARRIED);
	ck_assert(out.as.handle->owner == 7 && out.as.handle->object == 9);
	free(mem);
	ck_assert_int_eq(
	    decode(w.buf, w.len, &lim_default, &out, &mem), SYN_EPROTO);
	ck_assert_ptr_nonnull(strstr(sni_detail_get(), "another process"));
	sni_wbuf_fini(&w);
	/* a reply with one: the limits of this process's replies say */
	sni_limits reply = lim_ptr;
	reply.proxy_refs = true;
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_return(&w, 300, &v, &reply));
	int n = 0;
	ck_assert_int_eq(
	    sni_msg_each_handle(w.buf, w.len, 4, count_handle, &n), SYN_EPROTO);
	ck_assert_int_eq(n, 0);
	sni_wbuf_fini(&w);
	/* a call's arguments are borrowed: plain handles */
	sni_wbuf_init(&w);
	ck_assert_syn_ok(
	    sni_msg_encode_call(&w, 300, NULL, "f", 1, &v, 1, &reply));
	ck_assert_syn_ok(
	    sni_msg_each_handle(w.buf, w.len, 4, count_handle, &n));
	ck_assert_int_eq(n, 1);
	sni_wbuf_fini(&w);
}
END_TEST

/* ---- differential: msgpack-c's unpacker agrees with ours -------------- */

static bool obj_matches(const msgpack_object *o, const syn_value *v);

static bool
ext_matches(const msgpack_object *o, const syn_value *v)
{
	const uint8_t *p = (const uint8_t *) o->via.ext.ptr;
	if (v->type == SYN_TYPE_HANDLE && o->via.ext.type == SNI_EXT_HANDLE &&
	    o->via.ext.size == 16) {
		uint64_t owner = 0, object = 0;
		for (int k = 0; k < 8; k++) {
			owner  = owner << 8 | p[k];
			object = object << 8 | p[8 + k];
		}
		return owner == v->as.handle->owner &&
		    object == v->as.handle->object;
	}
	if (v->type != SYN_TYPE_ERROR || o->via.ext.type != SNI_EXT_ERROR) {
		return false;
	}
	/* the body is itself msgpack: [code, message, where] */
	msgpack_unpacked u;
	size_t           off = 0;
	msgpack_unpacked_init(&u);
	bool ok = msgpack_unpack_next(&u, o->via.ext.ptr, o->via.ext.size,
	              &off) == MSGPACK_UNPACK_SUCCESS &&
	    off == o->via.ext.size;
	const msgpack_object *a = &u.data;
	ok = ok && a->type == MSGPACK_OBJECT_ARRAY && a->via.array.size == 3;
	if (ok) {
		const msgpack_object *f = a->via.array.ptr;
		int64_t code = f[0].type == MSGPACK_OBJECT_NEGATIVE_INTEGER
		    ? f[0].via.i64
		    : (int64_t) f[0].via.u64;
		ok           = code == v->as.error->code &&
		    f[1].type == MSGPACK_OBJECT_STR &&
		    f[1].via.str.size == strlen(v->as.error->message) &&
		    memcmp(f[1].via.str.ptr, v->as.error->message,
		        f[1].via.str.size) == 0 &&
		    f[2].type == MSGPACK_OBJECT_STR &&
		    f[2].via.str.size == strlen(v->as.error->where) &&
		    memcmp(f[2].via.str.ptr, v->as.error->where,
		        f[2].via.str.size) == 0;
	}
	msgpack_unpacked_destroy(&u);
	return ok;
}

static bool
blob_matches(const char *p, uint32_t n, const syn_value *v)
{
	return v->len == n && (n == 0 || memcmp(p, v->as.bytes, n) == 0);
}

static bool
obj_matches(const msgpack_object *o, const syn_value *v)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return v->type == SYN_TYPE_NIL;
	case MSGPACK_OBJECT_BOOLEAN:
		return v->type == SYN_TYPE_BOOL && v->as.b == o->via.boolean;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return o->via.u64 > INT64_MAX
		    ? v->type == SYN_TYPE_UINT && v->as.u == o->via.u64
		    : v->type == SYN_TYPE_INT &&
		        v->as.i == (int64_t) o->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return v->type == SYN_TYPE_INT && v->as.i == o->via.i64;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return v->type == SYN_TYPE_DOUBLE &&
		    (v->as.d == o->via.f64 ||
		        (isnan(v->as.d) && isnan(o->via.f64)));
	case MSGPACK_OBJECT_STR:
		return v->type == SYN_TYPE_STR &&
		    blob_matches(o->via.str.ptr, o->via.str.size, v) &&
		    v->as.str[v->len] == '\0';
	case MSGPACK_OBJECT_BIN:
		return v->type == SYN_TYPE_BYTES &&
		    blob_matches(o->via.bin.ptr, o->via.bin.size, v);
	case MSGPACK_OBJECT_ARRAY:
		if (v->type != SYN_TYPE_LIST || v->len != o->via.array.size) {
			return false;
		}
		for (uint32_t k = 0; k < v->len; k++) {
			if (!obj_matches(
			        &o->via.array.ptr[k], &v->as.list[k])) {
				return false;
			}
		}
		return true;
	case MSGPACK_OBJECT_MAP:
		if (v->type != SYN_TYPE_MAP || v->len != o->via.map.size) {
			return false;
		}
		for (uint32_t k = 0; k < v->len; k++) {
			if (!obj_matches(
			        &o->via.map.ptr[k].key, &v->as.map[k].key) ||
			    !obj_matches(
			        &o->via.map.ptr[k].val, &v->as.map[k].value)) {
				return false;
			}
		}
		return true;
	case MSGPACK_OBJECT_EXT:
		return ext_matches(o, v);
	default:
		return false;
	}
}

/*
 * Decodes buf with both decoders. When ours accepts, msgpack-c must accept
 * too and agree on the value. Returns our decoder's code.
 */
static int
differential(const void *buf, size_t len)
{
	syn_value out;
	void     *mem;
	int       rc = decode(buf, len, &lim_default, &out, &mem);
	if (rc != 0) {
		return rc;
	}
	msgpack_unpacked u;
	size_t           off = 0;
	msgpack_unpacked_init(&u);
	msgpack_unpack_return ur =
	    msgpack_unpack_next(&u, (const char *) buf, len, &off);
	ck_assert_msg(ur == MSGPACK_UNPACK_SUCCESS && off == len,
	    "msgpack-c refused what we accepted (%d, %zu/%zu)", (int) ur, off,
	    len);
	char text[128];
	syn_value_format(&out, text, sizeof(text));
	ck_assert_msg(
	    obj_matches(&u.data, &out), "values differ: ours %s", text);
	msgpack_unpacked_destroy(&u);
	free(mem);
	return 0;
}

/* A random value of at most depth levels; storage from pool. */
typedef struct pool {
	syn_value  vals[4096];
	syn_pair   pairs[1024];
	syn_handle handles[256];
	syn_error  errors[256];
	char       text[8192];
	size_t     nv, np, nh, ne, nt;
} pool;

static const char *const words[] = { "", "a", "h\xc3\xa9", "\xe2\x82\xac",
	"\xf0\x9f\x98\x80!", "a much longer string of more than 31 bytes" };

static syn_value
random_value(pool *pl, uint64_t *seed, int depth)
{
	uint64_t x    = rnd(seed);
	int      kind = (int) (x % (depth > 1 ? 12 : 10));
	switch (kind) {
	case 0:
		return syn_nil();
	case 1:
		return syn_bool(x >> 20 & 1);
	case 2: /* a small or medium integer of either sign */
		return syn_int((int64_t) (rnd(seed) >> (x >> 8) % 64) *
		    ((x >> 16) & 1 ? -1 : 1));
	case 3:
		return syn_uint(rnd(seed) >> (x >> 8) % 64);
	case 4:
		return syn_double((double) (int64_t) rnd(seed) / 1024.0);
	case 5:
		return syn_str(words[(x >> 8) % 6]);
	case 6: {
		size_t n = (x >> 8) % 40;
		if (pl->nt + n > sizeof(pl->text)) {
			return syn_nil();
		}
		char *p = pl->text + pl->nt;
		for (size_t k = 0; k < n; k++) {
			p[k] = (char) rnd(seed);
		}
		pl->nt += n;
		return syn_bytes(p, n);
	}
	case 7:
		if (pl->nh == 256) {
			return syn_nil();
		}
		pl->handles[pl->nh] = (syn_handle) { rnd(seed), rnd(seed) };
		return syn_handle_value(&pl->handles[pl->nh++]);
	case 8:
		if (pl->ne == 256) {
			return syn_nil();
		}
		pl->errors[pl->ne] = (syn_error) { (int) (int32_t) rnd(seed),
			words[(x >> 8) % 6], words[(x >> 16) % 6] };
		return syn_error_value(&pl->errors[pl->ne++]);
	case 9:
		return syn_int(INT64_MIN + (int64_t) (x >> 60));
	case 10: {
		size_t n = (x >> 8) % 6;
		if (pl->nv + n > 4096) {
			return syn_nil();
		}
		syn_value *items = pl->vals + pl->nv;
		pl->nv += n;
		for (size_t k = 0; k < n; k++) {
			items[k] = random_value(pl, seed, depth - 1);
		}
		return syn_list(items, n);
	}
	default: {
		size_t n = (x >> 8) % 4;
		if (pl->np + n > 1024) {
			return syn_nil();
		}
		syn_pair *pairs = pl->pairs + pl->np;
		pl->np += n;
		for (size_t k = 0; k < n; k++) {
			pairs[k].key   = random_value(pl, seed, depth - 1);
			pairs[k].value = random_value(pl, seed, depth - 1);
		}
		return syn_map(pairs, n);
	}
	}
}

START_TEST(differential_random_values)
{
	pool    *pl   = calloc(1, sizeof(*pl));
	uint64_t seed = 12345;
	ck_assert_ptr_nonnull(pl);
	for (int it = 0; it < 2000; it++) {
		memset(pl, 0, sizeof(*pl));
		syn_value v = random_value(pl, &seed, 1 + it % 6);
		sni_wbuf  w;
		encode_ok(&w, &v);
		ck_assert_syn_ok(differential(w.buf, w.len));
		/* and again after a mutation: when we accept, they agree */
		uint8_t buf[4096];
		size_t  len = w.len;
		if (len < sizeof(buf) - 8) {
			memcpy(buf, w.buf, len);
			mutate(buf, &len, sizeof(buf), &seed);
			int rc = differential(buf, len);
			ck_assert(rc == 0 || rc == SYN_EPROTO);
		}
		sni_wbuf_fini(&w);
	}
	free(pl);
}
END_TEST

/* msgpack built by msgpack-c's packer, including forms ours never writes. */
START_TEST(differential_msgpack_packer)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 30);
	msgpack_pack_fix_uint8(&pk, 1); /* 0xcc 0x01, not a fixint */
	msgpack_pack_fix_uint16(&pk, 2);
	msgpack_pack_fix_uint32(&pk, 3);
	msgpack_pack_fix_uint64(&pk, 4);
	msgpack_pack_fix_int8(&pk, -5); /* 0xd0 */
	msgpack_pack_fix_int16(&pk, 6); /* a non-negative intN */
	msgpack_pack_fix_int32(&pk, -7);
	msgpack_pack_fix_int64(&pk, INT64_MIN);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_int64(&pk, -4294967296LL);
	msgpack_pack_float(&pk, 0.5f);
	msgpack_pack_double(&pk, -1e-300);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	msgpack_pack_str_with_body(&pk, "abc", 3);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_bin_with_body(&pk, "\0\1\2", 3);
	msgpack_pack_bin_with_body(&pk, "", 0);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_str_with_body(&pk, "k", 1);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_array(&pk, 16); /* array16 */
	for (int k = 0; k < 16; k++) {
		msgpack_pack_int(&pk, k - 8);
	}
	msgpack_pack_map(&pk, 16); /* map16 */
	for (int k = 0; k < 16; k++) {
		msgpack_pack_int(&pk, k);
		msgpack_pack_str_with_body(&pk, "v", 1);
	}
	uint8_t h[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	msgpack_pack_ext_with_body(&pk, h, 16, SNI_EXT_HANDLE);
	uint8_t e[] = { 0x93, 0xd0, 0x85, 0xa1, 'm', 0xa1, 'w' };
	msgpack_pack_ext_with_body(&pk, e, sizeof(e), SNI_EXT_ERROR);
	char big[300];
	memset(big, 'x', sizeof(big));
	msgpack_pack_str_with_body(&pk, big, sizeof(big)); /* str16 */
	msgpack_pack_bin_with_body(&pk, big, 200);         /* bin8 */
	msgpack_pack_str_with_body(&pk, big, 200);         /* str8 */
	msgpack_pack_v4raw(&pk, 2);                        /* old raw = str */
	msgpack_pack_v4raw_body(&pk, "zz", 2);
	msgpack_pack_int(&pk, 100000);
	msgpack_pack_double(&pk, INFINITY);
	ck_assert_syn_ok(differential(sb.data, sb.size));
	/* the value, spot-checked by hand */
	syn_value out;
	void     *mem;
	ck_assert_syn_ok(decode(sb.data, sb.size, &lim_default, &out, &mem));
	ck_assert_uint_eq(out.len, 30);
	ck_assert(
	    out.as.list[3].type == SYN_TYPE_INT && out.as.list[3].as.i == 4);
	ck_assert(
	    out.as.list[5].type == SYN_TYPE_INT && out.as.list[5].as.i == 6);
	ck_assert(out.as.list[10].type == SYN_TYPE_DOUBLE &&
	    out.as.list[10].as.d == 0.5);
	ck_assert(out.as.list[22].type == SYN_TYPE_HANDLE &&
	    out.as.list[22].as.handle->object == 0x090a0b0c0d0e0f00ULL);
	ck_assert(out.as.list[23].type == SYN_TYPE_ERROR &&
	    out.as.list[23].as.error->code == -123);
	free(mem);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* What msgpack-c's packer writes for v (a number). */
static size_t
packed_by_msgpack(const syn_value *v, uint8_t *out)
{
	msgpack_sbuffer sb;
	msgpack_packer  pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (v->type == SYN_TYPE_INT) {
		msgpack_pack_int64(&pk, v->as.i);
	} else if (v->type == SYN_TYPE_UINT) {
		msgpack_pack_uint64(&pk, v->as.u);
	} else {
		msgpack_pack_double(&pk, v->as.d);
	}
	size_t n = sb.size;
	ck_assert_uint_le(n, 9);
	memcpy(out, sb.data, n);
	msgpack_sbuffer_destroy(&sb);
	return n;
}

/* v written in place, through a full buffer, and by msgpack-c: the same
 * bytes. */
static void
check_simple_bytes(const syn_value *v)
{
	uint8_t want[9], got[9];
	size_t  n = packed_by_msgpack(v, want);
	ck_assert_uint_eq(sni_put_simple(got, v), n);
	ck_assert_mem_eq(got, want, n);
	sni_wbuf w; /* with 3 bytes of room: the value goes the slow way */
	sni_wbuf_init(&w);
	size_t at = w.cap - 3;
	w.len     = at;
	ck_assert(sni_encode_simple(&w, v));
	ck_assert_int_eq(w.err, 0);
	ck_assert_uint_eq(w.len, at + n);
	ck_assert_mem_eq(w.buf + at, want, n);
	sni_wbuf_fini(&w);
}

START_TEST(simple_values_as_msgpack_writes_them)
{
	static const int64_t edges[] = { 0, 1, 31, 32, 127, 128, 255, 256,
		65535, 65536, 4294967295LL, 4294967296LL, INT64_MAX, -1, -31,
		-32, -33, -127, -128, -129, -32767, -32768, -32769, INT32_MIN,
		(int64_t) INT32_MIN - 1, INT64_MIN };
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		syn_value v[] = { syn_int(edges[i]),
			syn_uint((uint64_t) edges[i]),
			syn_double((double) edges[i]) };
		for (size_t k = 0; k < 3; k++) {
			check_simple_bytes(&v[k]);
		}
	}
	srand(7);
	for (int i = 0; i < 100000; i++) {
		uint64_t u = ((uint64_t) rand() << 33) ^
		    ((uint64_t) rand() << 2) ^ (uint64_t) rand();
		u >>= rand() % 64; /* every width */
		syn_value v[] = { syn_int((int64_t) ((rand() & 1) ? 0 - u : u)),
			syn_uint(u) };
		check_simple_bytes(&v[0]);
		check_simple_bytes(&v[1]);
	}
	uint8_t   b[9];
	syn_value t = syn_bool(true), f = syn_bool(false), nil = syn_nil();
	ck_assert(sni_put_simple(b, &t) == 1 && b[0] == 0xc3);
	ck_assert(sni_put_simple(b, &f) == 1 && b[0] == 0xc2);
	ck_assert(sni_put_simple(b, &nil) == 1 && b[0] == 0xc0);
	syn_value str = syn_str("x");
	ck_assert_uint_eq(sni_put_simple(b, &str), 0);
}
END_TEST

/* The in-line reader of replies takes exactly the simple RETURNs. */
START_TEST(simple_return_read_in_line)
{
	syn_value values[] = { syn_int(-5), syn_int(1764), syn_uint(UINT64_MAX),
		syn_int(INT64_MIN), syn_bool(true), syn_nil() };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		sni_wbuf  w;
		syn_value got = syn_str("unchanged");
		sni_wbuf_init(&w);
		ck_assert_syn_ok(
		    sni_msg_encode_return(&w, 0, &values[i], &lim_default));
		ck_assert(sni_msg_simple_return(w.buf, w.len, &got));
		ck_assert(syn_value_equal(&got, &values[i]));
		for (size_t n = 0; n < w.len; n++) { /* every prefix: no */
			ck_assert(!sni_msg_simple_return(w.buf, n, &got));
		}
		w.buf[w.len++] = 0xc0; /* something after the value: no */
		ck_assert(!sni_msg_simple_return(w.buf, w.len, &got));
		sni_wbuf_fini(&w);
		/* a call id above 127 goes the general way */
		sni_wbuf_init(&w);
		ck_assert_syn_ok(
		    sni_msg_encode_return(&w, 300, &values[i], &lim_default));
		ck_assert(!sni_msg_simple_return(w.buf, w.len, &got));
		sni_wbuf_fini(&w);
	}
	/* not simple, not a RETURN: no, and *value untouched */
	syn_value got = syn_int(42), d = syn_double(0.5), s = syn_str("s");
	uint8_t   r[SNI_SIMPLE_RETURN_MAX];
	ck_assert_uint_eq(sni_msg_put_simple_return(r, 0, &s), 0);
	sni_wbuf w;
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_return(&w, 0, &s, &lim_default));
	ck_assert(!sni_msg_simple_return(w.buf, w.len, &got));
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_raw(&w, 0, &d, &lim_default));
	ck_assert(!sni_msg_simple_return(w.buf, w.len, &got));
	sni_wbuf_fini(&w);
	sni_wbuf_init(&w);
	sni_msg_encode_error(&w, 0, SYN_EUSER(1), "m", "w");
	ck_assert(!sni_msg_simple_return(w.buf, w.len, &got));
	sni_wbuf_fini(&w);
	ck_assert(got.type == SYN_TYPE_INT && got.as.i == 42);
}
END_TEST

/* A RETURN of v for call_id, by the general encoder (no room in place). */
static size_t
general_return(uint64_t call_id, const syn_value *v, uint8_t *out)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	size_t at = w.cap - 3;
	w.len     = at;
	ck_assert_syn_ok(sni_msg_encode_return(&w, call_id, v, &lim_default));
	ck_assert_int_eq(w.err, 0);
	size_t n = w.len - at;
	ck_assert_uint_le(n, 64);
	memcpy(out, w.buf + at, n);
	sni_wbuf_fini(&w);
	return n;
}

/* The actor's bufferless RETURN writes what the general encoder writes,
 * and only for simple values and small call ids. */
START_TEST(simple_return_written_as_encoder_writes_it)
{
	syn_value values[] = { syn_int(0), syn_int(-5), syn_int(1764),
		syn_int(INT64_MIN), syn_int(INT64_MAX), syn_uint(UINT64_MAX),
		syn_double(0.5), syn_double(-1e300), syn_bool(true),
		syn_bool(false), syn_nil() };
	uint64_t  ids[]    = { 0, 1, 100, 127 };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
			uint8_t want[64], got[SNI_SIMPLE_RETURN_MAX];
			size_t  n = general_return(ids[k], &values[i], want);
			ck_assert_uint_eq(
			    sni_msg_put_simple_return(got, ids[k], &values[i]),
			    n);
			ck_assert_mem_eq(got, want, n);
		}
		uint8_t got[SNI_SIMPLE_RETURN_MAX];
		ck_assert_uint_eq(
		    sni_msg_put_simple_return(got, 128, &values[i]), 0);
	}
	syn_value other[] = { syn_str("s"), syn_bytes("b", 1) };
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		uint8_t got[SNI_SIMPLE_RETURN_MAX];
		ck_assert_uint_eq(
		    sni_msg_put_simple_return(got, 0, &other[i]), 0);
	}
}
END_TEST

/* ---- messages --------------------------------------------------------- */

/* Fills the arguments of a decoded call the way core/task.c does. */
static syn_value *
place_args(const sni_call_view *v, void **memp)
{
	uint8_t   *mem = malloc(v->args_need > 0 ? v->args_need : 1);
	sni_bump   b   = { mem, mem + v->args_need };
	syn_value *out = (syn_value *) b.p;
	ck_assert_ptr_nonnull(mem);
	b.p += sni_bump_round((size_t) v->nargs * sizeof(syn_value));
	sni_reader r = v->args;
	sni_fill_array(&r, &b, out);
	ck_assert_msg(b.p == b.end, "args used %td of %zu bytes", b.p - mem,
	    v->args_need);
	*memp = mem;
	return out;
}

START_TEST(call_round_trip)
{
	rich       r;
	syn_handle target = { 0xaabb, 0xccdd };
	rich_init(&r);
	for (int with_target = 0; with_target < 2; with_target++) {
		for (size_t nargs = 0; nargs <= 9; nargs += 3) {
			sni_wbuf      w;
			sni_call_view v;
			void         *mem;
			sni_wbuf_init(&w);
			ck_assert_syn_ok(sni_msg_encode_call(&w,
			    0x1122334455667788ULL, with_target ? &target : NULL,
			    "m\xc3\xa9thod", 7, r.items, nargs, &lim_default));
			ck_assert_int_eq(
			    sni_msg_kind(w.buf, w.len), SNI_MSG_CALL);
			ck_assert_syn_ok(sni_msg_decode_call(
			    w.buf, w.len, &lim_default, &v));
			ck_assert(v.call_id == 0x1122334455667788ULL);
			ck_assert_int_eq(v.has_target, with_target);
			if (with_target) {
				ck_assert(v.target.owner == 0xaabb &&
				    v.target.object == 0xccdd);
			}
			ck_assert_uint_eq(v.method_len, 7);
			ck_assert(memcmp(v.method, "m\xc3\xa9thod", 7) == 0);
			ck_assert_uint_eq(v.nargs, nargs);
			syn_value *args = place_args(&v, &mem);
			for (size_t k = 0; k < nargs; k++) {
				ck_assert_msg(
				    syn_value_equal(&args[k], &r.items[k]),
				    "argument %zu", k);
			}
			free(mem);
			sni_wbuf_fini(&w);
		}
	}
}
END_TEST

/* A CALL by the general encoder, into out (cap bytes): its length. */
static size_t
general_call(const syn_handle *target, const char *name, const syn_value *args,
    size_t nargs, uint8_t *out, size_t cap)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	size_t at = w.cap - 3; /* no room in place: the general path */
	w.len     = at;
	ck_assert_syn_ok(sni_msg_encode_call(
	    &w, 0, target, name, strlen(name), args, nargs, &lim_default));
	ck_assert_int_eq(w.err, 0);
	size_t n = w.len - at;
	ck_assert_uint_le(n, cap);
	memcpy(out, w.buf + at, n);
	sni_wbuf_fini(&w);
	return n;
}

/* The caller's bufferless CALL writes what the general encoder writes,
 * and only for the calls it is made for. */
START_TEST(simple_call_written_as_encoder_writes_it)
{
	syn_value args[] = { syn_int(-1), syn_uint(UINT64_MAX), syn_double(2.5),
		syn_bool(true), syn_nil() };
	const char *names[] = { "f", "add1", "m\xc3\xa9thod",
		"abcdefghijklmnopqrstuvwxyz01234" /* 31 */ };
	syn_handle  handle  = { 0x0102030405060708ULL, 0x8877665544332211ULL };
	for (int with_target = 0; with_target < 2; with_target++) {
		const syn_handle *target = with_target ? &handle : NULL;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *name = names[i];
			size_t      len  = strlen(name);
			for (size_t k = 0; k <= SNI_CALL_SIMPLE_MAX; k++) {
				const syn_value *a = &args[k % 2];
				uint8_t          want[128], got[128];
				size_t           n =
				    general_call(target, name, a, k, want, 128);
				ck_assert_uint_eq(
				    sni_msg_put_simple_call(got, sizeof(got),
				        target, name, len, a, k),
				    n);
				ck_assert_mem_eq(got, want, n);
				/* it needs room for 9 bytes an argument */
				size_t worst = SNI_HDR_LEN + 3 +
				    (with_target ? 18 : 1) + len + 9 * k;
				ck_assert_uint_eq(
				    sni_msg_put_simple_call(
				        got, worst, target, name, len, a, k),
				    n);
				ck_assert_uint_eq(
				    sni_msg_put_simple_call(got, worst - 1,
				        target, name, len, a, k),
				    0);
			}
		}
	}
	uint8_t   out[256];
	syn_value str = syn_str("s");
	/* what it leaves to the general path */
	ck_assert_uint_eq(sni_msg_put_simple_call(out, sizeof(out), NULL,
	                      "abcdefghijklmnopqrstuvwxyz012345", 32, args, 1),
	    0);
	ck_assert_uint_eq(
	    sni_msg_put_simple_call(out, sizeof(out), NULL, "", 0, args, 1), 0);
	ck_assert_uint_eq(
	    sni_msg_put_simple_call(out, sizeof(out), NULL, "\xff", 1, args, 1),
	    0);
	ck_assert_uint_eq(sni_msg_put_simple_call(out, sizeof(out), NULL, "f",
	                      1, args, SNI_CALL_SIMPLE_MAX + 1),
	    0);
	ck_assert_uint_eq(
	    sni_msg_put_simple_call(out, sizeof(out), NULL, "f", 1, &str, 1),
	    0);
	ck_assert_uint_eq(
	    sni_msg_put_simple_call(out, sizeof(out), NULL, "f", 1, NULL, 1),
	    0);
	ck_assert_uint_eq(
	    sni_msg_put_simple_call(out, 8, NULL, "f", 1, args, 1), 0);
}
END_TEST

/* A NEXT read by both readers: they agree, or the in-line one leaves it. */
static void
check_next_readers(const uint8_t *b, size_t len, bool simple)
{
	uint64_t  id1 = 9, st1 = 9, id2 = 0, st2 = 0;
	syn_value v1 = syn_str("unread"), v2;
	void     *mem;
	bool got = sni_msg_simple_next(b, len, &lim_default, &id1, &st1, &v1);
	ck_assert_int_eq(got, simple);
	if (!got) { /* nothing read */
		ck_assert(id1 == 9 && st1 == 9 && v1.type == SYN_TYPE_STR);
		return;
	}
	ck_assert_syn_ok(
	    sni_msg_decode_next(b, len, &lim_default, &id2, &st2, &v2, &mem));
	ck_assert(id1 == id2 && st1 == st2 && syn_value_equal(&v1, &v2));
	free(mem);
}

/* The NEXT of a lock-step consumer, written and read in line: the same
 * bytes as the general encoder, the same values as the general reader,
 * and nothing else taken. */
START_TEST(simple_next_in_line)
{
	syn_value values[]  = { syn_nil(), syn_int(0), syn_int(-7),
		 syn_int(INT64_MIN), syn_uint(UINT64_MAX), syn_bool(true),
		 syn_bool(false) };
	uint64_t  streams[] = { 2, 127, 128, 65536, 0x1234567890ULL,
		 UINT64_MAX };
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		for (size_t k = 0; k < sizeof(streams) / sizeof(streams[0]);
		     k++) {
			sni_wbuf w;
			uint8_t  got[SNI_SIMPLE_NEXT_MAX];
			sni_wbuf_init(&w);
			ck_assert_syn_ok(sni_msg_encode_next(
			    &w, 0, streams[k], &values[i], &lim_default));
			size_t n = sni_msg_put_simple_next(
			    got, streams[k], &values[i]);
			ck_assert_uint_eq(n, w.len);
			ck_assert_mem_eq(got, w.buf, n);
			check_next_readers(w.buf, w.len, true);
			for (size_t p = 0; p < w.len; p++) { /* prefixes */
				check_next_readers(w.buf, p, false);
			}
			w.buf[w.len++] = 0xc0; /* trailing bytes */
			check_next_readers(w.buf, w.len, false);
			sni_wbuf_fini(&w);
		}
	}
	uint8_t   got[SNI_SIMPLE_NEXT_MAX];
	syn_value str = syn_str("s"), d = syn_double(0.5);
	ck_assert_uint_eq(sni_msg_put_simple_next(got, 2, &str), 0);
	/* what the in-line reader leaves to the general one */
	static const uint8_t other[][8] = {
		{ SNI_MAGIC, SNI_VERSION, SNI_MSG_NEXT, 0xcc, 0x80, 0x02,
		    0xc0 },
		{ SNI_MAGIC, SNI_VERSION, SNI_MSG_NEXT, 0x00, 0x01, 0xc0 },
		{ SNI_MAGIC, SNI_VERSION, SNI_MSG_NEXT, 0x00, 0xff, 0xc0 },
		{ SNI_MAGIC, SNI_VERSION, SNI_MSG_NEXT, 0x00, 0xc0, 0xc0 },
		{ SNI_MAGIC, SNI_VERSION, SNI_MSG_NEXT, 0x00, 0x02, 0xa1, 's' },
		{ SNI_MAGIC, SNI_VERSION, SNI_MSG_CLOSE, 0x00, 0x02, 0xc0 },
		{ SNI_MAGIC, SNI_VERSION + 1, SNI_MSG_NEXT, 0x00, 0x02, 0xc0 },
	};
	static const size_t other_len[] = { 7, 6, 6, 6, 8, 6, 6 };
	for (size_t i = 0; i < sizeof(other_len) / sizeof(other_len[0]); i++) {
		check_next_readers(other[i], other_len[i], false);
	}
	/* a stream id written as a signed integer is still an id */
	static const uint8_t int_stream[] = { SNI_MAGIC, SNI_VERSION,
		SNI_MSG_NEXT, 0x05, 0xd1, 0x01, 0x00, 0x2a };
	check_next_readers(int_stream, sizeof(int_stream), true);
	/* a double goes the general way; so does a NEXT over the limit */
	sni_wbuf  w;
	uint64_t  id, st;
	syn_value v;
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_next(&w, 0, 2, &d, &lim_default));
	check_next_readers(w.buf, w.len, false);
	sni_wbuf_fini(&w);
	sni_limits tiny = lim_default;
	tiny.max_size   = sizeof(int_stream) - 1;
	ck_assert(!sni_msg_simple_next(
	    int_stream, sizeof(int_stream), &tiny, &id, &st, &v));
}
END_TEST

/* A CALL whose args [1] end at base bytes, followed by the bytes tail,
 * decoded: the return code. */
static int
decode_call_with(const uint8_t *tail, size_t n, const sni_limits *lim)
{
	sni_wbuf      w;
	sni_call_view v;
	syn_value     one = syn_int(1);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(
	    sni_msg_encode_call(&w, 9, NULL, "f", 1, &one, 1, &lim_default));
	sni_wbuf_put(&w, tail, n);
	int rc = sni_msg_decode_call(w.buf, w.len, lim, &v);
	sni_wbuf_fini(&w);
	return rc;
}

/* A call context built by sni_context_with travels after a CALL's and an
 * OPEN's last field: decoded as it was written, found by key; a cut in it
 * is refused, and so is each malformed context. */
START_TEST(context_round_trip)
{
	sni_wbuf  cx, w;
	uint32_t  count;
	syn_value one = syn_int(1), x = syn_str("x");
	sni_wbuf_init(&cx);
	ck_assert_syn_ok(sni_context_with(&cx, NULL, 0, "a", 1, &one, &count));
	ck_assert_uint_eq(count, 1);
	sni_wbuf two;
	sni_wbuf_init(&two);
	ck_assert_syn_ok(
	    sni_context_with(&two, cx.buf, cx.len, "b", 1, &x, &count));
	ck_assert_uint_eq(count, 2);
	sni_wbuf_fini(&cx);

	const uint8_t *vp;
	size_t         vlen;
	ck_assert_syn_ok(
	    sni_context_find(two.buf, two.len, "b", 1, &vp, &vlen));
	ck_assert(vlen == 2 && vp[0] == 0xa1 && vp[1] == 'x');
	ck_assert_syn_rc(
	    sni_context_find(two.buf, two.len, "c", 1, &vp, &vlen), SYN_ENOENT);
	ck_assert_syn_rc(
	    sni_context_find(NULL, 0, "b", 1, &vp, &vlen), SYN_ENOENT);

	/* (replacing a key keeps the count; removing the last writes none) */
	sni_wbuf again;
	sni_wbuf_init(&again);
	ck_assert_syn_ok(
	    sni_context_with(&again, two.buf, two.len, "a", 1, &x, &count));
	ck_assert_uint_eq(count, 2);
	sni_wbuf_fini(&again);
	sni_wbuf_init(&again);
	ck_assert_syn_ok(
	    sni_context_with(&again, NULL, 0, "a", 1, NULL, &count));
	ck_assert(count == 0 && again.len == 0);
	sni_wbuf_fini(&again);

	for (int open = 0; open < 2; open++) {
		sni_call_view v;
		uint64_t      st;
		uint32_t      win;
		sni_wbuf_init(&w);
		if (open) {
			ck_assert_syn_ok(sni_msg_encode_open(&w, 3, NULL, "gen",
			    3, &one, 1, &lim_default, 40, 2));
		} else {
			ck_assert_syn_ok(sni_msg_encode_call(
			    &w, 3, NULL, "fn", 2, &one, 1, &lim_default));
		}
		size_t base = w.len;
		ck_assert_syn_ok(
		    sni_msg_add_context(&w, two.buf, two.len, &lim_default));
		for (size_t p = SNI_HDR_LEN; p <= w.len; p++) {
			int rc = open
			    ? sni_msg_decode_open(
			          w.buf, p, &lim_default, &v, &st, &win)
			    : sni_msg_decode_call(w.buf, p, &lim_default, &v);
			if (p == base || p == w.len) {
				ck_assert_syn_ok(rc);
				ck_assert_uint_eq(
				    v.context_len, p == base ? 0 : two.len);
			} else {
				ck_assert_int_ne(rc, 0);
			}
		}
		ck_assert(memcmp(v.context, two.buf, two.len) == 0);
		int kind;
		ck_assert_syn_ok(
		    sni_msg_check(w.buf, w.len, &lim_default, &kind));
		sni_wbuf_fini(&w);
	}
	sni_wbuf_fini(&two);

	/* (each malformed context) */
	static const uint8_t empty_map[] = { 0x80 };
	static const uint8_t not_map[]   = { 0x91, 0x01 };
	static const uint8_t int_key[]   = { 0x81, 0x01, 0x02 };
	static const uint8_t empty_key[] = { 0x81, 0xa0, 0x02 };
	static const uint8_t bad_utf8[]  = { 0x81, 0xa1, 0xff, 0x02 };
	static const uint8_t trailing[]  = { 0x81, 0xa1, 'k', 0x02, 0xc0 };
	static const uint8_t twice[]     = { 0x82, 0xa1, 'k', 0x01, 0xa1, 'k',
		    0x02 };
	static const uint8_t too_many[]  = { 0xde, 0x00,
		 SYN_CONTEXT_KEYS_MAX + 1 };
	static const uint8_t handle[] = { 0x81, 0xa1, 'k', 0xd8, SNI_EXT_HANDLE,
		0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2 };
	const struct {
		const uint8_t *p;
		size_t         n;
	} bad[] = { { empty_map, sizeof(empty_map) },
		{ not_map, sizeof(not_map) }, { int_key, sizeof(int_key) },
		{ empty_key, sizeof(empty_key) },
		{ bad_utf8, sizeof(bad_utf8) }, { trailing, sizeof(trailing) },
		{ handle, sizeof(handle) }, { twice, sizeof(twice) },
		{ too_many, sizeof(too_many) } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_syn_rc(
		    decode_call_with(bad[i].p, bad[i].n, &lim_default),
		    SYN_EPROTO);
	}
	/* (a pointer, even where the message may carry pointers) */
	int       here;
	syn_value ptr = syn_ptr(&here);
	sni_wbuf_init(&w);
	sni_mp_map(&w, 1);
	sni_encode_str(&w, "p", 1);
	ck_assert_syn_ok(sni_encode_value(&w, &ptr, 4, SNI_ENCODE_PTR));
	ck_assert_syn_rc(decode_call_with(w.buf, w.len, &lim_ptr), SYN_EPROTO);
	sni_wbuf_fini(&w);
	/* (a key of 256 bytes) */
	char long_key[SYN_CONTEXT_KEY_MAX + 1];
	memset(long_key, 'k', sizeof(long_key));
	sni_wbuf_init(&w);
	sni_mp_map(&w, 1);
	sni_encode_str(&w, long_key, sizeof(long_key));
	sni_encode_nil(&w);
	ck_assert_syn_rc(
	    decode_call_with(w.buf, w.len, &lim_default), SYN_EPROTO);
	sni_wbuf_fini(&w);
	/* (larger than SYN_CONTEXT_MAX) */
	static uint8_t big[SYN_CONTEXT_MAX];
	syn_value      bv = syn_bytes(big, sizeof(big));
	sni_wbuf_init(&w);
	sni_mp_map(&w, 1);
	sni_encode_str(&w, "b", 1);
	ck_assert_syn_ok(sni_encode_value(&w, &bv, 4, 0));
	ck_assert_syn_rc(
	    decode_call_with(w.buf, w.len, &lim_default), SYN_EMSGSIZE);
	sni_wbuf_fini(&w);
	/* (as deep as the limit allows: the map is a level of its own) */
	syn_value deep[SNI_DEFAULT_MAX_DEPTH + 1];
	deep[0] = syn_int(0);
	for (int i = 1; i <= (int) SNI_DEFAULT_MAX_DEPTH; i++) {
		deep[i] = syn_list(&deep[i - 1], 1);
	}
	for (uint32_t d = SNI_DEFAULT_MAX_DEPTH - 2;
	     d <= SNI_DEFAULT_MAX_DEPTH - 1; d++) {
		sni_wbuf_init(&w);
		sni_mp_map(&w, 1);
		sni_encode_str(&w, "d", 1);
		ck_assert_syn_ok(
		    sni_encode_value(&w, &deep[d], SNI_MAX_DEPTH, 0));
		ck_assert_syn_rc(decode_call_with(w.buf, w.len, &lim_default),
		    d == SNI_DEFAULT_MAX_DEPTH - 2 ? 0 : SYN_EPROTO);
		sni_wbuf_fini(&w);
	}
}
END_TEST

/* A THROW: written and read back (as a NEXT whose sent value is the
 * error); every prefix refused; one holding no error, or code 0, refused;
 * the in-line NEXT reader leaves it alone. */
START_TEST(throw_round_trip)
{
	sni_wbuf  w;
	uint64_t  id, st;
	syn_value v;
	void     *mem;
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_throw(
	    &w, 5, 77, SYN_EUSER(3), "thrown", "here", &lim_default));
	ck_assert_int_eq(sni_msg_kind(w.buf, w.len), SNI_MSG_THROW);
	ck_assert(
	    !sni_msg_simple_next(w.buf, w.len, &lim_default, &id, &st, &v));
	ck_assert_syn_ok(sni_msg_decode_next(
	    w.buf, w.len, &lim_default, &id, &st, &v, &mem));
	ck_assert(id == 5 && st == 77 && v.type == SYN_TYPE_ERROR);
	ck_assert_int_eq(v.as.error->code, SYN_EUSER(3));
	ck_assert_str_eq(v.as.error->message, "thrown");
	ck_assert_str_eq(v.as.error->where, "here");
	free(mem);
	int kind;
	ck_assert_syn_ok(sni_msg_check(w.buf, w.len, &lim_default, &kind));
	ck_assert_int_eq(kind, SNI_MSG_THROW);
	for (size_t p = 0; p < w.len; p++) {
		ck_assert_int_ne(sni_msg_decode_next(w.buf, p, &lim_default,
		                     &id, &st, &v, &mem),
		    0);
	}
	sni_wbuf_fini(&w);
	static const uint8_t no_error[] = { SNI_MAGIC, SNI_VERSION,
		SNI_MSG_THROW, 0x00, 0x02, 0x05 };
	ck_assert_syn_rc(sni_msg_decode_next(no_error, sizeof(no_error),
	                     &lim_default, &id, &st, &v, &mem),
	    SYN_EPROTO);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(
	    sni_msg_encode_throw(&w, 5, 77, 0, "none", NULL, &lim_default));
	ck_assert_syn_rc(
	    sni_msg_decode_next(w.buf, w.len, &lim_default, &id, &st, &v, &mem),
	    SYN_EPROTO);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(reply_round_trip)
{
	rich             r;
	sni_wbuf         w;
	uint64_t         id;
	int              code;
	syn_value        val;
	const syn_error *err;
	void            *mem;
	rich_init(&r);
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_return(&w, 99, &r.top, &lim_default));
	ck_assert_int_eq(sni_msg_kind(w.buf, w.len), SNI_MSG_RETURN);
	ck_assert_syn_ok(sni_msg_decode_reply(
	    w.buf, w.len, &lim_default, &id, &code, &val, &err, &mem));
	ck_assert(id == 99 && code == 0 && err == NULL);
	ck_assert(syn_value_equal(&val, &r.top));
	free(mem);
	sni_wbuf_fini(&w);
	/* a RETURN of nil needs no memory */
	syn_value nil = syn_nil();
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_return(&w, 0, &nil, &lim_default));
	ck_assert_syn_ok(sni_msg_decode_reply(
	    w.buf, w.len, &lim_default, &id, &code, &val, &err, &mem));
	ck_assert(id == 0 && val.type == SYN_TYPE_NIL && mem == NULL);
	sni_wbuf_fini(&w);
	/* ERROR */
	sni_wbuf_init(&w);
	sni_msg_encode_error(
	    &w, UINT64_MAX, SYN_EUSER(9), "oops \xc3\xa9", "inner <- outer");
	ck_assert_int_eq(sni_msg_kind(w.buf, w.len), SNI_MSG_ERROR);
	ck_assert_syn_ok(sni_msg_decode_reply(
	    w.buf, w.len, &lim_default, &id, &code, &val, &err, &mem));
	ck_assert(id == UINT64_MAX && code == SYN_EUSER(9));
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, SYN_EUSER(9));
	ck_assert_str_eq(err->message, "oops \xc3\xa9");
	ck_assert_str_eq(err->where, "inner <- outer");
	free(mem);
	sni_wbuf_fini(&w);
	/* NULL strings are sent as "" */
	sni_wbuf_init(&w);
	sni_msg_encode_error(&w, 1, SYN_ECLOSED, NULL, NULL);
	ck_assert_syn_ok(sni_msg_decode_reply(
	    w.buf, w.len, &lim_default, &id, &code, &val, &err, &mem));
	ck_assert(code == SYN_ECLOSED && err->message[0] == '\0' &&
	    err->where[0] == '\0');
	free(mem);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(error_reply_needs_an_error)
{
	sni_wbuf         w;
	uint64_t         id;
	int              code;
	syn_value        val;
	const syn_error *err;
	void            *mem = (void *) 1;
	/* code 0 is no error */
	sni_wbuf_init(&w);
	sni_msg_encode_error(&w, 1, 0, "m", "w");
	ck_assert_int_eq(sni_msg_decode_reply(w.buf, w.len, &lim_default, &id,
	                     &code, &val, &err, &mem),
	    SYN_EPROTO);
	ck_assert_ptr_null(mem);
	sni_wbuf_fini(&w);
	/* an ERROR message holding an int */
	static const uint8_t not_err[] = { SNI_MAGIC, SNI_VERSION,
		SNI_MSG_ERROR, 0x01, 0x05 };
	ck_assert_int_eq(sni_msg_decode_reply(not_err, sizeof(not_err),
	                     &lim_default, &id, &code, &val, &err, &mem),
	    SYN_EPROTO);
	ck_assert_ptr_null(mem);
	/* the call id must be an unsigned integer */
	static const uint8_t neg_id[] = { SNI_MAGIC, SNI_VERSION,
		SNI_MSG_RETURN, 0xff, 0xc0 };
	ck_assert_int_eq(sni_msg_decode_reply(neg_id, sizeof(neg_id),
	                     &lim_default, &id, &code, &val, &err, &mem),
	    SYN_EPROTO);
}
END_TEST

/*
 * An ERROR message must always reach the caller: strings that are not
 * UTF-8 (a path cut inside a character, a message made of raw bytes) are
 * cut before the first bad byte rather than making the reply unreadable.
 */
START_TEST(error_reply_repairs_utf8)
{
	sni_wbuf         w;
	uint64_t         id;
	int              code;
	syn_value        val;
	const syn_error *err;
	void            *mem;
	sni_wbuf_init(&w);
	sni_msg_encode_error(
	    &w, 5, SYN_EUSER(2), "bad \xff bytes", "f\xc3\xa9 <- g\xe2\x82");
	ck_assert_syn_ok(sni_msg_decode_reply(
	    w.buf, w.len, &lim_default, &id, &code, &val, &err, &mem));
	ck_assert(id == 5 && code == SYN_EUSER(2));
	ck_assert_str_eq(err->message, "bad ");
	ck_assert_str_eq(err->where, "f\xc3\xa9 <- g");
	free(mem);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(bad_headers_rejected)
{
	sni_wbuf w[3];
	for (int k = 0; k < 3; k++) {
		sni_wbuf_init(&w[k]);
	}
	syn_value one = syn_int(1);
	ck_assert_syn_ok(
	    sni_msg_encode_call(&w[0], 1, NULL, "f", 1, &one, 1, &lim_default));
	ck_assert_syn_ok(sni_msg_encode_return(&w[1], 1, &one, &lim_default));
	sni_msg_encode_error(&w[2], 1, SYN_EUSER(1), "m", "w");
	for (int k = 0; k < 3; k++) {
		uint8_t buf[64];
		size_t  len = w[k].len;
		memcpy(buf, w[k].buf, len);
		ck_assert_syn_ok(decode_msg(buf, len));
		/* magic, version */
		for (int at = 0; at < 2; at++) {
			uint8_t keep = buf[at];
			buf[at] ^= 0x02;
			ck_assert_int_lt(sni_msg_kind(buf, len), 0);
			ck_assert_int_eq(decode_msg(buf, len), SYN_EPROTO);
			buf[at] = keep;
		}
		/* a kind no message has */
		for (int kind = 0; kind < 256; kind += 4) {
			if (kind >= SNI_MSG_CALL && kind <= SNI_MSG_ERROR) {
				continue;
			}
			buf[2] = (uint8_t) kind;
			ck_assert_int_eq(decode_msg(buf, len), SYN_EPROTO);
		}
		buf[2] = w[k].buf[2];
		/* a reply decoded as a call, a call decoded as a reply */
		sni_call_view    v;
		uint64_t         id;
		int              code;
		syn_value        val;
		const syn_error *err;
		void            *mem;
		if (k == 0) {
			ck_assert_int_eq(
			    sni_msg_decode_reply(buf, len, &lim_default, &id,
			        &code, &val, &err, &mem),
			    SYN_EPROTO);
		} else {
			ck_assert_int_eq(
			    sni_msg_decode_call(buf, len, &lim_default, &v),
			    SYN_EPROTO);
		}
		sni_wbuf_fini(&w[k]);
	}
}
END_TEST

/* CANCEL round trip; sni_msg_check over every kind, every prefix, and
 * handles when they are denied; sni_msg_call_id. */
START_TEST(cancel_and_whole_message_checks)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	sni_msg_encode_cancel(&w, 0x80000005u, 0x80000002u);
	uint64_t id, target;
	ck_assert_syn_ok(
	    sni_msg_decode_cancel(w.buf, w.len, &lim_default, &id, &target));
	ck_assert_uint_eq(id, 0x80000005u);
	ck_assert_uint_eq(target, 0x80000002u);
	int kind;
	ck_assert_syn_ok(sni_msg_check(w.buf, w.len, &lim_default, &kind));
	ck_assert_int_eq(kind, SNI_MSG_CANCEL);
	ck_assert_syn_ok(sni_msg_call_id(w.buf, w.len, &id));
	ck_assert_uint_eq(id, 0x80000005u);
	for (size_t len = 0; len < w.len; len++) {
		if (len < 3 || (len > 3 && len < 3 + 5)) { /* cut inside */
			ck_assert_int_ne(
			    sni_msg_check(w.buf, len, &lim_default, &kind), 0);
		}
		ck_assert_int_ne(sni_msg_decode_cancel(
		                     w.buf, len, &lim_default, &id, &target),
		    0);
	}
	sni_wbuf_fini(&w);

	/* a handle in a call: fine, unless handles are denied */
	syn_handle h   = { 3, 9 };
	syn_value  arg = { .type = SYN_TYPE_HANDLE, .as.handle = &h };
	sni_wbuf_init(&w);
	ck_assert_syn_ok(sni_msg_encode_call(
	    &w, 0x80000009u, NULL, "f", 1, &arg, 1, &lim_default));
	ck_assert_syn_ok(sni_msg_check(w.buf, w.len, &lim_default, &kind));
	ck_assert_int_eq(kind, SNI_MSG_CALL);
	sni_limits deny   = lim_default;
	deny.deny_handles = true;
	ck_assert_int_eq(sni_msg_check(w.buf, w.len, &deny, &kind), SYN_EPROTO);
	ck_assert_syn_ok(sni_msg_call_id(w.buf, w.len, &id));
	ck_assert_uint_eq(id, 0x80000009u);
	sni_limits small = lim_default;
	small.max_size   = w.len - 1;
	ck_assert_int_eq(
	    sni_msg_check(w.buf, w.len, &small, &kind), SYN_EMSGSIZE);
	uint8_t bad[64];
	memcpy(bad, w.buf, w.len);
	bad[2] = 99; /* no such kind */
	ck_assert_int_eq(
	    sni_msg_check(bad, w.len, &lim_default, &kind), SYN_EPROTO);
	ck_assert_int_eq(sni_msg_call_id(bad, 2, &id), SYN_EPROTO);
	sni_wbuf_fini(&w);
}
END_TEST

START_TEST(method_names_checked)
{
	char      name[300];
	syn_value one = syn_int(1);
	memset(name, 'n', sizeof(name));
	const struct {
		const char *name;
		size_t      len;
		int         rc;
	} cases[] = {
		{ name, 0, SYN_EINVAL },
		{ NULL, 3, SYN_EINVAL },
		{ name, 1, 0 },
		{ name, SNI_METHOD_MAX, 0 },
		{ name, SNI_METHOD_MAX + 1, SYN_EINVAL },
		{ "\xff", 1, SYN_EINVAL },
		{ "\xc3", 1, SYN_EINVAL },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		sni_wbuf w;
		sni_wbuf_init(&w);
		int rc = sni_msg_encode_call(&w, 1, NULL, cases[k].name,
		    cases[k].len, &one, 1, &lim_default);
		ck_assert_msg(
		    rc == cases[k].rc, "case %zu: %s", k, syn_errname(rc));
		if (rc == 0) {
			sni_call_view v;
			ck_assert_syn_ok(sni_msg_decode_call(
			    w.buf, w.len, &lim_default, &v));
			ck_assert_uint_eq(v.method_len, cases[k].len);
		}
		sni_wbuf_fini(&w);
	}
	/* hand-built calls with names of 0 and 256 bytes are refused */
	uint8_t body[300] = { SNI_MAGIC, SNI_VERSION, SNI_MSG_CALL, 0x01,
		0xc0 };
	body[5]           = 0xa0; /* "" */
	body[6]           = 0x90; /* [] */
	sni_call_view v;
	ck_assert_int_eq(
	    sni_msg_decode_call(body, 7, &lim_default, &v), SYN_EPROTO);
	body[5] = 0xd9;
	body[6] = 0xff; /* str8 of 255 */
	memset(body + 7, 'n', 255);
	body[7 + 255] = 0x90;
	ck_assert_syn_ok(sni_msg_decode_call(body, 7 + 256, &lim_default, &v));
	body[5] = 0xda; /* str16 of 256 */
	body[6] = 0x01;
	body[7] = 0x00;
	memset(body + 8, 'n', 256);
	body[8 + 256] = 0x90;
	ck_assert_int_eq(
	    sni_msg_decode_call(body, 8 + 257, &lim_default, &v), SYN_EPROTO);
	/* arguments that are not a list */
	body[5] = 0xa1;
	body[6] = 'f';
	body[7] = 0x01;
	ck_assert_int_eq(
	    sni_msg_decode_call(body, 8, &lim_default, &v), SYN_EPROTO);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("round_trip_scalars", round_trip_scalars),
		TH_CASE("round_trip_details", round_trip_details),
		TH_CASE("round_trip_ints", round_trip_int_widths),
		TH_CASE("round_trip_containers", round_trip_containers),
		TH_CASE("round_trip_long", round_trip_long_forms),
		TH_CASE("float32", float32_decodes_as_double),
		TH_CASE("prefixes", prefixes_of_values_rejected),
		TH_CASE("prefixes_messages", prefixes_of_messages_rejected),
		TH_CASE("cancel_and_check", cancel_and_whole_message_checks),
		TH_CASE("mutations", mutations_never_crash),
		TH_CASE("mutations_messages", message_mutations_never_crash),
		TH_CASE("depth_decode", decode_depth_limit),
		TH_CASE("depth_encode", encode_depth_limit_matches_decoder),
		TH_CASE("huge_counts", huge_counts_rejected_without_allocating),
		TH_CASE("size_limit", size_limit),
		TH_CASE("bad_bytes", bad_bytes_rejected),
		TH_CASE("error_ext_edges", error_ext_edges),
		TH_CASE("utf8_table", utf8_validation_table),
		TH_CASE("utf8_codec", utf8_checked_by_codec),
		TH_CASE("utf8_error_values", utf8_checked_in_error_values),
		TH_CASE("encode_invalid", invalid_values_refused_by_encoder),
		TH_CASE("pointers", pointer_values),
		TH_CASE("carried_proxies", carried_proxies),
		TH_CASE("differential_random", differential_random_values),
		TH_CASE("differential_packer", differential_msgpack_packer),
		TH_CASE("simple_values_bytes",
		    simple_values_as_msgpack_writes_them),
		TH_CASE("simple_return", simple_return_read_in_line),
		TH_CASE("simple_return_bytes",
		    simple_return_written_as_encoder_writes_it),
		TH_CASE("call_round_trip", call_round_trip),
		TH_CASE("simple_call_bytes",
		    simple_call_written_as_encoder_writes_it),
		TH_CASE("simple_next", simple_next_in_line),
		TH_CASE("throw_round_trip", throw_round_trip),
		TH_CASE("context_round_trip", context_round_trip),
		TH_CASE("reply_round_trip", reply_round_trip),
		TH_CASE("error_reply", error_reply_needs_an_error),
		TH_CASE("error_reply_utf8", error_reply_repairs_utf8),
		TH_CASE("bad_headers", bad_headers_rejected),
		TH_CASE("method_names", method_names_checked),
	};
	return TH_SUITE("codec", cases);
}
