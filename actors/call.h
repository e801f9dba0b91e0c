/*
 * actors/call.h: what the other request forms share with calls.
 */
#ifndef SNI_CALL_H
#define SNI_CALL_H

#include <nng/nng.h>

#include <synchronicity/future.h>
#include <synchronicity/iter.h>
#include <synchronicity/value.h>

#include "core/actor.h"
#include "proto/proto.h"

/*
 * Starts a request: on success *fp is its future, posted, the caller's.
 * On failure returns the code, with syn_last_error() set.
 */
typedef int (*sni_request_fn)(void *arg, syn_future **fp);

/*
 * The aio form of any request: begins aio, starts the request with
 * start(arg) and completes aio once with its reply (see syn_call_aio()
 * for cancellation and syn_aio_result() for reading it). Any thread.
 */
void sni_request_aio(nng_aio *aio, sni_request_fn start, void *arg);

/* A call: of a function (target NULL) or of a method of target. */
typedef struct sni_request {
	uint32_t          actor_id;
	const syn_handle *target;
	const char       *name;
	const syn_value  *args;
	size_t            nargs;
} sni_request;

/*
 * Starts w for a request to a with future f: writing straight into f's
 * inline bytes when a is an actor of this process (sni_request_put then
 * copies nothing), else into w's own array.
 */
void sni_request_wbuf(sni_actor *a, syn_future *f, sni_wbuf *w);

/*
 * Puts the request encoded in w (a CALL or a NEXT) into f, for a: inline
 * when it fits and a is an actor of this process (whose reply may then
 * come back inline too), else into f->msg, reusing the message there if
 * any. 0 or SYN_ENOMEM. Whoever reads f's reply reads it with
 * sni_future_bytes() or sni_future_take_msg().
 */
int sni_request_put(sni_actor *a, syn_future *f, const sni_wbuf *w);

/*
 * For an actor of this process: f's request is the len bytes written
 * into f->inl already (at most SNI_FUTURE_INLINE), and its reply comes
 * back there. Returns 0.
 */
int sni_request_put_inline(syn_future *f, size_t len);

/* Posts r; *fp is its future. Errors as syn_call_future(). */
int sni_request_start(const sni_request *r, syn_future **fp);

/*
 * Before a request to remote actor a goes (nothing may fail after it):
 * lends the proxies of this process among args to its server (see
 * sni_translate_remote_lend). 0, or the code with the last error set
 * (name: the call's): then nothing is lent.
 */
int sni_request_lend(
    sni_actor *a, const syn_value *args, size_t nargs, const char *name);

/*
 * Posts the message body in w (taken) to a, which the caller holds, as a
 * new future: *fp, the caller's. 0 or SYN_ENOMEM (nothing posted).
 */
int sni_post_body(sni_actor *a, sni_wbuf *w, syn_future **fp);

/*
 * A future for a close begun without waiting (iterclose.c), in *fp: it
 * completes with 0 once close, the CLOSE's future (taken; NULL: nothing
 * to wait for, it completes at once), completes, or with SYN_ETIMEDOUT
 * once timeout ms (SYN_DURATION_INFINITE: never) have passed, whichever
 * comes first; cancelled, at once with SYN_ECANCELED (the close goes
 * on). actor_id: the synchronizer it reports to. 0 or SYN_ENOMEM (close
 * is let go: the cleanup goes on, unwatched). Any thread.
 */
int sni_close_watch(syn_future *close, uint32_t actor_id, syn_duration timeout,
    syn_future **fp);

/* sni_request_start for sni_request_aio: arg is the sni_request. */
int sni_request_start_fn(void *arg, syn_future **fp);

/* Posts r and waits for its outcome, as syn_call_timeout() does. */
int sni_request_run(
    const sni_request *r, syn_duration timeout, syn_result *res);

/* it keeps p (its method's object) alive until it is closed. */
void sni_iter_hold_target(syn_iter *it, syn_proxy *p);

/*
 * Waits for posted future f (up to timeout: then it is cancelled and its
 * cleanup waited for), moves its outcome into res and frees it: the end
 * of every blocking request. name is for the error detail (read before
 * ended runs). ended, when not NULL, runs once f is over and before its
 * outcome is read, with the code a hook of f would get (SYN_ECANCELED
 * when it was cancelled); not for a future of a fork's parent, which
 * never ends here.
 */
int sni_request_finish(syn_future *f, syn_duration timeout, const char *name,
    syn_result *res, void (*ended)(void *arg, int rc), void *arg);

/* Opens an iterator over r, a generator function or method. */
int sni_iter_open(
    const sni_request *r, const syn_iter_config *cfg, syn_iter **itp);

#endif /* SNI_CALL_H */
