/*
 * core/remote.c: a synchronizer of another process (see remote.h).
 *
 * A raw req0 socket: the request ids are ours (in each message's header,
 * as the protocol has them), so that the calls in flight need no nng
 * context each, only an entry in a table, and two aios serve them all:
 * one sends the requests in order, one receives the replies. (nng 1.5.2
 * could hang closing a socket with many contexts.) A reply, checked (no
 * pointers, within the limits; its handles renamed for this side),
 * completes its caller's
 * future from nng's thread. Whoever takes a call out of the table
 * completes it, once: its reply, a cancel, the loss of the peer, or the
 * destroy.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include "clock.h"
#include "door.h"
#include "errors.h"
#include "future.h"
#include "nngclose.h"
#include "proto/proto.h"
#include "ptrmap.h"
#include "registry.h"
#include "remote.h"
#include "reply.h"
#include "task.h"

#define ID_BIT 0x80000000u /* request ids have the high bit set */
#define CLOSE_WAIT_MS 5000
#define DRAIN_WAIT_MS 1000 /* see has_errands */

struct sni_remote {
	nng_socket      sock;
	nng_dialer      dialer;
	sni_limits      limits;  /* what replies may hold */
	uint32_t        self_id; /* the id its handles get on this side */
	int32_t         timeout_ms;
	nng_aio        *send_aio;
	nng_aio        *recv_aio;
	nng_aio        *poll_aio;   /* the wait before a refused POLL again */
	nng_aio        *cancel_aio; /* the wait before the sweep of cancels */
	pthread_mutex_t lock;
	sni_ptrmap      calls; /* request id -> its future, till completed */
	atomic_uint     next_id;
	nng_msg       **ctl; /* CANCELs to send before the next call */
	uint32_t        nctl, ctl_cap;
	uint32_t       *sendq; /* ids to send, in order (a ring) */
	uint32_t        sendq_head, sendq_len, sendq_cap;
	bool            sending; /* send_aio is busy with send_id */
	uint32_t        send_id;
	/* The thread that waits for a send nng did not take at once (see
	 * start_send), and what it is told, under wait_lock. */
	pthread_t       waiter;
	bool            waiter_started;
	pthread_mutex_t wait_lock;
	pthread_cond_t  wait_cv;
	bool            wait_pending; /* send_aio has a send to wait for */
	bool            wait_stop;    /* send_aio is stopped: end */
	atomic_int      pipes;
	atomic_bool     closed;
	/* Objects of this process lent to the server (callbacks), under
	 * lock: owner << 32 | object -> references lent (a count). */
	sni_ptrmap lent;
	uint32_t   poll_id;    /* the POLL in flight (its request id), or 0 */
	uint32_t   hello_id;   /* the HELLO in flight, or 0 */
	bool       hello_done; /* answered on this connection */
	/* Over inproc:// the server tells a syn_connect() client from a
	 * caller by address by its HELLO, and its door may hand requests
	 * to its loop out of order: nothing else goes while a HELLO sent
	 * waits for its answer. */
	bool     hello_first;
	nng_msg *hello_msg;    /* the HELLO queued, until it goes */
	bool     poll_waiting; /* poll_aio sleeps: a POLL goes after */
	bool     poll_held;    /* SNI_CALLBACKS_MAX calls back run */
	int32_t  poll_backoff_ms;
	size_t   peer_max; /* the largest request the server takes; 0:
	                      not known yet, nothing is batched */
	/* Batches in flight, by the request id of the BATCH or FETCH that
	 * waits for their replies, and the ids of the batches open at the
	 * server (reserved: no request takes one while its batch is open). */
	sni_ptrmap batches;
	sni_ptrmap batch_ids;
	/* Calls whose CANCEL went, by request id, to the time (ms) after
	 * which they end here without the server's answer: a server that
	 * stopped answering (stopped, not gone) must not keep them for
	 * good. Under lock; cancel_armed: cancel_aio waits. */
	sni_ptrmap cancelling;
	bool       cancel_armed;
};

/* A batch of calls in flight: its calls' request ids (0 once answered),
 * and its name at the server (its BATCH's request id). */
typedef struct rbatch {
	uint32_t id;
	uint32_t n;
	uint32_t ids[SNI_BATCH_MAX];
} rbatch;

static uint32_t ctl_id(sni_remote *r);
static void     unlend_bundle(sni_remote *r, nng_msg *msg);
static void     poll_later(sni_remote *r);
static int      queue_hello(sni_remote *r);
static void     fail_batch(sni_remote *r, rbatch *b, int rc, nng_msg *msg);

static void (*_Atomic unlend_hook)(const syn_handle *h, uint64_t n);

void
sni_remote_set_unlend(void (*fn)(const syn_handle *h, uint64_t n))
{
	atomic_store(&unlend_hook, fn);
}

static const void *
id_key(uint32_t id)
{
	return (const void *) (uintptr_t) id;
}

static uint32_t
id_of(const syn_future *f)
{
	return (uint32_t) (uintptr_t) f->task;
}

/*
 * The table's values are futures, tagged (low bit) when the call's
 * message carries its request id as its call id: the server then knows
 * the call by it, and a cancel can reach its task there.
 */
#define CARRIES_ID ((uintptr_t) 1)

static syn_future *
untag(void *v)
{
	return (syn_future *) ((uintptr_t) v & ~CARRIES_ID);
}

static uint32_t
next_request_id(sni_remote *r)
{
	uint32_t n;
	do { /* never ID_BIT alone: a call id of 0 below the bit */
		n = atomic_fetch_add(&r->next_id, 1) & ~ID_BIT;
	} while (n == 0);
	return n | ID_BIT;
}

uint64_t
sni_remote_call_id(sni_actor *a)
{
	return next_request_id(a->remote);
}

static void give_back(sni_remote *r, uint64_t key, uint64_t n);

/* sni_msg_each_handle's visitor for a request that never left: what it
 * lent the server comes back. */
static int
unlend_unsent(void *ctx, syn_handle *h, bool *owned)
{
	(void) owned;
	if ((h->owner & SNI_PEER_OWNER) != 0) {
		give_back(
		    ctx, (h->owner & ~SNI_PEER_OWNER) << 32 | h->object, 1);
	}
	return 0;
}

/* Completes f with rc and its reply msg (may be NULL). Not under lock. */
static void
finish(sni_remote *r, syn_future *f, int rc, nng_msg *msg)
{
	if (f->msg != NULL) { /* a request never sent */
		sni_msg_each_handle(nng_msg_body(f->msg), nng_msg_len(f->msg),
		    SNI_MAX_DEPTH + 1, unlend_unsent, r);
		nng_msg_free(f->msg);
	}
	/* (f->task, its id, stays: a cancel reads it under the lock and
	 * finds f no longer in the table; clearing it here raced that read) */
	f->msg = msg;
	sni_future_complete(f, rc);
}

/* Under lock: takes call id out of the table: its future, or NULL when
 * somebody completed it already. */
static syn_future *
take(sni_remote *r, uint32_t id)
{
	return untag(sni_ptrmap_del(&r->calls, id_key(id)));
}

/* Under lock: every call out of the table, into *fs (n of them). */
static syn_future **
take_all(sni_remote *r, size_t *n)
{
	size_t       i = 0;
	syn_future  *f;
	syn_future **fs = malloc((r->calls.len + 1) * sizeof(*fs));
	*n              = 0;
	while (fs != NULL && (f = sni_ptrmap_next(&r->calls, &i)) != NULL) {
		fs[(*n)++] = untag(f);
	}
	for (size_t k = 0; k < *n; k++) {
		sni_ptrmap_del(&r->calls, id_key(id_of(fs[k])));
	}
	r->sendq_len = 0;
	for (uint32_t k = 0; k < r->nctl; k++) { /* CANCELs of calls gone */
		nng_msg_free(r->ctl[k]);
	}
	r->nctl      = 0;
	r->hello_msg = NULL;
	return fs;
}

/* Gives back every lent reference (the server forgot them). Takes the
 * table, which the caller took out under the lock. */
static void
unlend_all(sni_ptrmap *lent)
{
	void (*hook)(const syn_handle *, uint64_t) = atomic_load(&unlend_hook);
	for (size_t i = 0; i < lent->cap; i++) {
		uintptr_t key = lent->keys[i];
		if (key > 1 && hook != NULL) {
			syn_handle h = { key >> 32, key & UINT32_MAX };
			hook(&h, (uint64_t) (uintptr_t) lent->vals[i]);
		}
	}
	sni_ptrmap_fini(lent);
}

/* Under lock: forgets every batch in flight. */
static void
free_batches(sni_remote *r)
{
	size_t  i = 0;
	rbatch *b;
	while ((b = sni_ptrmap_next(&r->batches, &i)) != NULL) {
		free(b);
	}
	sni_ptrmap_fini(&r->batches);
	sni_ptrmap_fini(&r->batch_ids);
}

/* Fails every call in flight with rc (the peer went, or the destroy);
 * what was lent to the server comes back. */
static void
fail_all(sni_remote *r, int rc)
{
	size_t n;
	pthread_mutex_lock(&r->lock);
	syn_future **fs   = take_all(r, &n);
	sni_ptrmap   lent = r->lent;
	r->lent           = (sni_ptrmap) SNI_PTRMAP_INIT;
	r->poll_id        = 0;
	r->hello_id       = 0; /* the next connection is asked anew */
	r->hello_done     = false;
	r->peer_max       = 0;
	free_batches(r); /* their calls were in the table */
	pthread_mutex_unlock(&r->lock);
	for (size_t k = 0; k < n; k++) {
		finish(r, fs[k], rc, NULL);
	}
	free(fs);
	unlend_all(&lent);
}

/* ---- sending, in order ---------------------------------------------------
 */

static int
sendq_push(sni_remote *r, uint32_t id)
{
	if (r->sendq_len == r->sendq_cap) {
		uint32_t  cap = r->sendq_cap ? 2 * r->sendq_cap : 64;
		uint32_t *q   = malloc(cap * sizeof(*q));
		if (q == NULL) {
			return SYN_ENOMEM;
		}
		for (uint32_t i = 0; i < r->sendq_len; i++) {
			q[i] = r->sendq[(r->sendq_head + i) % r->sendq_cap];
		}
		free(r->sendq);
		r->sendq      = q;
		r->sendq_head = 0;
		r->sendq_cap  = cap;
	}
	r->sendq[(r->sendq_head + r->sendq_len) % r->sendq_cap] = id;
	r->sendq_len++;
	return 0;
}

/* Under lock: whether call id, queued, can go in a BATCH: a CALL that
 * the server knows by its request id. */
static bool
batchable(sni_remote *r, uint32_t id, size_t *len)
{
	void       *v = sni_ptrmap_get(&r->calls, id_key(id));
	syn_future *f = untag(v);
	if (f == NULL || f->msg == NULL || ((uintptr_t) v & CARRIES_ID) == 0 ||
	    sni_msg_kind(nng_msg_body(f->msg), nng_msg_len(f->msg)) !=
	        SNI_MSG_CALL) {
		return false;
	}
	*len = nng_msg_len(f->msg);
	return true;
}

/* Under lock: how many calls from the head of the send queue, after
 * first (taken from it already), go in one BATCH with it. */
static uint32_t
batch_size(sni_remote *r, uint32_t first)
{
	size_t   len, size;
	uint32_t n = 0;
	if (r->peer_max == 0 || !batchable(r, first, &size)) {
		return 0;
	}
	size += 32 + 5; /* the BATCH's head, the bin's */
	while (n + 1 < SNI_BATCH_MAX && n < r->sendq_len &&
	    batchable(r, r->sendq[(r->sendq_head + n) % r->sendq_cap], &len) &&
	    size + len + 5 <= r->peer_max) {
		size += len + 5;
		n++;
	}
	return n;
}

/*
 * Under lock: first and the calls queued behind it packed in a BATCH, when
 * there are such calls (else NULL, and nothing changed). Their messages
 * go into it; the batch waits in r->batches for its REPLIES.
 */
static nng_msg *
pack_batch(sni_remote *r, uint32_t first)
{
	uint32_t more = batch_size(r, first);
	rbatch  *b    = more > 0 ? calloc(1, sizeof(*b)) : NULL;
	nng_msg *msg  = NULL;
	sni_wbuf w;
	if (b == NULL) {
		return NULL;
	}
	b->id = ctl_id(r);
	b->n  = more + 1;
	sni_wbuf_init(&w);
	sni_msg_encode_bundle(&w, SNI_MSG_BATCH, b->id, 0, b->n);
	for (uint32_t i = 0; i < b->n; i++) {
		b->ids[i] = i == 0
		    ? first
		    : r->sendq[(r->sendq_head + i - 1) % r->sendq_cap];
		syn_future *f =
		    untag(sni_ptrmap_get(&r->calls, id_key(b->ids[i])));
		sni_msg_bundle_add(
		    &w, nng_msg_body(f->msg), nng_msg_len(f->msg));
	}
	if (w.err != 0 || nng_msg_alloc(&msg, 0) != 0 ||
	    nng_msg_append(msg, w.buf, w.len) != 0 ||
	    nng_msg_header_append_u32(msg, b->id) != 0 ||
	    sni_ptrmap_put(&r->batches, id_key(b->id), b) != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		sni_wbuf_fini(&w);
		free(b);
		return NULL; /* they go one by one */
	}
	sni_wbuf_fini(&w);
	for (uint32_t i = 0; i < b->n; i++) {
		syn_future *f =
		    untag(sni_ptrmap_get(&r->calls, id_key(b->ids[i])));
		nng_msg_free(f->msg);
		f->msg = NULL;
	}
	r->sendq_head = (r->sendq_head + more) % r->sendq_cap;
	r->sendq_len -= more;
	r->send_id = 0;
	sni_ptrmap_put(&r->batch_ids, id_key(b->id), (void *) 1);
	return msg;
}

/* Under lock: the next request to send (its message taken from its
 * future), or NULL: then nothing is being sent. */
static nng_msg *
next_to_send(sni_remote *r)
{
	if (r->hello_first && r->hello_id != 0 && r->hello_msg == NULL) {
		/* (the HELLO went and is not answered yet) */
		r->sending = false; /* hello_answered goes on */
		return NULL;
	}
	if (r->nctl > 0 && !atomic_load(&r->closed)) { /* a CANCEL */
		nng_msg *msg = r->ctl[0];
		memmove(r->ctl, r->ctl + 1, --r->nctl * sizeof(*r->ctl));
		r->send_id = 0; /* nobody waits for its answer */
		if (msg == r->hello_msg) {
			r->hello_msg = NULL; /* it goes */
		}
		return msg;
	}
	while (r->sendq_len > 0 && !atomic_load(&r->closed)) {
		uint32_t id = r->sendq[r->sendq_head];
		size_t   len;
		if (r->peer_max != 0 &&
		    r->batch_ids.len >= SNI_PEER_BATCHES_MAX &&
		    batchable(r, id, &len)) {
			break; /* held: the next batch to end sends it */
		}
		r->sendq_head = (r->sendq_head + 1) % r->sendq_cap;
		r->sendq_len--;
		syn_future *f = untag(sni_ptrmap_get(&r->calls, id_key(id)));
		nng_msg    *b =
                    f != NULL && f->msg != NULL ? pack_batch(r, id) : NULL;
		if (b != NULL) {
			return b;
		}
		if (f != NULL && f->msg != NULL) { /* not completed */
			nng_msg *msg = f->msg;
			f->msg       = NULL;
			r->send_id   = id;
			return msg;
		}
	}
	r->sending = false;
	return NULL;
}

static nng_msg *send_ended(sni_remote *r);

/* Gives the send in send_aio to the waiter thread; false once it ends. */
static bool
wait_elsewhere(sni_remote *r)
{
	pthread_mutex_lock(&r->wait_lock);
	bool taken = !r->wait_stop;
	if (taken) {
		r->wait_pending = true;
		pthread_cond_signal(&r->wait_cv);
	}
	pthread_mutex_unlock(&r->wait_lock);
	return taken;
}

/*
 * Sends msg, then each message queued meanwhile (any thread: a caller's,
 * the waiter's or an nng callback's). send_aio has no callback, for the
 * reason given at send_reply in door.c: when the socket's queue takes a
 * message at once, nng clears the aio's message before nng_send_aio
 * returns, and the next one goes from here; otherwise the waiter thread
 * waits for it (bounded by the timeout) and goes on from there. (The
 * message may be cleared by an nng thread while this one reads it: if
 * this one reads NULL, the send was taken and nng_aio_wait returns once
 * nng has finished the aio.)
 */
static void
start_send(sni_remote *r, nng_msg *msg)
{
	while (msg != NULL) {
		nng_aio_set_msg(r->send_aio, msg);
		nng_aio_set_timeout(r->send_aio, r->timeout_ms);
		nng_send_aio(r->sock, r->send_aio);
		if (nng_aio_get_msg(r->send_aio) != NULL && wait_elsewhere(r)) {
			return;
		}
		nng_aio_wait(r->send_aio); /* (or stopped: at once) */
		msg = send_ended(r);
	}
}

/* The waiter thread: waits for each send it is given, then goes on. */
static void *
waiter_main(void *arg)
{
	sni_remote *r = arg;
	pthread_mutex_lock(&r->wait_lock);
	for (;;) {
		if (!r->wait_pending) {
			if (r->wait_stop) {
				break;
			}
			pthread_cond_wait(&r->wait_cv, &r->wait_lock);
			continue;
		}
		r->wait_pending = false;
		pthread_mutex_unlock(&r->wait_lock);
		nng_aio_wait(r->send_aio);
		start_send(r, send_ended(r));
		pthread_mutex_lock(&r->wait_lock);
	}
	pthread_mutex_unlock(&r->wait_lock);
	return NULL;
}

/* A request left (or not): returns the next to send, if any. */
static nng_msg *
send_ended(sni_remote *r)
{
	int         rc   = nng_aio_result(r->send_aio);
	syn_future *f    = NULL;
	nng_msg    *lost = rc != 0 ? nng_aio_get_msg(r->send_aio) : NULL;
	uint32_t    own  = 0;
	if (lost != NULL && nng_msg_header_len(lost) == 4) {
		nng_msg_header_trim_u32(lost, &own);
	}
	pthread_mutex_lock(&r->lock);
	/* A BATCH or a FETCH lost: the batch's calls are lost with it. */
	rbatch *b = own != 0 ? sni_ptrmap_del(&r->batches, id_key(own)) : NULL;
	if (b == NULL && lost != NULL && r->send_id != 0 &&
	    (f = take(r, r->send_id)) != NULL) {
		f->msg = lost; /* unsent: finish gives back what it lent */
		lost   = NULL;
	} else if (b == NULL && own != 0 && own == r->poll_id) {
		r->poll_id = 0; /* the next lend sends another */
	} else if (b == NULL && own != 0 && own == r->hello_id) {
		r->hello_id = 0; /* the next call sends another */
		if (r->hello_first && !atomic_load(&r->closed)) {
			queue_hello(r); /* now: what waits must not go first */
		}
	}
	nng_msg *next = next_to_send(r);
	pthread_mutex_unlock(&r->lock);
	if (b != NULL) {
		unlend_bundle(r, lost); /* a BATCH's calls lent things */
		fail_batch(r, b,
		    rc == NNG_ETIMEDOUT || rc == NNG_ECLOSED ? SYN_ECONNRESET
		                                             : rc,
		    NULL);
	}
	if (lost != NULL) {
		nng_msg_free(lost);
	}
	if (f != NULL) {
		finish(r, f,
		    atomic_load(&r->closed) ? SYN_ECLOSED
		        : rc == NNG_ETIMEDOUT || rc == NNG_ECLOSED
		        ? SYN_ECONNRESET
		        : rc,
		    NULL);
	}
	return next;
}

/* Under lock: queues the control message in w (taken) with request id
 * own, to go before the next call. */
static int
queue_ctl(sni_remote *r, sni_wbuf *w, uint32_t own)
{
	nng_msg *msg = NULL;
	int rc = w->err != 0 || nng_msg_alloc(&msg, 0) != 0 ? SYN_ENOMEM : 0;
	if (rc == 0 &&
	    (nng_msg_append(msg, w->buf, w->len) != 0 ||
	        nng_msg_header_append_u32(msg, own) != 0)) {
		rc = SYN_ENOMEM;
	}
	if (rc == 0 && r->nctl == r->ctl_cap) {
		uint32_t  cap  = r->ctl_cap ? 2 * r->ctl_cap : 8;
		nng_msg **more = realloc(r->ctl, cap * sizeof(*more));
		rc             = more == NULL ? SYN_ENOMEM : 0;
		if (more != NULL) {
			r->ctl     = more;
			r->ctl_cap = cap;
		}
	}
	sni_wbuf_fini(w);
	if (rc != 0) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		return rc;
	}
	r->ctl[r->nctl++] = msg;
	return 0;
}

/* Under lock: whether request id is in use (a call, the POLL, a batch
 * open at the server, or the request that waits for its replies). */
static bool
id_taken(sni_remote *r, uint32_t id)
{
	return id == r->poll_id || id == r->hello_id ||
	    sni_ptrmap_get(&r->calls, id_key(id)) != NULL ||
	    sni_ptrmap_get(&r->batches, id_key(id)) != NULL ||
	    sni_ptrmap_get(&r->batch_ids, id_key(id)) != NULL;
}

/* Under lock: a request id for a control message, used by no call in
 * flight and not the POLL's. */
static uint32_t
ctl_id(sni_remote *r)
{
	uint32_t id;
	do {
		id = next_request_id(r);
	} while (id_taken(r, id));
	return id;
}

/* Under lock: queues a CANCEL of call id for the server. */
static int
queue_cancel(sni_remote *r, uint32_t id)
{
	sni_wbuf w;
	uint32_t own = ctl_id(r);
	sni_wbuf_init(&w);
	sni_msg_encode_cancel(&w, own, id);
	return queue_ctl(r, &w, own);
}

/*
 * Under lock: a POLL for the server's calls to objects lent to it (or
 * for cancels of the calls back running here), unless one is in flight
 * or there are none. True when one was queued.
 */
static bool
queue_poll(sni_remote *r)
{
	/* (while calls back run here, a cancel of one may come) */
	if (r->poll_id != 0 || atomic_load(&r->closed) ||
	    (r->lent.len == 0 && sni_callback_running(r->self_id) == 0)) {
		return false;
	}
	sni_wbuf w;
	uint32_t own = ctl_id(r);
	sni_wbuf_init(&w);
	sni_msg_encode_poll(&w, own);
	if (queue_ctl(r, &w, own) != 0) {
		poll_later(r); /* no memory: it goes after a while */
		return false;
	}
	r->poll_id = own;
	return true;
}

/* Under lock: the message to start sending, when nothing is being sent;
 * the caller starts it once unlocked. */
static nng_msg *
kick(sni_remote *r)
{
	if (r->sending) {
		return NULL;
	}
	r->sending = true;
	return next_to_send(r);
}

/* ---- receiving -----------------------------------------------------------
 */

/*
 * sni_msg_each_handle's visitor: a handle in a reply names an object of
 * the server's synchronizer (it hands out no other), which this side
 * calls by the remote actor's id.
 */
static int
owner_is(void *ctx, syn_handle *h, bool *owned)
{
	(void) owned;
	h->owner = ((sni_remote *) ctx)->self_id;
	return 0;
}

/*
 * A reply from the other process: checked before anyone reads it, and
 * its handles made ours.
 */
static int
check_reply(sni_remote *r, nng_msg *msg)
{
	int kind;
	int rc = sni_msg_check(
	    nng_msg_body(msg), nng_msg_len(msg), &r->limits, &kind);
	if (rc == 0 && kind != SNI_MSG_RETURN && kind != SNI_MSG_ERROR &&
	    kind != SNI_MSG_END && kind != SNI_MSG_ITEMS &&
	    kind != SNI_MSG_RAW) {
		rc = SYN_EPROTO; /* a request where a reply belongs */
	}
	if (rc == 0) {
		rc = sni_msg_each_handle(nng_msg_body(msg), nng_msg_len(msg),
		    r->limits.max_depth + 1, owner_is, r);
	}
	return rc;
}

/*
 * The code a checked reply completes its future with, as a reply of this
 * process's own actors does: SYN_EEND for an END, the error's code for an
 * ERROR (whoever reads only the code, such as an iterator's request,
 * learns the stream ended or failed), else 0.
 */
static int
reply_code(nng_msg *msg)
{
	const void *body = nng_msg_body(msg);
	size_t      len  = nng_msg_len(msg);
	int         kind = sni_msg_kind(body, len);
	if (kind == SNI_MSG_END) {
		return SYN_EEND;
	}
	if (kind != SNI_MSG_ERROR) {
		return 0;
	}
	static const sni_limits lim = { SNI_MAX_DEPTH, SIZE_MAX, false, false,
		false, false };
	uint64_t                id;
	int                     code = 0;
	syn_value               v;
	const syn_error        *err;
	void                   *mem = NULL;
	if (sni_msg_decode_reply(body, len, &lim, &id, &code, &v, &err, &mem) !=
	    0) {
		code = SYN_EPROTO; /* (checked already: not to happen) */
	}
	free(mem);
	return code;
}

/*
 * A reply nobody waits for any more (its call ended here first: cancelled
 * at once, or its cancel's answer came too late): the references its
 * objects carry go back to the server, which counts them lent to this
 * connection until then. Takes msg.
 */
static void
drop_reply(sni_remote *r, nng_msg *msg)
{
	if (check_reply(r, msg) == 0) {
		sni_reply_drop(nng_msg_body(msg), nng_msg_len(msg));
	}
	nng_msg_free(msg);
}

/* Whether msg is an error answer saying SYN_EBUSY (every place for a
 * waiting POLL at the server is taken: asking again later may do). */
static bool
refused_busy(nng_msg *msg)
{
	return reply_code(msg) == SYN_EBUSY;
}

/* Under lock: a POLL refused as busy goes again after a wait, doubled
 * each time it is refused again (20 ms to 1 s). */
static void
poll_later(sni_remote *r)
{
	if (r->poll_waiting || atomic_load(&r->closed)) {
		return;
	}
	r->poll_backoff_ms = r->poll_backoff_ms == 0 ? 20
	    : r->poll_backoff_ms >= 500              ? 1000
	                                             : 2 * r->poll_backoff_ms;
	r->poll_waiting    = true;
	nng_sleep_aio(r->poll_backoff_ms, r->poll_aio);
}

/* nng thread: the wait is over: the POLL goes again. */
static void
poll_again(void *arg)
{
	sni_remote *r    = arg;
	nng_msg    *send = NULL;
	pthread_mutex_lock(&r->lock);
	r->poll_waiting = false;
	if (nng_aio_result(r->poll_aio) == 0 && queue_poll(r)) {
		send = kick(r);
	}
	pthread_mutex_unlock(&r->lock);
	if (send != NULL) {
		start_send(r, send);
	}
}

/*
 * nng thread: the answer to the POLL, msg, carries a call of the
 * server's: it is posted to its synchronizer before the next message is
 * received (so the server's calls run in the order it made them), then
 * the next POLL goes. An error answer ends the polling (the server is
 * going), but SYN_EBUSY (no place for a waiting POLL there now): then the
 * POLL goes again after a while.
 */
static void
repoll(sni_remote *r, nng_msg *msg)
{
	bool     busy  = refused_busy(msg);
	bool     again = sni_callback_run(r->self_id, &r->limits, msg);
	nng_msg *send  = NULL;
	pthread_mutex_lock(&r->lock);
	/* (counted under the lock: a callback that ends after this sees
	 * poll_held, one that ended before is not counted) */
	bool full =
	    again && sni_callback_running(r->self_id) >= SNI_CALLBACKS_MAX;
	r->poll_id = 0;
	if (again && full) {
		r->poll_held = true; /* the end of one sends it */
	} else if (again) {
		r->poll_backoff_ms = 0;
		send               = queue_poll(r) ? kick(r) : NULL;
	} else if (busy) {
		poll_later(r);
	}
	pthread_mutex_unlock(&r->lock);
	nng_recv_aio(r->sock, r->recv_aio);
	if (send != NULL) {
		start_send(r, send);
	}
}

/* The messages of a lost BATCH, msg (NULL, or another kind: nothing):
 * what they lent comes back. Not under lock. */
static void
unlend_bundle(sni_remote *r, nng_msg *msg)
{
	uint64_t   id, pending;
	uint32_t   count;
	sni_reader rd;
	if (msg == NULL ||
	    sni_msg_decode_bundle(nng_msg_body(msg), nng_msg_len(msg),
	        &r->limits, SNI_MSG_BATCH, &id, &pending, &count, &rd) != 0) {
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		const void *inner;
		size_t      len;
		sni_msg_bundle_next(&rd, &inner, &len);
		sni_msg_each_handle(
		    (void *) inner, len, SNI_MAX_DEPTH + 1, unlend_unsent, r);
	}
}

/*
 * Completes the calls of b not answered yet with rc, or (rc 0) with a
 * copy each of the error reply msg; b goes. Not under lock.
 */
static void
fail_batch(sni_remote *r, rbatch *b, int rc, nng_msg *msg)
{
	pthread_mutex_lock(&r->lock);
	sni_ptrmap_del(&r->batch_ids, id_key(b->id)); /* its id is free */
	nng_msg *send = kick(r); /* calls held for a batch's place go */
	pthread_mutex_unlock(&r->lock);
	if (send != NULL) {
		start_send(r, send);
	}
	for (uint32_t i = 0; i < b->n; i++) {
		pthread_mutex_lock(&r->lock);
		syn_future *f = b->ids[i] != 0 ? take(r, b->ids[i]) : NULL;
		pthread_mutex_unlock(&r->lock);
		nng_msg *m = NULL;
		if (f != NULL && msg != NULL && nng_msg_dup(&m, msg) != 0) {
			m = NULL;
		}
		if (f != NULL) {
			finish(r, f,
			    m != NULL     ? 0
			        : rc != 0 ? rc
			                  : SYN_ENOMEM,
			    m);
		}
	}
	free(b);
}

/* One reply of batch b, inner[0..len-1]: it completes its call. */
static void
batch_reply(sni_remote *r, rbatch *b, const void *inner, size_t len)
{
	uint64_t id = 0;
	uint32_t i  = 0;
	sni_msg_call_id(inner, len, &id);
	while (i < b->n && (id == 0 || b->ids[i] != id)) {
		i++;
	}
	if (i == b->n) {
		return; /* not one of its calls: dropped */
	}
	b->ids[i] = 0;
	pthread_mutex_lock(&r->lock);
	syn_future *f = take(r, (uint32_t) id);
	pthread_mutex_unlock(&r->lock);
	nng_msg *m = NULL;
	int rc = nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, inner, len) != 0
	    ? SYN_ENOMEM
	    : 0;
	if (f == NULL) { /* completed meanwhile */
		if (rc == 0) {
			drop_reply(r, m);
		} else if (m != NULL) {
			nng_msg_free(m);
		}
		return;
	}
	rc = rc != 0 ? rc : check_reply(r, m);
	if (rc != 0 && m != NULL) {
		nng_msg_free(m);
		m = NULL;
	}
	finish(r, f, m != NULL ? reply_code(m) : rc, m);
}

/*
 * nng thread: the REPLIES to b's BATCH or FETCH (msg, taken): each
 * completes its call; a FETCH goes for the rest, if any. An error answer
 * fails the calls not answered.
 */
static void
batch_replies(sni_remote *r, rbatch *b, nng_msg *msg)
{
	uint64_t   call_id, pending = 0;
	uint32_t   count = 0, left = 0;
	sni_reader rd;
	sni_limits lim = r->limits; /* the envelope has its slack; each
	                               reply is checked against the limit */
	lim.max_size += SNI_BUNDLE_SLACK;
	int rc = sni_msg_decode_bundle(nng_msg_body(msg), nng_msg_len(msg),
	    &lim, SNI_MSG_REPLIES, &call_id, &pending, &count, &rd);
	if (rc != 0) {
		int kind = sni_msg_kind(nng_msg_body(msg), nng_msg_len(msg));
		fail_batch(r, b, rc,
		    kind == SNI_MSG_ERROR && check_reply(r, msg) == 0 ? msg
		                                                      : NULL);
		nng_msg_free(msg);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		const void *inner;
		size_t      len;
		sni_msg_bundle_next(&rd, &inner, &len);
		batch_reply(r, b, inner, len);
	}
	nng_msg_free(msg);
	for (uint32_t i = 0; i < b->n; i++) {
		left += b->ids[i] != 0;
	}
	if (left == 0 || pending == 0) {
		nng_msg *why = sni_reply_error_msg(0, SYN_ENOMEM,
		    "the server's batch ended without answering this call: "
		    "the server had no memory to start it",
		    "");
		fail_batch(r, b, SYN_ENOMEM, why);
		if (why != NULL) {
			nng_msg_free(why);
		}
		return;
	}
	sni_wbuf w;
	nng_msg *send = NULL;
	pthread_mutex_lock(&r->lock);
	uint32_t own = ctl_id(r);
	sni_wbuf_init(&w);
	sni_msg_encode_fetch(&w, own, b->id);
	rc = queue_ctl(r, &w, own);
	if (rc == 0 &&
	    (rc = sni_ptrmap_put(&r->batches, id_key(own), b)) != 0) {
		nng_msg_free(r->ctl[--r->nctl]);
	}
	if (rc == 0) {
		send = kick(r);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc != 0) {
		fail_batch(r, b, rc, NULL);
	} else if (send != NULL) {
		start_send(r, send);
	}
}

/* nng thread: the server's answer to the HELLO hello (msg, taken): the
 * largest request it takes. Until then, and after an error answer,
 * nothing is batched. What waited for it goes. */
static void
hello_answered(sni_remote *r, uint32_t hello, nng_msg *msg)
{
	uint64_t         id;
	int              code;
	syn_value        v;
	const syn_error *err;
	void            *mem = NULL;
	bool ok = sni_msg_decode_reply(nng_msg_body(msg), nng_msg_len(msg),
	              &r->limits, &id, &code, &v, &err, &mem) == 0 &&
	    code == 0 && v.type == SYN_TYPE_INT && v.as.i >= 64;
	pthread_mutex_lock(&r->lock);
	if (r->hello_id == hello) { /* (else its connection went since) */
		r->hello_id   = 0;
		r->peer_max   = ok ? (size_t) v.as.i : r->peer_max;
		r->hello_done = true; /* (an error answer: no batching) */
	}
	nng_msg *next = kick(r);
	pthread_mutex_unlock(&r->lock);
	free(mem);
	nng_msg_free(msg);
	if (next != NULL) {
		start_send(r, next);
	}
}

/* Under lock: queues the HELLO, to go first. */
static int
queue_hello(sni_remote *r)
{
	sni_wbuf w;
	uint32_t own = ctl_id(r);
	sni_wbuf_init(&w);
	sni_msg_encode_hello(&w, own, r->limits.max_size);
	int rc = queue_ctl(r, &w, own);
	if (rc == 0) {
		r->hello_id  = own;
		r->hello_msg = r->ctl[r->nctl - 1];
	}
	return rc;
}

/* nng thread: a reply came: it completes its call, if still waited for. */
static void
recv_done(void *arg)
{
	sni_remote *r  = arg;
	int         rc = nng_aio_result(r->recv_aio);
	if (rc == NNG_ECLOSED || rc == NNG_ECANCELED) {
		return; /* the socket closed: the destroy fails the rest */
	}
	if (rc != 0) { /* (e.g. no memory for a message): the replies to
		          come must still be read */
		if (!atomic_load(&r->closed)) {
			nng_recv_aio(r->sock, r->recv_aio);
		}
		return;
	}
	nng_msg *msg = nng_aio_get_msg(r->recv_aio);
	if (atomic_load(&r->closed)) {
		nng_msg_free(msg); /* too late: nobody waits for it */
		return;
	}
	uint32_t id = 0;
	if (nng_msg_header_len(msg) == 4) {
		nng_msg_header_trim_u32(msg, &id);
	}
	pthread_mutex_lock(&r->lock);
	if (id != 0 && id == r->hello_id) {
		pthread_mutex_unlock(&r->lock);
		nng_recv_aio(r->sock, r->recv_aio);
		hello_answered(r, id, msg);
		return;
	}
	bool        polled = id != 0 && id == r->poll_id;
	syn_future *f      = id != 0 && !polled ? take(r, id) : NULL;
	rbatch     *b      = id != 0 && !polled && f == NULL
	             ? sni_ptrmap_del(&r->batches, id_key(id))
	             : NULL;
	pthread_mutex_unlock(&r->lock);
	if (polled) {
		repoll(r, msg);
		return;
	}
	nng_recv_aio(r->sock, r->recv_aio); /* the next one */
	if (b != NULL) {
		batch_replies(r, b, msg);
		return;
	}
	if (f == NULL) { /* cancelled, or not ours */
		drop_reply(r, msg);
		return;
	}
	rc = check_reply(r, msg);
	if (rc != 0) {
		nng_msg_free(msg);
		msg = NULL;
	}
	finish(r, f, msg != NULL ? reply_code(msg) : rc, msg);
}

/* ---- posting -------------------------------------------------------------
 */

/*
 * sni_msg_each_handle's visitor for a request: a handle of another
 * synchronizer than the server's is one of this process's, lent to the
 * server (see sni_remote_lend): marked so.
 */
static int
mark_lent(void *ctx, syn_handle *h, bool *owned)
{
	(void) owned;
	if (h->owner != ((sni_remote *) ctx)->self_id) {
		h->owner |= SNI_PEER_OWNER;
	}
	return 0;
}

void
sni_remote_unlend_unsent(uint32_t id, nng_msg *m)
{
	sni_actor *a;
	if (sni_actor_hold_closed(id, &a) != 0) {
		return; /* its destroy gave back all it lent */
	}
	if (a->remote != NULL) { /* (marked as if it were posted) */
		sni_msg_each_handle(nng_msg_body(m), nng_msg_len(m),
		    SNI_MAX_DEPTH + 1, mark_lent, a->remote);
		sni_msg_each_handle(nng_msg_body(m), nng_msg_len(m),
		    SNI_MAX_DEPTH + 1, unlend_unsent, a->remote);
	}
	sni_actor_release(a);
}

/* Posts f's request; 0, or the code f was finished with. */
static int
post_call(sni_actor *a, syn_future *f)
{
	sni_remote *r = a->remote;
	sni_msg_each_handle(nng_msg_body(f->msg), nng_msg_len(f->msg),
	    SNI_MAX_DEPTH + 1, mark_lent, r); /* our own encoding: no error */
	uint64_t cid     = 0;
	bool     carries = sni_msg_call_id(nng_msg_body(f->msg),
	                       nng_msg_len(f->msg), &cid) == 0 &&
	    cid > ID_BIT && cid <= UINT32_MAX;
	uint32_t id = carries ? (uint32_t) cid : 0;
	pthread_mutex_lock(&r->lock);
	/* No connection (looked at under the lock: a pipe's end lowers the
	 * count, then its fail_all takes the lock and sees f): nng redials.
	 * Closed: e.g. a RELEASE from the destroy. A new connection is asked
	 * first (no memory: over tcp, ipc or tls calls go unbatched; over
	 * inproc they must not go before it). */
	int rc = atomic_load(&r->pipes) == 0 ? SYN_ECONNRESET
	    : atomic_load(&r->closed)        ? SYN_ECLOSED
	    : r->peer_max == 0 && r->hello_id == 0 && !r->hello_done &&
	        queue_hello(r) != 0 && r->hello_first
	    ? SYN_ENOMEM
	    : 0;
	if (rc != 0) {
		pthread_mutex_unlock(&r->lock);
		finish(r, f, rc, NULL);
		return rc;
	}
	while (id == 0 || id_taken(r, id)) {
		id      = next_request_id(r);
		carries = false;
	}
	nng_msg_header_clear(f->msg);
	rc      = nng_msg_header_append_u32(f->msg, id) != 0 ? SYN_ENOMEM : 0;
	void *v = (void *) ((uintptr_t) f | (carries ? CARRIES_ID : 0));
	if (rc == 0 && (rc = sni_ptrmap_put(&r->calls, id_key(id), v)) == 0 &&
	    (rc = sendq_push(r, id)) != 0) {
		sni_ptrmap_del(&r->calls, id_key(id));
	}
	nng_msg *msg = NULL;
	if (rc == 0) {
		f->task = (syn_task *) (uintptr_t) id; /* for a cancel */
		msg     = kick(r);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc != 0) {
		finish(r, f, rc, NULL);
	} else if (msg != NULL) {
		start_send(r, msg);
	}
	return rc;
}

static uint64_t
now_ms(void)
{
	return sni_now_ns() / 1000000u;
}

/* Under lock: sweeps cancelling after ms (unless a sweep waits). */
static void
arm_sweep(sni_remote *r, uint64_t ms)
{
	if (!r->cancel_armed && !atomic_load(&r->closed)) {
		r->cancel_armed = true;
		nng_sleep_aio((nng_duration) (ms > 0 ? ms : 1), r->cancel_aio);
	}
}

/* Under lock: call id's CANCEL went; it ends here by the connection's
 * timeout at the latest. */
static void
watch_cancel(sni_remote *r, uint32_t id)
{
	uint64_t until = now_ms() + (uint64_t) r->timeout_ms;
	if (sni_ptrmap_put(&r->cancelling, id_key(id),
	        (void *) (uintptr_t) until) == 0) { /* (else: as before) */
		arm_sweep(r, (uint64_t) r->timeout_ms);
	}
}

#define SWEEP_MAX 64 /* calls ended per sweep */

/* Under lock: takes up to SWEEP_MAX calls whose wait for their CANCEL's
 * answer is over into late; returns how many, and when the next one is
 * due in *next (UINT64_MAX: none left). */
static size_t
take_overdue(sni_remote *r, syn_future **late, uint64_t *next)
{
	uint32_t ids[SWEEP_MAX];
	size_t   n = 0, i = 0, got = 0;
	uint64_t now = now_ms();
	void    *v;
	*next = UINT64_MAX;
	while ((v = sni_ptrmap_next(&r->cancelling, &i)) != NULL) {
		uint64_t until = (uint64_t) (uintptr_t) v;
		if (until <= now && n < SWEEP_MAX) {
			ids[n++] = (uint32_t) r->cancelling.keys[i - 1];
		} else {
			*next = until <= now ? now
			    : until < *next  ? until
			                     : *next;
		}
	}
	for (size_t k = 0; k < n; k++) {
		sni_ptrmap_del(&r->cancelling, id_key(ids[k]));
		if ((late[got] = take(r, ids[k])) != NULL) {
			got++; /* (else answered meanwhile) */
		}
	}
	return got;
}

/* nng thread: the calls whose CANCEL the server did not answer in time
 * end with SYN_ECANCELED; their late answers are dropped. */
static void
cancel_sweep(void *arg)
{
	sni_remote *r = arg;
	syn_future *late[SWEEP_MAX];
	uint64_t    next;
	if (nng_aio_result(r->cancel_aio) != 0) {
		return; /* stopped: the destroy fails what is left */
	}
	pthread_mutex_lock(&r->lock);
	r->cancel_armed = false;
	size_t n        = take_overdue(r, late, &next);
	if (next != UINT64_MAX) {
		uint64_t now = now_ms();
		arm_sweep(r, next > now ? next - now : 1);
	}
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < n; i++) {
		finish(r, late[i], SYN_ECANCELED, NULL);
	}
}

/*
 * A cancel. A call not sent yet completes with SYN_ECANCELED at once. A
 * call the server knows by its id (every call and iterator request this
 * library sends) gets a CANCEL: its task there is cancelled, and its
 * answer (SYN_ECANCELED, once the cleanup ran) completes it, as a local
 * call's does. Others complete at once, and their answer is dropped.
 */
static void
post_cancel(sni_actor *a, syn_future *f)
{
	sni_remote *r = a->remote;
	pthread_mutex_lock(&r->lock);
	uint32_t    id = id_of(f);
	void       *v  = id != 0 ? sni_ptrmap_get(&r->calls, id_key(id)) : NULL;
	syn_future *got  = untag(v);
	bool        now  = got == f;
	nng_msg    *send = NULL;
	if (now && f->msg == NULL && ((uintptr_t) v & CARRIES_ID) &&
	    queue_cancel(r, id) == 0) {
		now  = false; /* the server's answer completes it */
		send = kick(r);
		watch_cancel(r, id);
	}
	if (now) {
		take(r, id);
	}
	pthread_mutex_unlock(&r->lock);
	if (now) {
		finish(r, f, SYN_ECANCELED, NULL);
	}
	if (send != NULL) {
		start_send(r, send);
	}
	sni_future_cancel_done(f);
}

int
sni_remote_lend(sni_actor *a, const syn_handle *h)
{
	sni_remote *r = a->remote;
	if (h->owner == 0 || h->owner > UINT32_MAX || h->object < 2 ||
	    h->object > UINT32_MAX) {
		return SYN_ENOTSUP; /* no such id can be named across */
	}
	void *key = (void *) (uintptr_t) (h->owner << 32 | h->object);
	pthread_mutex_lock(&r->lock);
	uintptr_t n    = (uintptr_t) sni_ptrmap_get(&r->lent, key);
	int       rc   = atomic_load(&r->closed)
	            ? SYN_ECLOSED /* the lent table was given back */
	            : sni_ptrmap_put(&r->lent, key, (void *) (n + 1));
	nng_msg  *send = rc == 0 && queue_poll(r) ? kick(r) : NULL;
	pthread_mutex_unlock(&r->lock);
	if (send != NULL) {
		start_send(r, send);
	}
	return rc;
}

void
sni_remote_unlend(sni_actor *a, const syn_handle *h)
{
	give_back(a->remote, h->owner << 32 | h->object, 1);
}

/* Not under lock: up to n references lent to key's object come back (as
 * many as the table has: none once the destroy gave them back). */
static void
give_back(sni_remote *r, uint64_t key, uint64_t n)
{
	pthread_mutex_lock(&r->lock);
	uintptr_t has = (uintptr_t) sni_ptrmap_get(&r->lent, (void *) key);
	n             = n < has ? n : has;
	if (n > 0 && has == n) {
		sni_ptrmap_del(&r->lent, (void *) key);
	} else if (n > 0) {
		sni_ptrmap_put(&r->lent, (void *) key, (void *) (has - n));
	}
	pthread_mutex_unlock(&r->lock);
	void (*hook)(const syn_handle *, uint64_t) = atomic_load(&unlend_hook);
	if (n > 0 && hook != NULL) {
		syn_handle h = { key >> 32, key & UINT32_MAX };
		hook(&h, n);
	}
}

bool
sni_remote_lent(uint32_t id, uint64_t key, uint64_t n)
{
	sni_actor *a;
	bool       lent = false;
	if (sni_actor_hold_closed(id, &a) != 0) {
		return false;
	}
	if (a->remote == NULL) {
		sni_actor_release(a);
		return false;
	}
	sni_remote *r = a->remote;
	pthread_mutex_lock(&r->lock);
	lent = sni_ptrmap_get(&r->lent, (void *) key) != NULL;
	pthread_mutex_unlock(&r->lock);
	if (lent && n > 0) {
		give_back(r, key, n);
	}
	sni_actor_release(a);
	return lent;
}

uint64_t
sni_remote_call_id_of(uint32_t id)
{
	sni_actor *a;
	uint64_t   n = 0;
	if (sni_actor_hold_closed(id, &a) == 0) {
		n = a->remote != NULL ? next_request_id(a->remote) : 0;
		sni_actor_release(a);
	}
	return n;
}

int
sni_remote_answer(uint32_t id, uint32_t pipe, const sni_wbuf *w)
{
	sni_actor *a;
	int        rc = sni_actor_hold_closed(id, &a);
	if (rc != 0) {
		return rc;
	}
	syn_future *f = a->remote != NULL ? sni_future_alloc(id, 0) : NULL;
	rc            = f == NULL || w->err != 0 ? SYN_ENOMEM : 0;
	if (rc == 0 && f->msg == NULL && nng_msg_alloc(&f->msg, 0) != 0) {
		rc = SYN_ENOMEM;
	}
	if (rc == 0 && sni_msg_set_body(f->msg, w) != 0) {
		rc = SYN_ENOMEM;
	}
	if (rc == 0) {
		rc = post_call(a, f);
		syn_future_free(f); /* nobody waits: freed once answered */
	} else if (f != NULL) {
		sni_future_discard(f);
	}
	if (rc != 0 && a->remote != NULL && pipe != 0) {
		/* The server's call would wait for it while the connection
		 * lives: the pipe it came on goes (the call ends with
		 * SYN_ECONNRESET there, this side's calls here; nng dials
		 * again). */
		nng_pipe_close((nng_pipe) { .id = pipe });
	}
	sni_actor_release(a);
	return rc;
}

void
sni_remote_callback_ended(uint32_t id)
{
	sni_actor *a;
	if (sni_actor_hold(id, &a) != 0) {
		return;
	}
	sni_remote *r    = a->remote;
	nng_msg    *send = NULL;
	if (r != NULL) {
		pthread_mutex_lock(&r->lock);
		if (r->poll_held &&
		    sni_callback_running(id) < SNI_CALLBACKS_MAX) {
			r->poll_held = false;
			send         = queue_poll(r) ? kick(r) : NULL;
		}
		pthread_mutex_unlock(&r->lock);
	}
	if (send != NULL) {
		start_send(r, send);
	}
	sni_actor_release(a);
}

void
sni_remote_post(sni_actor *a, sni_node *n)
{
	switch (n->kind) {
	case SNI_NODE_CALL:
		post_call(a, (syn_future *) n);
		break;
	case SNI_NODE_CANCEL:
		post_cancel(a,
		    (syn_future *) ((char *) n -
		        offsetof(syn_future, cancel_node)));
		break;
	default: /* CLOSE, STOP: the destroy does the work */
		break;
	}
}

/* ---- opening and closing -------------------------------------------------
 */

/* nng thread: a connection came or went; with it went every call. */
static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void) p;
	sni_remote *r = arg;
	if (ev == NNG_PIPE_EV_ADD_PRE) { /* REM_POST comes for each */
		atomic_fetch_add(&r->pipes, 1);
		return;
	}
	if (atomic_fetch_sub(&r->pipes, 1) == 1) {
		fail_all(
		    r, atomic_load(&r->closed) ? SYN_ECLOSED : SYN_ECONNRESET);
	}
}

/* The TLS options of a new dialer, from o (none: not TLS). */
static int
dialer_tls(nng_dialer d, const sni_dial_opts *o)
{
	int rc = 0;
	if (o->tls_ca_file != NULL &&
	    (rc = nng_dialer_set_string(
	         d, NNG_OPT_TLS_CA_FILE, o->tls_ca_file)) != 0) {
		sni_detail_set("the CA certificates in %.200s cannot be used",
		    o->tls_ca_file);
	}
	if (rc == 0 && o->tls_server_name != NULL) {
		rc = nng_dialer_set_string(
		    d, NNG_OPT_TLS_SERVER_NAME, o->tls_server_name);
	}
	if (rc == 0 && o->tls_cert_key_file != NULL &&
	    (rc = nng_dialer_set_string(
	         d, NNG_OPT_TLS_CERT_KEY_FILE, o->tls_cert_key_file)) != 0) {
		sni_detail_set("the certificate and key in %.200s cannot be "
		               "used",
		    o->tls_cert_key_file);
	}
	return rc;
}

/* (the dialer travels as its id, in the pointer: nothing to free) */
static int
start_dialer(void *arg)
{
	nng_dialer d = { .id = (uint32_t) (uintptr_t) arg };
	return nng_dialer_start(d, 0);
}

/*
 * Starts dialer d (connect, and the TLS and SP handshakes) on a thread of
 * its own, waiting ms at most: then d is closed, which ends the attempt,
 * and SYN_ETIMEDOUT.
 */
static int
start_bounded(nng_dialer d, int32_t ms)
{
	sni_bounded *b = sni_bounded_start(
	    start_dialer, (void *) (uintptr_t) d.id, NULL, NULL);
	if (b == NULL) {
		return nng_dialer_start(d, 0); /* unbounded, but it dials */
	}
	int  rc   = 0;
	bool late = !sni_bounded_wait(b, ms, &rc);
	bool done = !late;
	if (late) {
		nng_dialer_close(d); /* the attempt ends */
		done = sni_bounded_wait(b, 2000, &rc);
	}
	sni_bounded_end(b);
	return !done || (late && rc != 0) ? SYN_ETIMEDOUT : rc;
}

/* Dials url on a new dialer of r's socket, once, within o's timeout. */
static int
dial(sni_remote *r, const char *url, const sni_dial_opts *o)
{
	int rc = nng_dialer_create(&r->dialer, r->sock, url);
	if (rc == 0 && (rc = dialer_tls(r->dialer, o)) == 0) {
		rc = start_bounded(r->dialer, o->timeout_ms);
	}
	if (rc == SYN_ETIMEDOUT) {
		sni_detail_set(
		    "no connection within %d ms", (int) o->timeout_ms);
	}
	if (rc == NNG_ECRYPTO || rc == NNG_EPEERAUTH) {
		sni_detail_set("the TLS handshake failed (a certificate that "
		               "does not verify?)");
	}
	return rc;
}

static int
remote_dial(sni_remote *r, const char *url, const sni_dial_opts *o)
{
	int rc = nng_req0_open_raw(&r->sock);
	if (rc != 0) {
		return rc;
	}
	/* (a REPLIES of replies within the limit may be a little larger;
	 * each reply in it is checked against the limit) */
	nng_socket_set_size(
	    r->sock, NNG_OPT_RECVMAXSZ, o->max_message + SNI_BUNDLE_SLACK);
	nng_pipe_notify(r->sock, NNG_PIPE_EV_ADD_PRE, pipe_event, r);
	nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, pipe_event, r);
	if ((rc = nng_aio_alloc(&r->send_aio, NULL, NULL)) != 0 ||
	    (rc = nng_aio_alloc(&r->recv_aio, recv_done, r)) != 0 ||
	    (rc = nng_aio_alloc(&r->poll_aio, poll_again, r)) != 0 ||
	    (rc = nng_aio_alloc(&r->cancel_aio, cancel_sweep, r)) != 0) {
		return rc; /* the caller closes the socket */
	}
	if (pthread_create(&r->waiter, NULL, waiter_main, r) != 0) {
		return SYN_ENOMEM;
	}
	r->waiter_started = true;
	if ((rc = dial(r, url, o)) != 0) {
		return rc;
	}
	nng_recv_aio(r->sock, r->recv_aio);
	return 0;
}

/* Stops r's aios (those allocated): their callbacks have returned and
 * start nothing more once r is closed. */
static void
stop_aios(sni_remote *r)
{
	nng_aio *aios[] = { r->poll_aio, r->cancel_aio, r->send_aio,
		r->recv_aio };
	for (size_t i = 0; i < sizeof(aios) / sizeof(aios[0]); i++) {
		if (aios[i] != NULL) {
			nng_aio_stop(aios[i]);
		}
	}
	pthread_mutex_lock(&r->wait_lock); /* (sends now end at once) */
	r->wait_stop = true;
	pthread_cond_signal(&r->wait_cv);
	pthread_mutex_unlock(&r->wait_lock);
	if (r->waiter_started) {
		pthread_join(r->waiter, NULL);
		r->waiter_started = false;
	}
}

static void
remote_free(sni_remote *r)
{
	if (r->send_aio != NULL) {
		nng_aio_free(r->send_aio);
	}
	if (r->recv_aio != NULL) {
		nng_aio_free(r->recv_aio);
	}
	if (r->poll_aio != NULL) {
		nng_aio_free(r->poll_aio);
	}
	if (r->cancel_aio != NULL) {
		nng_aio_free(r->cancel_aio);
	}
	sni_ptrmap_fini(&r->calls);
	sni_ptrmap_fini(&r->cancelling);
	sni_ptrmap_fini(&r->lent);
	free_batches(r);
	free(r->sendq);
	for (uint32_t i = 0; i < r->nctl; i++) {
		nng_msg_free(r->ctl[i]);
	}
	free(r->ctl);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wait_cv);
	pthread_mutex_destroy(&r->wait_lock);
	free(r);
}

static void
remote_free_late(void *r)
{
	remote_free(r);
}

int
sni_remote_open(
    const char *url, const sni_dial_opts *o, sni_actor **ap, uint32_t *idp)
{
	if (sni_door_unavailable()) {
		return SYN_EFORK;
	}
	sni_actor_watch_forks(); /* (a process may only connect) */
	sni_door_used();
	sni_actor  *a = aligned_alloc(64, (sizeof(sni_actor) + 63) / 64 * 64);
	sni_remote *r = calloc(1, sizeof(*r));
	if (a == NULL || r == NULL) {
		free(a);
		free(r);
		return SYN_ENOMEM;
	}
	memset(a, 0, sizeof(*a));
	sni_mpsc_init(&a->mbox);
	a->remote = r;
	a->post   = sni_remote_post;
	a->limits = (sni_limits) { SNI_DEFAULT_MAX_DEPTH, o->max_message, false,
		false, false, false };
	a->max_message     = o->max_message;
	a->close_node.kind = SNI_NODE_CLOSE;
	a->stop_node.kind  = SNI_NODE_STOP;
	r->limits          = a->limits;
	r->timeout_ms      = o->timeout_ms;
	r->hello_first     = strncmp(url, "inproc://", 9) == 0;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->wait_lock, NULL);
	pthread_cond_init(&r->wait_cv, NULL);
	int rc = remote_dial(r, url, o);
	if (rc == 0 && (a->url = strdup(url)) == NULL) {
		rc = SYN_ENOMEM;
	}
	if (rc == 0) {
		rc = sni_registry_add(a, &a->id);
	}
	if (rc != 0) {
		/* (bounded: a failed TLS handshake is a close that can hang,
		 * see nngclose.h; then r is the closing thread's) */
		atomic_store(&r->closed, true);
		if (nng_socket_id(r->sock) <= 0) {
			remote_free(r);
		} else {
			stop_aios(r);
			if (sni_close_bounded(
			        r->sock, CLOSE_WAIT_MS, remote_free_late, r)) {
				remote_free(r);
			}
		}
		free(a->url);
		free(a);
		return rc;
	}
	r->self_id = a->id; /* before anything can be posted to it */
	pthread_mutex_lock(&r->lock);
	nng_msg *hello = queue_hello(r) == 0 ? kick(r) : NULL;
	pthread_mutex_unlock(&r->lock);
	if (hello != NULL) {
		start_send(
		    r, hello); /* else no batching: calls go one by one */
	}
	snprintf(a->name, sizeof(a->name), "%s", url);
	*ap  = a;
	*idp = a->id;
	return 0;
}

/*
 * Whether messages nobody waits for are still on their way: CANCELs, the
 * HELLO, and calls whose future was let go (a proxy's RELEASE). The destroy
 * lets them finish first, for a while: the server then need not wait for the
 * connection's end to learn of them, and nng 1.5.2's close can stall for
 * seconds on a socket with a message in flight.
 */
static bool
has_errands(sni_remote *r)
{
	pthread_mutex_lock(&r->lock);
	bool        busy = r->nctl > 0 || r->hello_id != 0;
	size_t      i    = 0;
	syn_future *f;
	while (!busy && (f = sni_ptrmap_next(&r->calls, &i)) != NULL) {
		busy = (atomic_load(&untag(f)->state) & SNI_F_RELEASED) != 0;
	}
	pthread_mutex_unlock(&r->lock);
	return busy;
}

void
sni_remote_close(sni_actor *a)
{
	sni_remote *r = a->remote;
	for (int i = 0;
	     i < DRAIN_WAIT_MS && atomic_load(&r->pipes) > 0 && has_errands(r);
	     i++) {
		nng_msleep(1);
	}
	atomic_store(&r->closed, true);
	fail_all(r, SYN_ECLOSED);
	/* The connection goes first (two seconds at most), then our aios
	 * stop, then the socket closes, with a bound on the wait: nng
	 * 1.5.2's close can hang on a socket whose pipe carried traffic. */
	nng_dialer_close(r->dialer);
	for (int i = 0; i < 2000 && atomic_load(&r->pipes) > 0; i++) {
		nng_msleep(1);
	}
	stop_aios(r);
	a->remote = NULL;
	if (sni_close_bounded(r->sock, CLOSE_WAIT_MS, remote_free_late, r)) {
		remote_free(r);
	}
}
