/*
 * core/admission.h: which connections a door serves. At most max
 * connections at once, and at most max_per_host from one host (an IPv4
 * address, or an IPv6 address's /64, as a peer can take every address of
 * its /64); inproc:// and ipc:// peers are of this machine and count
 * only towards max.
 *
 * A connection past either is refused: for a second it is kept open and
 * every request on it is answered with SYN_EBUSY, so that its client
 * learns why (instead of a connection that closes at once, which nng's
 * dialer would dial again and again while the client's calls wait);
 * then it is closed. At most SNI_REFUSING_MAX are kept so at once: the
 * ones past that are closed at once.
 *
 * nng's pipe callbacks decide and count (any nng thread, under the
 * admission's mutex); the limits are set by syn_serve() on the actor
 * thread.
 */
#ifndef SNI_ADMISSION_H
#define SNI_ADMISSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <nng/nng.h>

#include "ptrmap.h"

/* The defaults of syn_serve_config's max_connections and
 * max_connections_per_host. */
#define SNI_CONNECTIONS_MAX 1024
#define SNI_HOST_CONNECTIONS_MAX 256

/* Refused connections kept open at once, and for how long. */
#define SNI_REFUSING_MAX 64
#define SNI_REFUSING_MS 1000

/* What becomes of a new connection. */
enum {
	SNI_ADMIT_SERVED,    /* let in */
	SNI_ADMIT_TOO_MANY,  /* refused: max connections are served */
	SNI_ADMIT_HOST_FULL, /* refused: max_per_host from its host are */
	SNI_ADMIT_CLOSED,    /* closed at once: SNI_REFUSING_MAX refused */
};

typedef struct sni_admission {
	pthread_mutex_t  mu;
	uint32_t         served;       /* connections let in, now */
	uint32_t         refusing;     /* refused ones still open */
	sni_ptrmap       of_host;      /* served ones by host key */
	_Atomic uint32_t max;          /* 0: SNI_CONNECTIONS_MAX */
	_Atomic uint32_t max_per_host; /* 0: SNI_HOST_CONNECTIONS_MAX */
} sni_admission;

/* What a connection took, to give back when it goes. */
typedef struct sni_admitted {
	int      how;  /* SNI_ADMIT_... */
	uint32_t host; /* its host key, 0: none (not counted by host) */
} sni_admitted;

/* Sets up ad (all zeros: the defaults) / frees what it holds. */
void sni_admission_init(sni_admission *ad);
void sni_admission_fini(sni_admission *ad);

/*
 * The limits a syn_serve() asks (0: nothing asked): the smallest asked
 * by any applies, from the next connection on (the ones served already
 * stay). Any thread.
 */
void sni_admission_limit(
    sni_admission *ad, uint32_t max, uint32_t max_per_host);

/* What was asked so far (0: nothing), and putting that back (the asks of
 * a syn_serve() that failed). Any thread. */
void sni_admission_asked(
    sni_admission *ad, uint32_t *max, uint32_t *max_per_host);
void sni_admission_restore(
    sni_admission *ad, uint32_t max, uint32_t max_per_host);

/* The limits that apply now. */
uint32_t sni_admission_max(sni_admission *ad);
uint32_t sni_admission_max_per_host(sni_admission *ad);

/*
 * nng thread, in the door's NNG_PIPE_EV_ADD_PRE callback: what becomes
 * of p, counted until sni_admission_gone (not for SNI_ADMIT_CLOSED,
 * which counts nothing).
 */
sni_admitted sni_admission_admit(sni_admission *ad, nng_pipe p);

/* nng thread: a connection that sni_admission_admit counted went. */
void sni_admission_gone(sni_admission *ad, sni_admitted what);

/*
 * For a refused connection: an aio that closes pipe once
 * SNI_REFUSING_MS have passed (NULL without memory: the caller closes it
 * at once). Its owner frees it when the pipe goes, with nng_aio_reap
 * (on an nng thread) or nng_aio_free.
 */
nng_aio *sni_admission_expiry(uint32_t pipe);

#endif /* SNI_ADMISSION_H */
