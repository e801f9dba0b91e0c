/*
 * core/gen.c: generators: tasks that hand out one item per request of
 * their consumer, in strict lock-step: the generator runs only while a
 * request (OPEN, then NEXT) is pending, and waits in syn_yield between
 * requests. Actor thread only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "gen.h"
#include "reply.h"

static const void *
stream_key(uint64_t stream)
{
	return (const void *) (uintptr_t) stream;
}

static sni_task *
find_stream(sni_actor *a, uint64_t stream)
{
	return stream != 0 ? sni_ptrmap_get(&a->streams, stream_key(stream))
	                   : NULL;
}

int
sni_gen_register(sni_task *t, uint64_t stream, uint32_t window)
{
	sni_actor *a = t->actor;
	if (find_stream(a, stream) != NULL) {
		return SYN_EEXIST;
	}
	if (sni_ptrmap_put(&a->streams, stream_key(stream), t) != 0) {
		return SYN_ENOMEM;
	}
	t->gen.stream = stream;
	t->gen.window = window;
	return 0;
}

/* The request in msg becomes t's pending one. */
static void
take_request(
    sni_task *t, int origin, void *origin_ptr, uint64_t call_id, nng_msg *msg)
{
	t->origin     = (uint8_t) origin;
	t->origin_ptr = origin_ptr;
	t->call_id    = call_id;
	t->msg        = msg;
	t->allow_ptr  = origin == SNI_ORIGIN_FUTURE;
	if (origin == SNI_ORIGIN_FUTURE) {
		((syn_future *) origin_ptr)->task = t;
	}
}

/* Answers a request with nil: a CLOSE. */
static void
reply_nil(int origin, void *origin_ptr, nng_msg *msg, uint64_t call_id)
{
	static const sni_limits lim = { 1, SIZE_MAX, false };
	syn_value               nil = syn_nil();
	sni_wbuf                w;
	sni_wbuf_init(&w);
	sni_msg_encode_return(&w, call_id, &nil, &lim);
	if (w.err != 0 || sni_msg_set_body(msg, &w) != 0) {
		nng_msg_free(msg);
		msg = NULL;
	}
	sni_wbuf_fini(&w);
	sni_reply_deliver(
	    origin, origin_ptr, msg, msg != NULL ? 0 : SYN_ENOMEM);
}

/* ---- the consumer's requests ------------------------------------------ */

void
sni_gen_next(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim)
{
	uint64_t  id = 0, stream = 0;
	syn_value sent;
	void     *mem;
	int rc = sni_msg_decode_next(nng_msg_body(msg), nng_msg_len(msg), lim,
	    &id, &stream, &sent, &mem);
	if (rc != 0) {
		sni_reply_error(
		    origin, origin_ptr, msg, id, rc, sni_detail_get(), a->name);
		return;
	}
	sni_task *t = find_stream(a, stream);
	if (t == NULL || t->wait != SNI_WAIT_YIELD || a->stopping ||
	    (origin == SNI_ORIGIN_FUTURE &&
	        sni_future_cancel_requested(origin_ptr))) {
		free(mem);
		rc = t == NULL                  ? SYN_ENOENT
		    : a->stopping               ? SYN_ECLOSED
		    : t->wait != SNI_WAIT_YIELD ? SYN_EBUSY
		                                : SYN_ECANCELED;
		sni_reply_error(origin, origin_ptr, msg, id, rc,
		    rc == SYN_ENOENT ? "no such stream: it ended, was closed, "
		                       "or never began"
		        : rc == SYN_EBUSY
		        ? "the generator is still serving a request"
		        : NULL,
		    t != NULL ? t->call.name : a->name);
		return;
	}
	free(t->gen.sent_mem);
	t->gen.sent     = sent;
	t->gen.sent_mem = mem;
	take_request(t, origin, origin_ptr, id, msg);
	sni_task_resume(t, 0);
}

void
sni_gen_close(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim)
{
	uint64_t id = 0, stream = 0;
	int      rc = sni_msg_decode_close(
	         nng_msg_body(msg), nng_msg_len(msg), lim, &id, &stream);
	if (rc != 0) {
		sni_reply_error(
		    origin, origin_ptr, msg, id, rc, sni_detail_get(), a->name);
		return;
	}
	sni_task *t = find_stream(a, stream);
	if (t == NULL) {
		reply_nil(origin, origin_ptr, msg, id);
		return;
	}
	if (t->gen.close_ptr != NULL) {
		sni_reply_error(origin, origin_ptr, msg, id, SYN_EBUSY,
		    "the stream is being closed already", t->call.name);
		return;
	}
	t->gen.close_asked  = true;
	t->gen.close_origin = (uint8_t) origin;
	t->gen.close_ptr    = origin_ptr;
	t->gen.close_id     = id;
	t->gen.close_msg    = msg;
	if (t->wait == SNI_WAIT_YIELD) {
		sni_task_resume(t, SYN_EITERCLOSED);
	}
}

void
sni_gen_finish(sni_task *t, int rc)
{
	sni_ptrmap_del(&t->actor->streams, stream_key(t->gen.stream));
	if (rc == SYN_EEND || rc == SYN_EITERCLOSED) {
		rc = 0; /* the stream is over: no error in that */
	}
	if (rc == 0 && t->closing) {
		rc = syn_raise(t, SYN_ECLOSED,
		    "the synchronizer closed while the generator ran");
	}
	if (t->origin_ptr != NULL) {
		sni_task_reply(t, rc);
	} else if (t->msg != NULL) {
		nng_msg_free(t->msg);
		t->msg = NULL;
	}
	if (t->gen.close_ptr != NULL) {
		/* Errors of the cleanup stay with the generator, as a
		 * closed generator's do in the reference library. */
		reply_nil(t->gen.close_origin, t->gen.close_ptr,
		    t->gen.close_msg, t->gen.close_id);
		t->gen.close_ptr = NULL;
	}
	free(t->gen.sent_mem);
	t->gen.sent_mem = NULL;
}

/* ---- the generator's side --------------------------------------------- */

/* Answers the pending request with item v. */
static int
deliver_item(sni_task *t, const syn_value *v)
{
	sni_limits lim = t->actor->limits;
	lim.allow_ptr  = t->allow_ptr;
	sni_wbuf w;
	sni_wbuf_init(&w);
	int rc = sni_msg_encode_return(&w, t->call_id, v, &lim);
	rc     = rc != 0 ? rc : w.err;
	if (rc != 0) {
		char detail[200];
		snprintf(detail, sizeof(detail), "%s", sni_detail_get());
		sni_wbuf_fini(&w);
		return syn_raise(t, rc, "item: %s", detail);
	}
	sni_task_deliver(t, &w, 0);
	return 0;
}

int
syn_yield(syn_task *t, const syn_value *v, syn_value *sent)
{
	int rc = sni_task_check(t);
	if (rc != 0) {
		return rc;
	}
	if (t->gen.stream == 0) {
		return syn_raise(t, SYN_ESTATE,
		    "syn_yield() in %s, which was registered as a function, "
		    "not a generator",
		    t->call.name);
	}
	if (v == NULL) {
		return syn_raise(t, SYN_EINVAL, "item is NULL");
	}
	if (t->closing || t->gen.close_asked) {
		return SYN_EITERCLOSED;
	}
	if (t->cancelled) {
		return SYN_ECANCELED;
	}
	if ((rc = deliver_item(t, v)) != 0) {
		return rc;
	}
	t->wait = SNI_WAIT_YIELD;
	rc      = sni_task_suspend(t);
	if (rc == 0 && sent != NULL) {
		*sent = t->gen.sent;
	}
	return rc;
}
