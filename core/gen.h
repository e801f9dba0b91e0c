/*
 * core/gen.h: generators on the actor's side: a generator is a task that
 * serves one stream, handing out an item per request of its consumer
 * (syn_yield), and the NEXT and CLOSE requests that drive it. OPEN starts
 * one like a call (sni_task_start with a stream). Actor thread only.
 */
#ifndef SNI_GEN_H
#define SNI_GEN_H

#include <stdint.h>

#include <nng/nng.h>

#include "actor.h"
#include "task.h"

/*
 * Makes task t, before it first runs, the generator of stream (window
 * items ahead). SYN_EEXIST when the stream is open already, SYN_ENOMEM.
 */
int sni_gen_register(sni_task *t, uint64_t stream, uint32_t window);

/*
 * Handles a NEXT of len bytes, in msg (taken) or inline in the future at
 * origin_ptr (msg NULL): resumes the stream's generator at its syn_yield
 * with the sent value, or answers with the error (no such stream, a
 * request already pending, a malformed message).
 */
void sni_gen_next(sni_actor *a, nng_msg *msg, const uint8_t *bytes, size_t len,
    int origin, void *origin_ptr, const sni_limits *lim);

/*
 * Handles a CLOSE in msg (taken): the generator's syn_yield returns
 * SYN_EITERCLOSED (at once when it waits there, else at its next one), and
 * the CLOSE is answered with nil once it has returned. A stream that is
 * not open (it ended, or never began) is answered at once.
 */
void sni_gen_close(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim);

/*
 * A generator with a window, about to wait with a request pending: sends
 * the items it has (if any) to that request.
 */
void sni_gen_flush(sni_task *t);

/*
 * The generator t returned rc: answers its pending request (the end of
 * the stream, or the error), answers a CLOSE, forgets the stream.
 */
void sni_gen_finish(sni_task *t, int rc);

/*
 * The peer on pipe went away: its streams close as if it had closed them,
 * with nobody waiting for the answer. Actor thread.
 */
void sni_gen_drop_pipe(sni_actor *a, uint32_t pipe);

/*
 * Whether code may be thrown into a generator (syn_iter_throw): a valid
 * code, not 0, and none of those its syn_yield() returns for the
 * stream's own events (SYN_EEND, SYN_EITERCLOSED, SYN_ECANCELED), which
 * a generator could not tell from the real ones.
 */
bool sni_gen_throwable(int code);

#endif /* SNI_GEN_H */
