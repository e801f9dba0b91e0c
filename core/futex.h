/*
 * core/futex.h: sleeping on and waking a 32-bit word, the kernel's cheapest
 * way to block a thread (Linux futex, process-private).
 */
#ifndef SNI_FUTEX_H
#define SNI_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * Sleeps while *word == expect, until woken or until the absolute
 * monotonic deadline_ns passes (UINT64_MAX: no deadline). Returns at once
 * when *word differs; may return spuriously. Any thread.
 */
void sni_futex_wait(
    _Atomic uint32_t *word, uint32_t expect, uint64_t deadline_ns);

/* Wakes up to n threads sleeping on word (INT32_MAX: all). Any thread. */
void sni_futex_wake(_Atomic uint32_t *word, int n);

#endif /* SNI_FUTEX_H */
