/*
 * proto/message.c: the framing of calls and replies. A body is a 3-byte
 * header (magic, version, kind) and msgpack fields; see proto.h.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Writes at p a message's header and a call id below 128: 4 bytes. */
static size_t
put_short_head(uint8_t *p, int kind, uint64_t call_id)
{
	p[0] = SNI_MAGIC;
	p[1] = SNI_VERSION;
	p[2] = (uint8_t) kind;
	p[3] = (uint8_t) call_id;
	return SNI_HDR_LEN + 1;
}

static void
put_header(sni_wbuf *w, int kind)
{
	uint8_t h[SNI_HDR_LEN] = { SNI_MAGIC, SNI_VERSION, (uint8_t) kind };
	sink(w, h, sizeof(h));
}

/* The longest head put_call_head writes. */
#define CALL_HEAD_MAX (SNI_HDR_LEN + 1 + 18 + 1 + 31)

/*
 * The common head of a call (id below 128, a name of at most 31 bytes)
 * at p: header, fixint id, nil or the target as a fixext16, fixstr name.
 * The same bytes as the general path writes; returns their number.
 */
static size_t
put_call_head(uint8_t *p, int kind, uint64_t call_id, const syn_handle *target,
    const char *method, size_t method_len)
{
	size_t n = put_short_head(p, kind, call_id);
	if (target == NULL) {
		p[n++] = 0xc0;
	} else {
		p[n++] = 0xd8; /* fixext16 */
		p[n++] = SNI_EXT_HANDLE;
		sni_put_be64(p + n, target->owner);
		sni_put_be64(p + n + 8, target->object);
		n += 16;
	}
	p[n++] = (uint8_t) (0xa0 | method_len);
	memcpy(p + n, method, method_len);
	return n + method_len;
}

/* put_call_head into w: in place when w has room. */
static void
write_short_call_head(sni_wbuf *w, int kind, uint64_t call_id,
    const syn_handle *target, const char *method, size_t method_len)
{
	uint8_t  stack[CALL_HEAD_MAX];
	uint8_t *in_place = sni_wbuf_room(w, sizeof(stack));
	size_t   n = put_call_head(in_place != NULL ? in_place : stack, kind,
	    call_id, target, method, method_len);
	if (in_place != NULL) {
		w->len += n;
	} else {
		sink(w, stack, n);
	}
}

/*
 * At p (room for 1 + 9 * nargs bytes): the array of nargs arguments when
 * there are at most SNI_CALL_SIMPLE_MAX and all are numbers, bools or
 * nil; returns its length, or 0 for anything else (bytes at p then
 * unspecified).
 */
static size_t
put_simple_args(uint8_t *p, const syn_value *args, size_t nargs)
{
	if (nargs > SNI_CALL_SIMPLE_MAX || (nargs > 0 && args == NULL)) {
		return 0;
	}
	size_t n = 1;
	for (size_t i = 0; i < nargs; i++) {
		size_t k = sni_put_simple(p + n, &args[i]);
		if (k == 0) {
			return 0;
		}
		n += k;
	}
	p[0] = (uint8_t) (0x90 | nargs);
	return n;
}

/*
 * A few arguments, all numbers, bools or nil, written in place when w has
 * room for them; false, with w unchanged, for anything else (the general
 * path then writes them, or reports what is wrong).
 */
static bool
write_simple_args(
    sni_wbuf *w, const syn_value *args, size_t nargs, const sni_limits *lim)
{
	uint8_t *at = lim->max_depth >= 1 && nargs <= SNI_CALL_SIMPLE_MAX
	    ? sni_wbuf_room(w, 1 + 9 * nargs)
	    : NULL;
	size_t   n  = at != NULL ? put_simple_args(at, args, nargs) : 0;
	w->len += n; /* (bytes past w->len are not written) */
	return n > 0;
}

size_t
sni_msg_put_simple_call(uint8_t *out, size_t cap, const syn_handle *target,
    const char *method, size_t method_len, const syn_value *args, size_t nargs)
{
	size_t head =
	    SNI_HDR_LEN + 1 + (target != NULL ? 18 : 1) + 1 + method_len;
	if (method_len == 0 || method_len > 31 || nargs > SNI_CALL_SIMPLE_MAX ||
	    head + 1 + 9 * nargs > cap ||
	    !sni_utf8_valid((const uint8_t *) method, method_len)) {
		return 0;
	}
	put_call_head(out, SNI_MSG_CALL, 0, target, method, method_len);
	size_t n = put_simple_args(out + head, args, nargs);
	return n > 0 ? head + n : 0;
}

/* A CALL, or the call part of an OPEN. */
static int
encode_call_kind(sni_wbuf *w, int kind, uint64_t call_id,
    const syn_handle *target, const char *method, size_t method_len,
    const syn_value *args, size_t nargs, const sni_limits *lim)
{
	if (method == NULL || method_len == 0 || method_len > SNI_METHOD_MAX ||
	    !sni_utf8_valid((const uint8_t *) method, method_len)) {
		sni_detail_set("a function name has 1 to %d bytes of UTF-8",
		    SNI_METHOD_MAX);
		return SYN_EINVAL;
	}
	if (call_id <= 0x7f && method_len <= 31) {
		write_short_call_head(
		    w, kind, call_id, target, method, method_len);
	} else {
		put_header(w, kind);
		sni_encode_uint(w, call_id);
		if (target != NULL) {
			sni_encode_handle(w, target);
		} else {
			sni_encode_nil(w);
		}
		sni_encode_str(w, method, method_len);
	}
	if (write_simple_args(w, args, nargs, lim)) {
		return 0;
	}
	return sni_encode_array(/* (the array is no level of its own) */
	    w, args, nargs, lim->max_depth,
	    lim->allow_ptr ? SNI_ENCODE_PTR : 0); /* (proxies: borrowed) */
}

static int
check_size(const sni_wbuf *w, const sni_limits *lim, const char *what)
{
	if (w->len > lim->max_size) {
		sni_detail_set(
		    "%s of %zu bytes is larger than the limit", what, w->len);
		return SYN_EMSGSIZE;
	}
	return 0;
}

int
sni_msg_encode_call(sni_wbuf *w, uint64_t call_id, const syn_handle *target,
    const char *method, size_t method_len, const syn_value *args, size_t nargs,
    const sni_limits *lim)
{
	int rc = encode_call_kind(w, SNI_MSG_CALL, call_id, target, method,
	    method_len, args, nargs, lim);
	return rc != 0 ? rc : check_size(w, lim, "call");
}

int
sni_msg_add_context(
    sni_wbuf *w, const void *cx, size_t len, const sni_limits *lim)
{
	sni_wbuf_put(w, cx, len);
	if (w->err == 0 && w->len > lim->max_size) {
		sni_detail_set(
		    "a call of %zu bytes with its call context of %zu "
		    "is larger than the limit",
		    w->len - len, len);
		return SYN_EMSGSIZE;
	}
	return w->err;
}

int
sni_msg_encode_open(sni_wbuf *w, uint64_t call_id, const syn_handle *target,
    const char *method, size_t method_len, const syn_value *args, size_t nargs,
    const sni_limits *lim, uint64_t stream, uint32_t window)
{
	int rc = encode_call_kind(w, SNI_MSG_OPEN, call_id, target, method,
	    method_len, args, nargs, lim);
	if (rc != 0) {
		return rc;
	}
	sni_encode_uint(w, stream);
	sni_encode_uint(w, window);
	return check_size(w, lim, "call");
}

int
sni_msg_encode_next(sni_wbuf *w, uint64_t call_id, uint64_t stream,
    const syn_value *v, const sni_limits *lim)
{
	put_header(w, SNI_MSG_NEXT);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, stream);
	int rc = sni_encode_value(
	    w, v, lim->max_depth, lim->allow_ptr ? SNI_ENCODE_PTR : 0);
	return rc != 0 ? rc : check_size(w, lim, "sent value");
}

size_t
sni_msg_put_simple_next(uint8_t *out, uint64_t stream, const syn_value *v)
{
	size_t at = put_short_head(out, SNI_MSG_NEXT, 0);
	at += sni_put_uint(out + at, stream);
	size_t n = sni_put_simple(out + at, v);
	return n > 0 ? at + n : 0;
}

int
sni_msg_encode_throw(sni_wbuf *w, uint64_t call_id, uint64_t stream, int code,
    const char *message, const char *where, const sni_limits *lim)
{
	put_header(w, SNI_MSG_THROW);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, stream);
	sni_encode_error(w, code, message, where);
	return check_size(w, lim, "thrown error");
}

void
sni_msg_encode_close(sni_wbuf *w, uint64_t call_id, uint64_t stream)
{
	put_header(w, SNI_MSG_CLOSE);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, stream);
}

void
sni_msg_encode_end(sni_wbuf *w, uint64_t call_id)
{
	put_header(w, SNI_MSG_END);
	sni_encode_uint(w, call_id);
}

static int encode_return_kind(sni_wbuf *w, int kind, uint64_t call_id,
    const syn_value *v, const sni_limits *lim);

int
sni_msg_encode_return(
    sni_wbuf *w, uint64_t call_id, const syn_value *v, const sni_limits *lim)
{
	return encode_return_kind(w, SNI_MSG_RETURN, call_id, v, lim);
}

int
sni_msg_encode_raw(
    sni_wbuf *w, uint64_t call_id, const syn_value *v, const sni_limits *lim)
{
	return encode_return_kind(w, SNI_MSG_RAW, call_id, v, lim);
}

/* A reply of kind with a number, bool or nil; 0 when it needs more. */
static size_t
put_simple_reply(uint8_t *at, int kind, uint64_t call_id, const syn_value *v)
{
	size_t n;
	if (call_id > 0x7f ||
	    (n = sni_put_simple(at + SNI_HDR_LEN + 1, v)) == 0) {
		return 0;
	}
	return put_short_head(at, kind, call_id) + n;
}

size_t
sni_msg_put_simple_return(uint8_t *out, uint64_t call_id, const syn_value *v)
{
	return put_simple_reply(out, SNI_MSG_RETURN, call_id, v);
}

static int
encode_return_kind(sni_wbuf *w, int kind, uint64_t call_id, const syn_value *v,
    const sni_limits *lim)
{
	/* The commonest reply, a number, bool or nil, in place. */
	uint8_t *at =
	    lim->max_depth > 0 ? sni_wbuf_room(w, SNI_SIMPLE_RETURN_MAX) : NULL;
	size_t n;
	if (at != NULL && (n = put_simple_reply(at, kind, call_id, v)) > 0) {
		w->len += n;
		return check_size(w, lim, "result");
	}
	put_header(w, kind);
	sni_encode_uint(w, call_id);
	int rc = sni_encode_value(
	    w, v, lim->max_depth, sni_limits_encode_flags(lim));
	return rc != 0 ? rc : check_size(w, lim, "result");
}

void
sni_msg_encode_error(sni_wbuf *w, uint64_t call_id, int code,
    const char *message, const char *where)
{
	put_header(w, SNI_MSG_ERROR);
	sni_encode_uint(w, call_id);
	sni_encode_error(w, code, message, where);
}

void
sni_msg_encode_items(sni_wbuf *w, uint64_t call_id, int status,
    const char *message, const char *where, const void *items, size_t len,
    uint32_t count)
{
	put_header(w, SNI_MSG_ITEMS);
	sni_encode_uint(w, call_id);
	if (status == 0) {
		sni_encode_nil(w);
	} else if (status == SYN_EEND) {
		sni_mp_true(w);
	} else {
		sni_encode_error(w, status, message, where);
	}
	sni_encode_uint(w, count);
	sink(w, items, len);
}

void
sni_msg_encode_release(
    sni_wbuf *w, uint64_t call_id, const syn_handle *h, uint64_t count)
{
	put_header(w, SNI_MSG_RELEASE);
	sni_encode_uint(w, call_id);
	sni_encode_handle(w, h);
	sni_encode_uint(w, count);
}

void
sni_msg_encode_cancel(sni_wbuf *w, uint64_t call_id, uint64_t target)
{
	put_header(w, SNI_MSG_CANCEL);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, target);
}

void
sni_msg_encode_poll(sni_wbuf *w, uint64_t call_id)
{
	put_header(w, SNI_MSG_POLL);
	sni_encode_uint(w, call_id);
}

void
sni_msg_encode_wrapped(sni_wbuf *w, int kind, uint64_t call_id, uint64_t id,
    const void *inner, size_t len)
{
	put_header(w, (uint8_t) kind);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, id);
	sni_mp_bin_with_body(w, inner, len);
}

void
sni_msg_encode_bundle(
    sni_wbuf *w, int kind, uint64_t call_id, uint64_t pending, uint32_t count)
{
	put_header(w, (uint8_t) kind);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, pending);
	sni_encode_uint(w, count);
}

void
sni_msg_bundle_add(sni_wbuf *w, const void *msg, size_t len)
{
	sni_mp_bin_with_body(w, msg, len);
}

void
sni_msg_encode_fetch(sni_wbuf *w, uint64_t call_id, uint64_t batch)
{
	put_header(w, SNI_MSG_FETCH);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, batch);
}

int
sni_msg_kind(const void *body, size_t len)
{
	const uint8_t *b = body;
	if (len < SNI_HDR_LEN || b[0] != SNI_MAGIC) {
		sni_detail_set("not a synchronicity message");
		return -1;
	}
	if (b[1] != SNI_VERSION) {
		sni_detail_set("message version %u, this library speaks %u",
		    b[1], SNI_VERSION);
		return -1;
	}
	return b[2];
}

int
sni_msg_check(const void *body, size_t len, const sni_limits *lim, int *kind)
{
	if (len > lim->max_size) {
		sni_detail_set(
		    "message of %zu bytes is larger than the limit", len);
		return SYN_EMSGSIZE;
	}
	*kind = sni_msg_kind(body, len);
	if (*kind < SNI_MSG_CALL || *kind > SNI_MSG_LAST) {
		if (*kind >= 0) {
			sni_detail_set("unknown message kind %d", *kind);
		}
		return SYN_EPROTO;
	}
	sni_reader r;
	sni_reader_init(
	    &r, (const uint8_t *) body + SNI_HDR_LEN, len - SNI_HDR_LEN);
	while (sni_reader_left(&r) > 0) {
		size_t need = 0;
		int    rc   = sni_scan_value(&r, lim, &need);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
open_body(const void *body, size_t len, const sni_limits *lim, int kind,
    sni_reader *r)
{
	if (len > lim->max_size) {
		sni_detail_set(
		    "message of %zu bytes is larger than the limit", len);
		return SYN_EMSGSIZE;
	}
	if (sni_msg_kind(body, len) != kind) {
		return SYN_EPROTO;
	}
	sni_reader_init(
	    r, (const uint8_t *) body + SNI_HDR_LEN, len - SNI_HDR_LEN);
	return 0;
}

static int
read_target(sni_reader *r, sni_call_view *v)
{
	v->has_target = !sni_read_nil(r);
	if (!v->has_target) {
		return 0;
	}
	return sni_read_handle(r, &v->target);
}

/*
 * The common call in one pass: a fixint id, no target or a handle, an
 * ASCII name of up to 31 bytes, and up to 15 arguments that are numbers,
 * nils or bools (which take no memory beyond the argument array), then a
 * call context or nothing. Returns false, with
 * r untouched, for anything else: the general path then reads it and
 * reports what is wrong.
 */
static bool
decode_simple_call(const sni_reader *r, const sni_limits *lim, sni_call_view *v)
{
	const uint8_t *p    = r->p;
	size_t         left = sni_reader_left(r);
	size_t         at   = 2; /* after the id and a nil target */
	if (lim->max_depth < 1 || left < 4 || p[0] > 0x7f) {
		return false;
	}
	v->has_target = p[1] != 0xc0;
	if (v->has_target) { /* a fixext16 handle */
		if (left < 21 || p[1] != 0xd8 || p[2] != SNI_EXT_HANDLE) {
			return false;
		}
		v->target.owner  = sni_load_be(p + 3, 8);
		v->target.object = sni_load_be(p + 11, 8);
		at               = 19;
	}
	if ((p[at] & 0xe0) != 0xa0) {
		return false;
	}
	size_t mlen = p[at] & 0x1f;
	if (mlen == 0 || left < at + 2 + mlen ||
	    (p[at + 1 + mlen] & 0xf0) != 0x90) {
		return false;
	}
	if (!sni_all_ascii(p + at + 1, mlen)) {
		return false; /* UTF-8 beyond ASCII: the full check */
	}
	sni_reader args;
	syn_value  scratch;
	sni_reader_init(&args, p + at + 1 + mlen, left - at - 1 - mlen);
	sni_reader c     = args;
	uint32_t   nargs = *c.p++ & 0x0f;
	bool       keep  = nargs <= SNI_CALL_SIMPLE_MAX;
	for (uint32_t i = 0; i < nargs; i++) {
		if (!sni_read_simple(
		        &c, keep ? &v->simple_args[i] : &scratch)) {
			return false;
		}
	}
	v->context     = c.p;
	v->context_len = 0;
	if (sni_reader_left(&c) != 0) { /* a call context, or nothing */
		if (sni_context_scan(&c, lim) != 0 ||
		    sni_reader_left(&c) != 0) {
			return false;
		}
		v->context_len = (uint32_t) (c.p - v->context);
	}
	v->call_id      = p[0];
	v->method       = (const char *) p + at + 1;
	v->method_len   = (uint32_t) mlen;
	v->args         = args;
	v->nargs        = nargs;
	v->args_need    = sni_bump_round((size_t) nargs * sizeof(syn_value));
	v->args_decoded = keep;
	return true;
}

/* The fields of a CALL (or the call part of an OPEN), leaving r after
 * the arguments. */
static int
read_call(sni_reader *r, const sni_limits *lim, sni_call_view *v)
{
	int rc;
	if ((rc = sni_read_uint(r, &v->call_id)) != 0 ||
	    (rc = read_target(r, v)) != 0 ||
	    (rc = sni_read_str(r, &v->method, &v->method_len)) != 0) {
		return rc;
	}
	if (v->method_len == 0 || v->method_len > SNI_METHOD_MAX) {
		sni_detail_set("function name of %u bytes", v->method_len);
		return SYN_EPROTO;
	}
	v->args         = *r;
	v->args_need    = 0;
	v->args_decoded = false;
	return sni_scan_array(r, lim, &v->nargs, &v->args_need);
}

/* The call context after a CALL's or OPEN's last field, if any. */
static int
read_context(sni_reader *r, const sni_limits *lim, sni_call_view *v)
{
	v->context     = r->p;
	v->context_len = 0;
	if (sni_reader_left(r) == 0) {
		return 0;
	}
	int rc = sni_context_scan(r, lim);
	if (rc == 0) {
		v->context_len = (uint32_t) (r->p - v->context);
	}
	return rc;
}

static int
check_end(const sni_reader *r, const char *after)
{
	if (sni_reader_left(r) != 0) {
		sni_detail_set("trailing bytes after the %s", after);
		return SYN_EPROTO;
	}
	return 0;
}

int
sni_msg_decode_call(
    const void *body, size_t len, const sni_limits *lim, sni_call_view *v)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_CALL, &r);
	if (rc != 0) {
		return rc;
	}
	if (decode_simple_call(&r, lim, v)) {
		return 0;
	}
	if ((rc = read_call(&r, lim, v)) != 0 ||
	    (rc = read_context(&r, lim, v)) != 0) {
		return rc;
	}
	return check_end(&r, "call context");
}

/* A stream id: 2 and above (maps keyed by it reserve 0 and 1). */
static int
read_stream(sni_reader *r, uint64_t *stream)
{
	int rc = sni_read_uint(r, stream);
	if (rc == 0 && *stream < SNI_STREAM_MIN) {
		sni_detail_set(
		    "stream id %llu is below 2", (unsigned long long) *stream);
		rc = SYN_EPROTO;
	}
	return rc;
}

int
sni_msg_decode_open(const void *body, size_t len, const sni_limits *lim,
    sni_call_view *v, uint64_t *stream, uint32_t *window)
{
	sni_reader r;
	uint64_t   w;
	int        rc = open_body(body, len, lim, SNI_MSG_OPEN, &r);
	if (rc != 0 || (rc = read_call(&r, lim, v)) != 0 ||
	    (rc = sni_read_uint(&r, stream)) != 0 ||
	    (rc = sni_read_uint(&r, &w)) != 0) {
		return rc;
	}
	if (*stream < SNI_STREAM_MIN || w > UINT32_MAX) {
		sni_detail_set("stream id below 2, or a window beyond 32 bits");
		return SYN_EPROTO;
	}
	*window = (uint32_t) w;
	if ((rc = read_context(&r, lim, v)) != 0) {
		return rc;
	}
	return check_end(&r, "call context");
}

int
sni_msg_decode_next(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *stream, syn_value *sent, void **memp)
{
	sni_reader r;
	*memp      = NULL;
	bool throw = sni_msg_kind(body, len) == SNI_MSG_THROW;
	int rc =
	    open_body(body, len, lim, throw ? SNI_MSG_THROW : SNI_MSG_NEXT, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = read_stream(&r, stream)) != 0) {
		return rc;
	}
	if ((rc = sni_decode_value(
	         r.p, sni_reader_left(&r), lim, sent, memp)) != 0) {
		return rc;
	}
	if (throw &&(
	        sent->type != SYN_TYPE_ERROR || sent->as.error->code == 0)) {
		sni_detail_set("a THROW holds no error");
		free(*memp);
		*memp = NULL;
		return SYN_EPROTO;
	}
	return 0;
}

bool
sni_msg_simple_next(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *stream, syn_value *sent)
{
	const uint8_t *b = body;
	if (len < SNI_HDR_LEN + 3 || len > lim->max_size || b[0] != SNI_MAGIC ||
	    b[1] != SNI_VERSION || b[2] != SNI_MSG_NEXT ||
	    b[SNI_HDR_LEN] > 0x7f) {
		return false;
	}
	sni_reader r;
	syn_value  s, v;
	sni_reader_init(&r, b + SNI_HDR_LEN + 1, len - SNI_HDR_LEN - 1);
	/* (a stream id is an unsigned integer, as sni_read_uint takes it) */
	if (!sni_read_simple(&r, &s) ||
	    (s.type != SYN_TYPE_UINT &&
	        (s.type != SYN_TYPE_INT || s.as.i < SNI_STREAM_MIN)) ||
	    !sni_read_simple(&r, &v) || sni_reader_left(&r) != 0) {
		return false;
	}
	*call_id = b[SNI_HDR_LEN];
	*stream  = s.type == SYN_TYPE_UINT ? s.as.u : (uint64_t) s.as.i;
	*sent    = v;
	return true;
}

int
sni_msg_decode_close(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *stream)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_CLOSE, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = read_stream(&r, stream)) != 0) {
		return rc;
	}
	return check_end(&r, "stream id");
}

int
sni_msg_decode_items(const void *body, size_t len, const sni_limits *lim,
    sni_items_view *v, void **memp)
{
	sni_reader r;
	uint64_t   count;
	*memp  = NULL;
	v->err = NULL;
	int rc = open_body(body, len, lim, SNI_MSG_ITEMS, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, &v->call_id)) != 0) {
		return rc;
	}
	v->status = 0;
	if (sni_read_nil(&r)) {
		v->status = 0;
	} else if (sni_read_true(&r)) {
		v->status = SYN_EEND;
	} else {
		syn_value e;
		if ((rc = sni_decode_value_next(&r, lim, &e, memp)) != 0) {
			return rc;
		}
		if (e.type != SYN_TYPE_ERROR || e.as.error->code == 0) {
			free(*memp);
			*memp = NULL;
			sni_detail_set(
			    "an ITEMS status is nil, true or an error");
			return SYN_EPROTO;
		}
		v->err    = e.as.error;
		v->status = e.as.error->code;
	}
	if ((rc = sni_read_uint(&r, &count)) != 0 || count > UINT32_MAX) {
		free(*memp);
		*memp = NULL;
		return rc != 0 ? rc : SYN_EPROTO;
	}
	v->count = (uint32_t) count;
	v->items = r;
	return 0;
}

int
sni_msg_decode_release(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, syn_handle *h, uint64_t *count)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_RELEASE, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = sni_read_handle(&r, h)) != 0 ||
	    (rc = sni_read_uint(&r, count)) != 0) {
		return rc;
	}
	if (*count == 0) {
		sni_detail_set("a RELEASE of no reference");
		return SYN_EPROTO;
	}
	return check_end(&r, "count");
}

int
sni_msg_decode_cancel(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *target)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_CANCEL, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = sni_read_uint(&r, target)) != 0) {
		return rc;
	}
	return check_end(&r, "target");
}

int
sni_msg_decode_poll(
    const void *body, size_t len, const sni_limits *lim, uint64_t *call_id)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_POLL, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0) {
		return rc;
	}
	return check_end(&r, "call id");
}

int
sni_msg_decode_wrapped(const void *body, size_t len, const sni_limits *lim,
    int kind, uint64_t *call_id, uint64_t *id, const void **inner,
    size_t *inner_len)
{
	sni_reader     r;
	sni_head       h;
	const uint8_t *p;
	int            rc = open_body(body, len, lim, kind, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = sni_read_uint(&r, id)) != 0) {
		return rc;
	}
	if (sni_read_head(&r, &h) != 0 || h.sh != SH_BIN ||
	    !sni_take(&r, h.num, &p)) {
		sni_detail_set("expected a wrapped message (bin)");
		return SYN_EPROTO;
	}
	*inner     = p;
	*inner_len = h.num;
	return check_end(&r, "wrapped message");
}

int
sni_msg_decode_bundle(const void *body, size_t len, const sni_limits *lim,
    int kind, uint64_t *call_id, uint64_t *pending, uint32_t *count,
    sni_reader *r)
{
	uint64_t n;
	int      rc = open_body(body, len, lim, kind, r);
	if (rc != 0 || (rc = sni_read_uint(r, call_id)) != 0 ||
	    (rc = sni_read_uint(r, pending)) != 0 ||
	    (rc = sni_read_uint(r, &n)) != 0) {
		return rc;
	}
	if (n == 0 || n > SNI_BATCH_MAX) {
		sni_detail_set("a bundle of %llu messages (1 to %d)",
		    (unsigned long long) n, SNI_BATCH_MAX);
		return SYN_EPROTO;
	}
	sni_reader rest = *r;
	for (uint64_t i = 0; i < n; i++) {
		sni_head       h;
		const uint8_t *p;
		if (sni_read_head(&rest, &h) != 0 || h.sh != SH_BIN ||
		    !sni_take(&rest, h.num, &p)) {
			sni_detail_set("expected a message (bin) in a bundle");
			return SYN_EPROTO;
		}
	}
	*count = (uint32_t) n;
	return check_end(&rest, "bundle");
}

void
sni_msg_bundle_next(sni_reader *r, const void **msg, size_t *len)
{
	sni_head       h = { 0 };
	const uint8_t *p = NULL;
	/* checked whole by sni_msg_decode_bundle */
	if (sni_read_head(r, &h) != 0 || !sni_take(r, h.num, &p)) {
		h.num = 0;
	}
	*msg = p;
	*len = h.num;
}

int
sni_msg_recall(const void *body, size_t len, uint64_t id, sni_wbuf *w)
{
	uint64_t   old;
	sni_reader r;
	int        kind = sni_msg_kind(body, len);
	if (kind < 0) {
		return SYN_EPROTO;
	}
	sni_reader_init(
	    &r, (const uint8_t *) body + SNI_HDR_LEN, len - SNI_HDR_LEN);
	if (sni_read_uint(&r, &old) != 0) {
		return SYN_EPROTO;
	}
	put_header(w, kind);
	sni_encode_uint(w, id);
	sink(w, r.p, sni_reader_left(&r));
	return 0;
}

void
sni_msg_encode_hello(sni_wbuf *w, uint64_t call_id, uint64_t max_reply)
{
	put_header(w, SNI_MSG_HELLO);
	sni_encode_uint(w, call_id);
	sni_encode_uint(w, max_reply);
}

int
sni_msg_decode_hello(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *max_reply)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_HELLO, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = sni_read_uint(&r, max_reply)) != 0) {
		return rc;
	}
	return check_end(&r, "largest reply");
}

int
sni_msg_decode_fetch(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *batch)
{
	sni_reader r;
	int        rc = open_body(body, len, lim, SNI_MSG_FETCH, &r);
	if (rc != 0 || (rc = sni_read_uint(&r, call_id)) != 0 ||
	    (rc = sni_read_uint(&r, batch)) != 0) {
		return rc;
	}
	return check_end(&r, "batch id");
}

int
sni_msg_call_id(const void *body, size_t len, uint64_t *call_id)
{
	if (sni_msg_kind(body, len) < 0) {
		return SYN_EPROTO;
	}
	sni_reader r;
	sni_reader_init(
	    &r, (const uint8_t *) body + SNI_HDR_LEN, len - SNI_HDR_LEN);
	return sni_read_uint(&r, call_id);
}

static const syn_error end_error = { SYN_EEND,
	"end of the stream: the generator has no more items", "" };

static int
decode_error(sni_reader *r, const sni_limits *lim, int *code,
    const syn_error **err, void **memp)
{
	syn_value v;
	int rc = sni_decode_value(r->p, sni_reader_left(r), lim, &v, memp);
	if (rc != 0) {
		return rc;
	}
	if (v.type != SYN_TYPE_ERROR || v.as.error->code == 0) {
		sni_detail_set("an ERROR message holds no error");
		free(*memp);
		*memp = NULL;
		return SYN_EPROTO;
	}
	*err  = v.as.error;
	*code = v.as.error->code;
	return 0;
}

int
sni_msg_decode_reply(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, int *code, syn_value *value, const syn_error **err,
    void **memp)
{
	sni_reader r;
	int        kind = sni_msg_kind(body, len);
	*memp           = NULL;
	*err            = NULL;
	*code           = 0;
	if (kind != SNI_MSG_RETURN && kind != SNI_MSG_ERROR &&
	    kind != SNI_MSG_END && kind != SNI_MSG_RAW) {
		sni_detail_set("expected a reply");
		return SYN_EPROTO;
	}
	if (len > lim->max_size) {
		sni_detail_set(
		    "message of %zu bytes is larger than the limit", len);
		return SYN_EMSGSIZE;
	}
	sni_reader_init(
	    &r, (const uint8_t *) body + SNI_HDR_LEN, len - SNI_HDR_LEN);
	int rc = sni_read_uint(&r, call_id);
	if (rc != 0) {
		return rc;
	}
	if (kind == SNI_MSG_ERROR) {
		return decode_error(&r, lim, code, err, memp);
	}
	if (kind == SNI_MSG_END) {
		*code = SYN_EEND;
		*err  = &end_error;
		return check_end(&r, "call id");
	}
	return sni_decode_value(r.p, sni_reader_left(&r), lim, value, memp);
}

bool
sni_msg_simple_return(const void *body, size_t len, syn_value *value)
{
	const uint8_t *b = body;
	if (len < SNI_HDR_LEN + 2 || b[0] != SNI_MAGIC || b[1] != SNI_VERSION ||
	    b[2] != SNI_MSG_RETURN || b[SNI_HDR_LEN] > 0x7f) {
		return false;
	}
	sni_reader r;
	sni_reader_init(&r, b + SNI_HDR_LEN + 1, len - SNI_HDR_LEN - 1);
	syn_value v;
	if (!sni_read_simple(&r, &v) || sni_reader_left(&r) != 0) {
		return false;
	}
	*value = v;
	return true;
}

int
sni_msg_set_body(nng_msg *m, const sni_wbuf *w)
{
	size_t len = nng_msg_len(m);
	if (len >= w->len) {
		/* Overwrite in place and cut the rest: no allocation, and
		 * cheaper than clear + append (a reply is rarely longer than
		 * the call it answers). */
		memcpy(nng_msg_body(m), w->buf, w->len);
		nng_msg_chop(m, len - w->len);
		return 0;
	}
	if (nng_msg_realloc(m, w->len) != 0) {
		return SYN_ENOMEM;
	}
	memcpy(nng_msg_body(m), w->buf, w->len);
	return 0;
}

int
sni_msg_put(nng_msg **mp, const sni_wbuf *w)
{
	if (w->err != 0) {
		return w->err;
	}
	if (*mp == NULL && nng_msg_alloc(mp, w->len) != 0) {
		*mp = NULL;
		return SYN_ENOMEM;
	}
	return sni_msg_set_body(*mp, w);
}
