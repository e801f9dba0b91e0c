/*
 * actors/iterclose.c: closing an iterator without waiting
 * (syn_iter_close_future, syn_iter_close_aio).
 *
 * The caller gets a future of its own, which completes with 0 once the
 * CLOSE is answered (the generator's cleanup ran), or with SYN_ETIMEDOUT
 * once the iterator's close timeout has passed, whichever comes first:
 * the close is bounded as syn_iter_close()'s wait is, and a task awaits
 * it without holding its thread. A watch joins the two: the CLOSE's
 * callback and an nng sleep, each ending the watch once.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include <synchronicity/iter.h>

#include "call.h"
#include "core/errors.h"
#include "core/future.h"
#include "core/reply.h"
#include "proto/proto.h"

/* What a nil reply is encoded under. */
static const sni_limits nil_limits = { 1, SIZE_MAX, false, false, false,
	false };

typedef struct close_watch {
	syn_future *user;  /* the caller's */
	nng_aio    *timer; /* the close timeout's sleep; NULL: none */
	atomic_bool ended; /* user completed */
	atomic_int  refs;  /* the CLOSE's callback, and the timer's */
} close_watch;

/* Completes f, which nobody else completes, with rc and its reply: nil,
 * or the error (code only when no memory is left for the message). */
static void
complete(syn_future *f, int rc, const char *why)
{
	if (f->msg != NULL) { /* (an empty one, left to be reused) */
		nng_msg_free(f->msg);
		f->msg = NULL;
	}
	if (rc != 0) {
		f->msg = sni_reply_error_msg(0, rc, why, "");
	} else {
		syn_value nil = syn_nil();
		sni_wbuf  w;
		sni_wbuf_init(&w);
		if (sni_msg_encode_return(&w, 0, &nil, &nil_limits) != 0 ||
		    sni_msg_put(&f->msg, &w) != 0) {
			f->msg = NULL; /* (0 all the same: no value) */
		}
		sni_wbuf_fini(&w);
	}
	sni_future_complete(f, rc);
}

static void
watch_unref(close_watch *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1) {
		if (w->timer != NULL) {
			nng_aio_reap(w->timer); /* (maybe from its callback) */
		}
		free(w);
	}
}

/* The first of the two ends the caller's future. */
static void
watch_end(close_watch *w, int rc)
{
	if (!atomic_exchange(&w->ended, true)) {
		complete(w->user, rc,
		    "the generator's cleanup did not finish in time; it goes "
		    "on in the background");
	}
}

/* nng thread: the close timeout passed, or the sleep was cancelled. */
static void
watch_timed_out(void *arg)
{
	close_watch *w = arg;
	if (nng_aio_result(w->timer) == 0) {
		watch_end(w, SYN_ETIMEDOUT);
	}
	watch_unref(w);
}

/* The CLOSE was answered (the thread that completed it). */
static void
watch_closed(syn_future *f, void *arg)
{
	(void) f;
	close_watch *w = arg;
	watch_end(w, 0);
	if (w->timer != NULL) {
		nng_aio_cancel(w->timer);
	}
	watch_unref(w);
}

/* Starts w's timer for timeout ms: false when there is none to start
 * (no memory: then the caller's future waits for the CLOSE alone). */
static bool
watch_timer(close_watch *w, syn_duration timeout)
{
	if (timeout == SYN_DURATION_INFINITE ||
	    nng_aio_alloc(&w->timer, watch_timed_out, w) != 0) {
		w->timer = NULL;
		return false;
	}
	nng_sleep_aio((nng_duration) timeout, w->timer);
	return true;
}

int
sni_close_watch(
    syn_future *close, uint32_t actor_id, syn_duration timeout, syn_future **fp)
{
	close_watch *w    = NULL;
	syn_future  *user = sni_future_alloc(actor_id, 0);
	if (user == NULL ||
	    (close != NULL && (w = calloc(1, sizeof(*w))) == NULL)) {
		if (user != NULL) {
			sni_future_discard(user);
		}
		if (close != NULL) {
			syn_future_free(close); /* (its cleanup goes on) */
		}
		return sni_error_set(SYN_ENOMEM, NULL, "");
	}
	*fp = user;
	if (close == NULL) { /* nothing to wait for */
		complete(user, 0, NULL);
		return 0;
	}
	w->user = user;
	atomic_init(&w->refs, 1 + (int) watch_timer(w, timeout));
	if (syn_future_callback(close, watch_closed, w) != 0) {
		watch_closed(close, w); /* (no memory: not waited for) */
	}
	syn_future_free(close); /* freed once done, after its callback */
	return 0;
}
