/*
 * core/gen.c: generators: tasks that hand out one item per request of
 * their consumer, in strict lock-step: the generator runs only while a
 * request (OPEN, then NEXT) is pending, and waits in syn_yield between
 * requests. Actor thread only.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "door.h"
#include "errors.h"
#include "gen.h"
#include "reply.h"

/* A batch is sent when it holds window / 2 items or this many bytes. */
#define BATCH_BYTES 65536
#define ITEMS_ROOM 1024 /* an ITEMS message's head and final status */

/* The most a waiting generator keeps of its batch buffer. */
#define BATCH_BUF_KEPT 16384

/* The items a generator with a window made and has not sent yet. */
typedef struct sni_batch {
	sni_wbuf w; /* the items, encoded back to back */
	uint32_t count;
	uint32_t max;
} sni_batch;

/* The key of pipe's stream (pipe 0: this process's) in a->streams: each
 * peer's ids are its own (a raw client that numbers its streams from 1
 * does not meet another's), and a peer, which knows neither the pipe's
 * mix nor the process's nonce, cannot pick an id that meets another's
 * (splitmix64's finalizer). */
static const void *
stream_key(uint64_t stream, uint32_t pipe)
{
	if (pipe == 0) {
		return (const void *) (uintptr_t) stream;
	}
	uint64_t z = sni_process_nonce() + pipe * UINT64_C(0x9e3779b97f4a7c15);
	z          = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z          = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return (const void *) (uintptr_t) (stream ^ z ^ (z >> 31));
}

/* The stream's generator, if the request's pipe (0: this process) is
 * the one that opened it: a peer cannot reach another's streams. */
static sni_task *
find_stream(sni_actor *a, uint64_t stream, uint32_t pipe)
{
	sni_task *t = stream != 0
	    ? sni_ptrmap_get(&a->streams, stream_key(stream, pipe))
	    : NULL;
	return t != NULL && t->gen.pipe == pipe && t->gen.stream == stream
	    ? t
	    : NULL;
}

void
sni_gen_drop_pipe(sni_actor *a, uint32_t pipe)
{
	size_t     i = 0, n = 0;
	sni_task  *t;
	sni_task **gone = malloc(a->streams.len * sizeof(*gone) + 1);
	while (gone != NULL && (t = sni_ptrmap_next(&a->streams, &i)) != NULL) {
		if (t->gen.pipe == pipe) {
			gone[n++] = t;
		}
	}
	for (size_t k = 0; k < n; k++) { /* as a CLOSE nobody waits for */
		gone[k]->gen.close_asked = true;
		if (gone[k]->wait == SNI_WAIT_YIELD) {
			sni_task_resume(gone[k], SYN_EITERCLOSED);
		}
	}
	free(gone);
}

/* t's stream ends (or never began): its peer has one fewer open, and
 * its host, and all peers. */
static void
uncount_stream(sni_task *t)
{
	sni_actor *a = t->actor;
	if (t->remote) {
		sni_count_add(&a->stream_counts, t->gen.pipe, false);
		if (t->gen.host != 0) {
			sni_count_add(&a->host_streams, t->gen.host, false);
		}
		a->peer_streams--;
	}
}

/* Why one more generator of t's peer (from host) may not open: the
 * count of its connection, its host, or all peers is full. 0: none. */
static int
streams_full(sni_task *t, uint32_t host)
{
	sni_actor *a = t->actor;
	if (sni_count_of(&a->stream_counts, t->gen.pipe) >=
	    SNI_PEER_STREAMS_MAX) {
		sni_detail_set("%d generators of this connection are open "
		               "already",
		    SNI_PEER_STREAMS_MAX);
		return SYN_EBUSY;
	}
	if (host != 0 &&
	    sni_count_of(&a->host_streams, host) >= SNI_HOST_STREAMS_MAX) {
		sni_detail_set("%d generators of connections from this host "
		               "are open already",
		    SNI_HOST_STREAMS_MAX);
		return SYN_EBUSY;
	}
	if (a->peer_streams >= SNI_STREAMS_MAX) {
		sni_detail_set("%d generators of other processes are open "
		               "already",
		    SNI_STREAMS_MAX);
		return SYN_EBUSY;
	}
	return 0;
}

/*
 * Whether another process's peer may open one more generator here: its
 * connection is still up (a request can come after its pipe's end was
 * handled: its stream would wait for nobody), and it keeps fewer than
 * SNI_PEER_STREAMS_MAX open, its host fewer than SNI_HOST_STREAMS_MAX
 * and all peers fewer than SNI_STREAMS_MAX. Counted when it may.
 */
static int
peer_may_open(sni_task *t)
{
	sni_actor *a = t->actor;
	if (sni_door_pipe_gone(a, t->gen.pipe)) {
		sni_detail_set("the connection closed");
		return SYN_ECONNRESET;
	}
	uint32_t host =
	    a->door != NULL ? sni_door_pipe_host(a->door, t->gen.pipe) : 0;
	int rc = streams_full(t, host);
	if (rc != 0) {
		return rc;
	}
	if (sni_count_add(&a->stream_counts, t->gen.pipe, true) != 0) {
		return SYN_ENOMEM;
	}
	if (host != 0 && sni_count_add(&a->host_streams, host, true) != 0) {
		sni_count_add(&a->stream_counts, t->gen.pipe, false);
		return SYN_ENOMEM;
	}
	t->gen.host = host;
	a->peer_streams++;
	return 0;
}

int
sni_gen_register(sni_task *t, uint64_t stream, uint32_t window)
{
	sni_actor *a = t->actor;
	if (sni_ptrmap_get(&a->streams, stream_key(stream, t->gen.pipe)) !=
	    NULL) {
		return SYN_EEXIST;
	}
	int rc = t->remote ? peer_may_open(t) : 0;
	if (rc != 0) {
		return rc;
	}
	sni_batch *b = NULL;
	if (window > 0) {
		if ((b = malloc(sizeof(*b))) == NULL) {
			uncount_stream(t);
			return SYN_ENOMEM;
		}
		sni_wbuf_init(&b->w);
		b->count = 0;
		b->max   = window / 2 > 0 ? window / 2 : 1;
	}
	if (sni_ptrmap_put(&a->streams, stream_key(stream, t->gen.pipe), t) !=
	    0) {
		free(b);
		uncount_stream(t);
		return SYN_ENOMEM;
	}
	t->gen.stream = stream;
	t->gen.window = window;
	t->gen.batch  = b;
	return 0;
}

/* The room an ITEMS message keeps for its head and final status: a
 * quarter of max, what its consumer takes, at most ITEMS_ROOM. */
static size_t
items_room(size_t max)
{
	return max / 4 < ITEMS_ROOM ? max / 4 : ITEMS_ROOM;
}

/* Sends the batch to the pending request, with status (0: more to come,
 * SYN_EEND: the end, or the error the generator returned). */
static void
send_batch(sni_task *t, int status)
{
	sni_batch  *b = t->gen.batch;
	char        where[256];
	const char *msg = NULL;
	where[0]        = '\0';
	if (status != 0 && status != SYN_EEND) {
		msg = sni_task_error_text(t, status, where, sizeof(where));
	}
	/* (the status's texts fit in a quarter of the room each) */
	size_t fit  = items_room(sni_task_limits(t).max_size) / 4;
	size_t keep = msg != NULL ? sni_text_fit(msg, fit) : 0;
	char  *cut  = NULL;
	where[sni_text_fit(where, fit)] = '\0';
	if (msg != NULL && msg[keep] != '\0' &&
	    (cut = strndup(msg, keep)) != NULL) {
		msg = cut;
	}
	sni_wbuf w;
	sni_wbuf_init(&w);
	sni_msg_encode_items(
	    &w, t->call_id, status, msg, where, b->w.buf, b->w.len, b->count);
	free(cut);
	if (w.err != 0) { /* no memory for the message: the items go back */
		sni_items_drop(
		    b->w.buf, b->w.len, b->count, t->remote ? t->gen.pipe : 0);
	}
	b->w.len = 0; /* the buffer stays for the next batch */
	b->count = 0;
	sni_task_deliver(t, &w, 0);
}

/* Items made that nobody will get: their references go back. */
static void
drop_batch(sni_task *t)
{
	sni_batch *b = t->gen.batch;
	sni_items_drop(
	    b->w.buf, b->w.len, b->count, t->remote ? t->gen.pipe : 0);
	b->count = 0;
	b->w.len = 0;
}

void
sni_gen_flush(sni_task *t)
{
	if (t->gen.batch->count > 0) {
		send_batch(t, 0);
	}
}

/* The request in msg becomes t's pending one. */
static void
take_request(
    sni_task *t, int origin, void *origin_ptr, uint64_t call_id, nng_msg *msg)
{
	sni_task_unindex(t->actor, t);
	t->origin     = (uint8_t) origin;
	t->origin_ptr = origin_ptr;
	t->call_id    = call_id;
	t->msg        = msg;
	t->allow_ptr  = origin == SNI_ORIGIN_FUTURE;
	sni_task_reindex(t->actor, t);
}

/* ---- the consumer's requests ------------------------------------------ */

/*
 * A NEXT for a generator with a window: it may still be making the batch
 * the consumer asks for; it is resumed only if it waits for this request.
 */
static void
next_ahead(sni_actor *a, sni_task *t, nng_msg *msg, int origin,
    void *origin_ptr, uint64_t id)
{
	int rc = a->stopping        ? SYN_ECLOSED
	    : t->origin_ptr != NULL ? SYN_EBUSY
	    : (origin == SNI_ORIGIN_FUTURE &&
	          sni_future_cancel_requested(origin_ptr))
	    ? SYN_ECANCELED
	    : 0;
	if (rc != 0) {
		sni_reply_error(origin, origin_ptr, msg, id, rc,
		    rc == SYN_EBUSY ? "a batch is asked for already" : NULL,
		    t->call.name);
		return;
	}
	take_request(t, origin, origin_ptr, id, msg);
	if (t->wait == SNI_WAIT_YIELD) {
		sni_task_resume(t, 0); /* (it notes the future if it waits) */
	} else { /* a cancel of the request finds t meanwhile */
		sni_task_note_future(t);
	}
}

/* A sent value that its generator will not take: what it carries goes
 * back, and its memory. */
static void
drop_sent(sni_actor *a, const syn_value *sent, void *mem)
{
	if (a->ops->value_drop != NULL) {
		a->ops->value_drop(a->ops_arg, sent);
	}
	free(mem);
}

bool
sni_gen_throwable(int code)
{
	return code != 0 && code != SYN_EEND && code != SYN_EITERCLOSED &&
	    code != SYN_ECANCELED && sni_code_valid(code);
}

void
sni_gen_next(sni_actor *a, nng_msg *msg, const uint8_t *bytes, size_t len,
    int origin, void *origin_ptr, const sni_limits *lim)
{
	uint64_t  id = 0, stream = 0;
	syn_value sent;
	void     *mem = NULL;
	int       rc  = 0;
	if (!sni_msg_simple_next(bytes, len, lim, &id, &stream, &sent)) {
		rc = sni_msg_decode_next(
		    bytes, len, lim, &id, &stream, &sent, &mem);
	}
	if (rc != 0) {
		sni_reply_error(
		    origin, origin_ptr, msg, id, rc, sni_detail_get(), a->name);
		return;
	}
	uint32_t  pipe = sni_origin_pipe(origin, origin_ptr, NULL);
	sni_task *t    = find_stream(a, stream, pipe);
	if (origin == SNI_ORIGIN_DOOR &&
	    (rc = sni_task_new_call_id(a, t, pipe, id)) != 0) {
		drop_sent(a, &sent, mem);
		sni_reply_error(
		    origin, origin_ptr, msg, id, rc, sni_detail_get(), a->name);
		return;
	}
	bool thrown = sni_msg_kind(bytes, len) == SNI_MSG_THROW;
	if (thrown && !sni_gen_throwable(sent.as.error->code)) {
		drop_sent(a, &sent, mem);
		sni_reply_error(origin, origin_ptr, msg, id, SYN_EINVAL,
		    "that code cannot be thrown into a generator",
		    t != NULL ? t->call.name : a->name);
		return;
	}
	if (t != NULL && t->gen.batch != NULL && thrown) {
		drop_sent(a, &sent, mem);
		sni_reply_error(origin, origin_ptr, msg, id, SYN_ENOTSUP,
		    "nothing can be thrown into a generator that runs ahead "
		    "(prefetch)",
		    t->call.name);
		return;
	}
	if (t != NULL && t->gen.batch != NULL) {
		/* nothing is sent into a generator with a window */
		drop_sent(a, &sent, mem);
		next_ahead(a, t, msg, origin, origin_ptr, id);
		return;
	}
	if (t == NULL || t->wait != SNI_WAIT_YIELD || a->stopping ||
	    (origin == SNI_ORIGIN_FUTURE &&
	        sni_future_cancel_requested(origin_ptr))) {
		drop_sent(a, &sent, mem);
		bool stopping = a->stopping ||
		    atomic_load_explicit(&a->stop_asked, memory_order_relaxed);
		/* (destroy may have ended the generator already) */
		rc = stopping                   ? SYN_ECLOSED
		    : t == NULL                 ? SYN_ENOENT
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
	if (a->ops->value_in != NULL && !t->call.raw &&
	    !sni_value_plain(&sent) &&
	    (rc = a->ops->value_in(a->ops_arg, t, &sent)) != 0) {
		free(mem);
		sni_reply_error(origin, origin_ptr, msg, id, rc,
		    sni_detail_get(), t->call.name);
		return;
	}
	if (t->call.raw && a->ops->value_drop != NULL) {
		/* handles stay handles, owing nothing (as raw arguments) */
		a->ops->value_drop(a->ops_arg, &sent);
	}
	free(t->gen.sent_mem);
	t->gen.sent     = sent;
	t->gen.sent_mem = mem;
	t->gen.thrown   = thrown;
	take_request(t, origin, origin_ptr, id, msg);
	/* (it notes the future if it waits) */
	sni_task_resume(t, thrown ? sent.as.error->code : 0);
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
	sni_task *t =
	    find_stream(a, stream, sni_origin_pipe(origin, origin_ptr, NULL));
	if (t == NULL) {
		sni_reply_nil(origin, origin_ptr, msg, id);
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
	if (rc == SYN_EEND || rc == SYN_EITERCLOSED) {
		rc = 0; /* the stream is over: no error in that */
	}
	rc = sni_task_valid_code(t, rc);
	if (rc == 0 && t->closing) {
		rc = syn_raise(t, SYN_ECLOSED,
		    "the synchronizer closed while the generator ran");
	}
	bool ahead = t->gen.batch != NULL && !t->closing && !t->gen.close_asked;
	if (ahead && t->origin_ptr == NULL) {
		/* The rest (and the end) go to the consumer's next request. */
		t->wait = SNI_WAIT_YIELD;
		ahead   = sni_task_suspend(t) == 0;
	}
	sni_ptrmap_del(
	    &t->actor->streams, stream_key(t->gen.stream, t->gen.pipe));
	uncount_stream(t);
	if (t->origin_ptr != NULL && ahead) {
		send_batch(t, rc == 0 ? SYN_EEND : rc);
	} else if (t->origin_ptr != NULL) {
		sni_task_reply(t, rc);
	} else if (t->msg != NULL) {
		nng_msg_free(t->msg);
		t->msg = NULL;
	}
	if (t->gen.close_ptr != NULL) {
		/* Errors of the cleanup stay with the generator, as a
		 * closed generator's do in the reference library. */
		sni_reply_nil(t->gen.close_origin, t->gen.close_ptr,
		    t->gen.close_msg, t->gen.close_id);
		t->gen.close_ptr = NULL;
	}
	free(t->gen.sent_mem);
	t->gen.sent_mem = NULL;
	if (t->gen.batch != NULL) {
		drop_batch(t);
		sni_wbuf_fini(&t->gen.batch->w);
		free(t->gen.batch);
		t->gen.batch = NULL;
	}
}

/* ---- the generator's side --------------------------------------------- */

/* Answers the pending request with item v. */
static int
deliver_item(sni_task *t, const syn_value *v)
{
	if (sni_task_answer_simple(t, v)) {
		return 0;
	}
	sni_limits lim = sni_task_limits(t);
	int        rc  = sni_task_value_out(t, v);
	if (rc != 0) {
		return rc;
	}
	sni_wbuf w;
	sni_wbuf_init(&w);
	rc = sni_msg_encode_return(&w, t->call_id, v, &lim);
	rc = rc != 0 ? rc : w.err;
	if (rc != 0) {
		char detail[200];
		snprintf(detail, sizeof(detail), "%s", sni_detail_get());
		sni_wbuf_fini(&w);
		sni_task_value_unsent(t, v);
		return syn_raise(t, rc, "item: %s", detail);
	}
	sni_task_value_sent(t, v);
	sni_task_deliver(t, &w, 0);
	return 0;
}

/* The bytes of items an ITEMS message holds at most: what its consumer
 * takes, less the room for the message's head and final status. One item
 * of that size goes alone. */
static size_t
items_cap(const sni_limits *lim)
{
	return lim->max_size - items_room(lim->max_size);
}

/* The bytes of items a batch of several holds at most. */
static size_t
batch_cap(const sni_limits *lim)
{
	size_t max = items_cap(lim);
	return max < BATCH_BYTES ? max : BATCH_BYTES;
}

/* Appends v to t's batch (at *mark), as lim says (t's: sni_task_limits);
 * on failure the batch is as it was. */
static int
encode_item(
    sni_task *t, const syn_value *v, const sni_limits *lim, size_t *mark)
{
	sni_batch *b = t->gen.batch;
	*mark        = b->w.len;
	int rc       = sni_encode_value(
	          &b->w, v, lim->max_depth, sni_limits_encode_flags(lim));
	rc = rc != 0 ? rc : b->w.err;
	if (rc != 0) {
		b->w.len = *mark;
		b->w.err = 0;
	}
	return rc;
}

/*
 * With a window: adds v to the batch, and sends the batch once full. A
 * batch is begun only once the consumer asked for it (flow control: the
 * generator makes at most the batch asked for while the consumer reads
 * the one it holds); until then syn_yield waits.
 */
static int
yield_ahead(sni_task *t, const syn_value *v)
{
	sni_batch *b = t->gen.batch;
	int        rc;
	if (b->count == 0 && t->origin_ptr == NULL) {
		/* Its batches wait for their consumer: a large buffer
		 * (up to a batch's size) need not wait with them. */
		if (b->w.cap > BATCH_BUF_KEPT) {
			sni_wbuf_fini(&b->w);
		}
		t->wait = SNI_WAIT_YIELD;
		if ((rc = sni_task_suspend(t)) != 0) {
			return rc;
		}
	}
	if ((rc = sni_task_value_out(t, v)) != 0) {
		return rc;
	}
	sni_limits lim = sni_task_limits(t);
	size_t     cap = batch_cap(&lim);
	size_t     mark;
	while ((rc = encode_item(t, v, &lim, &mark)) == 0 && b->w.len > cap &&
	    mark > 0) { /* it does not fit beside the others: they go */
		b->w.len = mark;
		send_batch(t, 0); /* its request is pending: see above */
		sni_task_value_unsent(t, v); /* (nothing is kept meanwhile) */
		t->wait = SNI_WAIT_YIELD;
		if ((rc = sni_task_suspend(t)) != 0 ||
		    (rc = sni_task_value_out(t, v)) != 0) {
			return rc; /* (checked again: the objects in v may
			              have gone meanwhile) */
		}
	}
	if (rc == 0 && b->w.len > items_cap(&lim)) { /* (alone: mark 0) */
		sni_detail_set("an item of %zu bytes is larger than the limit",
		    b->w.len - mark);
		b->w.len = mark;
		rc       = SYN_EMSGSIZE;
	}
	if (rc != 0) {
		sni_task_value_unsent(t, v);
		char detail[200];
		snprintf(detail, sizeof(detail), "%s", sni_detail_get());
		return syn_raise(t, rc, "item: %s", detail);
	}
	sni_task_value_sent(t, v);
	if (++b->count >= b->max || b->w.len >= cap) {
		send_batch(t, 0); /* its request is pending: see above */
	}
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
		return sni_task_refuse(t, SYN_EITERCLOSED);
	}
	if (t->cancelled) {
		return sni_task_refuse(t, SYN_ECANCELED);
	}
	if (t->gen.batch != NULL) {
		if (sent != NULL) {
			*sent = syn_nil();
		}
		return yield_ahead(t, v);
	}
	if ((rc = deliver_item(t, v)) != 0) {
		return rc;
	}
	t->wait       = SNI_WAIT_YIELD;
	t->gen.thrown = false;
	rc            = sni_task_suspend(t);
	if (t->gen.thrown) { /* (a thrown error: the loop's last one, too) */
		const syn_error *e = t->gen.sent.as.error;
		t->gen.thrown      = false;
		/* (raised: a generator that returns rc passes it on) */
		syn_raise(t, rc, "%s", e->message);
		sni_error_set(rc, e->message, e->where);
	} else if (rc == 0 && sent != NULL) {
		*sent = t->gen.sent;
	}
	return rc;
}
