/*
 * core/cancel.c: cancellers, the handles that interrupt a thread's
 * blocking calls, and the wait every blocking call goes through.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <synchronicity/cancel.h>

#include "actor.h"
#include "cancel.h"
#include "clock.h"
#include "errors.h"
#include "future.h"
#include "pool.h"
#include "task.h"

struct syn_canceller {
	pthread_mutex_t lock;
	bool            bound;
	bool            cancelled;
	bool            orphan;      /* freed while bound: unbind frees it */
	uint64_t        deadline_ns; /* UINT64_MAX: none */
	syn_future     *waiting;     /* the call its thread waits for */
};

/* The canceller bound to this thread, or NULL. */
static _Thread_local syn_canceller *bound_here;
static _Thread_local bool           shielded;

bool
sni_cancel_shield(bool on)
{
	bool was = shielded;
	shielded = on;
	return was;
}

int
syn_canceller_new(syn_canceller **cp)
{
	if (cp == NULL) {
		return sni_error_set(
		    SYN_EINVAL, "canceller pointer is NULL", "");
	}
	syn_canceller *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*cp = NULL;
		return sni_error_set(SYN_ENOMEM, NULL, "");
	}
	pthread_mutex_init(&c->lock, NULL);
	c->deadline_ns = UINT64_MAX;
	*cp            = c;
	return 0;
}

void
syn_canceller_free(syn_canceller *c)
{
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->lock);
	bool bound = c->bound;
	c->orphan  = bound; /* its thread frees it at unbind */
	pthread_mutex_unlock(&c->lock);
	if (!bound) {
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
}

int
syn_canceller_bind(syn_canceller *c, syn_duration timeout)
{
	if (c == NULL || (timeout < 0 && timeout != SYN_DURATION_INFINITE)) {
		return sni_error_set(SYN_EINVAL,
		    c == NULL ? "canceller is NULL"
		              : "timeout must be SYN_DURATION_INFINITE or >= 0",
		    "");
	}
	if (bound_here != NULL) {
		return sni_error_set(
		    SYN_EBUSY, "this thread has a canceller bound already", "");
	}
	if (sni_actor_self() != NULL || sni_task_lent() != NULL ||
	    sni_pool_job_actor() != NULL) {
		return sni_error_set(SYN_ESTATE,
		    "a canceller binds to a thread of the caller's own: a "
		    "synchronizer's thread or a blocking job is shared by "
		    "many tasks (a task awaits with syn_await_timeout)",
		    "");
	}
	pthread_mutex_lock(&c->lock);
	bool busy = c->bound;
	if (!busy) {
		c->bound       = true;
		c->cancelled   = false;
		c->deadline_ns = sni_deadline_ms(timeout);
	}
	pthread_mutex_unlock(&c->lock);
	if (busy) {
		return sni_error_set(
		    SYN_EBUSY, "the canceller is bound to another thread", "");
	}
	bound_here = c;
	return 0;
}

int
syn_canceller_unbind(syn_canceller *c)
{
	if (c == NULL) {
		return sni_error_set(SYN_EINVAL, "canceller is NULL", "");
	}
	if (bound_here != c) {
		return sni_error_set(SYN_ESTATE,
		    "the canceller is not bound to this thread", "");
	}
	pthread_mutex_lock(&c->lock);
	c->bound    = false;
	bool orphan = c->orphan;
	pthread_mutex_unlock(&c->lock);
	bound_here = NULL;
	if (orphan) { /* freed while bound */
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	return 0;
}

int
syn_canceller_cancel(syn_canceller *c)
{
	if (c == NULL) {
		return sni_error_set(SYN_EINVAL, "canceller is NULL", "");
	}
	pthread_mutex_lock(&c->lock);
	c->cancelled = true;
	if (c->waiting != NULL) { /* alive: its waiter clears it first */
		syn_future_cancel(c->waiting);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

bool
syn_canceller_cancelled(syn_canceller *c)
{
	if (c == NULL) {
		return false;
	}
	pthread_mutex_lock(&c->lock);
	bool cancelled = c->cancelled;
	pthread_mutex_unlock(&c->lock);
	return cancelled;
}

/* ---- the wait --------------------------------------------------------- */

void
sni_blocking_report(const char *what)
{
	sni_actor *self = sni_actor_self();
	if (self != NULL && self->on_blocking != NULL) {
		self->on_blocking((syn_synchronizer) { self->id },
		    what != NULL ? what : "", self->on_blocking_arg);
	}
}

/* Shows f to c's cancel: false when c is cancelled already. */
static bool
watch(syn_canceller *c, syn_future *f, uint64_t *deadline_ns)
{
	pthread_mutex_lock(&c->lock);
	bool go = !c->cancelled;
	if (go) {
		c->waiting = f;
	}
	if (c->deadline_ns < *deadline_ns) {
		*deadline_ns = c->deadline_ns;
	}
	pthread_mutex_unlock(&c->lock);
	return go;
}

static void
unwatch(syn_canceller *c)
{
	pthread_mutex_lock(&c->lock);
	c->waiting = NULL;
	pthread_mutex_unlock(&c->lock);
}

int
sni_cancel_check(void)
{
	syn_canceller *c = shielded ? NULL : bound_here;
	if (c == NULL) {
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	int rc = c->cancelled                ? SYN_ECANCELED
	    : sni_now_ns() >= c->deadline_ns ? SYN_ETIMEDOUT
	                                     : 0;
	pthread_mutex_unlock(&c->lock);
	if (rc != 0) {
		sni_error_set(rc,
		    rc == SYN_ECANCELED
		        ? "the thread's canceller was cancelled: the call "
		          "was not made"
		        : "the thread's canceller's deadline passed: the "
		          "call was not made",
		    "");
	}
	return rc;
}

int
sni_call_wait(syn_future *f, uint64_t deadline_ns, const char *what)
{
	sni_blocking_report(what); /* (done already or not: timing's luck) */
	syn_canceller *c = shielded ? NULL : bound_here;
	if (c != NULL && !watch(c, f, &deadline_ns)) {
		syn_future_cancel(f); /* cancelled before: sticky */
	}
	int rc = sni_future_wait_until(f, deadline_ns);
	if (rc == SYN_ETIMEDOUT) {
		syn_future_cancel(f);
		int done = sni_future_wait_until(f, UINT64_MAX);
		rc       = done == SYN_EFORK ? done : rc;
	}
	if (c != NULL) {
		unwatch(c);
	}
	return rc;
}
