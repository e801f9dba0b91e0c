/*
 * actors/functab.c: the function table, an open-addressing hash table
 * keyed by name (FNV-1a).
 */
#include <stdlib.h>
#include <string.h>

#include "functab.h"
#include "proto/proto.h"

static uint32_t
hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ (uint8_t) s[i]) * 16777619u;
	}
	return h;
}

static uint32_t
find_slot(sni_func *const *slots, uint32_t cap, const char *name, size_t len,
    uint32_t h)
{
	uint32_t i = h & (cap - 1);
	while (slots[i] != NULL &&
	    !(slots[i]->hash == h && slots[i]->len == len &&
	        sni_name_equal(slots[i]->name, name, len))) {
		i = (i + 1) & (cap - 1);
	}
	return i;
}

static int
grow(sni_functab *t)
{
	uint32_t   cap   = t->cap ? t->cap * 2 : 16;
	sni_func **slots = calloc(cap, sizeof(*slots));
	if (slots == NULL) {
		return SYN_ENOMEM;
	}
	for (uint32_t i = 0; i < t->cap; i++) {
		sni_func *f = t->slots[i];
		if (f != NULL) {
			slots[find_slot(slots, cap, f->name, f->len, f->hash)] =
			    f;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->cap   = cap;
	return 0;
}

int
sni_functab_add(sni_functab *t, const syn_func_def *def)
{
	size_t len = strlen(def->name);
	if (sni_functab_find(t, def->name, len) != NULL) {
		return SYN_EEXIST;
	}
	if ((t->len + 1) * 2 > t->cap) {
		int rc = grow(t);
		if (rc != 0) {
			return rc;
		}
	}
	sni_func *f = malloc(sizeof(*f));
	if (f == NULL || (f->name = strdup(def->name)) == NULL) {
		free(f);
		return SYN_ENOMEM;
	}
	f->len      = (uint32_t) len;
	f->hash     = hash_name(def->name, len);
	f->def      = *def;
	f->def.name = f->name;
	t->slots[find_slot(t->slots, t->cap, f->name, len, f->hash)] = f;
	t->len++;
	return 0;
}

const sni_func *
sni_functab_find(const sni_functab *t, const char *name, size_t len)
{
	if (t->cap == 0) {
		return NULL;
	}
	return t->slots[find_slot(
	    t->slots, t->cap, name, len, hash_name(name, len))];
}

void
sni_functab_fini(sni_functab *t)
{
	for (uint32_t i = 0; i < t->cap; i++) {
		if (t->slots[i] != NULL) {
			free(t->slots[i]->name);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	t->slots = NULL;
	t->cap   = 0;
	t->len   = 0;
}
