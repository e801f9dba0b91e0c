/*
 * core/reply.c: where replies go.
 */
#include "reply.h"
#include "door.h"
#include "future.h"
#include "proto/proto.h"
#include "task.h"

void
sni_reply_deliver(int origin, void *origin_ptr, nng_msg *msg, int rc)
{
	if (origin == SNI_ORIGIN_FUTURE) {
		syn_future *f = origin_ptr;
		f->msg        = msg;
		f->ilen       = 0;
		sni_future_complete(f, rc);
		return;
	}
	sni_door_reply(origin_ptr, msg);
}

void
sni_reply_send(int origin, void *origin_ptr, nng_msg *msg, sni_wbuf *w, int rc)
{
	if (w->err == 0 && msg == NULL && origin == SNI_ORIGIN_FUTURE &&
	    sni_future_answer_inline(origin_ptr, w->buf, w->len, rc)) {
		sni_wbuf_fini(w);
		return;
	}
	if (sni_msg_put(&msg, w) != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
			msg = NULL;
		}
		if (w->err == 0 && origin == SNI_ORIGIN_FUTURE) {
			/* what the reply carried goes back (to a peer's
			 * connection it stays counted until it ends) */
			sni_reply_drop(w->buf, w->len);
		}
	}
	sni_wbuf_fini(w);
	/* (without a body an error keeps its code, without its message) */
	sni_reply_deliver(
	    origin, origin_ptr, msg, msg != NULL || rc != 0 ? rc : SYN_ENOMEM);
}

void
sni_reply_error(int origin, void *origin_ptr, nng_msg *msg, uint64_t call_id,
    int code, const char *message, const char *where)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	if (message == NULL || message[0] == '\0') {
		message = syn_strerror(code);
	}
	sni_msg_encode_error(&w, call_id, code, message, where);
	sni_reply_send(origin, origin_ptr, msg, &w, code);
}

nng_msg *
sni_reply_error_msg(
    uint64_t call_id, int code, const char *message, const char *where)
{
	sni_wbuf w;
	nng_msg *m = NULL;
	sni_wbuf_init(&w);
	sni_msg_encode_error(&w, call_id, code, message, where);
	if (w.err == 0 && nng_msg_alloc(&m, 0) == 0 &&
	    nng_msg_append(m, w.buf, w.len) != 0) {
		nng_msg_free(m);
		m = NULL;
	}
	sni_wbuf_fini(&w);
	return m;
}

nng_msg *
sni_reply_oom(uint64_t call_id)
{
	return sni_reply_error_msg(call_id, SYN_ENOMEM, "out of memory", "");
}

/* What a nil RETURN is encoded under. */
static const sni_limits nil_limits = { 1, SIZE_MAX, false, false, false,
	false };

nng_msg *
sni_reply_nil_msg(uint64_t call_id)
{
	syn_value nil = syn_nil();
	nng_msg  *m   = NULL;
	sni_wbuf  w;
	sni_wbuf_init(&w);
	if (sni_msg_encode_return(&w, call_id, &nil, &nil_limits) != 0 ||
	    sni_msg_put(&m, &w) != 0) {
		m = NULL;
	}
	sni_wbuf_fini(&w);
	return m;
}

void
sni_reply_nil(int origin, void *origin_ptr, nng_msg *msg, uint64_t call_id)
{
	syn_value nil = syn_nil();
	sni_wbuf  w;
	sni_wbuf_init(&w);
	sni_msg_encode_return(&w, call_id, &nil, &nil_limits);
	sni_reply_send(origin, origin_ptr, msg, &w, 0);
}
