/*
 * actors/iterclose.c: closing an iterator without waiting
 * (syn_iter_close_future, syn_iter_close_aio).
 *
 * The caller gets a future of its own, which completes with 0 once the
 * CLOSE is answered (the generator's cleanup ran), or with SYN_ETIMEDOUT
 * once the iterator's close timeout has passed, whichever comes first:
 * the close is bounded as syn_iter_close()'s wait is, and a task awaits
 * it without holding its thread. A watch joins the two: the CLOSE's
 * callback and an nng sleep; the first to come completes the future,
 * unless the caller cancelled it first (it then completes at once with
 * SYN_ECANCELED, and the close goes on: core/future.h's own futures).
 */
#include <stdatomic.h>
#include <stdlib.h>

#include <synchronicity/iter.h>

#include "call.h"
#include "core/errors.h"
#include "core/future.h"
#include "core/reply.h"
#include "proto/proto.h"

typedef struct close_watch {
	syn_future *user;  /* the caller's: an own future (core/future.h) */
	nng_aio    *timer; /* the close timeout's sleep; NULL: none */
	atomic_int  refs;  /* the CLOSE's callback, and the timer's */
} close_watch;

/* Completes f, unless a cancel (or the other end) did first. */
static void
complete(syn_future *f, int rc)
{
	if (sni_future_claim(f)) {
		sni_future_complete_own(f, rc,
		    rc == 0 ? sni_reply_nil_msg(0)
		            : sni_reply_error_msg(0, rc,
		                  rc == SYN_ETIMEDOUT
		                      ? "the generator's cleanup did not "
		                        "finish in time; it goes on in the "
		                        "background"
		                      : NULL,
		                  ""));
	}
}

static void
watch_unref(close_watch *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1) {
		if (w->timer != NULL) {
			nng_aio_reap(w->timer); /* (maybe from its callback) */
		}
		sni_future_cancel_done(w->user); /* (the watch's hold) */
		free(w);
	}
}

/* nng thread: the close timeout passed, or the sleep was cancelled. */
static void
watch_timed_out(void *arg)
{
	close_watch *w = arg;
	if (nng_aio_result(w->timer) == 0) {
		complete(w->user, SYN_ETIMEDOUT);
	}
	watch_unref(w);
}

/* The CLOSE was answered (the thread that completed it). */
static void
watch_closed(syn_future *f, void *arg)
{
	(void) f;
	close_watch *w = arg;
	complete(w->user, 0);
	if (w->timer != NULL) {
		nng_aio_cancel(w->timer);
	}
	watch_unref(w);
}

int
sni_close_watch(
    syn_future *close, uint32_t actor_id, syn_duration timeout, syn_future **fp)
{
	close_watch *w    = NULL;
	syn_future  *user = sni_future_alloc(actor_id, 0);
	if (user == NULL ||
	    (close != NULL && (w = calloc(1, sizeof(*w))) == NULL) ||
	    (close != NULL && timeout != SYN_DURATION_INFINITE &&
	        nng_aio_alloc(&w->timer, watch_timed_out, w) != 0)) {
		if (user != NULL) {
			sni_future_discard(user);
		}
		free(w);
		if (close != NULL) {
			syn_future_free(close); /* (its cleanup goes on) */
		}
		return sni_error_set(SYN_ENOMEM, NULL, "");
	}
	*fp = user;
	if (close == NULL) { /* nothing to wait for */
		sni_future_complete_own(user, 0, sni_reply_nil_msg(0));
		return 0;
	}
	sni_future_own(user);
	w->user = user;
	atomic_init(&w->refs, w->timer != NULL ? 2 : 1);
	if (w->timer != NULL) { /* (refs counted first: it may end at once) */
		nng_sleep_aio((nng_duration) timeout, w->timer);
	}
	if (syn_future_callback(close, watch_closed, w) != 0) {
		complete(user, SYN_ENOMEM); /* not watched: nobody is told */
		if (w->timer != NULL) {
			nng_aio_cancel(w->timer);
		}
		watch_unref(w);
	}
	syn_future_free(close); /* freed once done, after its callback */
	return 0;
}
