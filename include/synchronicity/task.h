/*
 * synchronicity: tasks, how asynchronous code is written in C.
 *
 * Every call runs as a task: a coroutine with its own stack, on the
 * synchronizer's thread. Inside a task, code reads straight down; each
 * await point below suspends the task and lets the synchronizer serve other
 * calls until the awaited thing completes:
 *
 *     int rc = syn_sleep(t, 10);
 *     if (rc != 0)
 *             return rc;          (cancelled, or the synchronizer closes)
 *
 * Everything in this header must be called from inside a task, on its own
 * synchronizer's thread, with the task's own syn_task pointer; a syn_task
 * pointer is valid only while its task runs.
 *
 * Cancellation is a code returned by await points: once a task is
 * cancelled (syn_future_cancel() on its call, the caller's timeout, or the
 * synchronizer's destruction), every await point returns SYN_ECANCELED at
 * once, so that cleanup code runs normally and finishes in bounded time.
 * From the second such answer on, the await point first lets the loop run
 * (the task goes behind what its mailbox holds): a task that ignores its
 * cancellation and awaits in a loop slows its synchronizer but does not
 * stop it from serving others. It still delays destroy until it returns.
 */
#ifndef SYNCHRONICITY_TASK_H
#define SYNCHRONICITY_TASK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

#include <synchronicity/export.h>
#include <synchronicity/future.h>
#include <synchronicity/synchronizer.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_task syn_task;

/*
 * Suspends t for ms milliseconds (0 yields once to the other work of the
 * synchronizer; SYN_DURATION_INFINITE sleeps until the task is cancelled).
 * Returns 0, SYN_ECANCELED when the task is cancelled, SYN_EINVAL for any
 * other negative ms (SYN_DURATION_DEFAULT included), SYN_ESTATE when t is
 * not the task running on this thread (called outside a task), SYN_ENOMEM
 * when the timer cannot be armed.
 */
SYN_API int syn_sleep(syn_task *t, syn_duration ms);

/*
 * Suspends t until f completes and returns f's code; f still belongs to
 * the caller, who reads its value and frees it. f may come from any
 * synchronizer, this one included: awaiting never blocks the thread.
 * When t is cancelled while it waits, f is cancelled too, t waits for it
 * to finish its cleanup, and SYN_ECANCELED is returned. Errors:
 * SYN_EINVAL (f is NULL), SYN_ESTATE (t is not the task running on this
 * thread), SYN_EFORK (f belongs to the parent of a fork; raised).
 */
SYN_API int syn_await(syn_task *t, syn_future *f);

/*
 * As syn_await(), with a deadline timeout milliseconds from now
 * (SYN_DURATION_INFINITE: none, as syn_await()). When it passes first, f
 * is cancelled (and, down the chain, whatever its task awaits), t waits
 * for its cleanup, and SYN_ETIMEDOUT is returned. SYN_ECANCELED when t
 * itself is cancelled. Errors: as syn_await(), SYN_EINVAL for another
 * negative timeout.
 */
SYN_API int syn_await_timeout(syn_task *t, syn_future *f, syn_duration timeout);

/*
 * In a generator (a function registered as SYN_KIND_GENERATOR): hands *v
 * to the consumer as the next item (encoded at once: v may go away after
 * the call) and suspends t until the consumer asks for another. Strict
 * lock-step: the generator runs only while its consumer waits for an item.
 * Returns 0 when the consumer asks again; *sent (NULL allowed) then
 * receives what it sent with syn_iter_send() (nil for syn_iter_next()),
 * valid until the next syn_yield() or the generator's end.
 * Returns SYN_EITERCLOSED when the consumer closed or freed the iterator,
 * or the synchronizer is being destroyed: clean up and return (the close
 * waits for that; returning SYN_EITERCLOSED or SYN_EEND counts as 0); a
 * later syn_yield() returns it again, handing nothing out, after letting
 * the loop run (as await points do for a cancelled task). With a
 * prefetch window (syn_iter_config) it returns at once until a batch is
 * full, and waits only for the consumer to ask for the next batch.
 * SYN_ECANCELED when the consumer cancelled its pending request. The
 * code the consumer threw with syn_iter_throw(), *sent not set:
 * syn_last_error() gives its message, and it is raised on t (returning it
 * passes it on). Errors:
 * SYN_ESTATE (t is not a running generator task), SYN_EINVAL (v is NULL or
 * cannot be encoded: nothing was handed out), SYN_EMSGSIZE (the item is larger
 * than config.max_message).
 */
SYN_API SYN_MUST_CHECK int syn_yield(
    syn_task *t, const syn_value *v, syn_value *sent);

/* What syn_await_fd() waits for, and what it reports. */
#define SYN_FD_READ 1u  /* readable (or closed by the peer) */
#define SYN_FD_WRITE 2u /* writable */
#define SYN_FD_ERROR 4u /* an error or a hang-up (reported, not asked) */

/*
 * Suspends t until fd is ready for events (SYN_FD_READ, SYN_FD_WRITE or
 * both), for timeout milliseconds at most (SYN_DURATION_INFINITE: no
 * limit), without blocking t's synchronizer: one poller thread per
 * process watches the descriptors tasks await. Returns 0 with what fd is
 * ready for in *revents (NULL allowed), SYN_ETIMEDOUT, or SYN_ECANCELED
 * when t is cancelled. It does not read or write fd, and fd stays the
 * caller's; one task at a time may await a given fd. Closing fd while a
 * task awaits it does not wake that task (epoll forgets a closed
 * descriptor): its wait ends by its timeout or a cancel, and a new
 * descriptor with the same number can be awaited meanwhile. For a socket of
 * libpq, hiredis, libcurl's multi interface, or a pipe. Errors: SYN_EINVAL
 * (a bad fd, events or timeout; an fd epoll cannot watch, such as a
 * regular file), SYN_EBUSY (another task awaits fd), SYN_ESTATE,
 * SYN_ENOMEM.
 */
SYN_API int syn_await_fd(syn_task *t, int fd, unsigned events,
    syn_duration timeout, unsigned *revents);

/*
 * Runs fn(arg) on the library's blocking pool (threads shared by the
 * process, started on demand, at most 16 running jobs, besides jobs that
 * wait for blocking calls) and suspends t until it returns:
 * its synchronizer serves other calls meanwhile. Returns fn's result. fn
 * runs on a pool thread: it must not use t, and whatever it shares with
 * the synchronizer's code is the caller's to synchronise (pass it what it
 * needs in arg; arg stays valid, t waits). Cancelling t does not stop fn:
 * t waits for fn to return and then gets SYN_ECANCELED; destroying the
 * synchronizer waits for it likewise. Errors: SYN_EINVAL (fn is NULL, or
 * arg points into the task's stack on a synchronizer with
 * config.shared_stack, which copies the task's frames away while it
 * waits: put it in syn_task_alloc memory), SYN_ESTATE (t is not the running
 * task), SYN_ECANCELED, SYN_ENOMEM (no thread could be started while
 * every pool thread waits in a blocking call: fn does not run).
 */
SYN_API int syn_run_blocking(syn_task *t, int (*fn)(void *arg), void *arg);

/*
 * Allocates an nng_aio whose completion resumes the task awaiting it, for
 * use with any nng asynchronous operation (nng_sleep_aio, nng_recv_aio,
 * nng_ctx_send, ...) and syn_await_aio(). It belongs to t's synchronizer:
 * free it with syn_aio_free() from a task of the same synchronizer; the
 * synchronizer frees the ones left over when it is destroyed.
 * Errors: SYN_EINVAL (aiop is NULL), SYN_ESTATE (t is not the task
 * running on this thread), SYN_ENOMEM, nng's errors.
 */
SYN_API int syn_aio_alloc(syn_task *t, nng_aio **aiop);

/*
 * Stops aio (waiting for the operation in progress to end) and frees it.
 * Must be called from a task of the synchronizer that allocated it; aio
 * must not be awaited by another task at the time. NULL is allowed.
 */
SYN_API void syn_aio_free(syn_task *t, nng_aio *aio);

/*
 * Suspends t until the operation started on aio (allocated with
 * syn_aio_alloc()) completes, and returns nng_aio_result(aio): nng's codes
 * are the library's codes. Returns at once when the operation already
 * completed. Start one operation, then await it, each time: nng cannot
 * tell whether an operation was started, so awaiting an aio with none in
 * flight waits until the task is cancelled. When t is cancelled, the
 * operation is cancelled too (on this thread: nng's own operations end at
 * once; a provider of your own must end a cancelled operation promptly),
 * t waits for it to end and SYN_ECANCELED is returned, unless the
 * operation had completed first: then its own code, and what it carries
 * (a message received) is the caller's to take; the next await point
 * returns SYN_ECANCELED. The aio stays usable. Errors: SYN_EINVAL when aio was
 * not allocated by syn_aio_alloc() on this synchronizer, SYN_EBUSY when another
 * task awaits it, SYN_ESTATE when t is not the task running on this thread.
 */
SYN_API int syn_await_aio(syn_task *t, nng_aio *aio);

/* True once t is cancelled; every await point then returns SYN_ECANCELED. */
SYN_API bool syn_task_cancelled(syn_task *t);

/*
 * Records an error for the caller to see and returns code, so that
 * implementation code fails with: return syn_raise(t, SYN_EUSER(1), "no
 * row %d", id); code is a library code or SYN_EUSER(n). The message is
 * formatted as printf does and copied. The caller sees it when the task
 * returns that same code; a task that returns another code reports that
 * code with its standard description. With SYN_DEBUG=1 in the
 * environment, the message ends with where it was raised
 * (" [raised at file.c:42]"): syn_raise is a macro over syn_raise_at
 * that passes the caller's file and line.
 */
SYN_API int syn_raise(syn_task *t, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
SYN_API int syn_raise_at(
    syn_task *t, int code, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
#define syn_raise(t, code, ...) \
	syn_raise_at((t), (code), __FILE__, __LINE__, __VA_ARGS__)

/*
 * Checks and reads the call's arguments in one go, as scanf does. Each
 * letter of fmt reads one argument into the next pointer(s):
 *   b bool*, i int64_t*, u uint64_t*, d double*, s const char** (a string),
 *   y const void**, size_t* (bytes), l / m const syn_value** (a list / a
 *   map), h const syn_handle**, p void** (a pointer), o void** (an object
 *   of this synchronizer: its self), P syn_proxy** (a proxy, borrowed for
 *   the task: syn_proxy_ref() it to keep it), v const syn_value** (any
 *   value), and | marks the start of optional arguments.
 * Strings and values point into memory that lives as long as the task.
 * A wrong count gives SYN_EINVAL, a wrong type SYN_EBADTYPE, a number that
 * does not fit SYN_ERANGE, each raised with a message that names the
 * argument, ready to be returned to the caller; a NULL pointer to read
 * into gives SYN_EINVAL (y's size_t* may be NULL).
 */
SYN_API int syn_unpack(
    syn_task *t, const syn_value *args, size_t nargs, const char *fmt, ...);

/*
 * Allocates size bytes that live until the task ends (results that point
 * at memory must point at memory like this, or at static data). Returns
 * NULL when out of memory. Not to be freed.
 */
SYN_API void *syn_task_alloc(syn_task *t, size_t size);

/*
 * A string value formatted as printf does, in memory that lives until the
 * task ends. Out of memory, or a NULL fmt, gives an invalid value, which
 * the reply reports as SYN_EINVAL.
 */
SYN_API syn_value syn_task_printf(syn_task *t, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The userdata of the function t runs (syn_func_def.userdata). */
SYN_API void *syn_task_userdata(syn_task *t);

/* The synchronizer t runs on. */
SYN_API syn_synchronizer syn_task_synchronizer(syn_task *t);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_TASK_H */
