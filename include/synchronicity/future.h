/*
 * synchronicity: futures, the results of calls that are still running.
 *
 * A future is completed exactly once, by the synchronizer, with the call's
 * result or error. Every function here is thread-safe: any thread may wait
 * on, poll, cancel or free a future, except that only one thread frees it,
 * once, when no other thread uses it any more.
 */
#ifndef SYNCHRONICITY_FUTURE_H
#define SYNCHRONICITY_FUTURE_H

#include <stddef.h>

#include <synchronicity/error.h>
#include <synchronicity/export.h>
#include <synchronicity/synchronizer.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_future syn_future;

/*
 * Blocks until f completes and returns the call's code: 0, the error the
 * implementation raised (the detail is in syn_future_error() and in
 * syn_last_error()), SYN_ECANCELED after syn_future_cancel(), or
 * SYN_ECLOSED when the synchronizer was destroyed first.
 * Returns SYN_EDEADLK at once when called on the thread of the
 * synchronizer that must complete f (await it there with syn_await()),
 * or on another synchronizer's thread when that synchronizer's thread
 * blocks, directly or through others, for this one's; and SYN_EFORK in a forked
 * child for any future of the parent, pending or complete (its call
 * belongs to the parent; every function here says the same, and
 * syn_future_free() leaves it alone: the child frees none of the
 * parent's).
 */
SYN_API int syn_future_wait(syn_future *f);

/*
 * As syn_future_wait(), giving up after timeout milliseconds with
 * SYN_ETIMEDOUT. The call goes on running: wait again, or cancel it.
 * SYN_DURATION_INFINITE (and any other negative value) waits for ever,
 * SYN_DURATION_ZERO polls (and never gives SYN_EDEADLK). Every function
 * here returns SYN_EINVAL when given a NULL future.
 */
SYN_API int syn_future_wait_timeout(syn_future *f, syn_duration timeout);

/* Returns SYN_EAGAIN while f is pending, else as syn_future_wait(). */
SYN_API int syn_future_poll(syn_future *f);

/*
 * After f completed successfully, points *vp at the result, which f owns
 * until syn_future_free(). Errors: SYN_EAGAIN while pending; the call's
 * code when it failed (and *vp is left alone).
 */
SYN_API int syn_future_value(syn_future *f, const syn_value **vp);

/*
 * The detail of f's error (code, message, path), owned by f; code 0 while
 * pending or after a success. Never NULL.
 */
SYN_API const syn_error *syn_future_error(syn_future *f);

/*
 * Asks for the call to be cancelled and returns at once. The task sees
 * SYN_ECANCELED at its next await point and runs its cleanup; f then
 * completes with SYN_ECANCELED, even if the task finished meanwhile, and
 * even if f had completed already. A call not yet started never starts.
 * Idempotent. Returns 0, or SYN_EINVAL when f is NULL.
 */
SYN_API int syn_future_cancel(syn_future *f);

/*
 * Calls cb(f, arg) once when f completes: at once on this thread if f is
 * complete, otherwise on the thread that completes it, usually the
 * synchronizer's own. cb must not block and must not free f while others
 * may use it. arg must stay valid until cb has run, which can be after a
 * wait on f returned on another thread (waiters are woken first). One
 * callback per future. Errors: SYN_EBUSY when one is set,
 * SYN_EINVAL (f or cb NULL, or, in a task of a synchronizer with
 * config.shared_stack, arg pointing into its stack, which is copied away
 * while the task waits: put it in syn_task_alloc memory).
 */
SYN_API int syn_future_callback(
    syn_future *f, void (*cb)(syn_future *f, void *arg), void *arg);

/*
 * Waits until every future of fs[0..n-1] has completed (whatever their
 * codes) or the timeout passes (SYN_ETIMEDOUT). Returns 0 when all are
 * complete. Errors: SYN_EINVAL for a NULL entry, SYN_EDEADLK as
 * syn_future_wait() for each future it waits for in turn (not for
 * SYN_DURATION_ZERO, a poll).
 */
SYN_API int syn_future_wait_all(
    syn_future *const *fs, size_t n, syn_duration timeout);

/*
 * Waits until at least one future of fs[0..n-1] has completed, stores the
 * index of the first complete one in *index and returns 0; SYN_ETIMEDOUT
 * when none completes in time. Errors: SYN_EINVAL (n is 0, a NULL entry),
 * SYN_EDEADLK (not for SYN_DURATION_ZERO, a poll) when none is complete
 * and one is of this thread's synchronizer, or, waiting for ever on a
 * synchronizer's thread, when the threads of all their synchronizers
 * block, directly or through others, for this one's (checked for futures
 * of up to 8 other synchronizers, however many futures each has;
 * beyond that, not).
 */
SYN_API int syn_future_wait_any(
    syn_future *const *fs, size_t n, syn_duration timeout, size_t *index);

/*
 * A file descriptor that becomes readable when f completes, for poll(),
 * epoll, libuv or libevent. It belongs to f and closes with it; do not
 * read from it. Errors: SYN_ESYSERR|errno when no descriptor is left.
 */
SYN_API int syn_future_fd(syn_future *f, int *fdp);

/*
 * Releases f. A call still running goes on and its result is dropped;
 * cancel it first to stop it. f must not be used afterwards. NULL is
 * allowed. Its own completion callback may free it. A callback set on a
 * pending f still runs when the call ends, with f kept valid for it until
 * it returns; it must not free f a second time.
 */
SYN_API void syn_future_free(syn_future *f);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_FUTURE_H */
