/*
 * core/aio.h: nng aios that tasks await (syn_aio_alloc, syn_await_aio).
 *
 * Each one is wrapped: its callback, which runs on an nng thread, only
 * posts the wrapper to the actor's mailbox; the actor then resumes the
 * task awaiting it. Everything else here runs on the actor thread.
 */
#ifndef SNI_AIO_H
#define SNI_AIO_H

#include <stdatomic.h>
#include <stdbool.h>

#include <nng/nng.h>

#include "actor.h"
#include "mpsc.h"

struct sni_aio {
	sni_node    node; /* SNI_NODE_AIO, posted by the callback */
	sni_aio    *prev; /* the actor's aios */
	sni_aio    *next;
	nng_aio    *aio;
	sni_actor  *actor;
	sni_task   *waiter;    /* the task awaiting it */
	atomic_bool queued;    /* the node is on the mailbox */
	bool        completed; /* a completion no await consumed yet */
	bool        freed;     /* freed while its node was queued */
};

/* The loop: an aio's completion arrived. */
void sni_aio_handle(sni_actor *a, sni_node *n);

/* The loop: cancels the operation that task t awaits and settles t. */
void sni_aio_cancel_wait(sni_task *t);

/* Shutdown: stops every aio of a (their callbacks have run after). */
void sni_aio_stop_all(sni_actor *a);

/* Shutdown, after the last drain: frees every aio of a. */
void sni_aio_free_all(sni_actor *a);

#endif /* SNI_AIO_H */
