/*
 * core/ctx.c: the stack switch, with Boost.Context's fcontext or glibc's
 * ucontext, and the sanitizer annotations that must surround every switch
 * (see runtime-notes: without them AddressSanitizer reports false stack
 * overflows and ThreadSanitizer crashes).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <synchronicity/error.h>

#include "ctx.h"
#include "sanitize.h"

#ifdef SNI_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
/* A pooled stack keeps the poison of the frames of its last task: a new
 * task starts on a clean one. */
#define UNPOISON_STACK(lo, size) __asan_unpoison_memory_region(lo, size)
#else
#define UNPOISON_STACK(lo, size) ((void) 0)
#endif

/* valgrind's memcheck likewise marks a stack's memory dead above its
 * last frames: what a new task writes there first is not an error. */
#ifdef SNI_VALGRIND
#define UNDEFINE_STACK(lo, size) VALGRIND_MAKE_MEM_UNDEFINED(lo, size)
#else
#define UNDEFINE_STACK(lo, size) ((void) 0)
#endif

void
sni_ctx_unpoison(void *lo, size_t size)
{
	(void) lo;
	(void) size;
	UNPOISON_STACK(lo, size);
	UNDEFINE_STACK(lo, size);
}

void
sni_ctx_copy_frames(void *dst, void *frames, size_t len)
{
	UNPOISON_STACK(frames, len);
	memcpy(dst, frames, len);
}

#ifdef SNI_ASAN
void __sanitizer_start_switch_fiber(
    void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(
    void *fake_stack_save, const void **bottom_old, size_t *size_old);
#endif

#ifdef SNI_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void  __tsan_destroy_fiber(void *fiber);
void  __tsan_switch_to_fiber(void *fiber, unsigned flags);
#endif

/* Before leaving the running context for to; save is NULL when it ends. */
static inline void
before_switch(sni_ctx *to, void **save)
{
#ifdef SNI_ASAN
	__sanitizer_start_switch_fiber(save, to->stack_lo, to->stack_size);
#else
	(void) save;
#endif
#ifdef SNI_TSAN
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#else
	(void) to;
#endif
}

/* Right after a context is resumed; records the bounds of the one left. */
static inline void
after_switch(void *save, sni_ctx *left)
{
#ifdef SNI_ASAN
	const void *lo;
	size_t      size;
	__sanitizer_finish_switch_fiber(save, &lo, &size);
	if (left != NULL && left->stack_lo == NULL) {
		left->stack_lo   = (void *) lo;
		left->stack_size = size;
	}
#else
	(void) save;
	(void) left;
#endif
}

void
sni_ctx_fiber_create(sni_ctx *c)
{
#ifdef SNI_TSAN
	c->tsan_fiber = __tsan_create_fiber(0);
#else
	c->tsan_fiber = NULL;
#endif
}

void
sni_ctx_fiber_destroy(sni_ctx *c)
{
#ifdef SNI_TSAN
	if (c->tsan_fiber != NULL) {
		__tsan_destroy_fiber(c->tsan_fiber);
	}
#endif
	c->tsan_fiber = NULL;
}

static void
thread_stack_bounds(sni_ctx *c)
{
	pthread_attr_t attr;
	c->stack_lo   = NULL;
	c->stack_size = 0;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &c->stack_lo, &c->stack_size);
		pthread_attr_destroy(&attr);
	}
}

/* What one switch hands to the context it resumes. */
typedef struct handoff {
	sni_ctx *from; /* where the switching context is saved */
	sni_ctx *to;
	void    *data;
} handoff;

/* The handoff of a context that ends: not on its stack, whose frames
 * (AddressSanitizer's fake ones too) are gone once the switch is made,
 * before the context switched to reads it. One switch at a time per
 * thread. */
static _Thread_local handoff exit_handoff;

void
sni_ctx_init_thread(sni_ctx *c)
{
	memset(c, 0, sizeof(*c));
	thread_stack_bounds(c);
#ifdef SNI_TSAN
	c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

#ifndef SNI_CONTEXT_UCONTEXT
/* ---- Boost.Context: make_fcontext / jump_fcontext have C linkage ------ */

typedef void *fcontext_t;
typedef struct {
	fcontext_t fctx;
	void      *data;
} transfer_t;
extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* Where every new context starts: save the switcher, run the entry. */
SNI_NO_TSAN static void
trampoline(transfer_t t)
{
	handoff *h    = t.data;
	h->from->fctx = t.fctx;
	after_switch(NULL, h->from);
	h->to->entry(h->data);
	__builtin_unreachable();
}

int
sni_ctx_make(sni_ctx *c, void *lo, size_t size, sni_ctx_entry entry)
{
	c->entry      = entry;
	c->stack_lo   = lo;
	c->stack_size = size;
	c->fctx       = make_fcontext((char *) lo + size, size, trampoline);
	return c->fctx != NULL ? 0 : SYN_ENOMEM;
}

void *
sni_ctx_sp(const sni_ctx *c)
{
	return c->fctx; /* jump_fcontext pushed the registers there */
}

void *
sni_ctx_switch(sni_ctx *from, sni_ctx *to, void *data)
{
	handoff h = { from, to, data };
	void   *save;
	before_switch(to, &save);
	transfer_t t  = jump_fcontext(to->fctx, &h);
	handoff   *r  = t.data; /* the switch that resumed us */
	r->from->fctx = t.fctx;
	after_switch(save, r->from);
	return r->data;
}

SNI_NO_TSAN _Noreturn void
sni_ctx_exit(sni_ctx *from, sni_ctx *to, void *data)
{
	handoff *h = &exit_handoff;
	*h         = (handoff) { from, to, data };
	before_switch(to, NULL);
	jump_fcontext(to->fctx, h);
	__builtin_unreachable();
}

#else
/* ---- glibc ucontext --------------------------------------------------- */

/* makecontext passes ints: the ctx pointer travels in two halves. */
SNI_NO_TSAN static void
trampoline(unsigned hi, unsigned lo)
{
	sni_ctx *c = (sni_ctx *) (((uintptr_t) hi << 32) | (uintptr_t) lo);
	handoff *h = c->data;
	after_switch(NULL, h->from);
	c->entry(h->data);
	__builtin_unreachable();
}

int
sni_ctx_make(sni_ctx *c, void *lo, size_t size, sni_ctx_entry entry)
{
	if (getcontext(&c->uc) != 0) {
		return SYN_ENOMEM;
	}
	c->entry = entry;
	c->stack_lo = lo;
	c->stack_size = size;
	c->uc.uc_stack.ss_sp = lo;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	uintptr_t p = (uintptr_t) c;
	makecontext(&c->uc, (void (*)(void)) trampoline, 2,
	    (unsigned) (p >> 32), (unsigned) p);
	return 0;
}

void *
sni_ctx_sp(const sni_ctx *c)
{
	/* (swapcontext is a call: nothing below its stack pointer, the red
	 * zone included, is live) */
	return (void *) (uintptr_t) c->uc.uc_mcontext.gregs[REG_RSP];
}

void *
sni_ctx_switch(sni_ctx *from, sni_ctx *to, void *data)
{
	handoff h = { from, to, data };
	void *save;
	to->data = &h;
	before_switch(to, &save);
	swapcontext(&from->uc, &to->uc);
	handoff *r = from->data;
	after_switch(save, r->from);
	return r->data;
}

SNI_NO_TSAN _Noreturn void
sni_ctx_exit(sni_ctx *from, sni_ctx *to, void *data)
{
	handoff *h = &exit_handoff;
	*h = (handoff) { from, to, data };
	to->data = h;
	before_switch(to, NULL);
	setcontext(&to->uc);
	__builtin_unreachable();
}
#endif
