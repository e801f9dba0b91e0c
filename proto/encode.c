/*
 * proto/encode.c: values to msgpack, through msgpack-c's packer, into a
 * sni_wbuf. Every value is checked on the way (type tags, UTF-8, nesting),
 * so that a bad argument is the caller's clear SYN_EINVAL, not the
 * receiver's SYN_EPROTO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

void
sni_wbuf_init_at(sni_wbuf *w, uint8_t *array, size_t cap)
{
	w->buf   = array;
	w->len   = 0;
	w->cap   = cap;
	w->err   = 0;
	w->first = array;
}

void
sni_wbuf_init(sni_wbuf *w)
{
	sni_wbuf_init_at(w, w->inline_buf, sizeof(w->inline_buf));
}

void
sni_wbuf_fini(sni_wbuf *w)
{
	if (w->buf != w->first) {
		free(w->buf);
	}
	sni_wbuf_init(w);
}

static int
wbuf_grow(sni_wbuf *w, size_t need)
{
	size_t cap = w->cap * 2;
	while (cap < need) {
		cap *= 2;
	}
	uint8_t *nb;
	if (w->buf == w->first) {
		nb = malloc(cap);
		if (nb != NULL) {
			memcpy(nb, w->buf, w->len);
		}
	} else {
		nb = realloc(w->buf, cap);
	}
	if (nb == NULL) {
		return SYN_ENOMEM;
	}
	w->buf = nb;
	w->cap = cap;
	return 0;
}

void
sni_wbuf_put(sni_wbuf *w, const void *p, size_t n)
{
	if (w->err != 0 || n == 0) {
		return;
	}
	if (n > w->cap - w->len) {
		if (n > SIZE_MAX / 4 - w->len) {
			w->err = SYN_ENOMEM;
			return;
		}
		if ((w->err = wbuf_grow(w, w->len + n)) != 0) {
			return;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static int
fail(sni_wbuf *w, int rc)
{
	if (w->err == 0) {
		w->err = rc;
	}
	return rc;
}

static void
pack_error_ext(sni_wbuf *pk, int code, const char *message, const char *where)
{
	sni_wbuf inner;
	sni_wbuf_init(&inner);
	message = message != NULL ? message : "";
	where   = where != NULL ? where : "";
	sni_mp_array(&inner, 3);
	sni_mp_int64(&inner, code);
	/* the strings are cut before any bad UTF-8 (a truncated path, a
	 * message formatted from raw bytes), or no one could decode them */
	sni_mp_str_with_body(&inner, message,
	    sni_utf8_prefix((const uint8_t *) message, strlen(message)));
	sni_mp_str_with_body(&inner, where,
	    sni_utf8_prefix((const uint8_t *) where, strlen(where)));
	sni_wbuf *w = pk;
	if (inner.err != 0) {
		fail(w, inner.err);
	} else {
		sni_mp_ext_with_body(pk, inner.buf, inner.len, SNI_EXT_ERROR);
	}
	sni_wbuf_fini(&inner);
}

static int encode(
    sni_wbuf *pk, const syn_value *v, uint32_t depth, unsigned flags);

static bool
error_utf8_valid(const syn_error *e)
{
	const char *m = e->message != NULL ? e->message : "";
	const char *w = e->where != NULL ? e->where : "";
	return sni_utf8_valid((const uint8_t *) m, strlen(m)) &&
	    sni_utf8_valid((const uint8_t *) w, strlen(w));
}

static int
encode_list(sni_wbuf *pk, const syn_value *v, uint32_t depth, unsigned flags)
{
	if (v->len > 0 && v->as.list == NULL) {
		sni_detail_set("list of %u items has no items", v->len);
		return SYN_EINVAL;
	}
	sni_mp_array(pk, v->len);
	for (uint32_t i = 0; i < v->len; i++) {
		int rc = encode(pk, &v->as.list[i], depth - 1, flags);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
encode_map(sni_wbuf *pk, const syn_value *v, uint32_t depth, unsigned flags)
{
	if (v->len > 0 && v->as.map == NULL) {
		sni_detail_set("map of %u pairs has no pairs", v->len);
		return SYN_EINVAL;
	}
	sni_mp_map(pk, v->len);
	for (uint32_t i = 0; i < v->len; i++) {
		int rc = encode(pk, &v->as.map[i].key, depth - 1, flags);
		if (rc == 0) {
			rc = encode(pk, &v->as.map[i].value, depth - 1, flags);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
encode_str(sni_wbuf *pk, const syn_value *v)
{
	if (v->len > 0 && v->as.str == NULL) {
		sni_detail_set("string of %u bytes is NULL", v->len);
		return SYN_EINVAL;
	}
	if (!sni_utf8_valid((const uint8_t *) v->as.str, v->len)) {
		sni_detail_set("string is not valid UTF-8");
		return SYN_EINVAL;
	}
	sni_mp_str_with_body(pk, v->as.str, v->len);
	return 0;
}

/* [lo, hi): see sni_encode_refuse_ptrs. (Addresses as numbers: the
 * pointers compared need not point into one object.) */
static _Thread_local uintptr_t refused_lo, refused_hi;

void
sni_encode_refuse_ptrs(const void *lo, const void *hi)
{
	refused_lo = (uintptr_t) lo;
	refused_hi = (uintptr_t) hi;
}

static bool
ptr_refused(const void *p)
{
	return (uintptr_t) p >= refused_lo && (uintptr_t) p < refused_hi;
}

static int
encode_scalar(sni_wbuf *pk, const syn_value *v, unsigned flags)
{
	switch (v->type) {
	case SYN_TYPE_NIL:
		sni_mp_nil(pk);
		return 0;
	case SYN_TYPE_BOOL:
		v->as.b ? sni_mp_true(pk) : sni_mp_false(pk);
		return 0;
	case SYN_TYPE_INT:
		sni_mp_int64(pk, v->as.i);
		return 0;
	case SYN_TYPE_UINT:
		sni_mp_uint64(pk, v->as.u);
		return 0;
	case SYN_TYPE_DOUBLE:
		sni_mp_double(pk, v->as.d);
		return 0;
	case SYN_TYPE_PROXY:
		if (v->as.proxy == NULL) {
			sni_detail_set("proxy value is NULL");
			return SYN_EINVAL;
		}
		sni_pack_fixext16(pk,
		    (flags & SNI_ENCODE_PROXY_REFS) != 0 ? SNI_EXT_PROXY
		                                         : SNI_EXT_HANDLE,
		    sni_proxy_handle(v->as.proxy)->owner,
		    sni_proxy_handle(v->as.proxy)->object);
		return 0;
	case SYN_TYPE_OBJECT: {
		if (v->as.object == NULL) {
			sni_detail_set("object value is NULL");
			return SYN_EINVAL;
		}
		const syn_handle *h = sni_object_handle(v->as.object);
		sni_pack_fixext16(pk, SNI_EXT_OBJECT, h->owner, h->object);
		return 0;
	}
	case SYN_TYPE_PTR:
		if ((flags & SNI_ENCODE_PTR) == 0) {
			sni_detail_set("a pointer value cannot leave its "
			               "process");
			return SYN_ENOTSUP;
		}
		if (ptr_refused(v->as.ptr)) {
			sni_detail_set("a pointer into the task's stack, which "
			               "is shared (config.shared_stack) and "
			               "copied away while it waits");
			return SYN_EINVAL;
		}
		sni_pack_fixext16(pk, SNI_EXT_PTR, sni_process_nonce(),
		    (uint64_t) (uintptr_t) v->as.ptr);
		return 0;
	default:
		sni_detail_set("value has invalid type %d", v->type);
		return SYN_EINVAL;
	}
}

static int
encode(sni_wbuf *pk, const syn_value *v, uint32_t depth, unsigned flags)
{
	if (depth == 0) {
		sni_detail_set("value nested too deeply");
		return SYN_EINVAL;
	}
	if ((v->type == SYN_TYPE_LIST || v->type == SYN_TYPE_MAP) &&
	    sni_stack_short()) {
		return SYN_ENOMEM;
	}
	switch (v->type) {
	case SYN_TYPE_STR:
		return encode_str(pk, v);
	case SYN_TYPE_BYTES:
		if (v->len > 0 && v->as.bytes == NULL) {
			sni_detail_set("bytes of length %u are NULL", v->len);
			return SYN_EINVAL;
		}
		sni_mp_bin_with_body(pk, v->as.bytes, v->len);
		return 0;
	case SYN_TYPE_LIST:
		return encode_list(pk, v, depth, flags);
	case SYN_TYPE_MAP:
		return encode_map(pk, v, depth, flags);
	case SYN_TYPE_HANDLE:
		if (v->as.handle == NULL) {
			sni_detail_set("handle value is NULL");
			return SYN_EINVAL;
		}
		sni_pack_fixext16(pk, SNI_EXT_HANDLE, v->as.handle->owner,
		    v->as.handle->object);
		return 0;
	case SYN_TYPE_ERROR:
		if (v->as.error == NULL) {
			sni_detail_set("error value is NULL");
			return SYN_EINVAL;
		}
		if (!error_utf8_valid(v->as.error)) {
			sni_detail_set("error message is not valid UTF-8");
			return SYN_EINVAL;
		}
		pack_error_ext(pk, v->as.error->code, v->as.error->message,
		    v->as.error->where);
		return 0;
	default:
		return encode_scalar(pk, v, flags);
	}
}

int
sni_encode_value(
    sni_wbuf *w, const syn_value *v, uint32_t max_depth, unsigned flags)
{
	if (max_depth > 0 && sni_encode_simple(w, v)) {
		return w->err;
	}
	int rc = encode(w, v, max_depth, flags);
	if (rc != 0) {
		return fail(w, rc);
	}
	return w->err;
}

int
sni_encode_array(sni_wbuf *w, const syn_value *vals, size_t n,
    uint32_t max_depth, unsigned flags)
{
	if (n > UINT32_MAX || (n > 0 && vals == NULL)) {
		sni_detail_set("bad argument array");
		return fail(w, SYN_EINVAL);
	}
	sni_mp_array(w, n);
	for (size_t i = 0; i < n; i++) {
		if (max_depth > 0 && sni_encode_simple(w, &vals[i])) {
			continue;
		}
		int rc = encode(w, &vals[i], max_depth, flags);
		if (rc != 0) {
			char d[200];
			snprintf(d, sizeof(d), "%s", sni_detail_get());
			sni_detail_set("argument %zu: %s", i, d);
			return fail(w, rc);
		}
	}
	return w->err;
}

void
sni_encode_error(sni_wbuf *w, int code, const char *message, const char *where)
{
	pack_error_ext(w, code, message, where);
}
