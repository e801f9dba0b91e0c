/*
 * The public value model (value.h, proto/value.c): the constructors, the
 * typed reads with their type and range checks, type names, deep equality,
 * the snprintf-like rendering, and deep copies into a syn_result.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "proto/proto.h"

/* A rich value used by several tests, built on the caller's stack. */
typedef struct rich {
	syn_handle handle;
	syn_error  error;
	uint8_t    blob[4];
	char       text[8];
	syn_value  inner[3];
	syn_pair   pairs[3];
	syn_value  items[6];
	syn_value  top;
} rich;

static void
rich_init(rich *r)
{
	r->handle = (syn_handle) { 7, 9 };
	r->error  = (syn_error) { SYN_EUSER(5), "boom", "f <- g" };
	memcpy(r->blob, "\0\xff\0\x01", 4);
	strcpy(r->text, "h\xc3\xa9llo");
	r->inner[0] = syn_int(-1);
	r->inner[1] = syn_uint(UINT64_MAX);
	r->inner[2] = syn_list(NULL, 0);
	r->pairs[0] = (syn_pair) { syn_str("k"), syn_list(r->inner, 3) };
	r->pairs[1] = (syn_pair) { syn_int(1), syn_handle_value(&r->handle) };
	r->pairs[2] = (syn_pair) { syn_nil(), syn_error_value(&r->error) };
	r->items[0] = syn_str(r->text);
	r->items[1] = syn_bytes(r->blob, sizeof(r->blob));
	r->items[2] = syn_map(r->pairs, 3);
	r->items[3] = syn_double(-2.5);
	r->items[4] = syn_bool(true);
	r->items[5] = syn_map(NULL, 0);
	r->top      = syn_list(r->items, 6);
}

/* ---- constructors ----------------------------------------------------- */

START_TEST(constructors_set_type_len_and_payload)
{
	static const char       s[] = "abc";
	static const int        bytes[2];
	syn_value               items[2];
	syn_pair                pairs[1];
	static const syn_handle h = { 1, 2 };
	static const syn_error  e = { 3, "m", "w" };
	int                     x;

	ck_assert_uint_eq(sizeof(syn_value), 16);
	syn_value v = syn_nil();
	ck_assert_int_eq(v.type, SYN_TYPE_NIL);
	ck_assert_uint_eq(v.len, 0);
	v = syn_bool(true);
	ck_assert(v.type == SYN_TYPE_BOOL && v.as.b);
	v = syn_int(INT64_MIN);
	ck_assert(v.type == SYN_TYPE_INT && v.as.i == INT64_MIN);
	v = syn_uint(UINT64_MAX);
	ck_assert(v.type == SYN_TYPE_UINT && v.as.u == UINT64_MAX);
	v = syn_double(0.25);
	ck_assert(v.type == SYN_TYPE_DOUBLE && v.as.d == 0.25);
	v = syn_str(s);
	ck_assert(v.type == SYN_TYPE_STR && v.len == 3 && v.as.str == s);
	v = syn_strn(s, 2);
	ck_assert(v.type == SYN_TYPE_STR && v.len == 2 && v.as.str == s);
	v = syn_bytes(bytes, sizeof(bytes));
	ck_assert(v.type == SYN_TYPE_BYTES && v.len == sizeof(bytes) &&
	    v.as.bytes == bytes);
	v = syn_list(items, 2);
	ck_assert(v.type == SYN_TYPE_LIST && v.len == 2 && v.as.list == items);
	v = syn_map(pairs, 1);
	ck_assert(v.type == SYN_TYPE_MAP && v.len == 1 && v.as.map == pairs);
	v = syn_handle_value(&h);
	ck_assert(v.type == SYN_TYPE_HANDLE && v.as.handle == &h);
	v = syn_error_value(&e);
	ck_assert(v.type == SYN_TYPE_ERROR && v.as.error == &e);
	v = syn_ptr(&x);
	ck_assert(v.type == SYN_TYPE_PTR && v.as.ptr == &x);
}
END_TEST

START_TEST(constructors_reject_unusable_inputs)
{
	size_t huge = (size_t) UINT32_MAX + 1;
	ck_assert_int_eq(syn_str(NULL).type, SYN_TYPE_INVALID_);
	ck_assert_int_eq(syn_handle_value(NULL).type, SYN_TYPE_INVALID_);
	ck_assert_int_eq(syn_error_value(NULL).type, SYN_TYPE_INVALID_);
	/* nothing is dereferenced: the lengths alone make them invalid */
	ck_assert_int_eq(syn_strn("x", huge).type, SYN_TYPE_INVALID_);
	ck_assert_int_eq(syn_bytes("x", huge).type, SYN_TYPE_INVALID_);
	ck_assert_int_eq(syn_list(NULL, huge).type, SYN_TYPE_INVALID_);
	ck_assert_int_eq(syn_map(NULL, huge).type, SYN_TYPE_INVALID_);
	ck_assert_int_eq(syn_strn("x", UINT32_MAX).type, SYN_TYPE_STR);
}
END_TEST

/* ---- typed reads ------------------------------------------------------ */

START_TEST(get_reads_every_type)
{
	bool        b   = false;
	int64_t     i   = 0;
	uint64_t    u   = 0;
	double      d   = 0;
	const char *s   = NULL;
	const void *p   = NULL;
	size_t      len = 0;
	syn_value   v;

	v = syn_bool(true);
	ck_assert_syn_ok(syn_value_get_bool(&v, &b));
	ck_assert(b);
	v = syn_int(-42);
	ck_assert_syn_ok(syn_value_get_int(&v, &i));
	ck_assert_int_eq(i, -42);
	v = syn_uint(42);
	ck_assert_syn_ok(syn_value_get_uint(&v, &u));
	ck_assert_uint_eq(u, 42);
	v = syn_double(1.5);
	ck_assert_syn_ok(syn_value_get_double(&v, &d));
	ck_assert(d == 1.5);
	v = syn_strn("hello", 4);
	ck_assert_syn_ok(syn_value_get_str(&v, &s, &len));
	ck_assert(s != NULL && len == 4 && memcmp(s, "hell", 4) == 0);
	s = NULL;
	ck_assert_syn_ok(syn_value_get_str(&v, &s, NULL));
	ck_assert_ptr_nonnull(s);
	v = syn_bytes("\0\1", 2);
	ck_assert_syn_ok(syn_value_get_bytes(&v, &p, &len));
	ck_assert(len == 2 && memcmp(p, "\0\1", 2) == 0);
	p = NULL;
	ck_assert_syn_ok(syn_value_get_bytes(&v, &p, NULL));
	ck_assert_ptr_nonnull(p);
}
END_TEST

/* Every reader refuses every type it does not read. */
START_TEST(get_rejects_other_types)
{
	static const syn_handle h = { 1, 2 };
	static const syn_error  e = { 1, "", "" };
	const syn_value all[]     = { syn_nil(), syn_bool(false), syn_int(1),
		    syn_uint(1), syn_double(1), syn_str("1"), syn_bytes("1", 1),
		    syn_list(NULL, 0), syn_map(NULL, 0), syn_handle_value(&h),
		    syn_error_value(&e), syn_ptr(NULL), syn_str(NULL) };
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		const syn_value *v = &all[k];
		bool             b;
		int64_t          i;
		uint64_t         u;
		double           d;
		const char      *s;
		const void      *p;
		bool             number =
		    v->type == SYN_TYPE_INT || v->type == SYN_TYPE_UINT;
		ck_assert_int_eq(syn_value_get_bool(v, &b),
		    v->type == SYN_TYPE_BOOL ? 0 : SYN_EBADTYPE);
		ck_assert_int_eq(
		    syn_value_get_int(v, &i), number ? 0 : SYN_EBADTYPE);
		ck_assert_int_eq(
		    syn_value_get_uint(v, &u), number ? 0 : SYN_EBADTYPE);
		ck_assert_int_eq(syn_value_get_double(v, &d),
		    number || v->type == SYN_TYPE_DOUBLE ? 0 : SYN_EBADTYPE);
		ck_assert_int_eq(syn_value_get_str(v, &s, NULL),
		    v->type == SYN_TYPE_STR ? 0 : SYN_EBADTYPE);
		ck_assert_int_eq(syn_value_get_bytes(v, &p, NULL),
		    v->type == SYN_TYPE_BYTES ? 0 : SYN_EBADTYPE);
	}
}
END_TEST

START_TEST(get_null_arguments_are_einval)
{
	syn_value   v = syn_int(1);
	bool        b;
	int64_t     i;
	uint64_t    u;
	double      d;
	const char *s;
	const void *p;
	ck_assert_int_eq(syn_value_get_bool(NULL, &b), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_bool(&v, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_int(NULL, &i), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_int(&v, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_uint(NULL, &u), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_uint(&v, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_double(NULL, &d), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_double(&v, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_str(NULL, &s, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_str(&v, NULL, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_bytes(NULL, &p, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_value_get_bytes(&v, NULL, NULL), SYN_EINVAL);
}
END_TEST

/* INT and UINT read as each other exactly when the number fits. */
START_TEST(get_integer_ranges)
{
	int64_t   i;
	uint64_t  u;
	syn_value v;

	v = syn_int(INT64_MIN);
	ck_assert_syn_ok(syn_value_get_int(&v, &i));
	ck_assert(i == INT64_MIN);
	ck_assert_int_eq(syn_value_get_uint(&v, &u), SYN_ERANGE);
	v = syn_int(-1);
	ck_assert_int_eq(syn_value_get_uint(&v, &u), SYN_ERANGE);
	v = syn_int(0);
	ck_assert_syn_ok(syn_value_get_uint(&v, &u));
	ck_assert_uint_eq(u, 0);
	v = syn_int(INT64_MAX);
	ck_assert_syn_ok(syn_value_get_uint(&v, &u));
	ck_assert(u == (uint64_t) INT64_MAX);
	v = syn_uint((uint64_t) INT64_MAX);
	ck_assert_syn_ok(syn_value_get_int(&v, &i));
	ck_assert(i == INT64_MAX);
	v = syn_uint((uint64_t) INT64_MAX + 1);
	ck_assert_int_eq(syn_value_get_int(&v, &i), SYN_ERANGE);
	v = syn_uint(UINT64_MAX);
	ck_assert_int_eq(syn_value_get_int(&v, &i), SYN_ERANGE);
	ck_assert_syn_ok(syn_value_get_uint(&v, &u));
	ck_assert(u == UINT64_MAX);
}
END_TEST

/* An integer reads as a double exactly when the conversion is exact. */
START_TEST(get_double_exactness)
{
	static const struct {
		int64_t i;
		int     rc;
	} ints[] = {
		{ 0, 0 },
		{ -1, 0 },
		{ 9007199254740992LL, 0 }, /* 2^53 */
		{ 9007199254740993LL, SYN_ERANGE },
		{ -9007199254740992LL, 0 },
		{ -9007199254740993LL, SYN_ERANGE },
		{ 4611686018427387904LL, 0 }, /* 2^62 */
		{ INT64_MAX, SYN_ERANGE },    /* rounds to 2^63 */
		{ INT64_MAX - 1, SYN_ERANGE },
		{ INT64_MAX - 511, SYN_ERANGE }, /* still rounds up to 2^63 */
		{ INT64_MAX - 1023, 0 },         /* 2^63 - 1024, exact */
		{ INT64_MIN, 0 },                /* -2^63, exact */
		{ INT64_MIN + 1, SYN_ERANGE },
	};
	static const struct {
		uint64_t u;
		int      rc;
	} uints[] = {
		{ 0, 0 }, { 9007199254740992ULL, 0 },
		{ 9007199254740993ULL, SYN_ERANGE },
		{ 9223372036854775808ULL, 0 }, /* 2^63 */
		{ 9223372036854775809ULL, SYN_ERANGE },
		{ UINT64_MAX - 2047, 0 }, /* 2^64 - 2048, exact */
		{ UINT64_MAX - 1023, SYN_ERANGE },
		{ UINT64_MAX, SYN_ERANGE }, /* rounds to 2^64 */
	};
	for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		syn_value v  = syn_int(ints[k].i);
		double    d  = 42;
		int       rc = syn_value_get_double(&v, &d);
		ck_assert_msg(rc == ints[k].rc, "int %lld: got %s",
		    (long long) ints[k].i, syn_errname(rc));
		if (rc == 0) {
			ck_assert(d == (double) ints[k].i);
		}
	}
	for (size_t k = 0; k < sizeof(uints) / sizeof(uints[0]); k++) {
		syn_value v  = syn_uint(uints[k].u);
		double    d  = 42;
		int       rc = syn_value_get_double(&v, &d);
		ck_assert_msg(rc == uints[k].rc, "uint %llu: got %s",
		    (unsigned long long) uints[k].u, syn_errname(rc));
		if (rc == 0) {
			ck_assert(d == (double) uints[k].u);
		}
	}
}
END_TEST

/* ---- type names ------------------------------------------------------- */

START_TEST(type_names)
{
	static const char *const want[] = { "nil", "bool", "int", "uint",
		"double", "str", "bytes", "list", "map", "handle", "error",
		"ptr", "proxy", "object" };
	for (int t = 0; t <= SYN_TYPE_OBJECT; t++) {
		ck_assert_str_eq(syn_type_name(t), want[t]);
	}
	ck_assert_str_eq(syn_type_name(-1), "invalid");
	ck_assert_str_eq(syn_type_name(SYN_TYPE_OBJECT + 1), "invalid");
	ck_assert_str_eq(syn_type_name(SYN_TYPE_INVALID_), "invalid");
	ck_assert_str_eq(syn_type_name(100000), "invalid");
}
END_TEST

/* ---- equality --------------------------------------------------------- */

#define ASSERT_EQ_BOTH(a, b, want)                                   \
	do {                                                         \
		syn_value a_ = (a), b_ = (b);                        \
		ck_assert_msg(syn_value_equal(&a_, &b_) == (want) && \
		        syn_value_equal(&b_, &a_) == (want),         \
		    "%s == %s should be %d", #a, #b, (int) (want));  \
	} while (0)

START_TEST(equal_scalars)
{
	int x, y;
	ASSERT_EQ_BOTH(syn_nil(), syn_nil(), true);
	ASSERT_EQ_BOTH(syn_nil(), syn_bool(false), false);
	ASSERT_EQ_BOTH(syn_bool(true), syn_bool(true), true);
	ASSERT_EQ_BOTH(syn_bool(true), syn_bool(false), false);
	ASSERT_EQ_BOTH(syn_int(5), syn_int(5), true);
	ASSERT_EQ_BOTH(syn_int(5), syn_int(6), false);
	ASSERT_EQ_BOTH(syn_int(5), syn_uint(5), true);
	ASSERT_EQ_BOTH(syn_int(INT64_MAX), syn_uint(INT64_MAX), true);
	ASSERT_EQ_BOTH(syn_int(-1), syn_uint(UINT64_MAX), false);
	ASSERT_EQ_BOTH(syn_int(INT64_MIN), syn_uint(1ULL << 63), false);
	ASSERT_EQ_BOTH(syn_uint(UINT64_MAX), syn_uint(UINT64_MAX), true);
	ASSERT_EQ_BOTH(syn_uint(UINT64_MAX), syn_uint(UINT64_MAX - 1), false);
	ASSERT_EQ_BOTH(syn_int(1), syn_double(1.0), false);
	ASSERT_EQ_BOTH(syn_uint(1), syn_bool(true), false);
	ASSERT_EQ_BOTH(syn_double(0.5), syn_double(0.5), true);
	ASSERT_EQ_BOTH(syn_double(0.0), syn_double(-0.0), true);
	ASSERT_EQ_BOTH(syn_double(NAN), syn_double(NAN), false);
	ASSERT_EQ_BOTH(syn_str("ab"), syn_strn("abc", 2), true);
	ASSERT_EQ_BOTH(syn_str("ab"), syn_str("abc"), false);
	ASSERT_EQ_BOTH(syn_str("ab"), syn_str("ac"), false);
	ASSERT_EQ_BOTH(syn_str(""), syn_strn(NULL, 0), true);
	ASSERT_EQ_BOTH(syn_str("ab"), syn_bytes("ab", 2), false);
	ASSERT_EQ_BOTH(syn_bytes("a\0b", 3), syn_bytes("a\0b", 3), true);
	ASSERT_EQ_BOTH(syn_bytes("a\0b", 3), syn_bytes("a\0c", 3), false);
	ASSERT_EQ_BOTH(syn_ptr(&x), syn_ptr(&x), true);
	ASSERT_EQ_BOTH(syn_ptr(&x), syn_ptr(&y), false);
	ASSERT_EQ_BOTH(syn_str(NULL), syn_str(NULL), false);
	syn_value v = syn_int(1);
	ck_assert(syn_value_equal(NULL, NULL));
	ck_assert(!syn_value_equal(&v, NULL));
	ck_assert(!syn_value_equal(NULL, &v));
}
END_TEST

START_TEST(equal_handles_and_errors)
{
	syn_handle h1 = { 1, 2 }, h2 = { 1, 2 }, h3 = { 1, 3 }, h4 = { 2, 2 };
	syn_error  e1 = { 5, "m", "w" }, e2 = { 5, "m", "w" };
	syn_error  e3 = { 6, "m", "w" }, e4 = { 5, "n", "w" };
	syn_error  e5 = { 5, "m", "v" }, e6 = { 5, NULL, NULL };
	syn_error  e7 = { 5, "", "" };
	ASSERT_EQ_BOTH(syn_handle_value(&h1), syn_handle_value(&h2), true);
	ASSERT_EQ_BOTH(syn_handle_value(&h1), syn_handle_value(&h3), false);
	ASSERT_EQ_BOTH(syn_handle_value(&h1), syn_handle_value(&h4), false);
	ASSERT_EQ_BOTH(syn_error_value(&e1), syn_error_value(&e2), true);
	ASSERT_EQ_BOTH(syn_error_value(&e1), syn_error_value(&e3), false);
	ASSERT_EQ_BOTH(syn_error_value(&e1), syn_error_value(&e4), false);
	ASSERT_EQ_BOTH(syn_error_value(&e1), syn_error_value(&e5), false);
	ASSERT_EQ_BOTH(syn_error_value(&e6), syn_error_value(&e7), true);
	ASSERT_EQ_BOTH(syn_error_value(&e1), syn_handle_value(&h1), false);
}
END_TEST

START_TEST(equal_containers)
{
	rich a, b;
	rich_init(&a);
	rich_init(&b);
	ASSERT_EQ_BOTH(a.top, b.top, true);
	/* an INT deep inside equals the same number as a UINT */
	b.inner[0]     = syn_int(-1);
	a.pairs[1].key = syn_uint(1);
	ASSERT_EQ_BOTH(a.top, b.top, true);
	/* one deep difference makes them unequal */
	b.inner[0] = syn_int(-2);
	ASSERT_EQ_BOTH(a.top, b.top, false);
	rich_init(&b);
	b.handle.object++;
	ASSERT_EQ_BOTH(a.top, b.top, false);
	rich_init(&b);
	b.blob[3] = 2;
	ASSERT_EQ_BOTH(a.top, b.top, false);
	/* shorter list, map in another order, key differs */
	rich_init(&b);
	b.top.len = 5;
	ASSERT_EQ_BOTH(a.top, b.top, false);
	rich_init(&b);
	syn_pair t = b.pairs[0];
	b.pairs[0] = b.pairs[1];
	b.pairs[1] = t;
	ASSERT_EQ_BOTH(a.top, b.top, false);
	rich_init(&b);
	b.pairs[0].key = syn_str("K");
	ASSERT_EQ_BOTH(a.top, b.top, false);
	/* a list and a map of no items differ; empty lists are equal */
	ASSERT_EQ_BOTH(syn_list(NULL, 0), syn_map(NULL, 0), false);
	ASSERT_EQ_BOTH(syn_list(NULL, 0), syn_list(a.items, 0), true);
}
END_TEST

/* ---- formatting ------------------------------------------------------- */

static void
assert_format(const syn_value *v, const char *want)
{
	char   buf[256];
	size_t n = syn_value_format(v, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
}

START_TEST(format_renders_every_type)
{
	syn_handle h  = { 3, 4 };
	syn_error  e  = { SYN_EUSER(5), "boom", "f" };
	syn_error  en = { SYN_ECLOSED, NULL, NULL };
	syn_value  v;

	v = syn_nil();
	assert_format(&v, "nil");
	v = syn_bool(true);
	assert_format(&v, "true");
	v = syn_bool(false);
	assert_format(&v, "false");
	v = syn_int(INT64_MIN);
	assert_format(&v, "-9223372036854775808");
	v = syn_uint(UINT64_MAX);
	assert_format(&v, "18446744073709551615");
	v = syn_double(1.5);
	assert_format(&v, "1.5");
	v = syn_double(0.1);
	assert_format(&v, "0.10000000000000001");
	v = syn_str("a\"b\\c\n\x01\xc3\xa9");
	assert_format(&v, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
	v = syn_strn("a\0b", 3);
	assert_format(&v, "\"a\\u0000b\"");
	v = syn_bytes("\x00\xff\x10", 3);
	assert_format(&v, "b\"00ff10\"");
	v = syn_handle_value(&h);
	assert_format(&v, "<handle 3:4>");
	v = syn_error_value(&e);
	assert_format(&v, "<error SYN_EUSER(5): boom (f)>");
	v = syn_error_value(&en);
	assert_format(&v, "<error SYN_ECLOSED:  ()>");
	v = syn_str(NULL);
	assert_format(&v, "<invalid>");
	assert_format(NULL, "<null>");
	v = syn_ptr(NULL);
	char buf[64];
	syn_value_format(&v, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "<ptr ", 5) == 0, "got %s", buf);
}
END_TEST

START_TEST(format_renders_containers)
{
	rich r;
	rich_init(&r);
	assert_format(&r.top,
	    "[\"h\xc3\xa9llo\", b\"00ff0001\", {\"k\": [-1, "
	    "18446744073709551615, []], 1: <handle 7:9>, nil: <error "
	    "SYN_EUSER(5): boom (f <- g)>}, -2.5, true, {}]");
}
END_TEST

/* Every buffer size gives a NUL-terminated prefix and the full length. */
START_TEST(format_truncates_like_snprintf)
{
	rich r;
	char full[512];
	char buf[512];
	rich_init(&r);
	size_t n = syn_value_format(&r.top, full, sizeof(full));
	ck_assert_uint_eq(n, strlen(full));
	ck_assert_uint_gt(n, 50);
	ck_assert_uint_eq(syn_value_format(&r.top, NULL, 0), n);
	for (size_t size = 0; size <= n + 2; size++) {
		memset(buf, '#', sizeof(buf));
		size_t got = syn_value_format(&r.top, buf, size);
		ck_assert_uint_eq(got, n);
		if (size == 0) {
			ck_assert_int_eq(buf[0], '#');
			continue;
		}
		size_t want = size - 1 < n ? size - 1 : n;
		ck_assert_uint_eq(strlen(buf), want);
		ck_assert(memcmp(buf, full, want) == 0);
		ck_assert_int_eq(buf[size], '#'); /* nothing past size */
	}
}
END_TEST

/* Very deep values render with an ellipsis, not a stack overflow. */
START_TEST(format_deep_value_is_cut)
{
	enum { DEPTH = 1000 };
	syn_value *chain = calloc(DEPTH, sizeof(*chain));
	ck_assert_ptr_nonnull(chain);
	chain[DEPTH - 1] = syn_int(1);
	for (int k = DEPTH - 2; k >= 0; k--) {
		chain[k] = syn_list(&chain[k + 1], 1);
	}
	char   buf[4096];
	size_t n = syn_value_format(&chain[0], buf, sizeof(buf));
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_ptr_nonnull(strstr(buf, "..."));
	ck_assert_ptr_null(strstr(buf, "1"));
	ck_assert_uint_lt(n, 200);
	free(chain);
}
END_TEST

/* ---- copies ----------------------------------------------------------- */

/* True when p points into [lo, lo + n). */
static bool
inside(const void *p, const void *lo, size_t n)
{
	return (const char *) p >= (const char *) lo &&
	    (const char *) p < (const char *) lo + n;
}

START_TEST(copy_is_deep_and_independent)
{
	rich       src, orig;
	syn_result r = SYN_RESULT_INIT;
	rich_init(&src);
	rich_init(&orig);
	ck_assert_syn_ok(syn_value_copy(&src.top, &r));
	ck_assert_ptr_nonnull(r.mem_);
	ck_assert(syn_value_equal(&r.value, &orig.top));
	/* nothing of the copy points into the source */
	const syn_value *items = r.value.as.list;
	ck_assert(!inside(items, &src, sizeof(src)));
	ck_assert(!inside(items[0].as.str, &src, sizeof(src)));
	ck_assert(!inside(items[1].as.bytes, &src, sizeof(src)));
	ck_assert(!inside(items[2].as.map, &src, sizeof(src)));
	ck_assert(
	    !inside(items[2].as.map[1].value.as.handle, &src, sizeof(src)));
	ck_assert(
	    !inside(items[2].as.map[2].value.as.error, &src, sizeof(src)));
	ck_assert(
	    items[2].as.map[2].value.as.error->message != src.error.message);
	/* strings are NUL-terminated in the copy */
	ck_assert_str_eq(items[0].as.str, "h\xc3\xa9llo");
	/* wreck the source: the copy stays as it was */
	memset(&src, 0xa5, sizeof(src));
	ck_assert(syn_value_equal(&r.value, &orig.top));
	syn_result_fini(&r);
	ck_assert_ptr_null(r.mem_);
	ck_assert_int_eq(r.value.type, SYN_TYPE_NIL);
	syn_result_fini(&r); /* twice is harmless */
}
END_TEST

START_TEST(copy_scalars_and_empties)
{
	syn_handle      h = { 1, 2 };
	syn_error       e = { 7, NULL, NULL };
	int             x;
	const syn_value vals[] = { syn_nil(), syn_bool(true), syn_int(-3),
		syn_uint(UINT64_MAX), syn_double(2.5), syn_str(""),
		syn_strn(NULL, 0), syn_bytes(NULL, 0), syn_list(NULL, 0),
		syn_map(NULL, 0), syn_handle_value(&h), syn_error_value(&e),
		syn_ptr(&x) };
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		syn_result r = SYN_RESULT_INIT;
		ck_assert_syn_ok(syn_value_copy(&vals[k], &r));
		ck_assert_msg(
		    syn_value_equal(&r.value, &vals[k]), "value %zu", k);
		if (r.value.type == SYN_TYPE_STR) {
			ck_assert_str_eq(r.value.as.str, "");
		}
		if (r.value.type == SYN_TYPE_ERROR) {
			ck_assert_str_eq(r.value.as.error->message, "");
			ck_assert_str_eq(r.value.as.error->where, "");
		}
		syn_result_fini(&r);
	}
	syn_result empty = SYN_RESULT_INIT;
	syn_result_fini(&empty);
	syn_result_fini(NULL);
}
END_TEST

/* Builds a chain of n nested lists around an int into chain[0..n]. */
static void
nest(syn_value *chain, int n)
{
	chain[n] = syn_int(1);
	for (int k = n - 1; k >= 0; k--) {
		chain[k] = syn_list(&chain[k + 1], 1);
	}
}

START_TEST(copy_rejects_bad_values)
{
	syn_result r = SYN_RESULT_INIT;
	syn_value  chain[65];
	syn_value  v   = syn_str(NULL);
	syn_value  bad = syn_int(1);

	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	ck_assert_int_eq(syn_value_copy(NULL, &r), SYN_EINVAL);
	ck_assert_int_eq(syn_value_copy(&bad, NULL), SYN_EINVAL);
	/* an invalid value deep inside */
	syn_value items[2] = { syn_int(1), syn_str(NULL) };
	v                  = syn_list(items, 2);
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	/* lengths without data */
	v = syn_list(NULL, 1);
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	v = syn_map(NULL, 1);
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	v = syn_strn(NULL, 1);
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	v = syn_bytes(NULL, 1);
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	v      = syn_nil();
	v.type = SYN_TYPE_HANDLE;
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	v.type = SYN_TYPE_ERROR;
	ck_assert_int_eq(syn_value_copy(&v, &r), SYN_EINVAL);
	ck_assert_ptr_null(r.mem_);
	/* 63 lists deep is the limit (config.max_depth is at most 64); 64 is
	 * too deep */
	nest(chain, 63);
	ck_assert_syn_ok(syn_value_copy(&chain[0], &r));
	ck_assert(syn_value_equal(&r.value, &chain[0]));
	syn_result_fini(&r);
	nest(chain, 64);
	ck_assert_int_eq(syn_value_copy(&chain[0], &r), SYN_EINVAL);
	ck_assert_ptr_null(r.mem_);
}
END_TEST

/* Values that syn_value_copy() refuses (a length and no data, NULL
 * references, a cycle) are compared and formatted without a crash. */
START_TEST(equal_and_format_survive_bad_values)
{
	syn_value bad[] = { syn_list(NULL, 2), syn_map(NULL, 2),
		syn_strn(NULL, 5), syn_bytes(NULL, 3), syn_proxy_value(NULL),
		syn_object(NULL) };
	char      buf[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		syn_value copy = bad[i];
		ck_assert(syn_value_equal(&bad[i], &copy));
		syn_value_format(&bad[i], buf, sizeof(buf));
		ck_assert_msg(strstr(buf, "invalid") != NULL, "%s", buf);
	}
	syn_value one = syn_int(1), good = syn_list(&one, 1);
	ck_assert(!syn_value_equal(&bad[0], &good));
	/* a list that holds itself */
	syn_value loop[1], cycle = syn_list(loop, 1), other = syn_list(loop, 1);
	loop[0] = cycle;
	ck_assert(syn_value_equal(&cycle, &cycle));
	syn_value loop2[1], cycle2 = syn_list(loop2, 1);
	loop2[0] = cycle2;
	ck_assert(!syn_value_equal(&cycle, &cycle2)); /* no end: not equal */
	ck_assert(syn_value_equal(&cycle, &other));   /* the same items */
	syn_value_format(&cycle, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "[["));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("constructors", constructors_set_type_len_and_payload),
		TH_CASE("constructors_invalid",
		    constructors_reject_unusable_inputs),
		TH_CASE("get_types", get_reads_every_type),
		TH_CASE("get_badtype", get_rejects_other_types),
		TH_CASE("get_null", get_null_arguments_are_einval),
		TH_CASE("get_int_range", get_integer_ranges),
		TH_CASE("get_double_exact", get_double_exactness),
		TH_CASE("type_names", type_names),
		TH_CASE("equal_scalars", equal_scalars),
		TH_CASE("equal_handles_errors", equal_handles_and_errors),
		TH_CASE("equal_containers", equal_containers),
		TH_CASE("format_types", format_renders_every_type),
		TH_CASE("format_containers", format_renders_containers),
		TH_CASE("format_truncation", format_truncates_like_snprintf),
		TH_CASE("format_deep", format_deep_value_is_cut),
		TH_CASE("copy_deep", copy_is_deep_and_independent),
		TH_CASE("copy_scalars", copy_scalars_and_empties),
		TH_CASE("copy_invalid", copy_rejects_bad_values),
		TH_CASE(
		    "bad_values_survive", equal_and_format_survive_bad_values),
	};
	return TH_SUITE("value", cases);
}
