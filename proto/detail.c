/*
 * proto/detail.c: the thread-local detail of the last proto error, and the
 * process nonce that keeps pointer values inside their process.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static _Thread_local char detail[256];
static uint64_t           nonce;

void
sni_detail_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

void
sni_detail_put(const char *text)
{
	size_t n = strlen(text);
	n        = n < sizeof(detail) - 1 ? n : sizeof(detail) - 1;
	memcpy(detail, text, n);
	detail[n] = '\0';
}

const char *
sni_detail_get(void)
{
	return detail;
}

void
sni_detail_clear(void)
{
	detail[0] = '\0';
}

static uint64_t
fresh_nonce(void)
{
	uint64_t n = 0;
	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != (ssize_t) sizeof(n)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		n = ((uint64_t) ts.tv_nsec << 32) ^ (uint64_t) ts.tv_sec ^
		    ((uint64_t) getpid() << 16);
	}
	return n | 1; /* never 0 */
}

uint64_t
sni_process_nonce(void)
{
	uint64_t n = __atomic_load_n(&nonce, __ATOMIC_ACQUIRE);
	if (n == 0) {
		uint64_t expect = 0;
		n               = fresh_nonce();
		if (!__atomic_compare_exchange_n(&nonce, &expect, n, false,
		        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			n = expect;
		}
	}
	return n;
}

void
sni_process_nonce_reset(void)
{
	__atomic_store_n(&nonce, fresh_nonce(), __ATOMIC_RELEASE);
}
