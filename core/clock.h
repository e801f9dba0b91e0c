/*
 * core/clock.h: the monotonic clock the runtime schedules by.
 */
#ifndef SNI_CLOCK_H
#define SNI_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on the monotonic clock. Any thread; a vDSO call, no syscall. */
static inline uint64_t
sni_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* A pause for spin loops: tells the CPU this is a busy wait. */
static inline void
sni_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* The deadline timeout ms from now, or UINT64_MAX for a negative timeout. */
static inline uint64_t
sni_deadline_ms(int32_t ms)
{
	if (ms < 0) {
		return UINT64_MAX;
	}
	return sni_now_ns() + (uint64_t) ms * 1000000u;
}

#endif /* SNI_CLOCK_H */
