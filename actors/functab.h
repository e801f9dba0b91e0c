/*
 * actors/functab.h: a synchronizer's registered functions, by name. Owned
 * and used by the synchronizer's thread only.
 */
#ifndef SNI_FUNCTAB_H
#define SNI_FUNCTAB_H

#include <stddef.h>
#include <stdint.h>

#include <synchronicity/function.h>

typedef struct sni_func {
	char        *name; /* NUL-terminated copy */
	uint32_t     len;
	uint32_t     hash;
	syn_func_def def; /* def.name points at name */
} sni_func;

typedef struct sni_functab {
	sni_func **slots; /* open addressing; NULL is empty */
	uint32_t   cap;   /* a power of two, or 0 */
	uint32_t   len;
} sni_functab;

/* Adds a copy of def. Errors: SYN_EEXIST, SYN_ENOMEM. */
int sni_functab_add(sni_functab *t, const syn_func_def *def);

/* The function named name[0..len-1], or NULL. */
const sni_func *sni_functab_find(
    const sni_functab *t, const char *name, size_t len);

/* Frees every entry and the table. */
void sni_functab_fini(sni_functab *t);

#endif /* SNI_FUNCTAB_H */
