/*
 * core/nngclose.c: closing an nng socket with a bound on the wait (see
 * nngclose.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "nngclose.h"

typedef struct closer {
	nng_socket      sock;
	pthread_mutex_t lock;
	pthread_cond_t  cond;
	bool            done;      /* nng_close returned */
	bool            abandoned; /* the caller stopped waiting */
	void (*late)(void *);
	void *keep;
} closer;

static void
closer_free(closer *c)
{
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void *
closer_main(void *arg)
{
	closer *c = arg;
	nng_close(c->sock);
	pthread_mutex_lock(&c->lock);
	c->done        = true;
	bool abandoned = c->abandoned;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (abandoned) { /* nobody waits: what was kept is ours to free */
		if (c->late != NULL) {
			c->late(c->keep);
		}
		closer_free(c);
	}
	return NULL;
}

bool
sni_close_bounded(
    nng_socket s, int32_t ms, void (*late)(void *keep), void *keep)
{
	closer   *c = calloc(1, sizeof(*c));
	pthread_t th;
	if (c == NULL) {
		nng_close(s);
		return true;
	}
	c->sock = s;
	c->late = late;
	c->keep = keep;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&th, NULL, closer_main, c) != 0) {
		closer_free(c);
		nng_close(s);
		return true;
	}
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long) (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->done &&
	    pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0) { }
	bool done    = c->done;
	c->abandoned = !done;
	pthread_mutex_unlock(&c->lock);
	if (done) {
		pthread_join(th, NULL);
		closer_free(c);
	} else {
		pthread_detach(th); /* it frees c and keep, if ever */
	}
	return done;
}
