/*
 * actors/call.c: calling a registered function from any thread: blocking,
 * as a future, or by completing the caller's nng_aio.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "core/actor.h"
#include "core/cancel.h"
#include "core/clock.h"
#include "core/context.h"
#include "core/door.h"
#include "core/errors.h"
#include "core/future.h"
#include "core/ptrmap.h"
#include "core/remote.h"
#include "core/reply.h"
#include "proto/proto.h"
#include "sync.h"

void
sni_request_wbuf(sni_actor *a, syn_future *f, sni_wbuf *w)
{
	if (a->remote == NULL && a->back == NULL) {
		sni_wbuf_init_at(w, f->inl, sizeof(f->inl));
	} else {
		sni_wbuf_init(w);
	}
}

int
sni_request_put_inline(syn_future *f, size_t len)
{
	f->inline_ok = true;
	if (f->msg != NULL) { /* a spare from a bigger call */
		nng_msg_free(f->msg);
		f->msg = NULL;
	}
	f->ilen = (uint8_t) len;
	return 0;
}

int
sni_request_put(sni_actor *a, syn_future *f, const sni_wbuf *w)
{
	if (a->remote == NULL && a->back == NULL) {
		if (w->len <= SNI_FUTURE_INLINE) {
			if (w->buf != f->inl) { /* (sni_request_wbuf) */
				memcpy(f->inl, w->buf, w->len);
			}
			return sni_request_put_inline(f, w->len);
		}
		f->inline_ok = true;
	}
	return sni_msg_put(&f->msg, w);
}

/*
 * Encodes the CALL of r into f; to another process, *held receives the
 * proxies held until it is answered. *objects: r's arguments carry this
 * process's objects (commit_call counts them out once the call goes).
 */
static int
encode_call(sni_actor *a, const sni_request *r, syn_future *f, void **held,
    bool *objects)
{
	const sni_context *cx = sni_context_current();
	if (a->remote == NULL && a->back == NULL &&
	    r->name != NULL) { /* the commonest call: straight into f */
		size_t n = sni_msg_put_simple_call(f->inl, sizeof(f->inl),
		    r->target, r->name, strlen(r->name), r->args, r->nargs);
		if (n > 0 && cx == NULL) {
			return sni_request_put_inline(f, n);
		}
		if (n > 0 && cx->len <= sizeof(f->inl) - n) { /* and its
			                                          context */
			memcpy(f->inl + n, cx->bytes, cx->len);
			return sni_request_put_inline(f, n + cx->len);
		}
	}
	const char *name = r->name != NULL ? r->name : "";
	int         rc   = a->remote != NULL ? sni_translate_remote_check(a->id,
	                                           r->target, r->args, r->nargs, held)
	              : a->back != NULL
	              ? sni_translate_plain_check(r->args, r->nargs)
	              : sni_translate_call_check(r->args, r->nargs, objects);
	if (rc != 0) {
		return sni_error_set_detail(rc, name);
	}
	sni_wbuf w;
	sni_request_wbuf(a, f, &w);
	uint64_t call_id = a->remote != NULL ? sni_remote_call_id(a) : 0;
	rc               = sni_msg_encode_call(&w, call_id, r->target, r->name,
            r->name != NULL ? strlen(r->name) : 0, r->args, r->nargs,
	                  &a->limits);
	if (rc == 0 && cx != NULL) {
		rc = sni_msg_add_context(&w, cx->bytes, cx->len, &a->limits);
	}
	if (rc == 0 && w.err == 0) {
		rc = sni_request_put(a, f, &w);
	}
	rc = rc != 0 ? rc : w.err;
	if (rc != 0) {
		sni_error_set_detail(rc, name);
		sni_held_release(*held);
		*held = NULL;
	}
	sni_wbuf_fini(&w);
	return rc;
}

/* The CALL of r, encoded, goes for certain: the objects it carries leave
 * with it (counted out here). Not before: a call that fails to go must
 * not count them out. */
static void
commit_call(const sni_request *r, bool objects)
{
	if (objects) {
		sni_translate_call_commit(r->args, r->nargs);
	}
}

int
sni_request_lend(
    sni_actor *a, const syn_value *args, size_t nargs, const char *name)
{
	int rc = sni_translate_remote_lend(a, args, nargs);
	return rc == 0
	    ? 0
	    : sni_error_set(rc,
	          rc == SYN_ENOMEM        ? "no memory to note a proxy lent to "
	                                    "the server"
	              : rc == SYN_ECLOSED ? "the connection is closed"
	                                  : "a proxy cannot be lent to the "
	                                    "server: its ids cannot cross",
	          name != NULL ? name : "");
}

/* A call to another process was answered: what it held goes. */
static void
release_held(void *held, int rc)
{
	(void) rc;
	sni_held_release(held);
}

/* Whether r calls the object whose blocking method makes it (on the
 * pool), which holds that object's turn meanwhile. */
static bool
to_own_turn(const sni_request *r)
{
	sni_task *lent = sni_task_lent();
	return lent != NULL && lent->call.self != NULL && r->target != NULL &&
	    r->target->owner == lent->actor->id &&
	    r->target->object == sni_object_handle(lent->call.self)->object;
}

/* sni_request_start; noting: the caller (an actor's thread) noted that
 * it blocks for this call (see sni_actor_block_begin). */
static int
request_start(const sni_request *r, syn_future **fp, bool noting)
{
	sni_actor *a;
	int        rc = sni_actor_hold(r->actor_id, &a);
	if (rc != 0) {
		return sni_error_set(rc,
		    rc == SYN_EFORK ? "the synchronizer belongs to the parent "
		                      "process"
		                    : "no such synchronizer, or it is closed",
		    r->name != NULL ? r->name : "");
	}
	syn_future *f = sni_future_alloc(r->actor_id, a->spin_ns);
	if (f == NULL) {
		sni_actor_release(a);
		return sni_error_set(SYN_ENOMEM, NULL, r->name);
	}
	void *held    = NULL;
	bool  objects = false;
	if ((rc = encode_call(a, r, f, &held, &objects)) != 0 ||
	    (held != NULL && sni_future_set_hook(f, release_held, held) != 0) ||
	    (to_own_turn(r) &&
	        sni_future_mark_turn(f, sni_task_lent()->call.self) != 0) ||
	    (a->remote != NULL &&
	        (rc = sni_request_lend(a, r->args, r->nargs, r->name)) != 0)) {
		sni_held_release(held);
		sni_actor_release(a);
		sni_future_discard(f);
		return rc != 0 ? rc : sni_error_set(SYN_ENOMEM, NULL, r->name);
	}
	commit_call(r, objects);
	if (noting) {
		sni_actor_block_on(f); /* (before the call can end) */
	}
	sni_actor_post(a, &f->node);
	sni_actor_release(a);
	*fp = f;
	return 0;
}

int
sni_request_start(const sni_request *r, syn_future **fp)
{
	return request_start(r, fp, false);
}

int
sni_post_body(sni_actor *a, sni_wbuf *w, syn_future **fp)
{
	syn_future *f  = sni_future_alloc(a->id, a->spin_ns);
	int         rc = f == NULL ? SYN_ENOMEM : sni_msg_put(&f->msg, w);
	sni_wbuf_fini(w);
	if (rc != 0) {
		if (f != NULL) {
			sni_future_discard(f);
		}
		return rc;
	}
	sni_actor_post(a, &f->node);
	*fp = f;
	return 0;
}

/*
 * A blocking call that could never be answered: made on the target's own
 * thread, or by a blocking method (on the pool) of the object it calls,
 * which would wait for the turn that method holds.
 */
static int
check_not_own_thread(const sni_request *r)
{
	if (sni_actor_loop_is_here(r->actor_id)) {
		return sni_error_set(SYN_EDEADLK,
		    "blocking call from the synchronizer's own thread: use "
		    "the _future form and syn_await() there",
		    r->name != NULL ? r->name : "");
	}
	if (to_own_turn(r)) {
		return sni_error_set(SYN_EDEADLK,
		    "blocking call from a blocking method to its own object: "
		    "it would wait for the turn this method holds",
		    r->name != NULL ? r->name : "");
	}
	return 0;
}

int
sni_request_run(const sni_request *r, syn_duration timeout, syn_result *res)
{
	syn_future *f;
	bool        on_actor = sni_actor_self() != NULL; /* (one look) */
	int         rc       = check_not_own_thread(r);
	if (rc != 0 ||
	    (on_actor &&
	        (rc = sni_actor_block_begin(r->actor_id, NULL)) != 0)) {
		return rc;
	}
	if ((rc = sni_cancel_check()) == 0 &&
	    (rc = request_start(r, &f, on_actor)) == 0) {
		rc = sni_request_finish(f, timeout, r->name, res, NULL, NULL);
	}
	if (on_actor) {
		sni_actor_block_end();
	}
	return rc;
}

int
sni_request_finish(syn_future *f, syn_duration timeout, const char *name,
    syn_result *res, void (*ended)(void *arg, int rc), void *arg)
{
	int rc = sni_call_wait(f, sni_deadline_ms(timeout), name);
	if (rc != 0) {
		rc = sni_error_set(rc == SYN_EFORK ? SYN_EFORK : SYN_ETIMEDOUT,
		    rc == SYN_EFORK ? "the call belongs to the parent process "
		                      "of a fork"
		                    : "the call did not finish in time and was "
		                      "cancelled",
		    name);
	}
	if (ended != NULL && rc != SYN_EFORK) { /* (a fork's never ends) */
		ended(arg,
		    sni_future_cancel_requested(f) ? SYN_ECANCELED : f->rc);
	}
	if (rc == 0) { /* (only this thread decodes f) */
		rc = sni_future_outcome_owned(f, res);
	}
	sni_future_release_owned(f);
	return rc;
}

int
syn_call_future(syn_synchronizer s, const char *name, const syn_value *args,
    size_t nargs, syn_future **fp)
{
	if (fp == NULL) {
		return sni_error_set(SYN_EINVAL, "future pointer is NULL", "");
	}
	*fp                 = NULL;
	const sni_request r = { s.id, NULL, name, args, nargs };
	return sni_request_start(&r, fp);
}

int
syn_call_timeout(syn_synchronizer s, const char *name, const syn_value *args,
    size_t nargs, syn_duration timeout, syn_result *res)
{
	const sni_request r = { s.id, NULL, name, args, nargs };
	return sni_request_run(&r, timeout, res);
}

int
syn_call(syn_synchronizer s, const char *name, const syn_value *args,
    size_t nargs, syn_result *res)
{
	return syn_call_timeout(
	    s, name, args, nargs, SYN_DURATION_INFINITE, res);
}

/* ---- the aio form ----------------------------------------------------- */

/*
 * Completes aio with an error that happened before the call was posted,
 * with the detail of syn_last_error() in a reply message, so that
 * syn_aio_result() reads the same message and path as syn_call() would.
 */
static void
aio_fail(nng_aio *aio, int rc)
{
	const syn_error *e   = syn_last_error();
	nng_msg         *msg = sni_reply_error_msg(0, rc,
            e->code == rc ? e->message : NULL, e->code == rc ? e->where : NULL);
	if (msg != NULL) {
		nng_aio_set_msg(aio, msg);
	}
	nng_aio_finish(aio, rc);
}

/* An aio-form call in flight. */
typedef struct aio_call {
	syn_future *f; /* NULL while the call is being started */
	nng_aio    *aio;
	uint64_t    seq;        /* names this call to aio_cancel */
	int         early;      /* nng's code of a cancel while f was NULL */
	bool        starting;   /* between nng_aio_begin and nng_aio_defer */
	bool        detached;   /* a cancellation finished the aio already */
	bool        cancelling; /* ... and is cancelling f now */
	bool        ended;      /* f ended meanwhile: the canceller frees */
} aio_call;

/*
 * The aio calls in flight, by aio, so that nng's cancel callback finds its
 * call. The callback's argument is the call's sequence number, not a
 * pointer: a late callback of an earlier call on the same aio must not
 * find a new call that happens to sit at the same address.
 */
static pthread_mutex_t aio_lock  = PTHREAD_MUTEX_INITIALIZER;
static sni_ptrmap      aio_calls = SNI_PTRMAP_INIT;
static uint64_t        aio_seq;

/* The aios that syn_aio_stop() stops now (how many times each), and what
 * it waits on: a call on its aio no longer starting. */
static sni_ptrmap     aio_stopping = SNI_PTRMAP_INIT;
static pthread_cond_t aio_started  = PTHREAD_COND_INITIALIZER;

/*
 * nng calls this when the caller cancels the aio, stops it, or its timeout
 * passes. The aio completes at once with that code, as nng's own
 * operations do, so that nothing waiting on it (a task's cancellation, an
 * nng_aio_stop, an nng_aio_free) waits for an actor; the call is cancelled
 * and its cleanup runs on its synchronizer.
 */
static void
aio_cancel(nng_aio *aio, void *arg, int rv)
{
	syn_future *f = NULL;
	pthread_mutex_lock(&aio_lock);
	aio_call *c = sni_ptrmap_get(&aio_calls, aio);
	if (c != NULL && c->seq == (uint64_t) (uintptr_t) arg &&
	    c->f == NULL) { /* being started: its starter finishes aio */
		c->early = c->early != 0 ? c->early
		    : rv != 0            ? rv
		                         : NNG_ECANCELED;
	} else if (c != NULL && c->seq == (uint64_t) (uintptr_t) arg) {
		sni_ptrmap_del(&aio_calls, aio);
		c->detached   = true;
		c->cancelling = true; /* f stays until this is done with it */
		f             = c->f;
	}
	pthread_mutex_unlock(&aio_lock);
	if (f == NULL) {
		return;
	}
	syn_future_cancel(f); /* (may end it, here or on another thread) */
	pthread_mutex_lock(&aio_lock);
	c->cancelling = false;
	bool last     = c->ended;
	pthread_mutex_unlock(&aio_lock);
	if (last) { /* it ended meanwhile and left f to us */
		syn_future_free(f);
		free(c);
	}
	nng_aio_finish(aio, rv);
}

/*
 * Under aio_lock, by whoever else is done with c (its future's callback,
 * or the fallback below): true when a cancellation is still busy with c's
 * future, and frees c and its future once done.
 */
static bool
left_to_canceller(aio_call *c)
{
	if (c->detached && c->cancelling) {
		c->ended = true;
		return true;
	}
	return false;
}

/* The future's callback: completes the caller's aio, once. */
static void
aio_complete(syn_future *f, void *arg)
{
	aio_call *c = arg;
	pthread_mutex_lock(&aio_lock);
	bool detached = c->detached;
	bool later    = left_to_canceller(c);
	if (!detached) {
		sni_ptrmap_del(&aio_calls, c->aio);
	}
	pthread_mutex_unlock(&aio_lock);
	if (later) {
		return;
	}
	nng_aio *aio = c->aio;
	free(c);
	if (detached) { /* the aio was finished by its cancellation */
		syn_future_free(f);
		return;
	}
	nng_msg *msg;
	int      rc = f->rc;
	if (sni_future_take_msg(f, &msg) != 0) {
		rc = SYN_ENOMEM;
	} else if (msg != NULL) {
		nng_aio_set_msg(aio, msg);
	}
	syn_future_free(f);
	nng_aio_finish(aio, rc);
}

/*
 * Notes c (NULL: no memory for it) as aio's call, starting, under a new
 * sequence number: 0, SYN_ENOMEM, or SYN_ECANCELED when syn_aio_stop()
 * stops aio (then the call is dropped, as nng drops an operation on a
 * stopped aio: it never completes).
 */
static int
aio_call_note(nng_aio *aio, aio_call *c)
{
	int rc = SYN_ENOMEM;
	pthread_mutex_lock(&aio_lock);
	if (sni_ptrmap_get(&aio_stopping, aio) != NULL) {
		rc = SYN_ECANCELED;
	} else if (c != NULL) {
		c->aio      = aio;
		c->seq      = ++aio_seq;
		c->starting = true;
		rc          = sni_ptrmap_put(&aio_calls, aio, c);
	}
	pthread_mutex_unlock(&aio_lock);
	return rc;
}

/* c's cancel function is set (or c is forgotten): syn_aio_stop() may
 * stop its aio. */
static void
aio_call_begun(aio_call *c)
{
	pthread_mutex_lock(&aio_lock);
	c->starting = false;
	pthread_cond_broadcast(&aio_started);
	pthread_mutex_unlock(&aio_lock);
}

/*
 * Gives c the future of its call, now started; or, when f is NULL (the
 * start failed) or a cancellation came meanwhile, forgets c. Returns the
 * code of that cancellation, or 0.
 */
static int
aio_call_started(nng_aio *aio, aio_call *c, syn_future *f)
{
	pthread_mutex_lock(&aio_lock);
	int early = c->early;
	if (f == NULL || early != 0) {
		if (sni_ptrmap_get(&aio_calls, aio) == c) {
			sni_ptrmap_del(&aio_calls, aio);
		}
		if (c->starting) {
			pthread_cond_broadcast(&aio_started);
		}
	} else {
		c->f = f;
	}
	pthread_mutex_unlock(&aio_lock);
	return early;
}

/* No memory for f's callback: gives up the call, never blocks. */
static void
aio_give_up(nng_aio *aio, aio_call *c, syn_future *f, int rc)
{
	pthread_mutex_lock(&aio_lock);
	bool mine = sni_ptrmap_get(&aio_calls, aio) == c;
	if (mine) {
		sni_ptrmap_del(&aio_calls, aio);
	}
	bool later = left_to_canceller(c);
	pthread_mutex_unlock(&aio_lock);
	if (later) {
		return;
	}
	syn_future_cancel(f);
	syn_future_free(f);
	free(c);
	if (mine) { /* else a cancellation finished it */
		nng_aio_finish(aio, rc);
	}
}

/*
 * nng 1.5.2's nng_aio_defer cannot say that it failed because aio was
 * stopped after nng_aio_begin: then no cancel function is kept and aio
 * must not be touched again, which this cannot know. So the call is
 * noted as starting before nng_aio_begin, until nng_aio_defer returned,
 * and syn_aio_stop() waits for that; a cancellation while the call is
 * being started is seen once it is.
 */
void
sni_request_aio(nng_aio *aio, sni_request_fn start, void *arg)
{
	if (aio == NULL) {
		return;
	}
	sni_door_used(); /* (whoever made aio started nng: a fork must know) */
	aio_call *c  = calloc(1, sizeof(*c));
	int       rc = aio_call_note(aio, c);
	if (rc == SYN_ECANCELED || !nng_aio_begin(aio)) {
		if (rc == 0) {
			aio_call_started(aio, c, NULL);
		}
		free(c);
		return;
	}
	nng_aio_set_msg(aio, NULL);
	if (rc != 0) { /* (finished before nng_aio_stop could return) */
		free(c);
		nng_aio_finish(aio, SYN_ENOMEM);
		return;
	}
	nng_aio_defer(aio, aio_cancel, (void *) (uintptr_t) c->seq);
	aio_call_begun(c);
	syn_future *f = NULL;
	rc            = start(arg, &f);
	int early     = aio_call_started(aio, c, rc == 0 ? f : NULL);
	if (rc != 0 || early != 0) {
		free(c);
		if (rc != 0) {
			aio_fail(aio, rc);
			return;
		}
		/* (its cleanup runs on its synchronizer) */
		syn_future_cancel(f);
		syn_future_free(f);
		nng_aio_finish(aio, early);
		return;
	}
	if ((rc = syn_future_callback(f, aio_complete, c)) != 0) {
		aio_give_up(aio, c, f, rc);
	}
}

/* One syn_aio_stop() more (more true) or less of aio: false when no
 * memory to count it. */
static bool
aio_count_stop(nng_aio *aio, bool more)
{
	uintptr_t n = (uintptr_t) sni_ptrmap_get(&aio_stopping, aio);
	if (!more && n <= 1) {
		sni_ptrmap_del(&aio_stopping, aio);
		return true;
	}
	return sni_ptrmap_put(
	           &aio_stopping, aio, (void *) (more ? n + 1 : n - 1)) == 0;
}

void
syn_aio_stop(nng_aio *aio)
{
	if (aio == NULL) {
		return;
	}
	pthread_mutex_lock(&aio_lock);
	bool      counted = aio_count_stop(aio, true);
	aio_call *c;
	while ((c = sni_ptrmap_get(&aio_calls, aio)) != NULL && c->starting) {
		pthread_cond_wait(&aio_started, &aio_lock);
	}
	pthread_mutex_unlock(&aio_lock);
	nng_aio_stop(aio);
	if (counted) {
		pthread_mutex_lock(&aio_lock);
		aio_count_stop(aio, false);
		pthread_mutex_unlock(&aio_lock);
	}
}

int
sni_request_start_fn(void *arg, syn_future **fp)
{
	return sni_request_start(arg, fp);
}

void
syn_call_aio(syn_synchronizer s, const char *name, const syn_value *args,
    size_t nargs, nng_aio *aio)
{
	sni_request r = { s.id, NULL, name, args, nargs };
	sni_request_aio(aio, sni_request_start_fn, &r);
}

int
syn_aio_result(nng_aio *aio, syn_result *res)
{
	if (aio == NULL) {
		return sni_error_set(SYN_EINVAL, "aio is NULL", "");
	}
	int      rc  = nng_aio_result(aio);
	nng_msg *msg = nng_aio_get_msg(aio);
	nng_aio_set_msg(aio, NULL);
	return sni_reply_take(msg, rc, res);
}
