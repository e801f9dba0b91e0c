/*
 * core/batch.c: many calls of another process in one message (see
 * batch.h).
 *
 * A batch lives from its BATCH until every call in it was answered and
 * every reply delivered (or its pipe went). While a request of its
 * client waits for replies (the BATCH itself, then a FETCH), that
 * request's door slot is the batch's carrier.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "door.h"
#include "errors.h"
#include "reply.h"
#include "task.h"

struct sni_batch {
	uint32_t pipe;
	uint32_t id;      /* the client's id of the BATCH */
	void    *carrier; /* the door slot waiting for replies, or NULL */
	nng_msg *carrier_msg;
	uint64_t carrier_call_id;
	bool     starting;        /* its calls are being started */
	uint32_t count;           /* its calls */
	uint64_t cancelled;       /* waiting, calls cancelled: a bit each */
	const sni_limits *lim;    /* theirs */
	sni_batch        *next;   /* waiting to start: the queue's next */
	bool              orphan; /* its pipe went: nothing more is delivered */
	bool     counted_waiting; /* its BATCH counts in a->batch_waiting */
	uint32_t pending;         /* calls not answered yet */
	uint32_t nready;          /* replies not delivered yet */
	nng_msg *ready[SNI_BATCH_MAX];
	uint64_t call_ids[SNI_BATCH_MAX]; /* of the members, by index */
	void    *members[SNI_BATCH_MAX];
};

/* The bytes of a connection's batch replies kept for its FETCHes past
 * which its batches wait before they start, and of its BATCHes waiting to
 * start past which the next is refused (SYN_EBUSY). */
#define PEER_UNFETCHED_MAX (32u << 20)
#define PEER_WAITING_MAX (64u << 20)

static int32_t
bytes_of(nng_msg *m)
{
	size_t n = nng_msg_len(m);
	return n < INT32_MAX ? (int32_t) n : INT32_MAX;
}

/* The first n of b's ready replies go (sent, or dropped). */
static void
drop_ready(sni_actor *a, sni_batch *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		sni_count_change(
		    &a->unfetched, b->pipe, -bytes_of(b->ready[i]));
		nng_msg_free(b->ready[i]);
	}
	memmove(b->ready, b->ready + n, (b->nready - n) * sizeof(*b->ready));
	b->nready -= n;
}

/* msg, a reply of b, waits for a FETCH. (Out of memory for the count,
 * it is not counted.) */
static void
keep_ready(sni_actor *a, sni_batch *b, nng_msg *msg)
{
	b->ready[b->nready++] = msg;
	sni_count_change(&a->unfetched, b->pipe, bytes_of(msg));
}

/* Whether b's pipe may start b now: within its share of the members, and
 * not leaving more replies unfetched than it may (its replies then wait
 * for its FETCHes, and its next batches for them). */
static bool
pipe_may_start(const sni_actor *a, const sni_batch *b)
{
	return sni_door_pipe_members_fit(b->carrier, b->count) &&
	    sni_count_of(&a->unfetched, b->pipe) <= PEER_UNFETCHED_MAX;
}

static const void *
batch_key(uint32_t pipe, uint64_t id)
{
	return (const void *) (uintptr_t) ((uint64_t) pipe << 32 |
	    (id & UINT32_MAX));
}

static void
batch_free(sni_actor *a, sni_batch *b)
{
	sni_count_add(&a->batch_counts, b->pipe, false);
	if (b->carrier != NULL) { /* a request still waits: it is answered */
		sni_reply_error(SNI_ORIGIN_DOOR, b->carrier, b->carrier_msg,
		    b->carrier_call_id, SYN_ECONNRESET, NULL, a->name);
	}
	sni_ptrmap_del(&a->batches, batch_key(b->pipe, b->id));
	drop_ready(a, b, b->nready);
	free(b);
}

/* The REPLIES for the carrier: the ready replies that fit in one
 * message (at least one), in w; how many it took. */
static uint32_t
encode_replies(const sni_actor *a, sni_batch *b, sni_wbuf *w)
{
	uint32_t n    = 0;
	size_t   size = 32, max = sni_door_peer_max(a, b->pipe);
	while (n < b->nready &&
	    (n == 0 || size + nng_msg_len(b->ready[n]) + 5 <= max)) {
		size += nng_msg_len(b->ready[n++]) + 5; /* and its bin's head */
	}
	sni_msg_encode_bundle(w, SNI_MSG_REPLIES, b->carrier_call_id,
	    b->pending + b->nready - n, n);
	for (uint32_t i = 0; i < n; i++) {
		sni_msg_bundle_add(
		    w, nng_msg_body(b->ready[i]), nng_msg_len(b->ready[i]));
	}
	return n;
}

/*
 * Answers the carrier with the replies ready, when there are some; with
 * none, the carrier waits (parked: a slow call may take long). A batch
 * whose every reply went is over.
 */
static void
flush(sni_actor *a, sni_batch *b)
{
	if (b->carrier == NULL || b->starting) {
		return;
	}
	if (b->nready == 0 && b->pending > 0) {
		/* else it waits among the busy */
		sni_door_park(b->carrier, SNI_PARK_FETCH);
		return;
	}
	sni_wbuf w;
	sni_wbuf_init(&w);
	uint32_t n  = b->nready > 0 ? encode_replies(a, b, &w) : 0;
	int      rc = w.err != 0 || (b->nready == 0 && b->pending == 0)
	         ? SYN_ENOMEM
	         : sni_msg_set_body(b->carrier_msg, &w);
	sni_wbuf_fini(&w);
	void    *slot = b->carrier;
	nng_msg *msg  = b->carrier_msg;
	b->carrier    = NULL;
	if (rc != 0) { /* its replies stay, for the next FETCH */
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, b->carrier_call_id,
		    SYN_ENOMEM, "no memory for a batch's replies", a->name);
		return;
	}
	drop_ready(a, b, n);
	sni_reply_deliver(SNI_ORIGIN_DOOR, slot, msg, 0);
	if (b->pending == 0 && b->nready == 0) {
		batch_free(a, b);
	}
}

/* Starts call i of b, the message inner[0..len-1] of its BATCH. */
static void
start_member(sni_actor *a, sni_batch *b, uint32_t i, const void *inner,
    size_t len, const sni_limits *lim)
{
	nng_msg *m;
	int      kind = sni_msg_kind(inner, len);
	b->pending++;
	sni_msg_call_id(inner, len, &b->call_ids[i]);
	if ((b->members[i] = sni_door_member(b->carrier, b)) == NULL ||
	    nng_msg_alloc(&m, 0) != 0) {
		b->pending--;
		sni_door_member_free(b->members[i]);
		b->members[i] = NULL;
		/* no memory: it does not start; its caller gets SYN_ENOMEM
		 * when the batch ends without its reply */
		return;
	}
	if ((b->cancelled >> i) & 1) { /* cancelled while it waited: */
		/* refused at dispatch, what it lent given back */
		sni_door_member_cancelled(b->members[i]);
	}
	if (nng_msg_append(m, inner, len) != 0 || kind != SNI_MSG_CALL) {
		sni_reply_error(SNI_ORIGIN_DOOR, b->members[i], m,
		    b->call_ids[i],
		    kind != SNI_MSG_CALL ? SYN_EPROTO : SYN_ENOMEM,
		    "a batch carries calls only", a->name);
		return;
	}
	sni_actor_dispatch(a, m, SNI_ORIGIN_DOOR, b->members[i], lim);
}

/* A reader of the calls in b's BATCH (checked when it came); its id in
 * *id. */
static sni_reader
batch_calls(const sni_batch *b, uint64_t *id)
{
	uint64_t   pending;
	uint32_t   count;
	sni_reader r;
	sni_msg_decode_bundle(nng_msg_body(b->carrier_msg),
	    nng_msg_len(b->carrier_msg), b->lim, SNI_MSG_BATCH, id, &pending,
	    &count, &r);
	return r;
}

/* Starts every call of b, from its carrier's BATCH, then answers with
 * the replies ready. */
static void
start_batch(sni_actor *a, sni_batch *b)
{
	uint64_t   id;
	sni_reader r = batch_calls(b, &id);
	b->starting  = true;
	for (uint32_t i = 0; i < b->count; i++) {
		const void *inner;
		size_t      len;
		sni_msg_bundle_next(&r, &inner, &len);
		start_member(a, b, i, inner, len, b->lim);
	}
	b->starting = false;
	if (b->pending == 0 && b->nready == 0) { /* nothing could start */
		void    *slot = b->carrier;
		nng_msg *msg  = b->carrier_msg;
		b->carrier    = NULL;
		batch_free(a, b);
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, id, SYN_ENOMEM,
		    "no memory for a batch", a->name);
		return;
	}
	flush(a, b);
}

/* b waits to start: the door runs as many batch members as it may. Its
 * BATCH counts among its pipe's waiting bytes meanwhile. */
static void
queue_batch(sni_actor *a, sni_batch *b)
{
	sni_batch **pp = (sni_batch **) &a->batch_queue;
	while (*pp != NULL) {
		pp = &(*pp)->next;
	}
	*pp                = b;
	b->next            = NULL;
	b->counted_waiting = sni_count_change(&a->batch_waiting, b->pipe,
	                         bytes_of(b->carrier_msg)) == 0;
}

/* b, out of the queue, counts no more among its pipe's waiting bytes. */
static void
left_queue(sni_actor *a, sni_batch *b)
{
	if (b->counted_waiting) {
		sni_count_change(
		    &a->batch_waiting, b->pipe, -bytes_of(b->carrier_msg));
		b->counted_waiting = false;
	}
}

/* Takes b out of the queue of batches waiting: true when it was there. */
static bool
unqueue_batch(sni_actor *a, sni_batch *b)
{
	sni_batch **pp = (sni_batch **) &a->batch_queue;
	while (*pp != NULL && *pp != b) {
		pp = &(*pp)->next;
	}
	if (*pp == NULL) {
		return false;
	}
	*pp = b->next;
	left_queue(a, b);
	return true;
}

/* Starts the batches waiting, in order, while their calls fit; a batch
 * whose pipe may not start it now waits, and those behind it go first. */
static void
start_waiting(sni_actor *a)
{
	if (a->batch_starting) {
		return; /* a call that ended while one starts: it goes on */
	}
	a->batch_starting = true;
	sni_batch **pp    = (sni_batch **) &a->batch_queue;
	sni_batch  *b;
	while (
	    (b = *pp) != NULL && sni_door_members_fit(b->carrier, b->count)) {
		if (!pipe_may_start(a, b)) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		left_queue(a, b);
		start_batch(a, b);
	}
	a->batch_starting = false;
}

bool
sni_batch_cancel_waiting(sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	for (sni_batch *b = a->batch_queue; b != NULL; b = b->next) {
		for (uint32_t i = 0; b->pipe == pipe && i < b->count; i++) {
			if (b->call_ids[i] == call_id && call_id != 0) {
				b->cancelled |= (uint64_t) 1 << i;
				return true;
			}
		}
	}
	return false;
}

/* b waits to start: its calls' ids, read now, so that a CANCEL finds
 * them without decoding the batch (thousands may come at once). */
static void
read_call_ids(sni_batch *b)
{
	uint64_t   id;
	sni_reader r = batch_calls(b, &id);
	for (uint32_t i = 0; i < b->count && i < SNI_BATCH_MAX; i++) {
		const void *inner;
		size_t      len;
		sni_msg_bundle_next(&r, &inner, &len);
		b->call_ids[i] = 0;
		sni_msg_call_id(inner, len, &b->call_ids[i]);
	}
}

void
sni_batch_handle(sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim)
{
	uint64_t   id = 0, pending;
	uint32_t   count;
	sni_reader r;
	bool       remote;
	uint32_t   pipe = sni_origin_pipe(SNI_ORIGIN_DOOR, slot, &remote);
	int rc = sni_msg_decode_bundle(nng_msg_body(msg), nng_msg_len(msg), lim,
	    SNI_MSG_BATCH, &id, &pending, &count, &r);
	sni_batch *b = NULL;
	if (rc == 0 && id > UINT32_MAX) { /* (a batch is named in 32 bits) */
		sni_detail_set(
		    "batch id %llu is over 2^32", (unsigned long long) id);
		rc = SYN_EPROTO;
	} else if (rc == 0 && sni_door_pipe_gone(a, pipe)) {
		sni_detail_set("the connection closed");
		rc = SYN_ECONNRESET; /* nobody to answer: nothing starts */
	} else if (rc == 0 && a->stopping) { /* (its batches are gone) */
		sni_detail_set("the synchronizer is being destroyed");
		rc = SYN_ECLOSED;
	} else if (rc == 0 &&
	    sni_ptrmap_get(&a->batches, batch_key(pipe, id)) != NULL) {
		sni_detail_set(
		    "batch %llu is open already", (unsigned long long) id);
		rc = SYN_EPROTO;
	} else if (rc == 0 &&
	    sni_count_of(&a->batch_counts, pipe) >= SNI_PEER_BATCHES_MAX) {
		sni_detail_set("%d batches of this connection are open already",
		    SNI_PEER_BATCHES_MAX);
		rc = SYN_EBUSY; /* (replies it does not fetch stay here) */
	} else if (rc == 0 &&
	    sni_count_of(&a->batch_waiting, pipe) + nng_msg_len(msg) >
	        PEER_WAITING_MAX) {
		sni_detail_set("64 MiB of this connection's batches wait to "
		               "start already");
		rc = SYN_EBUSY;
	} else if (rc == 0 && (b = calloc(1, sizeof(*b))) == NULL) {
		rc = SYN_ENOMEM;
	} else if (rc == 0 &&
	    (rc = sni_count_add(&a->batch_counts, pipe, true)) != 0) {
		free(b);
	} else if (rc == 0 &&
	    (rc = sni_ptrmap_put(&a->batches, batch_key(pipe, id), b)) != 0) {
		sni_count_add(&a->batch_counts, pipe, false);
		free(b);
	}
	if (rc != 0) {
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, id, rc,
		    sni_detail_get(), a->name);
		return;
	}
	*b = (sni_batch) { .pipe = pipe,
		.id              = (uint32_t) id,
		.carrier         = slot,
		.carrier_msg     = msg,
		.carrier_call_id = id,
		.count           = count,
		.lim             = lim };
	if (a->batch_queue != NULL || !sni_door_members_fit(slot, count) ||
	    !pipe_may_start(a, b)) {
		read_call_ids(b);
		queue_batch(a, b); /* its carrier stays busy meanwhile */
		start_waiting(a);  /* (those ahead may wait for their pipes) */
		return;
	}
	start_batch(a, b);
}

void
sni_batch_fetch(sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim)
{
	uint64_t   id = 0, batch = 0;
	sni_batch *b = NULL;
	bool       remote;
	uint32_t   pipe = sni_origin_pipe(SNI_ORIGIN_DOOR, slot, &remote);
	int        rc   = sni_msg_decode_fetch(
	             nng_msg_body(msg), nng_msg_len(msg), lim, &id, &batch);
	if (rc == 0 &&
	    (batch > UINT32_MAX ||
	        (b = sni_ptrmap_get(&a->batches, batch_key(pipe, batch))) ==
	            NULL)) {
		sni_detail_set("no batch %llu of this connection",
		    (unsigned long long) batch);
		rc = SYN_EPROTO;
	} else if (rc == 0 && (b->orphan || sni_door_pipe_gone(a, pipe))) {
		sni_detail_set("the connection closed");
		rc = SYN_ECONNRESET; /* nothing more is delivered to it */
	} else if (rc == 0 && a->stopping && a->ntasks == 0 && b->nready == 0) {
		sni_detail_set("the synchronizer is being destroyed");
		rc = SYN_ECLOSED; /* no task is left to answer */
	} else if (rc == 0 && b->carrier != NULL) {
		sni_detail_set("batch %llu is fetched already",
		    (unsigned long long) batch);
		rc = SYN_EBUSY;
	}
	if (rc != 0) {
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, id, rc,
		    sni_detail_get(), a->name);
		return;
	}
	b->carrier         = slot;
	b->carrier_msg     = msg;
	b->carrier_call_id = id;
	flush(a, b);
	if (a->batch_queue != NULL) { /* (fetched: its pipe may start more) */
		start_waiting(a);
	}
}

/*
 * The reply msg (taken; NULL: none could be made) with call id id: a
 * call refused before its id was read is answered with 0, which the
 * client could not match. NULL when out of memory.
 */
static nng_msg *
with_call_id(nng_msg *msg, uint64_t id)
{
	uint64_t has = 0;
	if (msg != NULL &&
	    sni_msg_call_id(nng_msg_body(msg), nng_msg_len(msg), &has) == 0 &&
	    has == id) {
		return msg;
	}
	sni_wbuf w;
	sni_wbuf_init(&w);
	if (msg == NULL ||
	    sni_msg_recall(nng_msg_body(msg), nng_msg_len(msg), id, &w) != 0 ||
	    w.err != 0 || sni_msg_set_body(msg, &w) != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		msg = sni_reply_oom(id);
	}
	sni_wbuf_fini(&w);
	return msg;
}

void
sni_batch_reply(sni_batch *b, void *member, nng_msg *msg)
{
	sni_actor *a = sni_actor_self();
	uint32_t   i = 0;
	while (i < SNI_BATCH_MAX && b->members[i] != member) {
		i++;
	}
	sni_door_member_free(member);
	b->members[i] = NULL;
	b->pending--;
	msg = with_call_id(msg, b->call_ids[i]);
	if (b->orphan || msg == NULL) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		if (b->orphan && b->pending == 0) {
			batch_free(a, b);
		}
	} else {
		keep_ready(a, b, msg);
		flush(a, b);
	}
	/* A member's place is free. Not from a task's stack (its reply is
	 * sent there): a task started here would switch from that stack
	 * and lose the loop's own context. The loop starts them next. */
	if (a->current != NULL) {
		a->batch_retry |= a->batch_queue != NULL;
	} else {
		start_waiting(a);
	}
}

void
sni_batch_retry(sni_actor *a)
{
	a->batch_retry = false;
	start_waiting(a);
	sni_door_backlog_go(a);
}

void
sni_batch_pipe_gone(sni_actor *a, uint32_t pipe)
{
	size_t     i = 0;
	sni_batch *b;
	sni_batch *gone[64];
	size_t     n = 0;
	do { /* collected first: freeing changes the map */
		n = 0;
		while (
		    n < 64 && (b = sni_ptrmap_next(&a->batches, &i)) != NULL) {
			if (b->pipe == pipe && !b->orphan) {
				gone[n++] = b;
			}
		}
		for (size_t k = 0; k < n; k++) {
			b         = gone[k];
			b->orphan = true;
			drop_ready(a, b, b->nready); /* nobody fetches them */
			unqueue_batch(a, b); /* waiting: it never starts */
			if (b->carrier != NULL) {
				sni_reply_error(SNI_ORIGIN_DOOR, b->carrier,
				    b->carrier_msg, b->carrier_call_id,
				    SYN_ECONNRESET, NULL, a->name);
				b->carrier = NULL;
			}
			if (b->pending == 0) {
				batch_free(a, b);
			}
		}
		i = 0;
	} while (n == 64);
	start_waiting(a); /* a batch taken out of the queue may have been
	                     what the others waited behind */
}

/* b's waiting request is answered SYN_ECLOSED: no task is left. */
static void
carrier_closed(sni_actor *a, sni_batch *b)
{
	void *slot = b->carrier;
	b->carrier = NULL;
	sni_reply_error(SNI_ORIGIN_DOOR, slot, b->carrier_msg,
	    b->carrier_call_id, SYN_ECLOSED,
	    "the synchronizer is being destroyed", a->name);
}

void
sni_batches_stop(sni_actor *a)
{
	sni_batch *b;
	while ((b = a->batch_queue) != NULL) { /* never started */
		a->batch_queue = b->next;
		left_queue(a, b);
		carrier_closed(a, b);
		batch_free(a, b);
	}
	size_t i = 0;
	while ((b = sni_ptrmap_next(&a->batches, &i)) != NULL) {
		if (b->carrier != NULL && b->nready == 0) {
			carrier_closed(
			    a, b); /* what it waits for never comes */
		}
	}
}

bool
sni_batches_undelivered(sni_actor *a)
{
	size_t     i = 0;
	sni_batch *b;
	while ((b = sni_ptrmap_next(&a->batches, &i)) != NULL) {
		if (b->nready > 0 && !b->orphan &&
		    !sni_door_pipe_gone(a, b->pipe)) {
			return true;
		}
	}
	return false;
}

void
sni_batches_fini(sni_actor *a)
{
	size_t     i = 0;
	sni_batch *b;
	while ((b = sni_ptrmap_next(&a->batches, &i)) != NULL) {
		if (b->carrier != NULL) { /* (the door is closed) */
			nng_msg_free(b->carrier_msg);
		}
		for (uint32_t k = 0; k < SNI_BATCH_MAX; k++) {
			if (b->members[k] != NULL) { /* never answered */
				sni_door_member_free(b->members[k]);
			}
		}
		for (uint32_t k = 0; k < b->nready; k++) {
			nng_msg_free(b->ready[k]);
		}
		free(b);
	}
	sni_ptrmap_fini(&a->batches);
	sni_ptrmap_fini(&a->batch_counts);
	sni_ptrmap_fini(&a->unfetched);
	sni_ptrmap_fini(&a->batch_waiting);
	a->batch_queue = NULL;
}
