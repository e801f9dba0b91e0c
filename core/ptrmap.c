/*
 * core/ptrmap.c: pointer-keyed open-addressing hash map.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <synchronicity/error.h>

#include "ptrmap.h"

#define EMPTY ((uintptr_t) 0)
#define TOMB ((uintptr_t) 1)

static size_t
slot_for(uintptr_t key, size_t cap)
{
	uint64_t h = (uint64_t) key * 0x9e3779b97f4a7c15ull;
	return (size_t) (h >> 32) & (cap - 1);
}

/* The slot holding key, or the first free slot where it would go. */
static size_t
probe(const sni_ptrmap *m, uintptr_t key, int *found)
{
	size_t i     = slot_for(key, m->cap);
	size_t avail = SIZE_MAX;
	for (;; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*found = 1;
			return i;
		}
		if (m->keys[i] == TOMB && avail == SIZE_MAX) {
			avail = i;
		}
		if (m->keys[i] == EMPTY) {
			*found = 0;
			return avail != SIZE_MAX ? avail : i;
		}
	}
}

static int
rehash(sni_ptrmap *m, size_t cap)
{
	sni_ptrmap n = { calloc(cap, sizeof(uintptr_t)),
		calloc(cap, sizeof(void *)), cap, 0, 0 };
	if (n.keys == NULL || n.vals == NULL) {
		free(n.keys);
		free(n.vals);
		return SYN_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] > TOMB) {
			int    found;
			size_t j  = probe(&n, m->keys[i], &found);
			n.keys[j] = m->keys[i];
			n.vals[j] = m->vals[i];
			n.used++;
			n.len++;
		}
	}
	sni_ptrmap_fini(m);
	*m = n;
	return 0;
}

/* Keys 0 and 1 are the slots' markers: never a key. Tables keyed by
 * numbers a peer sends (ids plus an offset may wrap to them) rely on
 * this: such a key is in no map. */
static bool
marker(const void *key)
{
	return (uintptr_t) key <= TOMB;
}

int
sni_ptrmap_put(sni_ptrmap *m, const void *key, void *val)
{
	if (marker(key)) {
		return SYN_EINVAL;
	}
	if ((m->used + 1) * 4 >= m->cap * 3) {
		size_t cap = m->cap < 16
		    ? 16
		    : (m->len * 2 >= m->cap ? m->cap * 2 : m->cap);
		int    rc  = rehash(m, cap);
		if (rc != 0) {
			return rc;
		}
	}
	int    found;
	size_t i = probe(m, (uintptr_t) key, &found);
	if (!found) {
		if (m->keys[i] == EMPTY) {
			m->used++;
		}
		m->len++;
		m->keys[i] = (uintptr_t) key;
	}
	m->vals[i] = val;
	return 0;
}

void *
sni_ptrmap_get(const sni_ptrmap *m, const void *key)
{
	int found;
	if (m->cap == 0 || marker(key)) {
		return NULL;
	}
	size_t i = probe(m, (uintptr_t) key, &found);
	return found ? m->vals[i] : NULL;
}

void *
sni_ptrmap_del(sni_ptrmap *m, const void *key)
{
	int found;
	if (m->cap == 0 || marker(key)) {
		return NULL;
	}
	size_t i = probe(m, (uintptr_t) key, &found);
	if (!found) {
		return NULL;
	}
	void *val  = m->vals[i];
	m->keys[i] = TOMB;
	m->vals[i] = NULL;
	m->len--;
	return val;
}

void
sni_ptrmap_fini(sni_ptrmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap  = 0;
	m->used = 0;
	m->len  = 0;
}

void *
sni_ptrmap_next(const sni_ptrmap *m, size_t *i)
{
	for (; *i < m->cap; (*i)++) {
		if (m->keys[*i] != EMPTY && m->keys[*i] != TOMB) {
			return m->vals[(*i)++];
		}
	}
	return NULL;
}

/* (never 0 or 1, the slots' markers) */
static const void *
count_key(uint32_t id)
{
	return (const void *) (uintptr_t) ((uint64_t) id + 2);
}

uint32_t
sni_count_of(const sni_ptrmap *m, uint32_t id)
{
	return (uint32_t) (uintptr_t) sni_ptrmap_get(m, count_key(id));
}

int
sni_count_add(sni_ptrmap *m, uint32_t id, bool more)
{
	return sni_count_change(m, id, more ? 1 : -1);
}

int
sni_count_change(sni_ptrmap *m, uint32_t id, int32_t delta)
{
	uint32_t n = sni_count_of(m, id);
	if (delta < 0 && n <= (uint32_t) - (int64_t) delta) {
		sni_ptrmap_del(m, count_key(id));
		return 0;
	}
	if (n == 0) { /* a new key: the map may have to grow */
		return delta > 0 ? sni_ptrmap_put(m, count_key(id),
		                       (void *) (uintptr_t) (uint32_t) delta)
		                 : 0;
	}
	int    found; /* (it is there: changed in place, nothing can fail) */
	size_t i   = probe(m, (uintptr_t) count_key(id), &found);
	m->vals[i] = (void *) (uintptr_t) (uint32_t) (n + (uint32_t) delta);
	return 0;
}
