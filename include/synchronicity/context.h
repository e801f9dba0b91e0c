/*
 * synchronicity: the call context, values a caller sets that every call it
 * makes carries to the task that runs it: a request id to log, a tenant, a
 * deadline, a trace. It is the reference library's contextvars: there a
 * coroutine sees the context variables its caller had set, copied when
 * the call was made.
 *
 * Each thread has a context of its own, and so has each task. A call
 * takes a copy of its caller's context as it is made (a thread's when a
 * plain thread calls, a task's when a task calls); the task that runs it
 * starts with that copy. What the task sets afterwards stays in the task,
 * and travels on with the calls it makes in turn, to other synchronizers
 * and to other processes (the context is part of the call's message).
 * What its caller sets after the call was made does not reach it.
 *
 *     syn_value id = syn_str("r-42");
 *     syn_context_set("request", &id);     (copied: id may go)
 *     syn_call(s, "handle", args, 1, &res);  (its task reads "request")
 *
 *     (in the task of "handle", or in any call it makes:)
 *     syn_result id = SYN_RESULT_INIT;
 *     if (syn_context_get("request", &id) == 0) { ... syn_result_fini(&id); }
 *
 * A generator's task has the context of the call that opened it, for all
 * its items. A job given to syn_run_blocking() sees its task's context on
 * the pool thread, and what it sets there is the task's.
 *
 * Keys are strings of 1 to SYN_CONTEXT_KEY_MAX bytes of UTF-8; values are
 * plain data: nil, bools, numbers, strings, bytes, errors, and lists and
 * maps of those, at most 31 levels deep (no proxies, objects, handles or
 * pointers: a context crosses processes). A context takes at most
 * SYN_CONTEXT_MAX bytes encoded, since every call copies it; an empty one
 * costs a call nothing. A call to a server whose max_depth is smaller
 * than a context value's depth fails there with SYN_EPROTO.
 *
 * The functions work on the calling thread's context, or the running
 * task's when called from a task (or from its syn_run_blocking job). A
 * completion callback (syn_future_callback()) works on the context of the
 * thread it runs on, whichever task's reply ran it: what it sets stays on
 * that thread, which it may not own, so it should unset each key it set
 * (syn_context_unset(), not syn_context_clear(), which would also remove
 * what that thread had set itself). A thread's context is freed when the
 * thread exits.
 */
#ifndef SYNCHRONICITY_CONTEXT_H
#define SYNCHRONICITY_CONTEXT_H

#include <synchronicity/export.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest key, in bytes. */
#define SYN_CONTEXT_KEY_MAX 255

/* The most keys a context holds. */
#define SYN_CONTEXT_KEYS_MAX 64

/* The most bytes a context takes encoded (keys, values, and msgpack's
 * framing: a few bytes an entry). */
#define SYN_CONTEXT_MAX 16384

/*
 * Sets key to a copy of *value in the current context (the calling
 * thread's, or the running task's): calls made from here on carry it.
 * Calls made before keep what they carried. Errors, with nothing changed:
 * SYN_EINVAL (key NULL, empty, longer than SYN_CONTEXT_KEY_MAX or not
 * UTF-8; value NULL or not plain data, or nested too deep), SYN_EMSGSIZE
 * (the context would be larger than SYN_CONTEXT_MAX, or hold more than
 * SYN_CONTEXT_KEYS_MAX keys), SYN_ENOMEM (also: the thread's stack is too
 * short to encode value).
 */
SYN_API int syn_context_set(const char *key, const syn_value *value);

/*
 * Looks key up in the current context: 0 with a copy of its value in
 * *res, which the caller frees with syn_result_fini() (res is overwritten,
 * not freed, first); SYN_ENOENT when the key is not set (*res is then
 * nil). Errors: SYN_EINVAL (key or res NULL), SYN_ENOMEM (also: the
 * thread's stack is too short to decode the value).
 */
SYN_API int syn_context_get(const char *key, syn_result *res);

/*
 * Removes key from the current context; 0 whether it was set or not.
 * Errors: SYN_EINVAL (key NULL, or not a key as syn_context_set takes),
 * SYN_ENOMEM.
 */
SYN_API int syn_context_unset(const char *key);

/* Empties the current context. Never fails. */
SYN_API void syn_context_clear(void);

/*
 * A copy of a context, to carry it where no call carries it: to a thread
 * of the caller's own (a work queue, a thread pool) or to a completion
 * callback. Python's contextvars.copy_context(). It belongs to no thread:
 * any thread may install it, any number of times, until it is freed.
 */
typedef struct syn_context_snap syn_context_snap;

/*
 * Copies the current context (empty or not) into a new snapshot in *sp,
 * the caller's to free with syn_context_snap_free(). Any thread, and
 * inside a task. Errors: SYN_EINVAL (sp NULL), SYN_ENOMEM; *sp is then
 * NULL.
 */
SYN_API int syn_context_capture(syn_context_snap **sp);

/*
 * Makes the current context a copy of snap's, replacing all it held:
 * calls made from here on carry it. snap stays the caller's. Any thread,
 * and inside a task. Errors, with nothing changed: SYN_EINVAL (snap
 * NULL), SYN_ENOMEM.
 */
SYN_API int syn_context_install(const syn_context_snap *snap);

/* Frees snap; NULL is allowed. Any thread. */
SYN_API void syn_context_snap_free(syn_context_snap *snap);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_CONTEXT_H */
