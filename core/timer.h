/*
 * core/timer.h: an actor's timers, a binary min-heap of deadlines. Timers
 * are embedded in what they wake (a task), so arming one allocates only
 * when the heap's array grows. One actor thread uses a heap.
 */
#ifndef SNI_TIMER_H
#define SNI_TIMER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sni_timer {
	uint64_t deadline; /* monotonic ns */
	uint32_t index; /* position in the heap; SNI_TIMER_IDLE when unarmed */
} sni_timer;

#define SNI_TIMER_IDLE UINT32_MAX

typedef struct sni_timer_heap {
	sni_timer **items;
	uint32_t    len;
	uint32_t    cap;
} sni_timer_heap;

void sni_timer_heap_init(sni_timer_heap *h);
void sni_timer_heap_fini(sni_timer_heap *h);

/* Marks t unarmed; call once before its first use. */
static inline void
sni_timer_init(sni_timer *t)
{
	t->index = SNI_TIMER_IDLE;
}

static inline bool
sni_timer_armed(const sni_timer *t)
{
	return t->index != SNI_TIMER_IDLE;
}

/* Arms t for deadline (ns). t must be unarmed. SYN_ENOMEM. */
int sni_timer_arm(sni_timer_heap *h, sni_timer *t, uint64_t deadline);

/* Disarms t if armed. */
void sni_timer_cancel(sni_timer_heap *h, sni_timer *t);

/* The earliest armed timer whose deadline is <= now, removed; or NULL. */
sni_timer *sni_timer_pop_due(sni_timer_heap *h, uint64_t now);

/* The earliest deadline, or UINT64_MAX when nothing is armed. */
static inline uint64_t
sni_timer_next(const sni_timer_heap *h)
{
	return h->len > 0 ? h->items[0]->deadline : UINT64_MAX;
}

#endif /* SNI_TIMER_H */
