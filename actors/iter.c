/*
 * actors/iter.c: iterators, the consumer's side of a generator.
 *
 * An iterator names its stream with an id of its own choosing and sends
 * OPEN (the call, at the first request), then NEXT per item, then CLOSE
 * when the consumer stops early. Each request is a future; a hook on it
 * moves the iterator's state before anyone can see the request done, so
 * that the next request, made as soon as the last one is seen done, finds
 * the iterator idle.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <synchronicity/iter.h>

#include "call.h"
#include "core/actor.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "core/context.h"
#include "core/errors.h"
#include "core/future.h"
#include "core/gen.h"
#include "core/remote.h"
#include "core/spinlock.h"
#include "proto/proto.h"
#include "sync.h"

#define CLOSE_TIMEOUT_MS 10000

/* Where a stream is. */
enum {
	ITER_FRESH, /* nothing sent yet: the OPEN waits in open_msg */
	ITER_IDLE,  /* the generator waits at a syn_yield */
	ITER_BUSY,  /* a request is in flight */
	ITER_ENDED, /* the generator returned (END): nothing to close */
	ITER_FAILED /* a request failed: no more items; closed to be sure */
};

#define PREFETCH_MAX (1u << 20)

/* With a window: the batch of items being handed out, and what follows. */
typedef struct iter_batch {
	nng_msg         *msg;    /* the ITEMS the items are read from */
	sni_reader       items;  /* at the next item */
	uint32_t         left;   /* items not yet handed out */
	int              status; /* after them: 0, SYN_EEND or an error */
	const syn_error *err;    /* that error, in err_mem */
	void            *err_mem;
	syn_future      *ahead; /* the request for the next batch */
	bool broken; /* an item could not be read: the generator may run on */
} iter_batch;

struct syn_iter {
	uint32_t     actor_id;
	uint64_t     stream;
	nng_msg     *open_msg;  /* the OPEN, until the first request */
	bool         open_owes; /* it carries references to objects */
	bool         open_lent; /* and lends proxies to another process */
	syn_duration close_timeout;
	uint32_t     prefetch;
	iter_batch   batch;
	syn_proxy   *target; /* a method's object, held until closed */
	void *held; /* to another process: proxies it sent, till closed */
	char *name;
	_Atomic uint32_t state;
	_Atomic uint32_t refs; /* the owner's, and the request's */
	sni_spinlock lock;    /* guards closed, posting, pending, batch.ahead */
	bool         closed;  /* syn_iter_close() began */
	bool         posting; /* a request is made, to be posted */
	syn_future  *pending; /* the request in flight, until its hook */
	uint16_t     fork_gen; /* sni_fork_generation() when it was made */
};

/*
 * SYN_EFORK (set as the last error) for an iterator of the parent in a
 * forked child, which nothing there touches (a thread that stayed in the
 * parent may have held its lock at the fork); else 0.
 */
static int
forked(const syn_iter *it)
{
	if (it->fork_gen == sni_fork_generation()) {
		return 0;
	}
	return sni_error_set(SYN_EFORK,
	    "the iterator belongs to the parent process of a fork", it->name);
}

static void
iter_unref(syn_iter *it)
{
	if (atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) ==
	    1) {
		if (it->open_msg != NULL) { /* never sent */
			if (it->open_owes) {
				sni_translate_drop_open(it->open_msg);
			}
			if (it->open_lent) {
				sni_remote_unlend_unsent(
				    it->actor_id, it->open_msg);
			}
			nng_msg_free(it->open_msg);
		}
		if (it->batch.msg != NULL) { /* what was not read goes back */
			sni_translate_drop_items(
			    &it->batch.items, it->batch.left);
			nng_msg_free(it->batch.msg);
		}
		free(it->batch.err_mem);
		syn_proxy_release(it->target);
		sni_held_release(it->held);
		free(it->name);
		free(it);
	}
}

/* A stream id no other iterator of this process uses. */
static uint64_t
new_stream_id(void)
{
	static _Atomic uint64_t next;
	uint64_t                id = atomic_fetch_add(&next, 1) + 1;
	/* The high half tells processes apart for a synchronizer that
	 * serves several. */
	uint64_t stream = (sni_process_nonce() << 32) ^ id;
	return stream >= SNI_STREAM_MIN ? stream : stream + SNI_STREAM_MIN;
}

static int
check_cfg(const syn_iter_config *cfg, syn_duration *close_timeout)
{
	*close_timeout = CLOSE_TIMEOUT_MS;
	if (cfg == NULL) {
		return 0;
	}
	if (cfg->prefetch > PREFETCH_MAX) {
		return sni_error_set(
		    SYN_EINVAL, "prefetch is at most 1,048,576 items", "");
	}
	syn_duration t = cfg->close_timeout;
	if (t < 0 && t != SYN_DURATION_INFINITE && t != SYN_DURATION_DEFAULT) {
		return sni_error_set(SYN_EINVAL,
		    "close_timeout must be 0, positive, SYN_DURATION_DEFAULT "
		    "or SYN_DURATION_INFINITE",
		    "");
	}
	if (t > 0 || t == SYN_DURATION_INFINITE) {
		*close_timeout = t;
	}
	return 0;
}

/* A request to another process carries a call id of its own, so that
 * its cancel can reach its task there; 0 in this process. */
static uint64_t
own_call_id(sni_actor *a)
{
	return a->remote != NULL ? sni_remote_call_id(a) : 0;
}

/* Encodes the OPEN of it's stream with the actor's limits. */
static int
encode_open(syn_iter *it, sni_actor *a, const sni_request *r)
{
	const char *name    = r->name;
	bool        objects = false;
	int rc = a->remote != NULL ? sni_translate_remote_check(a->id, NULL,
	                                 r->args, r->nargs, &it->held)
	    : a->back != NULL
	    ? sni_translate_plain_check(r->args, r->nargs)
	    : sni_translate_call_check(r->args, r->nargs, &objects);
	if (rc != 0) {
		return sni_error_set_detail(rc, name);
	}
	sni_wbuf w;
	sni_wbuf_init(&w);
	rc = sni_msg_encode_open(&w, own_call_id(a), r->target, name,
	    strlen(name), r->args, r->nargs, &a->limits, it->stream,
	    it->prefetch);
	const sni_context *cx = sni_context_current();
	if (rc == 0 && cx != NULL) {
		rc = sni_msg_add_context(&w, cx->bytes, cx->len, &a->limits);
	}
	if (rc != 0) {
		sni_wbuf_fini(&w);
		return sni_error_set_detail(rc, name);
	}
	rc = sni_msg_put(&it->open_msg, &w);
	sni_wbuf_fini(&w);
	if (rc != 0) {
		return sni_error_set(rc, NULL, name);
	}
	if (objects) { /* they leave with the OPEN */
		sni_translate_call_commit(r->args, r->nargs);
		it->open_owes = true;
	}
	if (a->remote != NULL) {
		if ((rc = sni_request_lend(a, r->args, r->nargs, name)) != 0) {
			return rc;
		}
		it->open_lent = true; /* (given back if it never goes) */
	}
	return 0;
}

int
sni_iter_open(const sni_request *r, const syn_iter_config *cfg, syn_iter **itp)
{
	syn_duration close_timeout;
	sni_actor   *a;
	int          rc;
	const char  *name = r->name;
	if (itp == NULL) {
		return sni_error_set(
		    SYN_EINVAL, "iterator pointer is NULL", "");
	}
	*itp = NULL;
	if (name == NULL) {
		return sni_error_set(SYN_EINVAL, "name is NULL", "");
	}
	if ((rc = check_cfg(cfg, &close_timeout)) != 0) {
		return rc;
	}
	if ((rc = sni_actor_hold(r->actor_id, &a)) != 0) {
		return sni_error_set(
		    rc, "no such synchronizer, or it is closed", name);
	}
	syn_iter *it = calloc(1, sizeof(*it));
	if (it == NULL || (it->name = strdup(name)) == NULL) {
		free(it);
		sni_actor_release(a);
		return sni_error_set(SYN_ENOMEM, NULL, name);
	}
	it->actor_id      = r->actor_id;
	it->stream        = new_stream_id();
	it->close_timeout = close_timeout;
	it->prefetch      = cfg != NULL ? cfg->prefetch : 0;
	it->fork_gen      = sni_fork_generation();
	atomic_init(&it->state, ITER_FRESH);
	atomic_init(&it->refs, 1);
	atomic_flag_clear(&it->lock.f);
	rc = encode_open(it, a, r);
	sni_actor_release(a);
	if (rc != 0) {
		iter_unref(it);
		return rc;
	}
	*itp = it;
	return 0;
}

void
sni_iter_hold_target(syn_iter *it, syn_proxy *p)
{
	it->target = syn_proxy_ref(p);
}

int
syn_iter_open(syn_synchronizer s, const char *name, const syn_value *args,
    size_t nargs, const syn_iter_config *cfg, syn_iter **itp)
{
	const sni_request r = { s.id, NULL, name, args, nargs };
	return sni_iter_open(&r, cfg, itp);
}

/* ---- requests --------------------------------------------------------- */

/* The iterator whose pending request this thread is cancelling, under its
 * lock: a cancel can end the request at once on this very thread (one
 * to another process that was not sent yet), and its hook must not take
 * the lock again. */
static _Thread_local syn_iter *cancelling;

/* The request's hook: runs once it is answered, before it reads done. */
static void
request_done(void *arg, int rc)
{
	syn_iter *it   = arg;
	bool      held = cancelling == it; /* (see cancel_pending) */
	if (!held) {
		sni_spin_lock(&it->lock);
	}
	it->pending = NULL;
	if (!held) {
		sni_spin_unlock(&it->lock);
	}
	uint32_t state = rc == 0 ? ITER_IDLE
	    : rc == SYN_EEND     ? ITER_ENDED
	                         : ITER_FAILED;
	atomic_store_explicit(&it->state, state, memory_order_release);
	iter_unref(it);
}

/* Fills f's message with a THROW of thrown. */
static int
fill_throw(syn_iter *it, sni_actor *a, const syn_error *thrown, syn_future *f)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	int rc = sni_msg_encode_throw(&w, own_call_id(a), it->stream,
	    thrown->code, thrown->message, thrown->where, &a->limits);
	if (rc == 0) {
		rc = w.err != 0 ? w.err : sni_request_put(a, f, &w);
	}
	sni_wbuf_fini(&w);
	return rc != 0 ? sni_error_set_detail(rc, it->name) : 0;
}

/* Fills f's message with the request: the OPEN, a NEXT sending v, or
 * (thrown not NULL) a THROW. */
static int
fill_request(syn_iter *it, sni_actor *a, uint32_t state, const syn_value *v,
    const syn_error *thrown, syn_future *f)
{
	if (state == ITER_FRESH && thrown != NULL) {
		return sni_error_set(SYN_EINVAL,
		    "nothing can be thrown before the first request: the "
		    "generator has not reached a syn_yield() yet",
		    it->name);
	}
	if (thrown != NULL) {
		return fill_throw(it, a, thrown, f);
	}
	if (state == ITER_FRESH) {
		if (v != NULL && v->type != SYN_TYPE_NIL) {
			return sni_error_set(SYN_EINVAL,
			    "the first request can only send nil: the "
			    "generator has not reached a syn_yield() yet",
			    it->name);
		}
		if (f->msg != NULL) {
			nng_msg_free(f->msg);
		}
		f->msg       = it->open_msg;
		it->open_msg = NULL;
		return 0;
	}
	syn_value nil = syn_nil();
	sni_wbuf  w;
	bool      objects;
	v = v != NULL ? v : &nil;
	if (a->remote == NULL && a->back == NULL) { /* the commonest NEXT */
		size_t n = sni_msg_put_simple_next(f->inl, it->stream, v);
		if (n > 0) {
			return sni_request_put_inline(f, n);
		}
	}
	objects = false;
	int rc  = a->remote != NULL
	     ? sni_translate_remote_check(a->id, NULL, v, 1, &it->held)
	     : a->back != NULL ? sni_translate_plain_check(v, 1)
	                       : sni_translate_call_check(v, 1, &objects);
	if (rc != 0) {
		return sni_error_set_detail(rc, it->name);
	}
	sni_wbuf_init(&w);
	rc = sni_msg_encode_next(&w, own_call_id(a), it->stream, v, &a->limits);
	if (rc != 0) {
		sni_wbuf_fini(&w);
		return sni_error_set_detail(rc, it->name);
	}
	rc = w.err != 0 ? w.err : sni_request_put(a, f, &w);
	sni_wbuf_fini(&w);
	if (rc != 0) {
		return sni_error_set(rc, NULL, it->name);
	}
	if (a->remote != NULL &&
	    (rc = sni_request_lend(a, v, 1, it->name)) != 0) {
		return rc; /* (f, and the NEXT in it, go unsent) */
	}
	if (objects) { /* they leave with the NEXT */
		sni_translate_call_commit(v, 1);
	}
	return 0;
}

/* Why a request cannot start in state. */
static int
refuse(syn_iter *it, uint32_t state)
{
	if (state == ITER_BUSY) {
		return sni_error_set(SYN_EBUSY,
		    "a request is in flight on this iterator", it->name);
	}
	return sni_error_set(SYN_EEND,
	    "end of the stream: the generator has no more items", it->name);
}

/* Posts f, made and filled for a request of it, to a. */
static void
post_request(syn_iter *it, sni_actor *a, syn_future *f)
{
	atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
	sni_spin_lock(&it->lock);
	it->pending = f;
	sni_spin_unlock(&it->lock);
	sni_actor_post(a, &f->node);
}

/*
 * A request of it, whose state it just took, begins to be made: false
 * when a close began first (the request must not go). Else the close
 * that may begin meanwhile waits for made_request, so that the request
 * reaches the synchronizer before the CLOSE (an OPEN after it started a
 * generator that nothing closed).
 */
static bool
making_request(syn_iter *it)
{
	sni_spin_lock(&it->lock);
	bool closed = it->closed;
	it->posting = !closed;
	sni_spin_unlock(&it->lock);
	return !closed;
}

/* The request begun by making_request is posted, or failed. */
static void
made_request(syn_iter *it)
{
	sni_spin_lock(&it->lock);
	it->posting = false;
	sni_spin_unlock(&it->lock);
}

/* syn_iter_close: waits until no request is being made (a moment). */
static void
wait_requests_made(syn_iter *it)
{
	for (;;) {
		sni_spin_lock(&it->lock);
		bool posting = it->posting;
		sni_spin_unlock(&it->lock);
		if (!posting) {
			return;
		}
		sched_yield();
	}
}

/*
 * Starts the next request, sending v (NULL: nil) or throwing thrown (not
 * NULL); on success *fp is its future, posted. waited: the caller waits
 * for it to the end and then calls request_done itself (a blocking
 * request: the loop that answers it then writes nothing of the iterator,
 * whose lines stay with the caller's CPU); else the future's hook does,
 * wherever it completes.
 */
static int
start_request(syn_iter *it, const syn_value *v, const syn_error *thrown,
    bool waited, syn_future **fp)
{
	if (it == NULL) {
		return sni_error_set(SYN_EINVAL, "iterator is NULL", "");
	}
	int rc = forked(it);
	if (rc != 0) {
		return rc;
	}
	uint32_t state = atomic_load_explicit(&it->state, memory_order_acquire);
	if ((state != ITER_FRESH && state != ITER_IDLE) ||
	    !atomic_compare_exchange_strong(&it->state, &state, ITER_BUSY)) {
		return refuse(it, state);
	}
	if (!making_request(it)) {
		atomic_store(&it->state, state);
		return sni_error_set(
		    SYN_EITERCLOSED, "the iterator is being closed", it->name);
	}
	sni_actor  *a = NULL;
	syn_future *f = NULL;
	rc            = state == ITER_FRESH
	               ? sni_actor_hold(it->actor_id, &a)
	               : sni_actor_hold_closed(it->actor_id, &a); /* it runs */
	if (rc != 0) {
		a  = NULL;
		rc = sni_error_set(rc,
		    rc == SYN_EFORK ? "the synchronizer belongs to the parent "
		                      "process"
		                    : "the synchronizer is closed",
		    it->name);
	} else if ((f = sni_future_alloc(it->actor_id, a->spin_ns)) == NULL) {
		rc = sni_error_set(SYN_ENOMEM, NULL, it->name);
	} else if (!waited && sni_future_set_hook(f, request_done, it) != 0) {
		rc = sni_error_set(SYN_ENOMEM, NULL, it->name);
	} else if ((rc = fill_request(it, a, state, v, thrown, f)) == 0) {
		post_request(it, a, f); /* nothing fails past the OPEN's move */
	}
	made_request(it);
	if (a != NULL) {
		sni_actor_release(a);
	}
	if (rc != 0) {
		if (f != NULL) {
			sni_future_discard(f);
		}
		atomic_store(&it->state, state); /* nothing was sent */
		return rc;
	}
	*fp = f;
	return 0;
}

/* ---- batches: iterators with a window --------------------------------- */

/* The replies of this process's own actors, as futures read them. */
static const sni_limits batch_limits = { SNI_MAX_DEPTH, SIZE_MAX, true, false,
	false, false };

/* What only lock-step iterators do. */
static int
check_lock_step(syn_iter *it, const char *what)
{
	if (it != NULL && it->prefetch > 0) {
		return sni_error_set(SYN_ENOTSUP,
		    what != NULL ? what
		                 : "an iterator with a prefetch window is read "
		                   "with syn_iter_next() only",
		    it->name);
	}
	return 0;
}

/* Takes the answer to batch request f: a batch, or why there is none. */
static int
take_batch(syn_iter *it, syn_future *f)
{
	iter_batch *b         = &it->batch;
	int         rc        = f->rc;
	nng_msg    *msg       = NULL;
	bool        cancelled = sni_future_cancel_requested(f);
	if (sni_future_take_msg(f, &msg) != 0) { /* a copy of inline bytes */
		rc = SYN_ENOMEM;
	}
	syn_future_free(f);
	if (cancelled) { /* by the thread's canceller: a cancel wins */
		if (msg != NULL &&
		    sni_msg_kind(nng_msg_body(msg), nng_msg_len(msg)) ==
		        SNI_MSG_ITEMS) {
			sni_reply_drop(nng_msg_body(msg), nng_msg_len(msg));
		}
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		atomic_store(&it->state, ITER_FAILED);
		return sni_error_set(SYN_ECANCELED,
		    "the request for the next batch was cancelled", it->name);
	}
	if (msg == NULL ||
	    sni_msg_kind(nng_msg_body(msg), nng_msg_len(msg)) !=
	        SNI_MSG_ITEMS) {
		rc = sni_reply_take(msg, rc, NULL); /* an ERROR: the failure */
		atomic_store(&it->state, ITER_FAILED);
		return rc != 0
		    ? rc
		    : sni_error_set(SYN_EPROTO, "expected a batch", it->name);
	}
	sni_items_view v;
	if ((rc = sni_msg_decode_items(nng_msg_body(msg), nng_msg_len(msg),
	         &batch_limits, &v, &b->err_mem)) != 0) {
		nng_msg_free(msg);
		atomic_store(&it->state, ITER_FAILED);
		return sni_error_set(rc, "malformed batch", it->name);
	}
	b->msg    = msg;
	b->items  = v.items;
	b->left   = v.count;
	b->status = v.status;
	b->err    = v.err;
	return 0;
}

/* Hands out the next item of the batch. */
static int
hand_out(syn_iter *it, syn_result *item)
{
	iter_batch *b = &it->batch;
	syn_value   v;
	void       *mem;
	int rc = sni_decode_value_next(&b->items, &batch_limits, &v, &mem);
	b->left--;
	if (rc != 0) {
		/* (the items after it cannot be read either: what they
		 * carry stays counted until their synchronizer ends) */
		b->left   = 0;
		b->broken = true;
		if (b->status == 0) {
			b->status = SYN_EEND; /* nothing after a broken batch */
		}
		atomic_store(&it->state, ITER_FAILED);
		return sni_error_set(rc, "malformed item", it->name);
	}
	void *held;
	if ((rc = sni_reply_translate(&v, &held)) != 0) {
		free(mem);
		return sni_error_set(
		    rc, "no memory for the item's proxies", it->name);
	}
	if (item != NULL) {
		item->value = v;
		item->mem_  = mem;
		item->held_ = held;
	} else {
		sni_held_release(held);
		free(mem);
	}
	return 0;
}

/* The batches are over: the end, or the error the generator returned
 * (once; the end after it). */
static int
end_of_batches(syn_iter *it)
{
	iter_batch *b  = &it->batch;
	int         rc = b->status;
	if (rc != SYN_EEND) {
		sni_error_set(rc, b->err->message, b->err->where);
		free(b->err_mem);
		b->err_mem = NULL;
		b->err     = NULL;
		b->status  = SYN_EEND;
	} else {
		sni_error_set(SYN_EEND,
		    "end of the stream: the generator has no more items",
		    it->name);
	}
	/* The generator returned, unless an item broke the stream first:
	 * then the close makes sure it ends. */
	atomic_store(&it->state, b->broken ? ITER_FAILED : ITER_ENDED);
	return rc;
}

/* The batch request made ahead, taken (NULL: none). syn_iter_close() may
 * take it from another thread. */
static syn_future *
take_ahead(syn_iter *it)
{
	sni_spin_lock(&it->lock);
	syn_future *f   = it->batch.ahead;
	it->batch.ahead = NULL;
	sni_spin_unlock(&it->lock);
	return f;
}

/* Keeps f as the batch request made ahead; once the iterator is closing,
 * f is given up instead. */
static void
keep_ahead(syn_iter *it, syn_future *f)
{
	sni_spin_lock(&it->lock);
	if (!it->closed) {
		it->batch.ahead = f;
		f               = NULL;
	}
	sni_spin_unlock(&it->lock);
	if (f != NULL) {
		syn_future_cancel(f);
		syn_future_free(f);
	}
}

/* Waits for the batch requested ahead, or asks for one first. */
static int
next_batch(syn_iter *it)
{
	iter_batch *b = &it->batch;
	int         rc;
	syn_future *f = take_ahead(it);
	if (f == NULL && (rc = start_request(it, NULL, NULL, false, &f)) != 0) {
		return rc;
	}
	if ((rc = sni_call_wait(f, UINT64_MAX, it->name)) != 0) {
		/* The batch may have come between the deadline and the
		 * cancel (the hook, which ran first, saw it come): its items
		 * go with f, so the stream is over, as for a cancel. */
		uint32_t idle = ITER_IDLE;
		atomic_compare_exchange_strong(&it->state, &idle, ITER_FAILED);
		syn_future_free(f);
		return sni_error_set(rc,
		    rc == SYN_EFORK ? "the request belongs to the parent "
		                      "process of a fork"
		                    : "the next batch did not come in time",
		    it->name);
	}
	if ((rc = take_batch(it, f)) != 0) {
		return rc;
	}
	if (b->status == 0 && /* ask for the next one while this is read */
	    start_request(it, NULL, NULL, false, &f) ==
	        0) { /* a failure: asked again */
		keep_ahead(it, f);
	}
	return 0;
}

static int
next_in_window(syn_iter *it, syn_result *item)
{
	iter_batch *b = &it->batch;
	for (;;) {
		if (b->left > 0) {
			return hand_out(it, item);
		}
		if (b->msg != NULL) {
			nng_msg_free(b->msg);
			b->msg = NULL;
		}
		if (b->status != 0) {
			return end_of_batches(it);
		}
		int rc = next_batch(it);
		if (rc != 0) {
			return rc;
		}
	}
}

/* ---- the public requests ---------------------------------------------- */

int
syn_iter_next_future(syn_iter *it, const syn_value *v, syn_future **fp)
{
	if (fp == NULL) {
		return sni_error_set(SYN_EINVAL, "future pointer is NULL", "");
	}
	*fp    = NULL;
	int rc = check_lock_step(it, NULL);
	return rc != 0 ? rc : start_request(it, v, NULL, false, fp);
}

/* A lock-step request of it (see start_request), made and waited for. */
static int
lock_step_request(
    syn_iter *it, const syn_value *v, const syn_error *thrown, syn_result *item)
{
	syn_future *f;
	int         rc = start_request(it, v, thrown, true, &f);
	return rc != 0 ? rc
	               : sni_request_finish(f, SYN_DURATION_INFINITE, it->name,
	                     item, request_done, it);
}

/* What only a lock-step iterator can be asked: a value sent (not nil),
 * or an error thrown. */
static int
check_sendable(syn_iter *it, const syn_value *v, const syn_error *thrown)
{
	if (thrown != NULL) {
		return check_lock_step(it,
		    "nothing can be thrown into a generator that runs ahead "
		    "(prefetch)");
	}
	if (v != NULL && v->type != SYN_TYPE_NIL) {
		return check_lock_step(it,
		    "nothing can be sent to a generator that runs ahead "
		    "(prefetch)");
	}
	return 0;
}

/* send_or_throw once the thread may block for it. */
static int
ask_blocking(
    syn_iter *it, const syn_value *v, const syn_error *thrown, syn_result *item)
{
	int rc = sni_cancel_check();
	if (rc != 0 || it == NULL) { /* (NULL: refused, SYN_EINVAL) */
		return rc != 0 ? rc : lock_step_request(it, v, thrown, item);
	}
	if ((rc = check_sendable(it, v, thrown)) != 0) {
		return rc;
	}
	/* (a close from another thread meanwhile frees it last) */
	atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
	rc = it->prefetch > 0 ? next_in_window(it, item)
	                      : lock_step_request(it, v, thrown, item);
	iter_unref(it);
	return rc;
}

/* syn_iter_send (thrown NULL) or syn_iter_throw: blocking. */
static int
send_or_throw(
    syn_iter *it, const syn_value *v, const syn_error *thrown, syn_result *item)
{
	if (it != NULL && forked(it) != 0) {
		return SYN_EFORK;
	}
	if (it != NULL && sni_actor_loop_is_here(it->actor_id)) {
		return sni_error_set(SYN_EDEADLK,
		    "blocking request from the synchronizer's own thread: "
		    "await syn_iter_next_future() there",
		    it->name);
	}
	int rc = it != NULL ? sni_actor_block_begin(it->actor_id, NULL) : 0;
	if (rc == 0) {
		rc = ask_blocking(it, v, thrown, item);
		sni_actor_block_end();
	}
	return rc;
}

int
syn_iter_send(syn_iter *it, const syn_value *v, syn_result *item)
{
	return send_or_throw(it, v, NULL, item);
}

int
syn_iter_next(syn_iter *it, syn_result *item)
{
	return send_or_throw(it, NULL, NULL, item);
}

/* The error syn_iter_throw and its forms raise: 0, or SYN_EINVAL for a
 * code that cannot be thrown (sni_gen_throwable). */
static int
thrown_error(int code, const char *message, syn_error *e)
{
	if (!sni_gen_throwable(code)) {
		return sni_error_set(SYN_EINVAL,
		    "that code cannot be thrown into a generator: 0, an "
		    "invalid code, SYN_EEND, SYN_EITERCLOSED and SYN_ECANCELED "
		    "are not",
		    "");
	}
	e->code    = code;
	e->message = message != NULL ? message : syn_strerror(code);
	e->where   = "";
	return 0;
}

int
syn_iter_throw(syn_iter *it, int code, const char *message, syn_result *item)
{
	syn_error e;
	int       rc = thrown_error(code, message, &e);
	return rc != 0 ? rc : send_or_throw(it, NULL, &e, item);
}

int
syn_iter_throw_future(
    syn_iter *it, int code, const char *message, syn_future **fp)
{
	syn_error e;
	if (fp == NULL) {
		return sni_error_set(SYN_EINVAL, "future pointer is NULL", "");
	}
	*fp    = NULL;
	int rc = thrown_error(code, message, &e);
	if (rc == 0) {
		rc = check_lock_step(it, NULL);
	}
	return rc != 0 ? rc : start_request(it, NULL, &e, false, fp);
}

/* syn_iter_next_aio's and syn_iter_throw_aio's request. */
typedef struct next_args {
	syn_iter        *it;
	const syn_value *v;
	const syn_error *thrown;
	int              refused; /* what the aio fails with, or 0 */
} next_args;

static int
start_next_request(void *arg, syn_future **fp)
{
	next_args *n = arg;
	int rc = n->refused != 0 ? n->refused : check_lock_step(n->it, NULL);
	return rc != 0 ? rc : start_request(n->it, n->v, n->thrown, false, fp);
}

void
syn_iter_next_aio(syn_iter *it, const syn_value *v, nng_aio *aio)
{
	next_args n = { it, v, NULL, 0 };
	sni_request_aio(aio, start_next_request, &n);
}

void
syn_iter_throw_aio(syn_iter *it, int code, const char *message, nng_aio *aio)
{
	syn_error e;
	next_args n = { it, NULL, &e, thrown_error(code, message, &e) };
	sni_request_aio(aio, start_next_request, &n);
}

/* ---- closing ---------------------------------------------------------- */

/* Cancels the request in flight, if any. */
static void
cancel_pending(syn_iter *it)
{
	sni_spin_lock(&it->lock);
	if (it->pending != NULL) { /* alive: its hook or caller not done */
		/* (a blocking request answered already, whose caller has not
		 * woken yet, keeps its item) */
		cancelling = it;
		sni_future_cancel_pending(it->pending);
		cancelling = NULL;
	}
	sni_spin_unlock(&it->lock);
}

/* Sends the CLOSE; *fp is its future. */
static int
send_close(syn_iter *it, syn_future **fp)
{
	sni_actor *a;
	int        rc = sni_actor_hold_closed(it->actor_id, &a);
	if (rc != 0) {
		return rc; /* gone: its generators were closed with it */
	}
	sni_wbuf w;
	sni_wbuf_init(&w);
	sni_msg_encode_close(&w, 0, it->stream);
	rc = sni_post_body(a, &w, fp);
	sni_actor_release(a);
	return rc;
}

/*
 * A close's first steps: no request starts from now on, the one in
 * flight is cancelled, and when the generator may still run, the CLOSE
 * goes: *fp is its future (the caller's to free), or NULL when there is
 * nothing to wait for. The caller then lets go of it (iter_unref).
 */
static void
close_begin(syn_iter *it, syn_future **fp)
{
	*fp = NULL;
	sni_spin_lock(&it->lock);
	it->closed = true;
	sni_spin_unlock(&it->lock);
	wait_requests_made(it); /* (one that started goes first) */
	uint32_t state = atomic_load_explicit(&it->state, memory_order_acquire);
	if (state != ITER_FRESH && state != ITER_ENDED) {
		cancel_pending(it);
		if (send_close(it, fp) != 0) {
			*fp = NULL; /* (gone: closed with its synchronizer) */
		}
	}
	syn_future *ahead =
	    take_ahead(it); /* cancelled above: freed once done */
	if (ahead != NULL) {
		syn_future_free(ahead);
	}
}

int
syn_iter_close(syn_iter *it)
{
	if (it == NULL) {
		return 0;
	}
	if (forked(it) != 0) { /* left alone: the child frees no parent's */
		return SYN_EFORK;
	}
	syn_future *f;
	int         rc = 0;
	close_begin(it, &f);
	if (f != NULL) {
		sni_actor *self = sni_actor_self();
		if (self == NULL || self->id != it->actor_id) {
			sni_blocking_report(it->name);
			rc = sni_future_wait_until(
			    f, sni_deadline_ms(it->close_timeout));
		}
		syn_future_free(f); /* pending: freed once done */
		rc = rc != SYN_ETIMEDOUT
		    ? 0
		    : sni_error_set(SYN_ETIMEDOUT,
		          "the generator's cleanup did not "
		          "finish in time; it goes on in "
		          "the background",
		          it->name);
	}
	iter_unref(it);
	return rc;
}

int
syn_iter_close_future(syn_iter *it, syn_future **fp)
{
	if (fp == NULL) {
		return sni_error_set(SYN_EINVAL, "future pointer is NULL", "");
	}
	*fp = NULL;
	if (it == NULL) {
		return sni_close_watch(NULL, 0, 0, fp);
	}
	if (forked(it) != 0) {
		return SYN_EFORK;
	}
	syn_future *f;
	close_begin(it, &f);
	int rc = sni_close_watch(f, it->actor_id, it->close_timeout, fp);
	iter_unref(it);
	return rc;
}

/* syn_iter_close_aio's request: the close's future, made already, or
 * why there is none. */
typedef struct close_args {
	syn_future *f;
	int         rc;
	bool        taken;
} close_args;

static int
take_close(void *arg, syn_future **fp)
{
	close_args *c = arg;
	c->taken      = c->rc == 0;
	*fp           = c->f;
	return c->rc;
}

void
syn_iter_close_aio(syn_iter *it, nng_aio *aio)
{
	close_args c = { NULL, 0, false };
	c.rc         = syn_iter_close_future(it, &c.f);
	sni_request_aio(aio, take_close, &c);
	if (!c.taken && c.f != NULL) { /* (aio NULL, or stopped) */
		syn_future_free(c.f);
	}
}
