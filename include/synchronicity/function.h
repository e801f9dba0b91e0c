/*
 * synchronicity: wrapped functions, one implementation called three ways.
 *
 * A library registers an implementation (a function that runs as a task on
 * the synchronizer's thread) under a name; any thread then calls it by name:
 * blocking (syn_call), as a future (syn_call_future), or by completing an
 * nng_aio (syn_call_aio). Arguments and results are syn_values, serialized
 * into a message at the boundary.
 */
#ifndef SYNCHRONICITY_FUNCTION_H
#define SYNCHRONICITY_FUNCTION_H

#include <stddef.h>

#include <nng/nng.h>

#include <synchronicity/export.h>
#include <synchronicity/future.h>
#include <synchronicity/synchronizer.h>
#include <synchronicity/task.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An implementation. It runs on the synchronizer's thread as task t, reads
 * args[0..nargs-1] (owned by the library, valid until the task ends, so
 * *ret may point into them) and stores its result in *ret (nil when left
 * alone). What *ret points to must outlive the function: the arguments,
 * static data or syn_task_alloc() memory. Returns 0, a library code, or
 * SYN_EUSER(n), best through syn_raise(); any other value reaches the
 * caller as SYN_EBADCODE.
 */
typedef int (*syn_func_fn)(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret);

/* What kind of code an implementation is. */
typedef enum syn_kind {
	SYN_KIND_FUNCTION  = 1, /* returns one result */
	SYN_KIND_GENERATOR = 2, /* hands out items with syn_yield(): its
	                           callers iterate it (synchronicity/iter.h) */
} syn_kind;

/* A function to register: the library copies the name. */
typedef struct syn_func_def {
	const char *name;     /* 1 to 255 bytes of UTF-8 */
	int         kind;     /* a syn_kind */
	syn_func_fn fn;       /* the implementation */
	void       *userdata; /* handed to fn through syn_task_userdata() */
} syn_func_def;

/*
 * Registers def on s; calls by def->name then run def->fn. Any thread
 * (from s's own tasks too); blocks until s's thread has added it.
 * Errors: SYN_EINVAL (bad name, kind or NULL fn), SYN_EEXIST (the name is
 * taken), SYN_ECLOSED (s is closed or destroyed), SYN_EFORK (s belongs to
 * the parent of a fork), SYN_ENOMEM, SYN_EDEADLK (from a task of another
 * synchronizer whose thread s's thread blocks for, as syn_call()).
 */
SYN_API int syn_register(syn_synchronizer s, const syn_func_def *def);

/*
 * Calls the function registered as name on s with args[0..nargs-1] and
 * blocks until it returns. On success, when res is not NULL, res (empty
 * or finished) receives the result, which the caller releases with
 * syn_result_fini(). On failure the detail (message, path) is in
 * syn_last_error(). Any thread but s's own (SYN_EDEADLK at once: await
 * syn_call_future() there instead). From another synchronizer's task it
 * blocks that synchronizer's thread (its on_blocking hook is told), and
 * gives SYN_EDEADLK at once when s's thread blocks, directly or through
 * other synchronizers' blocked threads, for this one's.
 * Errors: those the implementation raises (SYN_EUSER(n) or library codes),
 * SYN_ENOENT (no such function), SYN_EINVAL (a bad name or argument value,
 * or a result that cannot be encoded), SYN_EMSGSIZE (the call is larger
 * than config.max_message), SYN_EBADCODE (the implementation returned an
 * invalid code), SYN_ECLOSED (s is closed or was destroyed), SYN_EFORK,
 * SYN_EDEADLK, SYN_ENOMEM.
 */
SYN_API int syn_call(syn_synchronizer s, const char *name,
    const syn_value *args, size_t nargs, syn_result *res);

/*
 * As syn_call(), giving up after timeout milliseconds: the call is then
 * cancelled, its cleanup runs, and SYN_ETIMEDOUT is returned once it has
 * (a cancel wins over a result that came meanwhile). SYN_DURATION_ZERO
 * gives the call only the wait's first, brief look. A task's own
 * SYN_ETIMEDOUT (an await of its own timed out) reaches the caller as it
 * is, with the task's message: a task that must keep the two apart
 * returns a code of its own (SYN_EUSER).
 */
SYN_API int syn_call_timeout(syn_synchronizer s, const char *name,
    const syn_value *args, size_t nargs, syn_duration timeout, syn_result *res);

/*
 * Starts the call and returns at once with a future in *fp, which the
 * caller frees with syn_future_free(). Any thread, s's own tasks included
 * (they syn_await() it). Errors (no future is made, *fp is NULL):
 * SYN_EINVAL, SYN_EMSGSIZE, SYN_ECLOSED, SYN_EFORK, SYN_ENOMEM. Errors of
 * the call itself come through *fp.
 */
SYN_API int syn_call_future(syn_synchronizer s, const char *name,
    const syn_value *args, size_t nargs, syn_future **fp);

/*
 * Starts the call and completes the caller's aio once, with the call's
 * code as its result (0, or any code syn_call() returns). Every failure,
 * immediate or not, completes the aio. Cancelling the aio (nng_aio_cancel,
 * nng_aio_abort, syn_aio_stop, or its timeout) completes it at once with
 * that code, as nng's own operations do, and cancels the call, whose
 * cleanup then runs on its synchronizer: to wait for the cleanup, use a
 * future and syn_future_cancel(). The reply travels as the aio's message
 * (the call sets it, and a message the caller left there is not freed):
 * after every completion, call syn_aio_result() once, in the aio's
 * callback or after nng_aio_wait(), which reads the reply and frees it, as
 * a receive's message must be taken. Any thread.
 * A timeout of NNG_DURATION_ZERO must not be used (and cannot be refused):
 * nng 1.5.2 cannot tell a provider that such a timeout expired at once
 * (nng_aio_defer drops it), so the aio looks complete with result 0 while
 * the call runs, and the call completes it later: a use after free if it
 * was freed meanwhile. To poll, use a future.
 */
SYN_API void syn_call_aio(syn_synchronizer s, const char *name,
    const syn_value *args, size_t nargs, nng_aio *aio);

/*
 * Stops aio as nng_aio_stop() does (its operation is cancelled and this
 * waits for its callback; aio is stopped for good), for an aio that
 * syn_call_aio() or syn_iter_next_aio() may be starting on at the same
 * moment on another thread, such as an aio whose callback starts the next
 * call. Use it instead of nng_aio_stop() for such an aio, before
 * nng_aio_free(): nng 1.5.2 cannot tell this library that a stop came
 * while a call was starting on the aio, and the call would then complete
 * the aio after nng_aio_stop() returned (a use after free once it is
 * freed). A start that comes while this runs is dropped, as nng drops an
 * operation on a stopped aio: its callback does not run. NULL is allowed.
 * Any thread but the aio's own callback (as nng_aio_stop()).
 */
SYN_API void syn_aio_stop(nng_aio *aio);

/*
 * After a syn_call_aio() completed aio: returns its code and, on success
 * and when res is not NULL, moves the result into res (released with
 * syn_result_fini()); on failure, sets syn_last_error(). It takes the reply
 * message out of aio, so a second call returns the code with no value.
 */
SYN_API int syn_aio_result(nng_aio *aio, syn_result *res);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_FUNCTION_H */
