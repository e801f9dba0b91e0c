/*
 * core/ctx.h: switching between stacks. The one place where the machine
 * context changes hands, and so the one place that tells the sanitizers
 * about it (AddressSanitizer's fiber switch hooks, ThreadSanitizer's
 * fibers).
 *
 * Two implementations behind this interface: Boost.Context's fcontext
 * (make_fcontext/jump_fcontext, the default) and glibc's ucontext
 * (-DSYN_CONTEXT=ucontext), which makes system calls on every switch.
 */
#ifndef SNI_CTX_H
#define SNI_CTX_H

#include <stddef.h>

#ifdef SNI_CONTEXT_UCONTEXT
#include <ucontext.h>
#endif

/*
 * Functions that a context starts in and never return (the entry, the
 * final switch) must not tell ThreadSanitizer about their frames: frames
 * it sees entered but never left pile up on the stack's fiber, task after
 * task, until it overflows. This macro marks them.
 */
#if defined(__SANITIZE_THREAD__)
#define SNI_NO_TSAN __attribute__((no_sanitize("thread")))
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SNI_NO_TSAN __attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef SNI_NO_TSAN
#define SNI_NO_TSAN
#endif

/* The entry function of a new context; it must never return. */
typedef void (*sni_ctx_entry)(void *arg);

/* A saved execution context and the bounds of the stack it runs on. */
typedef struct sni_ctx {
#ifdef SNI_CONTEXT_UCONTEXT
	ucontext_t uc;
	void      *data; /* handed over by the switch into this context */
#else
	void *fctx;
#endif
	sni_ctx_entry entry;      /* what a new context runs first */
	void         *stack_lo;   /* lowest address of the stack */
	size_t        stack_size; /* its size in bytes */
	void         *tsan_fiber; /* ThreadSanitizer's fiber for this stack */
} sni_ctx;

/* Forgets what AddressSanitizer (or valgrind) marked in [lo, lo + size):
 * a pooled stack keeps the poison of its last task's frames, so a stack
 * is cleaned before a new task's record, arguments and frames go on it
 * (sni_ctx_make does not). Nothing without either. */
void sni_ctx_unpoison(void *lo, size_t size);

/* Copies len bytes of a stack's frames at frames to dst: what
 * AddressSanitizer poisoned in them (redzones) is cleared first, what
 * valgrind knows of them is kept. */
void sni_ctx_copy_frames(void *dst, void *frames, size_t len);

/*
 * Makes c a context that, on the first switch into it, runs entry(arg) on
 * the stack [lo, lo + size). The stack and c stay owned by the caller.
 * Returns 0 or SYN_ENOMEM.
 */
int sni_ctx_make(sni_ctx *c, void *lo, size_t size, sni_ctx_entry entry);

/*
 * Initialises c to stand for the calling thread's own stack, before the
 * thread first switches away from it.
 */
void sni_ctx_init_thread(sni_ctx *c);

/*
 * Saves the running context in *from, switches to *to handing it data, and
 * returns the data handed back by whichever switch resumes *from.
 * A new context's entry receives data of its first switch as its arg.
 */
void *sni_ctx_switch(sni_ctx *from, sni_ctx *to, void *data);

/*
 * The last switch out of a context that ends: as sni_ctx_switch, but the
 * context from is never resumed and its stack may be reused at once.
 */
_Noreturn void sni_ctx_exit(sni_ctx *from, sni_ctx *to, void *data);

/*
 * The lowest address of c's live frames while c is suspended (switched
 * away from, not ended): everything from there to the top of its stack
 * is what resuming c needs, the registers its switch saved included.
 */
void *sni_ctx_sp(const sni_ctx *c);

/* Creates and destroys the per-stack ThreadSanitizer fiber (no-ops else). */
void sni_ctx_fiber_create(sni_ctx *c);
void sni_ctx_fiber_destroy(sni_ctx *c);

#endif /* SNI_CTX_H */
