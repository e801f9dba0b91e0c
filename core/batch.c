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
	bool     starting; /* its calls are being started */
	bool     orphan;   /* its pipe went: nothing more is delivered */
	uint32_t pending;  /* calls not answered yet */
	uint32_t nready;   /* replies not delivered yet */
	nng_msg *ready[SNI_BATCH_MAX];
	uint64_t call_ids[SNI_BATCH_MAX]; /* of the members, by index */
	void    *members[SNI_BATCH_MAX];
};

static const void *
batch_key(uint32_t pipe, uint64_t id)
{
	return (const void *) (uintptr_t) ((uint64_t) pipe << 32 |
	    (id & UINT32_MAX));
}

static void
batch_free(sni_actor *a, sni_batch *b)
{
	sni_ptrmap_del(&a->batches, batch_key(b->pipe, b->id));
	for (uint32_t i = 0; i < b->nready; i++) {
		nng_msg_free(b->ready[i]);
	}
	free(b);
}

/* The REPLIES for the carrier: the ready replies that fit in one
 * message (at least one), in w; how many it took. */
static uint32_t
encode_replies(const sni_actor *a, sni_batch *b, sni_wbuf *w)
{
	uint32_t n    = 0;
	size_t   size = 0;
	while (n < b->nready &&
	    (n == 0 || size + nng_msg_len(b->ready[n]) < a->max_message / 2)) {
		size += nng_msg_len(b->ready[n++]);
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
		sni_door_park(b->carrier); /* else it waits among the busy */
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
	for (uint32_t i = 0; i < n; i++) {
		nng_msg_free(b->ready[i]);
	}
	memmove(b->ready, b->ready + n, (b->nready - n) * sizeof(*b->ready));
	b->nready -= n;
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
		if (b->members[i] != NULL) {
			sni_door_member_free(b->members[i]);
		}
		return; /* no memory: that call is lost (its caller waits) */
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
	if (rc == 0 && !remote) {
		sni_detail_set("a BATCH comes from another process");
		rc = SYN_EPROTO;
	} else if (rc == 0 &&
	    sni_ptrmap_get(&a->batches, batch_key(pipe, id)) != NULL) {
		sni_detail_set(
		    "batch %llu is open already", (unsigned long long) id);
		rc = SYN_EPROTO;
	} else if (rc == 0 && (b = calloc(1, sizeof(*b))) == NULL) {
		rc = SYN_ENOMEM;
	} else if (rc == 0 &&
	    (rc = sni_ptrmap_put(&a->batches, batch_key(pipe, id), b)) != 0) {
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
		.starting        = true };
	for (uint32_t i = 0; i < count; i++) {
		const void *inner;
		size_t      len;
		sni_msg_bundle_next(&r, &inner, &len);
		start_member(a, b, i, inner, len, lim);
	}
	b->starting = false;
	if (b->pending == 0 && b->nready == 0) { /* nothing could start */
		b->carrier = NULL;
		batch_free(a, b);
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, id, SYN_ENOMEM,
		    "no memory for a batch", a->name);
		return;
	}
	flush(a, b);
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
	    (!remote ||
	        (b = sni_ptrmap_get(&a->batches, batch_key(pipe, batch))) ==
	            NULL)) {
		sni_detail_set("no batch %llu of this connection",
		    (unsigned long long) batch);
		rc = SYN_EPROTO;
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
	if (msg == NULL) {
		msg = sni_reply_oom(b->call_ids[i]);
	}
	if (b->orphan || msg == NULL) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		if (b->orphan && b->pending == 0) {
			batch_free(a, b);
		}
		return;
	}
	b->ready[b->nready++] = msg;
	flush(a, b);
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
}

void
sni_batches_fini(sni_actor *a)
{
	size_t     i = 0;
	sni_batch *b;
	while ((b = sni_ptrmap_next(&a->batches, &i)) != NULL) {
		if (b->carrier != NULL) {
			sni_reply_error(SNI_ORIGIN_DOOR, b->carrier,
			    b->carrier_msg, b->carrier_call_id, SYN_ECLOSED,
			    NULL, a->name);
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
}
