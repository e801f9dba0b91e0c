/*
 * core/admission.c: which connections a door serves (see admission.h).
 */
#include <string.h>

#include "admission.h"
#include "proto/proto.h"

void
sni_admission_init(sni_admission *ad)
{
	memset(ad, 0, sizeof(*ad));
	pthread_mutex_init(&ad->mu, NULL);
}

void
sni_admission_fini(sni_admission *ad)
{
	sni_ptrmap_fini(&ad->of_host);
	pthread_mutex_destroy(&ad->mu);
}

/* The smaller of what was asked (0: nothing) and ask (0: nothing). */
static void
ask_smaller(_Atomic uint32_t *limit, uint32_t ask)
{
	uint32_t was = atomic_load(limit);
	while (ask != 0 && (was == 0 || ask < was) &&
	    !atomic_compare_exchange_weak(limit, &was, ask)) { }
}

void
sni_admission_limit(sni_admission *ad, uint32_t max, uint32_t max_per_host)
{
	ask_smaller(&ad->max, max);
	ask_smaller(&ad->max_per_host, max_per_host);
}

void
sni_admission_asked(sni_admission *ad, uint32_t *max, uint32_t *max_per_host)
{
	*max          = atomic_load(&ad->max);
	*max_per_host = atomic_load(&ad->max_per_host);
}

void
sni_admission_restore(sni_admission *ad, uint32_t max, uint32_t max_per_host)
{
	atomic_store(&ad->max, max);
	atomic_store(&ad->max_per_host, max_per_host);
}

uint32_t
sni_admission_max(sni_admission *ad)
{
	uint32_t max = atomic_load(&ad->max);
	return max != 0 ? max : SNI_CONNECTIONS_MAX;
}

uint32_t
sni_admission_max_per_host(sni_admission *ad)
{
	uint32_t max = atomic_load(&ad->max_per_host);
	return max != 0 ? max : SNI_HOST_CONNECTIONS_MAX;
}

/* A host's key, never 0: mixed with the process's nonce (splitmix64's
 * finalizer), so that a peer cannot pick addresses whose keys meet. */
static uint32_t
host_key(uint64_t family, uint64_t addr)
{
	uint64_t z =
	    sni_process_nonce() + addr * UINT64_C(0x9e3779b97f4a7c15) + family;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	uint32_t key = (uint32_t) (z ^ (z >> 32));
	return key != 0 ? key : 1;
}

/* The host p's peer is on (0: of this machine, by inproc:// or ipc://,
 * or not known): its IPv4 address, or its IPv6 address's /64 (an
 * IPv4-mapped one is its IPv4 address). */
static uint32_t
host_of(nng_pipe p)
{
	nng_sockaddr sa;
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0) {
		return 0;
	}
	if (sa.s_family == NNG_AF_INET) {
		return host_key(4, sa.s_in.sa_addr);
	}
	if (sa.s_family != NNG_AF_INET6) {
		return 0;
	}
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	const uint8_t       *a          = sa.s_in6.sa_addr;
	uint64_t             v          = 0;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		uint32_t v4;
		memcpy(&v4, a + 12, sizeof(v4)); /* (as nng keeps IPv4's) */
		return host_key(4, v4);
	}
	memcpy(&v, a, sizeof(v));
	return host_key(6, v);
}

sni_admitted
sni_admission_admit(sni_admission *ad, nng_pipe p)
{
	uint32_t     max      = sni_admission_max(ad);
	uint32_t     per_host = sni_admission_max_per_host(ad);
	sni_admitted what     = { SNI_ADMIT_SERVED, host_of(p) };
	pthread_mutex_lock(&ad->mu);
	if (ad->served >= max) {
		what.how = SNI_ADMIT_TOO_MANY;
	} else if (what.host != 0 &&
	    sni_count_of(&ad->of_host, what.host) >= per_host) {
		what.how = SNI_ADMIT_HOST_FULL;
	} else if (what.host != 0 &&
	    sni_count_add(&ad->of_host, what.host, true) != 0) {
		what.how = SNI_ADMIT_CLOSED; /* no memory to count it */
	}
	if (what.how == SNI_ADMIT_SERVED) {
		ad->served++;
	} else if (what.how != SNI_ADMIT_CLOSED &&
	    ad->refusing < SNI_REFUSING_MAX) {
		ad->refusing++;
	} else {
		what.how = SNI_ADMIT_CLOSED;
	}
	pthread_mutex_unlock(&ad->mu);
	return what;
}

void
sni_admission_gone(sni_admission *ad, sni_admitted what)
{
	pthread_mutex_lock(&ad->mu);
	if (what.how == SNI_ADMIT_SERVED) {
		ad->served--;
		if (what.host != 0) {
			sni_count_add(&ad->of_host, what.host, false);
		}
	} else if (what.how != SNI_ADMIT_CLOSED) {
		ad->refusing--;
	}
	pthread_mutex_unlock(&ad->mu);
}

/* nng thread: a refused connection's time is up, or it went before
 * (its aio was stopped): closing a pipe that went returns NNG_ENOENT,
 * and nng numbers 2^31 pipes before it takes an id again. */
static void
refusal_expired(void *arg)
{
	nng_pipe_close((nng_pipe) { .id = (uint32_t) (uintptr_t) arg });
}

nng_aio *
sni_admission_expiry(uint32_t pipe)
{
	nng_aio *aio;
	if (nng_aio_alloc(&aio, refusal_expired, (void *) (uintptr_t) pipe) !=
	    0) {
		return NULL;
	}
	nng_sleep_aio(SNI_REFUSING_MS, aio);
	return aio;
}
