/*
 * core/spinlock.h: a one-word lock for the short critical sections of a
 * future. It yields the CPU when the holder does not let go quickly.
 */
#ifndef SNI_SPINLOCK_H
#define SNI_SPINLOCK_H

#include <sched.h>
#include <stdatomic.h>

#include "clock.h"

typedef struct sni_spinlock {
	atomic_flag f;
} sni_spinlock;

#define SNI_SPINLOCK_INIT        \
	{                        \
		ATOMIC_FLAG_INIT \
	}

static inline void
sni_spin_lock(sni_spinlock *l)
{
	unsigned n = 0;
	while (atomic_flag_test_and_set_explicit(&l->f, memory_order_acquire)) {
		if (++n < 64) {
			sni_cpu_relax();
		} else {
			sched_yield();
		}
	}
}

static inline void
sni_spin_unlock(sni_spinlock *l)
{
	atomic_flag_clear_explicit(&l->f, memory_order_release);
}

#endif /* SNI_SPINLOCK_H */
