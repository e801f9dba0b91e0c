/*
 * core/stack.c: mmap'd task stacks with guard pages, and their pool.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include <synchronicity/error.h>

#include "sanitize.h"
#include "stack.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

/* 0: not tried yet, 1: madvise guards work, 2: mprotect needed. */
static atomic_int guard_kind;

static size_t
page_size(void)
{
	static atomic_size_t ps; /* (any thread making a pool asks) */
	size_t n = atomic_load_explicit(&ps, memory_order_relaxed);
	if (n == 0) {
		n = (size_t) sysconf(_SC_PAGESIZE);
		atomic_store_explicit(&ps, n, memory_order_relaxed);
	}
	return n;
}

/* The guard's size: a frame smaller than this that runs past the end of
 * its stack faults on the guard instead of writing into the next stack
 * down (a page would stop only frames of less than a page). */
static size_t
guard_size(void)
{
	size_t ps = page_size();
	return SNI_STACK_GUARD > ps ? SNI_STACK_GUARD / ps * ps : ps;
}

static int
install_guard(void *lo)
{
	int kind = atomic_load(&guard_kind);
	if (kind != 2) {
		if (madvise(lo, guard_size(), MADV_GUARD_INSTALL) == 0) {
			atomic_store(&guard_kind, 1);
			return 0;
		}
		if (errno != EINVAL) {
			return SYN_ESYSERR | errno;
		}
		atomic_store(&guard_kind, 2);
	}
	if (mprotect(lo, guard_size(), PROT_NONE) != 0) {
		return SYN_ESYSERR | errno;
	}
	return 0;
}

const char *
sni_stack_guard_kind(void)
{
	return atomic_load(&guard_kind) == 2 ? "mprotect" : "madvise";
}

void
sni_stack_pool_init(sni_stack_pool *p, size_t size)
{
	size_t ps = page_size();
	p->free   = NULL;
	p->nfree  = 0;
	p->size   = (size + ps - 1) / ps * ps;
	p->live   = 0;
}

/*
 * Under valgrind, each stack is registered as one: without it, a switch
 * between stacks that lie close together looks like a big frame, and
 * valgrind reports the next task's first writes to its own stack as
 * invalid. The requests cost a few instructions outside valgrind; a build
 * without valgrind's header makes none.
 */
#ifdef SNI_VALGRIND
#define STACK_REGISTER(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#define STACK_DEREGISTER(id) VALGRIND_STACK_DEREGISTER(id)
#else
#define STACK_REGISTER(lo, hi) 0u
#define STACK_DEREGISTER(id) ((void) (id))
#endif

static int
stack_map(sni_stack_pool *p, sni_stack **sp)
{
	size_t guard = guard_size();
	size_t size  = p->size + guard;
	void  *map   = mmap(NULL, size, PROT_READ | PROT_WRITE,
	       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED) {
		return errno == ENOMEM ? SYN_ENOMEM : (SYN_ESYSERR | errno);
	}
	int rc = install_guard(map);
	if (rc != 0) {
		munmap(map, size);
		return rc;
	}
	sni_stack *s   = (sni_stack *) ((char *) map + size) - 1;
	s->next        = NULL;
	s->map         = map;
	s->map_size    = size;
	s->lo          = (char *) map + guard;
	s->valgrind_id = (unsigned) STACK_REGISTER(s->lo, (char *) map + size);
	sni_ctx_fiber_create(&s->ctx);
	*sp = s;
	return 0;
}

static void
stack_unmap(sni_stack *s)
{
	sni_ctx_fiber_destroy(&s->ctx);
	STACK_DEREGISTER(s->valgrind_id);
	/* (frames never left keep AddressSanitizer's marks on the stack,
	 * which would stay on whatever is mapped there next) */
	sni_ctx_unpoison(s->lo, (size_t) ((char *) s - (char *) s->lo));
	munmap(s->map, s->map_size);
}

int
sni_stack_get(sni_stack_pool *p, sni_stack **sp)
{
	if (p->free != NULL) {
		*sp     = p->free;
		p->free = (*sp)->next;
		p->nfree--;
		p->live++;
		return 0;
	}
	int rc = stack_map(p, sp);
	if (rc == 0) {
		p->live++;
	}
	return rc;
}

/* Releases the memory of every page of s but the top one. */
static void
release_deep_pages(sni_stack *s)
{
	size_t ps  = page_size();
	char  *top = (char *) ((uintptr_t) s & ~(uintptr_t) (ps - 1));
	if (top > (char *) s->lo) {
		madvise(s->lo, (size_t) (top - (char *) s->lo), MADV_DONTNEED);
	}
}

void
sni_stack_put(sni_stack_pool *p, sni_stack *s)
{
	p->live--;
	if (p->nfree >= SNI_STACKS_POOLED) {
		stack_unmap(s);
		return;
	}
	if (p->nfree >= SNI_STACKS_WARM) {
		release_deep_pages(s);
	}
	s->next = p->free;
	p->free = s;
	p->nfree++;
}

void
sni_stack_pool_fini(sni_stack_pool *p)
{
	while (p->free != NULL) {
		sni_stack *s = p->free;
		p->free      = s->next;
		stack_unmap(s);
	}
	p->nfree = 0;
}
