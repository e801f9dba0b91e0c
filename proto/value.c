/*
 * proto/value.c: reading, comparing, printing and copying syn_values.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

const char *
syn_type_name(int type)
{
	static const char *const names[] = {
		[SYN_TYPE_NIL]    = "nil",
		[SYN_TYPE_BOOL]   = "bool",
		[SYN_TYPE_INT]    = "int",
		[SYN_TYPE_UINT]   = "uint",
		[SYN_TYPE_DOUBLE] = "double",
		[SYN_TYPE_STR]    = "str",
		[SYN_TYPE_BYTES]  = "bytes",
		[SYN_TYPE_LIST]   = "list",
		[SYN_TYPE_MAP]    = "map",
		[SYN_TYPE_HANDLE] = "handle",
		[SYN_TYPE_ERROR]  = "error",
		[SYN_TYPE_PTR]    = "ptr",
		[SYN_TYPE_PROXY]  = "proxy",
		[SYN_TYPE_OBJECT] = "object",
	};
	if (type < 0 || type > SYN_TYPE_OBJECT) {
		return "invalid";
	}
	return names[type];
}

/* ---- typed reads ------------------------------------------------------ */

static int
check(const syn_value *v, const void *out, int type)
{
	if (v == NULL || out == NULL) {
		return SYN_EINVAL;
	}
	return v->type == type ? 0 : SYN_EBADTYPE;
}

int
syn_value_get_bool(const syn_value *v, bool *out)
{
	int rc = check(v, out, SYN_TYPE_BOOL);
	if (rc == 0) {
		*out = v->as.b;
	}
	return rc;
}

int
syn_value_get_int(const syn_value *v, int64_t *out)
{
	if (v == NULL || out == NULL) {
		return SYN_EINVAL;
	}
	if (v->type == SYN_TYPE_INT) {
		*out = v->as.i;
		return 0;
	}
	if (v->type == SYN_TYPE_UINT) {
		if (v->as.u > INT64_MAX) {
			return SYN_ERANGE;
		}
		*out = (int64_t) v->as.u;
		return 0;
	}
	return SYN_EBADTYPE;
}

int
syn_value_get_uint(const syn_value *v, uint64_t *out)
{
	if (v == NULL || out == NULL) {
		return SYN_EINVAL;
	}
	if (v->type == SYN_TYPE_UINT) {
		*out = v->as.u;
		return 0;
	}
	if (v->type == SYN_TYPE_INT) {
		if (v->as.i < 0) {
			return SYN_ERANGE;
		}
		*out = (uint64_t) v->as.i;
		return 0;
	}
	return SYN_EBADTYPE;
}

int
syn_value_get_double(const syn_value *v, double *out)
{
	if (v == NULL || out == NULL) {
		return SYN_EINVAL;
	}
	switch (v->type) {
	case SYN_TYPE_DOUBLE:
		*out = v->as.d;
		return 0;
	case SYN_TYPE_INT: {
		/* a double of 2^63 or more cannot be cast back (UB) */
		double d = (double) v->as.i;
		if (d >= 9223372036854775808.0 || (int64_t) d != v->as.i) {
			return SYN_ERANGE;
		}
		*out = d;
		return 0;
	}
	case SYN_TYPE_UINT: {
		double d = (double) v->as.u;
		if (d >= 18446744073709551616.0 || (uint64_t) d != v->as.u) {
			return SYN_ERANGE;
		}
		*out = d;
		return 0;
	}
	default:
		return SYN_EBADTYPE;
	}
}

int
syn_value_get_str(const syn_value *v, const char **s, size_t *len)
{
	int rc = check(v, s, SYN_TYPE_STR);
	if (rc == 0) {
		*s = v->as.str;
		if (len != NULL) {
			*len = v->len;
		}
	}
	return rc;
}

int
syn_value_get_bytes(const syn_value *v, const void **p, size_t *len)
{
	int rc = check(v, p, SYN_TYPE_BYTES);
	if (rc == 0) {
		*p = v->as.bytes;
		if (len != NULL) {
			*len = v->len;
		}
	}
	return rc;
}

/* ---- equality --------------------------------------------------------- */

static bool
int_equal(const syn_value *a, const syn_value *b)
{
	int64_t  i;
	uint64_t u;
	if (a->type == SYN_TYPE_UINT) {
		return b->type == SYN_TYPE_UINT
		    ? a->as.u == b->as.u
		    : syn_value_get_uint(b, &u) == 0 && u == a->as.u;
	}
	return syn_value_get_int(b, &i) == 0 && i == a->as.i;
}

static bool
str_equal(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* (a value with a length and no data equals only itself) */
static bool
blob_equal(const syn_value *a, const syn_value *b)
{
	return a->len == b->len &&
	    (a->len == 0 || a->as.bytes == b->as.bytes ||
	        (a->as.bytes != NULL && b->as.bytes != NULL &&
	            memcmp(a->as.bytes, b->as.bytes, a->len) == 0));
}

static bool equal_at(const syn_value *a, const syn_value *b, uint32_t depth);

static bool
list_equal(const syn_value *a, const syn_value *b, uint32_t depth)
{
	for (uint32_t i = 0; i < a->len; i++) {
		if (!equal_at(&a->as.list[i], &b->as.list[i], depth + 1)) {
			return false;
		}
	}
	return true;
}

static bool
map_equal(const syn_value *a, const syn_value *b, uint32_t depth)
{
	for (uint32_t i = 0; i < a->len; i++) {
		if (!equal_at(
		        &a->as.map[i].key, &b->as.map[i].key, depth + 1) ||
		    !equal_at(
		        &a->as.map[i].value, &b->as.map[i].value, depth + 1)) {
			return false;
		}
	}
	return true;
}

/* Lists and maps compared item by item: the same items (or none), or
 * every item equal, no deeper than any value goes (a cycle is not). */
static bool
items_equal(const syn_value *a, const syn_value *b, uint32_t depth)
{
	if (a->len != b->len || a->len == 0 || a->as.list == b->as.list) {
		return a->len == b->len;
	}
	if (a->as.list == NULL || b->as.list == NULL ||
	    depth >= SNI_MAX_DEPTH) {
		return false;
	}
	return a->type == SYN_TYPE_LIST ? list_equal(a, b, depth)
	                                : map_equal(a, b, depth);
}

bool
syn_value_equal(const syn_value *a, const syn_value *b)
{
	return equal_at(a, b, 0);
}

static bool
equal_at(const syn_value *a, const syn_value *b, uint32_t depth)
{
	if (a == NULL || b == NULL || a == b) {
		return a == b;
	}
	if (a->type == SYN_TYPE_INT || a->type == SYN_TYPE_UINT) {
		return int_equal(a, b);
	}
	if (a->type != b->type) {
		return false;
	}
	switch (a->type) {
	case SYN_TYPE_NIL:
		return true;
	case SYN_TYPE_BOOL:
		return a->as.b == b->as.b;
	case SYN_TYPE_DOUBLE:
		return a->as.d == b->as.d;
	case SYN_TYPE_STR:
	case SYN_TYPE_BYTES:
		return blob_equal(a, b);
	case SYN_TYPE_LIST:
	case SYN_TYPE_MAP:
		return items_equal(a, b, depth);
	case SYN_TYPE_HANDLE:
		return a->as.handle == b->as.handle ||
		    (a->as.handle != NULL && b->as.handle != NULL &&
		        a->as.handle->owner == b->as.handle->owner &&
		        a->as.handle->object == b->as.handle->object);
	case SYN_TYPE_ERROR:
		if (a->as.error == NULL || b->as.error == NULL) {
			return a->as.error == b->as.error;
		}
		return a->as.error->code == b->as.error->code &&
		    str_equal(a->as.error->message, b->as.error->message) &&
		    str_equal(a->as.error->where, b->as.error->where);
	case SYN_TYPE_PTR:
		return a->as.ptr == b->as.ptr;
	case SYN_TYPE_PROXY:
		return a->as.proxy == b->as.proxy;
	case SYN_TYPE_OBJECT:
		return a->as.object == b->as.object;
	default:
		return false;
	}
}

/* ---- formatting ------------------------------------------------------- */

typedef struct fmtbuf {
	char  *buf;
	size_t size;
	size_t len; /* the length the whole rendering needs */
} fmtbuf;

static void
emit(fmtbuf *f, const char *fmt, ...)
{
	va_list ap;
	char   *at   = f->len < f->size ? f->buf + f->len : NULL;
	size_t  room = f->len < f->size ? f->size - f->len : 0;
	va_start(ap, fmt);
	int n = vsnprintf(at, room, fmt, ap);
	va_end(ap);
	if (n > 0) {
		f->len += (size_t) n;
	}
}

static void
emit_quoted(fmtbuf *f, const char *s, uint32_t len)
{
	emit(f, "\"");
	for (uint32_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];
		if (c == '"' || c == '\\') {
			emit(f, "\\%c", c);
		} else if (c < 0x20) {
			emit(f, "\\u%04x", c);
		} else {
			emit(f, "%c", c);
		}
	}
	emit(f, "\"");
}

static void format(fmtbuf *f, const syn_value *v, int depth);

static void
format_items(fmtbuf *f, const syn_value *v, int depth)
{
	bool map = v->type == SYN_TYPE_MAP;
	emit(f, map ? "{" : "[");
	for (uint32_t i = 0; i < v->len; i++) {
		emit(f, i > 0 ? ", " : "");
		if (map) {
			format(f, &v->as.map[i].key, depth + 1);
			emit(f, ": ");
			format(f, &v->as.map[i].value, depth + 1);
		} else {
			format(f, &v->as.list[i], depth + 1);
		}
	}
	emit(f, map ? "}" : "]");
}

static void
format_bytes(fmtbuf *f, const syn_value *v)
{
	const uint8_t *p = v->as.bytes;
	emit(f, "b\"");
	for (uint32_t i = 0; i < v->len; i++) {
		emit(f, "%02x", p[i]);
	}
	emit(f, "\"");
}

/* A value with a length and no data, or a NULL reference: one that
 * syn_value_copy() refuses. */
static bool
broken(const syn_value *v)
{
	switch (v->type) {
	case SYN_TYPE_STR:
	case SYN_TYPE_BYTES:
	case SYN_TYPE_LIST:
	case SYN_TYPE_MAP:
		return v->len > 0 && v->as.list == NULL;
	case SYN_TYPE_HANDLE:
		return v->as.handle == NULL;
	case SYN_TYPE_ERROR:
		return v->as.error == NULL;
	case SYN_TYPE_PROXY:
		return v->as.proxy == NULL;
	case SYN_TYPE_OBJECT:
		return v->as.object == NULL;
	default:
		return false;
	}
}

static void
format(fmtbuf *f, const syn_value *v, int depth)
{
	if (depth > 64) {
		emit(f, "...");
		return;
	}
	if (broken(v)) {
		emit(f, "<invalid %s>", syn_type_name(v->type));
		return;
	}
	switch (v->type) {
	case SYN_TYPE_NIL:
		emit(f, "nil");
		break;
	case SYN_TYPE_BOOL:
		emit(f, v->as.b ? "true" : "false");
		break;
	case SYN_TYPE_INT:
		emit(f, "%" PRId64, v->as.i);
		break;
	case SYN_TYPE_UINT:
		emit(f, "%" PRIu64, v->as.u);
		break;
	case SYN_TYPE_DOUBLE:
		emit(f, "%.17g", v->as.d);
		break;
	case SYN_TYPE_STR:
		emit_quoted(f, v->as.str, v->len);
		break;
	case SYN_TYPE_BYTES:
		format_bytes(f, v);
		break;
	case SYN_TYPE_LIST:
	case SYN_TYPE_MAP:
		format_items(f, v, depth);
		break;
	case SYN_TYPE_HANDLE:
		emit(f, "<handle %" PRIu64 ":%" PRIu64 ">", v->as.handle->owner,
		    v->as.handle->object);
		break;
	case SYN_TYPE_ERROR:
		emit(f, "<error %s: %s (%s)>", syn_errname(v->as.error->code),
		    v->as.error->message != NULL ? v->as.error->message : "",
		    v->as.error->where != NULL ? v->as.error->where : "");
		break;
	case SYN_TYPE_PTR:
		emit(f, "<ptr %p>", v->as.ptr);
		break;
	case SYN_TYPE_PROXY:
	case SYN_TYPE_OBJECT: {
		const syn_handle *h = v->type == SYN_TYPE_PROXY
		    ? sni_proxy_handle(v->as.proxy)
		    : sni_object_handle(v->as.object);
		emit(f, "<%s %" PRIu64 ":%" PRIu64 ">", syn_type_name(v->type),
		    h->owner, h->object);
		break;
	}
	default:
		emit(f, "<invalid>");
		break;
	}
}

size_t
syn_value_format(const syn_value *v, char *buf, size_t size)
{
	fmtbuf f = { buf, size, 0 };
	if (size > 0) {
		buf[0] = '\0';
	}
	if (v == NULL) {
		emit(&f, "<null>");
	} else {
		format(&f, v, 0);
	}
	return f.len;
}

/* ---- results and copies ----------------------------------------------- */

void
syn_result_fini(syn_result *r)
{
	if (r == NULL) {
		return;
	}
	sni_held_release(r->held_);
	free(r->mem_);
	r->held_ = NULL;
	r->mem_  = NULL;
	r->value = syn_nil();
}

static int copy_need(const syn_value *v, uint32_t depth, size_t *need);

static int
copy_need_items(const syn_value *v, uint32_t depth, size_t *need)
{
	bool map = v->type == SYN_TYPE_MAP;
	if (v->len > 0 && v->as.list == NULL) {
		return SYN_EINVAL;
	}
	*need += sni_bump_round(
	    (size_t) v->len * (map ? sizeof(syn_pair) : sizeof(syn_value)));
	for (uint32_t i = 0; i < v->len; i++) {
		int rc = map ? copy_need(&v->as.map[i].key, depth - 1, need)
		             : copy_need(&v->as.list[i], depth - 1, need);
		if (rc == 0 && map) {
			rc = copy_need(&v->as.map[i].value, depth - 1, need);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
copy_need(const syn_value *v, uint32_t depth, size_t *need)
{
	if (depth == 0) {
		return SYN_EINVAL;
	}
	switch (v->type) {
	case SYN_TYPE_STR:
	case SYN_TYPE_BYTES:
		if (v->len > 0 && v->as.bytes == NULL) {
			return SYN_EINVAL;
		}
		*need += sni_bump_round((size_t) v->len + 1);
		return 0;
	case SYN_TYPE_LIST:
	case SYN_TYPE_MAP:
		return copy_need_items(v, depth, need);
	case SYN_TYPE_HANDLE:
		*need += sni_bump_round(sizeof(syn_handle));
		return v->as.handle != NULL ? 0 : SYN_EINVAL;
	case SYN_TYPE_ERROR:
		if (v->as.error == NULL) {
			return SYN_EINVAL;
		}
		*need += sni_bump_round(sizeof(syn_error)) +
		    sni_bump_round(strlen(v->as.error->message != NULL
		                           ? v->as.error->message
		                           : "") +
		        1) +
		    sni_bump_round(
		        strlen(v->as.error->where != NULL ? v->as.error->where
		                                          : "") +
		        1);
		return 0;
	case SYN_TYPE_PROXY:
	case SYN_TYPE_OBJECT: /* borrowed: see syn_value_copy() */
		return v->as.ptr != NULL ? 0 : SYN_EINVAL;
	default:
		return v->type <= SYN_TYPE_PTR ? 0 : SYN_EINVAL;
	}
}

static void *
take_mem(sni_bump *b, const void *src, size_t n, size_t alloc)
{
	uint8_t *d = b->p;
	if (b->p != NULL) { /* NULL when the copy needs no memory */
		b->p += sni_bump_round(alloc);
	}
	if (n > 0) {
		memcpy(d, src, n);
	}
	return d;
}

static const char *
copy_cstr(sni_bump *b, const char *s)
{
	s = s != NULL ? s : "";
	return take_mem(b, s, strlen(s) + 1, strlen(s) + 1);
}

static void copy_into(const syn_value *v, sni_bump *b, syn_value *out);

static void
copy_items(const syn_value *v, sni_bump *b, syn_value *out)
{
	if (v->type == SYN_TYPE_MAP) {
		syn_pair *p = take_mem(b, NULL, 0, v->len * sizeof(syn_pair));
		for (uint32_t i = 0; i < v->len; i++) {
			copy_into(&v->as.map[i].key, b, &p[i].key);
			copy_into(&v->as.map[i].value, b, &p[i].value);
		}
		out->as.map = p;
		return;
	}
	syn_value *l = take_mem(b, NULL, 0, v->len * sizeof(syn_value));
	for (uint32_t i = 0; i < v->len; i++) {
		copy_into(&v->as.list[i], b, &l[i]);
	}
	out->as.list = l;
}

static void
copy_into(const syn_value *v, sni_bump *b, syn_value *out)
{
	*out = *v;
	switch (v->type) {
	case SYN_TYPE_STR:
	case SYN_TYPE_BYTES: {
		char *d = take_mem(b, v->as.bytes, v->len, (size_t) v->len + 1);
		d[v->len]   = '\0';
		out->as.str = d;
		break;
	}
	case SYN_TYPE_LIST:
	case SYN_TYPE_MAP:
		copy_items(v, b, out);
		break;
	case SYN_TYPE_HANDLE:
		out->as.handle = take_mem(
		    b, v->as.handle, sizeof(syn_handle), sizeof(syn_handle));
		break;
	case SYN_TYPE_ERROR: {
		syn_error *e  = take_mem(b, NULL, 0, sizeof(syn_error));
		e->code       = v->as.error->code;
		e->message    = copy_cstr(b, v->as.error->message);
		e->where      = copy_cstr(b, v->as.error->where);
		out->as.error = e;
		break;
	}
	default:
		break;
	}
}

int
syn_value_copy(const syn_value *v, syn_result *r)
{
	size_t need = 0;
	if (v == NULL || r == NULL) {
		return SYN_EINVAL;
	}
	int rc = copy_need(v, SNI_MAX_DEPTH, &need);
	if (rc != 0) {
		return rc;
	}
	void *mem = NULL;
	if (need > 0 && (mem = malloc(need)) == NULL) {
		return SYN_ENOMEM;
	}
	sni_bump b = { mem, mem != NULL ? (uint8_t *) mem + need : NULL };
	copy_into(v, &b, &r->value);
	r->mem_  = mem;
	r->held_ = NULL;
	return 0;
}
