/*
 * core/nngclose.c: nng calls that can block for ever, run with a bound
 * on the wait (see nngclose.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "nngclose.h"

struct sni_bounded {
	int (*fn)(void *);
	void *arg;
	void (*late)(void *);
	void           *keep;
	pthread_t       thread;
	pthread_mutex_t lock;
	pthread_cond_t  cond;
	bool            done;      /* fn returned */
	bool            abandoned; /* the caller let go first */
	int             rc;
};

static void
bounded_free(sni_bounded *b)
{
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void *
bounded_main(void *arg)
{
	sni_bounded *b  = arg;
	int          rc = b->fn(b->arg);
	pthread_mutex_lock(&b->lock);
	b->rc          = rc;
	b->done        = true;
	bool abandoned = b->abandoned;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	if (abandoned) { /* nobody waits: what was kept is ours to free */
		if (b->late != NULL) {
			b->late(b->keep);
		}
		bounded_free(b);
	}
	return NULL;
}

sni_bounded *
sni_bounded_start(
    int (*fn)(void *arg), void *arg, void (*late)(void *keep), void *keep)
{
	sni_bounded *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return NULL;
	}
	*b = (sni_bounded) { .fn = fn, .arg = arg, .late = late, .keep = keep };
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&b->thread, NULL, bounded_main, b) != 0) {
		bounded_free(b);
		return NULL;
	}
	return b;
}

bool
sni_bounded_wait(sni_bounded *b, int32_t ms, int *rc)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	while (!b->done &&
	    pthread_cond_timedwait(&b->cond, &b->lock, &until) == 0) { }
	bool done = b->done;
	*rc       = b->rc;
	pthread_mutex_unlock(&b->lock);
	return done;
}

void
sni_bounded_end(sni_bounded *b)
{
	pthread_mutex_lock(&b->lock);
	bool done    = b->done;
	b->abandoned = !done;
	pthread_mutex_unlock(&b->lock);
	if (done) {
		pthread_join(b->thread, NULL);
		bounded_free(b);
	} else {
		pthread_detach(b->thread); /* it frees b and keep, if ever */
	}
}

/* (the socket travels as its id, in the pointer: nothing to free) */
static int
close_socket(void *arg)
{
	nng_socket s = { .id = (uint32_t) (uintptr_t) arg };
	return nng_close(s);
}

bool
sni_close_bounded(
    nng_socket s, int32_t ms, void (*late)(void *keep), void *keep)
{
	sni_bounded *b = sni_bounded_start(
	    close_socket, (void *) (uintptr_t) s.id, late, keep);
	if (b == NULL) { /* no thread: close here, unbounded */
		nng_close(s);
		return true;
	}
	int  rc;
	bool done = sni_bounded_wait(b, ms, &rc);
	sni_bounded_end(b);
	return done;
}
