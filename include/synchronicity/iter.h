/*
 * synchronicity: iterating generators.
 *
 * A function registered with kind SYN_KIND_GENERATOR hands out items with
 * syn_yield(). A caller opens an iterator over one run of it and asks for
 * the items one at a time: blocking (syn_iter_next, syn_iter_send), as a
 * future or by completing an nng_aio. The generator runs only while an
 * item is asked for (strict lock-step): its side effects interleave with
 * the consumer's exactly. Closing a partly consumed iterator delivers
 * SYN_EITERCLOSED at the generator's syn_yield and waits for its cleanup.
 *
 * An iterator is used by one thread at a time; it has at most one request
 * in flight.
 */
#ifndef SYNCHRONICITY_ITER_H
#define SYNCHRONICITY_ITER_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include <synchronicity/export.h>
#include <synchronicity/future.h>
#include <synchronicity/synchronizer.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_iter syn_iter;

/* How an iterator behaves; all zeros gives the defaults. */
typedef struct syn_iter_config {
	/* How long syn_iter_close() waits for the generator's cleanup, in
	 * milliseconds: 0 or SYN_DURATION_DEFAULT: 10 s; SYN_DURATION_INFINITE:
	 * for ever. Past it the caller goes on; the cleanup finishes on the
	 * synchronizer in the background. */
	syn_duration close_timeout;
	/* Bulk streams: up to this many items are made ahead of the
	 * consumer, in batches of prefetch / 2 (a message each), in order,
	 * and flow-controlled. 0: strict lock-step, one item per round trip.
	 * The generator then runs while the consumer works on the items it
	 * already has; it sees SYN_EITERCLOSED at its next syn_yield() after a
	 * close, and the items made ahead are dropped. With a window only
	 * syn_iter_next() and syn_iter_close() apply (syn_iter_send() with a
	 * value, syn_iter_next_future() and syn_iter_next_aio() give
	 * SYN_ENOTSUP; syn_iter_send() of nil or NULL reads as next does).
	 * At most 1,048,576. */
	uint32_t prefetch;
} syn_iter_config;

/*
 * Opens an iterator over a run of the generator registered as name on s,
 * with args[0..nargs-1] (encoded now: they may go away after the call).
 * Nothing runs until the first request. cfg may be NULL. On success *itp
 * is the caller's, to be freed with syn_iter_close(). Any thread.
 * Errors (no iterator is made, *itp is NULL): SYN_EINVAL (a bad name,
 * argument or cfg), SYN_EMSGSIZE, SYN_ECLOSED, SYN_EFORK, SYN_ENOMEM. A
 * name that is no generator is reported by the first request (SYN_ENOENT,
 * or SYN_EINVAL for a plain function).
 */
SYN_API int syn_iter_open(syn_synchronizer s, const char *name,
    const syn_value *args, size_t nargs, const syn_iter_config *cfg,
    syn_iter **itp);

/*
 * Asks for the next item and blocks until it comes: 0 with the item in
 * item (when not NULL; released with syn_result_fini()), or SYN_EEND when
 * the generator returned: the stream is over, and every later request
 * returns SYN_EEND at once. Any thread but the synchronizer's own
 * (SYN_EDEADLK: await syn_iter_next_future() there; also from another
 * synchronizer whose thread the generator's blocks for, as syn_call()).
 * Errors: the error the generator returned (with its message; the stream
 * is then over), SYN_EBUSY (a request is in flight on it),
 * SYN_EITERCLOSED (a syn_iter_close() from another thread began first;
 * this is no protection: the close frees it, so a request that starts
 * once a close may have begun can read freed memory instead),
 * SYN_EINVAL (it is NULL), SYN_ECLOSED (the synchronizer was destroyed;
 * after a close, a stream already open goes on),
 * SYN_ECANCELED, SYN_EFORK, SYN_EDEADLK, SYN_ENOMEM, and for a first
 * request the errors of a call (SYN_ENOENT, ...).
 */
SYN_API int syn_iter_next(syn_iter *it, syn_result *item);

/*
 * As syn_iter_next(), sending v into the generator: its pending
 * syn_yield() returns it (like Python's asend). The first request of an
 * iterator cannot send anything but nil: the generator has not reached
 * a syn_yield() yet (SYN_EINVAL).
 */
SYN_API int syn_iter_send(syn_iter *it, const syn_value *v, syn_result *item);

/*
 * Asks for the next item (sending v, or nil when v is NULL) and returns
 * at once with a future in *fp, the caller's to free, which completes
 * with the item, SYN_EEND or the error as syn_iter_next() returns them.
 * Inside another synchronizer's task, syn_await() it: that actor goes on
 * meanwhile. Until it completes, other requests on it return SYN_EBUSY.
 * Errors (no future is made): SYN_EEND (the stream is over), SYN_EBUSY,
 * SYN_EINVAL, SYN_ECLOSED, SYN_EFORK, SYN_ENOMEM.
 */
SYN_API int syn_iter_next_future(
    syn_iter *it, const syn_value *v, syn_future **fp);

/*
 * Asks for the next item (sending v, or nil when v is NULL) and completes
 * aio once, with 0 and the item, SYN_EEND or an error: read it with
 * syn_aio_result(), as for syn_call_aio() (which says how cancelling the
 * aio works). Any thread.
 */
SYN_API void syn_iter_next_aio(syn_iter *it, const syn_value *v, nng_aio *aio);

/*
 * As syn_iter_send(), raising an error in the generator instead of
 * sending a value (Python's throw and athrow): its pending syn_yield()
 * returns code, and syn_last_error() there gives code and message
 * (NULL: syn_strerror(code)). The generator may handle it and yield
 * again (the item comes back here, 0), return (SYN_EEND), or fail (its
 * error comes back here and the stream is over; a generator that returns
 * code passes the error on). Any thread but the synchronizer's own, as
 * syn_iter_next(). message is copied. Errors: as syn_iter_send(), and
 * SYN_EINVAL (code is 0, invalid, or SYN_EEND, SYN_EITERCLOSED or
 * SYN_ECANCELED, which the generator could not tell from its stream's
 * own events; or the iterator's first request: the generator has not
 * reached a syn_yield() yet), SYN_ENOTSUP (an iterator with a
 * prefetch window: nothing can be thrown into a generator that runs
 * ahead).
 */
SYN_API int syn_iter_throw(
    syn_iter *it, int code, const char *message, syn_result *item);

/* As syn_iter_throw(), returning at once with a future, as
 * syn_iter_next_future() does. */
SYN_API int syn_iter_throw_future(
    syn_iter *it, int code, const char *message, syn_future **fp);

/* As syn_iter_throw(), completing aio, as syn_iter_next_aio() does. */
SYN_API void syn_iter_throw_aio(
    syn_iter *it, int code, const char *message, nng_aio *aio);

/*
 * Closes and frees it. When the generator may still run (it started and
 * did not end), a request in flight is cancelled, the generator's
 * syn_yield() returns SYN_EITERCLOSED, and this waits until it returned,
 * for cfg.close_timeout at most: past it, this returns SYN_ETIMEDOUT and
 * the cleanup finishes in the background. A generator that never started,
 * or ran to its end, is not resumed. A future of a request in flight
 * stays valid (its owner frees it). NULL is allowed. Any thread; on the
 * synchronizer's own thread (a task consuming a generator of its own
 * synchronizer) it does not wait: the cleanup runs once the task
 * suspends or ends. Returns 0 or SYN_ETIMEDOUT; it is freed either way.
 * Another thread may have a request in flight on it (cancelled:
 * SYN_ECANCELED), but must not start one once this may have begun: it
 * could find it freed.
 */
SYN_API int syn_iter_close(syn_iter *it);

/*
 * Closes it as syn_iter_close() does, without waiting: it is freed at
 * once (even on an error), and *fp (the caller's to free) completes with
 * 0 once the generator's cleanup has run (at once when there was nothing
 * to close), or with SYN_ETIMEDOUT once close_timeout has passed, the
 * cleanup going on in the background. In a task of another synchronizer
 * (where syn_iter_close() would hold the thread), syn_await() it: the
 * wait is bounded by close_timeout. Cancelling the future (or
 * syn_await_timeout() running out) ends it at once with SYN_ECANCELED;
 * the close goes on in the background. Any thread. Errors: SYN_EINVAL (fp NULL:
 * it is not closed), SYN_EFORK (as syn_iter_close()), SYN_ENOMEM (it is closed,
 * unwatched).
 */
SYN_API int syn_iter_close_future(syn_iter *it, syn_future **fp);

/* As syn_iter_close_future(), completing aio instead (read it with
 * syn_aio_result()); aio NULL: the close goes on, unwatched. Any thread. */
SYN_API void syn_iter_close_aio(syn_iter *it, nng_aio *aio);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_ITER_H */
