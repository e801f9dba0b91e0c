/*
 * synchronicity: interrupting blocking calls from another thread, and
 * giving them a deadline.
 *
 * A canceller is bound to one thread at a time. While it is bound, every
 * blocking call that thread makes (syn_call, syn_invoke, syn_new, syn_get,
 * syn_iter_next and syn_iter_send, syn_enter before and after it runs but
 * not midway (below), the typed blocking functions) can be interrupted:
 *
 *   - by syn_canceller_cancel() from any other thread: the call's task is
 *     cancelled, its cleanup runs on its synchronizer, and only then does
 *     the call return SYN_ECANCELED (also when the call finished at the
 *     same moment: a cancel always wins, as in the reference library);
 *   - by the deadline given to syn_canceller_bind(): the call is cancelled
 *     the same way and returns SYN_ETIMEDOUT once its cleanup has run.
 *
 * Cancelling is sticky: once cancelled, or once the deadline has passed,
 * every blocking call the thread starts fails at once, without being made
 * (an iterator with a prefetch window hands out no more buffered items),
 * until the canceller is unbound.
 *
 *     syn_canceller *c;
 *     syn_canceller_new(&c);
 *     syn_canceller_bind(c, 5000);     (this thread, 5 s for all it does)
 *     rc = syn_call(s, "query", ...);  (another thread may cancel c)
 *     syn_canceller_unbind(c);
 *     syn_canceller_free(c);
 *
 * A context manager's exit runs exactly when its enter succeeded: enter
 * and exit (and so both ends of SYN_WITH) are never interrupted. A cancel
 * that comes while enter runs is seen when it returns: exit then runs at
 * once and syn_enter() returns SYN_ECANCELED; a cancel in the body lets
 * exit run to its end, as the reference's Ctrl-C runs the manager's
 * cleanup before it reaches the caller.
 *
 * syn_future_wait() on a future the caller holds is not interrupted: the
 * future is its own cancel handle (syn_future_cancel() from any thread).
 */
#ifndef SYNCHRONICITY_CANCEL_H
#define SYNCHRONICITY_CANCEL_H

#include <stdbool.h>

#include <synchronicity/export.h>
#include <synchronicity/synchronizer.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_canceller syn_canceller;

/*
 * Makes a canceller, unbound and not cancelled, in *cp; free it with
 * syn_canceller_free(). Any thread. Errors: SYN_EINVAL (cp is NULL),
 * SYN_ENOMEM.
 */
SYN_API int syn_canceller_new(syn_canceller **cp);

/*
 * Frees c. NULL is allowed. Any thread, once no other thread uses c but
 * the one it is bound to: a bound canceller is freed when that thread
 * unbinds it (a thread that ends bound leaks it).
 */
SYN_API void syn_canceller_free(syn_canceller *c);

/*
 * Binds c to the calling thread, with a deadline timeout milliseconds
 * from now (SYN_DURATION_INFINITE: none), and clears its cancellation: the
 * blocking calls this thread makes until syn_canceller_unbind() obey it.
 * Only threads of the caller's own: a synchronizer's thread, or a pool
 * thread running a blocking job, serves many tasks (a task gives its
 * awaits a deadline with syn_await_timeout()).
 * Errors: SYN_EINVAL (c is NULL, or a negative timeout other than
 * SYN_DURATION_INFINITE), SYN_EBUSY (c is bound, or this thread has a
 * canceller bound already), SYN_ESTATE (a synchronizer's thread or a
 * blocking job).
 */
SYN_API int syn_canceller_bind(syn_canceller *c, syn_duration timeout);

/*
 * Unbinds c from the calling thread, which must be the one it is bound
 * to. Errors: SYN_EINVAL (c is NULL), SYN_ESTATE (c is not bound to this
 * thread).
 */
SYN_API int syn_canceller_unbind(syn_canceller *c);

/*
 * Cancels the blocking call c's thread is making, if any, and every one it
 * makes until c is unbound or bound again. Returns at once, without
 * waiting for the call to return. Any thread (not a signal handler: for
 * Ctrl-C, cancel from a thread that waits for the signal with sigwait()
 * or a signalfd). Idempotent. Errors: SYN_EINVAL (c is NULL).
 */
SYN_API int syn_canceller_cancel(syn_canceller *c);

/* True once c was cancelled (since it was last bound). Any thread. */
SYN_API bool syn_canceller_cancelled(syn_canceller *c);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_CANCEL_H */
