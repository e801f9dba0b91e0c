/*
 * core/futex.c: the futex system calls.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "futex.h"

void
sni_futex_wait(_Atomic uint32_t *word, uint32_t expect, uint64_t deadline_ns)
{
	struct timespec  ts;
	struct timespec *tp = NULL;
	if (deadline_ns != UINT64_MAX) {
		uint64_t now = sni_now_ns();
		if (now >= deadline_ns) {
			return;
		}
		uint64_t left = deadline_ns - now;
		ts.tv_sec     = (time_t) (left / 1000000000u);
		ts.tv_nsec    = (long) (left % 1000000000u);
		tp            = &ts;
	}
	syscall(SYS_futex, (uint32_t *) word, FUTEX_WAIT_PRIVATE, expect, tp,
	    NULL, 0);
}

void
sni_futex_wake(_Atomic uint32_t *word, int n)
{
	syscall(
	    SYS_futex, (uint32_t *) word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}
