/*
 * core/stack.h: task stacks, reserved with mmap behind a guard page and
 * kept in a per-synchronizer pool, so that starting a task allocates
 * nothing in the steady state. Only the pages a task touches use memory.
 *
 * A pool belongs to one synchronizer and is used only by its thread.
 */
#ifndef SNI_STACK_H
#define SNI_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

/*
 * A stack. The descriptor itself lives in the top bytes of the mapping;
 * the usable stack is [lo, (char *) stack) and grows down from there.
 */
typedef struct sni_stack sni_stack;
struct sni_stack {
	sni_stack *next; /* in the pool's free list */
	void      *map;  /* the mapping, guard page first */
	size_t     map_size;
	void      *lo;  /* lowest usable address, just above the guard */
	sni_ctx    ctx; /* the context that runs on this stack */
	unsigned   valgrind_id; /* its registration, under valgrind */
};

typedef struct sni_stack_pool {
	sni_stack *free;
	uint32_t   nfree;
	size_t     size; /* usable bytes per stack, descriptor included */
	size_t     live; /* stacks handed out */
} sni_stack_pool;

/* Stacks kept warm as they are; more free ones release their pages. */
#define SNI_STACKS_WARM 16
#define SNI_STACKS_POOLED 64

/* The guard below each stack (a whole number of pages): no memory and,
 * with MADV_GUARD_INSTALL, no mapping of its own; address space only. */
#define SNI_STACK_GUARD (64 * 1024)

/* Below this stack size the loop keeps the thread's own stack (and every
 * task gets a stack of its own). */
#define SNI_LOOP_STACK_MIN (64 * 1024)

/* Prepares an empty pool of stacks of size usable bytes (page-rounded). */
void sni_stack_pool_init(sni_stack_pool *p, size_t size);

/* Unmaps every pooled stack; none may be out. */
void sni_stack_pool_fini(sni_stack_pool *p);

/* Takes a stack from the pool or maps a new one. SYN_ENOMEM. */
int sni_stack_get(sni_stack_pool *p, sni_stack **sp);

/* Gives s back; the pool keeps it (its deep pages released) or unmaps it. */
void sni_stack_put(sni_stack_pool *p, sni_stack *s);

/*
 * How guard pages are made here: "madvise" (MADV_GUARD_INSTALL, Linux 6.13
 * and later: no extra mapping per stack) or "mprotect" (older kernels: two
 * mappings per stack, so vm.max_map_count / 2 stacks at most).
 */
const char *sni_stack_guard_kind(void);

#endif /* SNI_STACK_H */
