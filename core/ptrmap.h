/*
 * core/ptrmap.h: a hash map from pointers to pointers (open addressing,
 * linear probing), for tables that one thread owns, such as an actor's
 * aios. Keys are never 0 or 1 (the markers of empty and deleted slots).
 */
#ifndef SNI_PTRMAP_H
#define SNI_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sni_ptrmap {
	uintptr_t *keys;
	void     **vals;
	size_t     cap;  /* a power of two, or 0 */
	size_t     used; /* live keys and tombstones */
	size_t     len;  /* live keys */
} sni_ptrmap;

/* An empty map: all zeros. */
#define SNI_PTRMAP_INIT             \
	{                           \
		NULL, NULL, 0, 0, 0 \
	}

/* Maps key to val, replacing any old value. 0, SYN_ENOMEM, or SYN_EINVAL
 * for key 0 or 1 (which get and del never find). */
int sni_ptrmap_put(sni_ptrmap *m, const void *key, void *val);

/* The value of key, or NULL. */
void *sni_ptrmap_get(const sni_ptrmap *m, const void *key);

/* Removes key; returns its value, or NULL. */
void *sni_ptrmap_del(sni_ptrmap *m, const void *key);

/*
 * Iterates: the value of the first live slot at or after *i, moving *i
 * past it; NULL at the end. Start with *i = 0; do not change the map
 * meanwhile.
 */
void *sni_ptrmap_next(const sni_ptrmap *m, size_t *i);

/*
 * Counts kept in a map by a 32-bit id (a peer's pipe: what it holds open
 * of some kind): the count of id (0 when none), and one more (0, or
 * SYN_ENOMEM and nothing counted) or one less (never fails when id had
 * one).
 */
uint32_t sni_count_of(const sni_ptrmap *m, uint32_t id);
int      sni_count_add(sni_ptrmap *m, uint32_t id, bool more);

/* As sni_count_add, by delta: a rise may fail (SYN_ENOMEM, nothing
 * counted) only for an id with no count yet; a fall never fails. */
int sni_count_change(sni_ptrmap *m, uint32_t id, int32_t delta);

/* Frees the map's arrays (not the values). */
void sni_ptrmap_fini(sni_ptrmap *m);

#endif /* SNI_PTRMAP_H */
