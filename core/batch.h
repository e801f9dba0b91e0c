/*
 * core/batch.h: many calls of another process in one message (a BATCH),
 * their replies in few (REPLIES).
 *
 * A client with calls queued behind the one it is sending packs them
 * into a BATCH. The server runs each as a call of its own (a member of
 * the batch stands for its door slot: the same pipe, the same
 * cancellation by call id) and answers the BATCH with the replies ready
 * once they all started (most calls finish at once); the rest, if any,
 * the client asks for with a FETCH, which waits until one is ready. So
 * a slow call in a batch delays nobody's reply but its own.
 *
 * Everything here runs on the served synchronizer's thread.
 */
#ifndef SNI_BATCH_H
#define SNI_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "actor.h"
#include "door.h" /* sni_batch */

/* The loop: a BATCH or a FETCH from a door slot (msg taken). */
void sni_batch_handle(
    sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim);
void sni_batch_fetch(
    sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim);

/* The loop: the reply of the batch member member (msg taken; NULL: none
 * could be made). Called by sni_door_reply. */
void sni_batch_reply(sni_batch *b, void *member, nng_msg *msg);

/* The loop: a CANCEL of pipe's call call_id that runs nowhere: true when
 * the call waits in a batch not started yet (it will not run). */
bool sni_batch_cancel_waiting(sni_actor *a, uint32_t pipe, uint64_t call_id);

/* The loop, on its own stack (after a task ran), when a->batch_retry
 * says a member's end on a task's stack left batches waiting: starts
 * them. */
void sni_batch_retry(sni_actor *a);

/* The loop: pipe closed: its batches deliver nothing more. */
void sni_batch_pipe_gone(sni_actor *a, uint32_t pipe);

/*
 * At the end of the loop (every task ended): the batches waiting to
 * start are answered SYN_ECLOSED and go; the others stay, so that the
 * replies of calls that ended reach their FETCH while the door stops.
 */
void sni_batches_stop(sni_actor *a);

/* While the door stops: true while a batch holds replies not delivered
 * (or calls not answered) to a connection that is still there. */
bool sni_batches_undelivered(sni_actor *a);

/* Once the door is closed: every batch goes (what still waited for a
 * reply is not answered: nothing can be sent). */
void sni_batches_fini(sni_actor *a);

#endif /* SNI_BATCH_H */
