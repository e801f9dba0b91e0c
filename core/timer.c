/*
 * core/timer.c: the binary min-heap behind an actor's timers.
 */
#include <stdlib.h>

#include <synchronicity/error.h>

#include "timer.h"

void
sni_timer_heap_init(sni_timer_heap *h)
{
	h->items = NULL;
	h->len   = 0;
	h->cap   = 0;
}

void
sni_timer_heap_fini(sni_timer_heap *h)
{
	free(h->items);
	sni_timer_heap_init(h);
}

static void
place(sni_timer_heap *h, uint32_t i, sni_timer *t)
{
	h->items[i] = t;
	t->index    = i;
}

static void
sift_up(sni_timer_heap *h, uint32_t i)
{
	sni_timer *t = h->items[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (h->items[parent]->deadline <= t->deadline) {
			break;
		}
		place(h, i, h->items[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void
sift_down(sni_timer_heap *h, uint32_t i)
{
	sni_timer *t = h->items[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= h->len) {
			break;
		}
		if (c + 1 < h->len &&
		    h->items[c + 1]->deadline < h->items[c]->deadline) {
			c++;
		}
		if (t->deadline <= h->items[c]->deadline) {
			break;
		}
		place(h, i, h->items[c]);
		i = c;
	}
	place(h, i, t);
}

int
sni_timer_arm(sni_timer_heap *h, sni_timer *t, uint64_t deadline)
{
	if (h->len == h->cap) {
		uint32_t    cap   = h->cap ? h->cap * 2 : 64;
		sni_timer **items = realloc(h->items, cap * sizeof(*items));
		if (items == NULL) {
			return SYN_ENOMEM;
		}
		h->items = items;
		h->cap   = cap;
	}
	t->deadline = deadline;
	place(h, h->len++, t);
	sift_up(h, t->index);
	return 0;
}

void
sni_timer_cancel(sni_timer_heap *h, sni_timer *t)
{
	if (!sni_timer_armed(t)) {
		return;
	}
	uint32_t i = t->index;
	t->index   = SNI_TIMER_IDLE;
	if (i == --h->len) {
		return;
	}
	place(h, i, h->items[h->len]);
	sift_down(h, i);
	sift_up(h, h->items[i]->index);
}

sni_timer *
sni_timer_pop_due(sni_timer_heap *h, uint64_t now)
{
	if (h->len == 0 || h->items[0]->deadline > now) {
		return NULL;
	}
	sni_timer *t = h->items[0];
	sni_timer_cancel(h, t);
	return t;
}
