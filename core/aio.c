/*
 * core/aio.c: awaiting nng aios from tasks.
 */
#include <stdlib.h>

#include "aio.h"
#include "door.h"
#include "errors.h"
#include "task.h"

/* Runs on an nng thread: must not block, only posts. */
static void
aio_callback(void *arg)
{
	sni_aio *w = arg;
	atomic_store(&w->queued, true);
	sni_actor_post(w->actor, &w->node);
}

int
syn_aio_alloc(syn_task *t, nng_aio **aiop)
{
	int rc = sni_task_check(t);
	if (rc != 0 || aiop == NULL) {
		return rc != 0 ? rc : SYN_EINVAL;
	}
	sni_actor *a = t->actor;
	sni_aio   *w = calloc(1, sizeof(*w));
	sni_door_used(); /* (nng_aio_alloc starts nng: a fork must know) */
	if (w == NULL) {
		return SYN_ENOMEM;
	}
	w->node.kind = SNI_NODE_AIO;
	w->actor     = a;
	atomic_init(&w->queued, false);
	if ((rc = nng_aio_alloc(&w->aio, aio_callback, w)) != 0) {
		free(w);
		return rc;
	}
	if ((rc = sni_ptrmap_put(&a->aio_map, w->aio, w)) != 0) {
		nng_aio_free(w->aio);
		free(w);
		return rc;
	}
	w->next = a->aios;
	if (a->aios != NULL) {
		a->aios->prev = w;
	}
	a->aios = w;
	*aiop   = w->aio;
	return 0;
}

static void
unlink_aio(sni_actor *a, sni_aio *w)
{
	if (w->prev != NULL) {
		w->prev->next = w->next;
	} else {
		a->aios = w->next;
	}
	if (w->next != NULL) {
		w->next->prev = w->prev;
	}
	sni_ptrmap_del(&a->aio_map, w->aio);
}

void
syn_aio_free(syn_task *t, nng_aio *aio)
{
	if (aio == NULL || sni_task_check(t) != 0) {
		return;
	}
	sni_aio *w = sni_ptrmap_get(&t->actor->aio_map, aio);
	if (w == NULL || w->waiter != NULL) {
		return; /* not ours, or another task awaits it */
	}
	nng_aio_free(w->aio); /* stops it: its callback has run after this */
	unlink_aio(t->actor, w);
	if (atomic_load(&w->queued)) {
		w->freed = true; /* the node on the mailbox frees it */
	} else {
		free(w);
	}
}

int
syn_await_aio(syn_task *t, nng_aio *aio)
{
	int rc = sni_task_check(t);
	if (rc != 0) {
		return rc;
	}
	sni_aio *w =
	    aio != NULL ? sni_ptrmap_get(&t->actor->aio_map, aio) : NULL;
	if (w == NULL) {
		return syn_raise(t, SYN_EINVAL,
		    "aio was not allocated by syn_aio_alloc on this "
		    "synchronizer");
	}
	if (w->waiter != NULL) {
		return syn_raise(t, SYN_EBUSY, "another task awaits this aio");
	}
	/* Its outcome, cancelled or not: a message received is the
	 * caller's to take. */
	if (w->completed) {
		w->completed = false;
		return nng_aio_result(aio);
	}
	if (t->cancelled) {
		nng_aio_cancel(aio);
		nng_aio_wait(aio);
		if (!atomic_load(&w->queued)) { /* nothing was in flight */
			return sni_task_refuse(t, SYN_ECANCELED);
		}
	}
	w->waiter      = t;
	t->awaited_aio = w;
	t->wait        = SNI_WAIT_AIO;
	rc             = sni_task_suspend(t);
	t->awaited_aio = NULL;
	return rc;
}

void
sni_aio_handle(sni_actor *a, sni_node *n)
{
	sni_aio *w = (sni_aio *) n;
	atomic_store(&w->queued, false);
	if (w->freed) {
		free(w);
		return;
	}
	sni_task *t = w->waiter;
	if (t == NULL) {
		w->completed = true;
		return;
	}
	w->waiter = NULL;
	/* (a cancelled operation ends NNG_ECANCELED, SYN_ECANCELED; one that
	 * completed first keeps its outcome: nothing it carries is lost) */
	sni_task_resume(t, nng_aio_result(w->aio));
	(void) a;
}

void
sni_aio_cancel_wait(sni_task *t)
{
	sni_aio *w = t->awaited_aio;
	nng_aio_cancel(w->aio);
	nng_aio_wait(w->aio); /* the operation ended; its callback ran */
	if (!atomic_load(&w->queued)) {
		/* Nothing was in flight: no completion will come. */
		w->waiter = NULL;
		sni_task_resume(t, SYN_ECANCELED);
	}
}

void
sni_aio_stop_all(sni_actor *a)
{
	for (sni_aio *w = a->aios; w != NULL; w = w->next) {
		nng_aio_stop(w->aio);
	}
}

void
sni_aio_free_all(sni_actor *a)
{
	while (a->aios != NULL) {
		sni_aio *w = a->aios;
		unlink_aio(a, w);
		nng_aio_free(w->aio);
		free(w);
	}
	sni_ptrmap_fini(&a->aio_map);
}
