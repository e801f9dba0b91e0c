/*
 * core/registry.c: ids to actors, with lock-free pinning.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <synchronicity/error.h>

#include "registry.h"

#define INDEX_BITS 20
#define INDEX_MASK ((1u << INDEX_BITS) - 1)
#define GEN_MASK 0xfffu
#define CHUNK 1024u
#define NCHUNKS ((1u << INDEX_BITS) / CHUNK)

/* The slot word: pins in the low 32 bits, then flags, then generation. */
#define PINS_MASK 0xffffffffull
#define LIVE (1ull << 32)
#define CLOSING (1ull << 33)
#define FORKED (1ull << 34)
#define SEALED (1ull << 35)
#define GEN_SHIFT 40

typedef struct slot {
	_Atomic uint64_t     word;
	_Atomic(sni_actor *) actor;
} slot;

static _Atomic(slot *) chunks[NCHUNKS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t        next_index = 1; /* index 0 is never used: id 0 */

static uint32_t
gen_of(uint64_t word)
{
	return (uint32_t) (word >> GEN_SHIFT) & GEN_MASK;
}

static slot *
find_slot(uint32_t index, bool create)
{
	slot *c =
	    atomic_load_explicit(&chunks[index / CHUNK], memory_order_acquire);
	if (c == NULL && create) {
		c = calloc(CHUNK, sizeof(slot));
		if (c == NULL) {
			return NULL;
		}
		atomic_store_explicit(
		    &chunks[index / CHUNK], c, memory_order_release);
	}
	return c != NULL ? &c[index % CHUNK] : NULL;
}

/* Under table_lock: the next free slot, round robin. */
static slot *
claim_slot(uint32_t *index)
{
	for (uint32_t tries = 0; tries < INDEX_MASK; tries++) {
		uint32_t i = next_index;
		next_index = next_index == INDEX_MASK ? 1 : next_index + 1;
		slot *s    = find_slot(i, true);
		if (s == NULL) {
			return NULL;
		}
		if ((atomic_load(&s->word) & LIVE) == 0) {
			*index = i;
			return s;
		}
	}
	return NULL;
}

int
sni_registry_add(sni_actor *a, uint32_t *idp)
{
	uint32_t index;
	pthread_mutex_lock(&table_lock);
	slot *s = claim_slot(&index);
	if (s == NULL) {
		pthread_mutex_unlock(&table_lock);
		return SYN_ENOMEM;
	}
	uint64_t gen = ((atomic_load(&s->word) >> GEN_SHIFT) + 1) & GEN_MASK;
	atomic_store(&s->actor, a);
	atomic_store(&s->word, (gen << GEN_SHIFT) | LIVE);
	pthread_mutex_unlock(&table_lock);
	*idp = ((uint32_t) gen << INDEX_BITS) | index;
	return 0;
}

static slot *
slot_of(uint32_t id)
{
	if ((id & INDEX_MASK) == 0) {
		return NULL;
	}
	return find_slot(id & INDEX_MASK, false);
}

int
sni_registry_pin(uint32_t id, bool allow_closing, sni_actor **ap)
{
	slot *s = slot_of(id);
	if (s == NULL) {
		return SYN_ECLOSED;
	}
	uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
	do {
		if ((w & LIVE) == 0 || gen_of(w) != (id >> INDEX_BITS)) {
			return SYN_ECLOSED;
		}
		if (w & FORKED) {
			return SYN_EFORK;
		}
		if ((w & SEALED) || ((w & CLOSING) && !allow_closing)) {
			return SYN_ECLOSED;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &s->word, &w, w + 1, memory_order_acquire, memory_order_relaxed));
	*ap = atomic_load_explicit(&s->actor, memory_order_relaxed);
	return 0;
}

void
sni_registry_unpin(uint32_t id)
{
	atomic_fetch_sub_explicit(&slot_of(id)->word, 1, memory_order_release);
}

void
sni_registry_set_closing(uint32_t id)
{
	atomic_fetch_or(&slot_of(id)->word, CLOSING);
}

void
sni_registry_seal(uint32_t id)
{
	atomic_fetch_or(&slot_of(id)->word, SEALED | CLOSING);
}

void
sni_registry_quiesce(uint32_t id)
{
	slot *s = slot_of(id);
	while ((atomic_load_explicit(&s->word, memory_order_acquire) &
	           PINS_MASK) != 0) {
		sched_yield();
	}
}

void
sni_registry_remove(uint32_t id)
{
	slot *s = slot_of(id);
	pthread_mutex_lock(&table_lock);
	uint64_t w = atomic_load(&s->word);
	atomic_store(&s->actor, NULL);
	atomic_store(&s->word, w & ((uint64_t) GEN_MASK << GEN_SHIFT));
	pthread_mutex_unlock(&table_lock);
}

void
sni_registry_forked(void)
{
	/* Single-threaded here: the child has only the forking thread. */
	pthread_mutex_init(&table_lock, NULL);
	for (uint32_t c = 0; c < NCHUNKS; c++) {
		slot *chunk = atomic_load(&chunks[c]);
		for (uint32_t i = 0; chunk != NULL && i < CHUNK; i++) {
			uint64_t w = atomic_load(&chunk[i].word);
			if (w & LIVE) {
				atomic_store(
				    &chunk[i].word, (w & ~PINS_MASK) | FORKED);
			}
		}
	}
}
