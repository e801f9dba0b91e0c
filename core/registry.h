/*
 * core/registry.h: the table that turns a synchronizer's id into its
 * actor, so that a stale id is a clean SYN_ECLOSED rather than a use of
 * freed memory (as nng's socket ids).
 *
 * An id is 20 bits of slot index and 12 bits of generation. Each slot has
 * one atomic word: how many threads pin the actor now, and whether it is
 * live, closing, or left over from before a fork. Slots are reused round
 * robin, so an id comes back only after 2^32 creations.
 */
#ifndef SNI_REGISTRY_H
#define SNI_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sni_actor sni_actor;

/* Enters a and sets *idp. SYN_ENOMEM when the table is full. */
int sni_registry_add(sni_actor *a, uint32_t *idp);

/*
 * Pins the actor named id: it cannot be freed until unpinned. Fails with
 * SYN_ECLOSED (no such id, or closing unless allow_closing) or SYN_EFORK
 * (an actor of the parent process). Any thread; lock-free.
 */
int sni_registry_pin(uint32_t id, bool allow_closing, sni_actor **ap);

/* Unpins an actor pinned with sni_registry_pin. */
void sni_registry_unpin(uint32_t id);

/* Marks id closing: later pins (but allow_closing ones) fail. id must be
 * pinned by the caller. */
void sni_registry_set_closing(uint32_t id);

/* Seals id: from now on every pin fails, allow_closing ones too. */
void sni_registry_seal(uint32_t id);

/* Waits until nobody pins id (which must be sealed or closing). */
void sni_registry_quiesce(uint32_t id);

/* Frees the slot of id (closing, quiesced): the id is dead from now on. */
void sni_registry_remove(uint32_t id);

/* In the child after fork: every actor of the parent becomes SYN_EFORK. */
void sni_registry_forked(void);

#endif /* SNI_REGISTRY_H */
