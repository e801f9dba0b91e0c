/*
 * core/context.h: the call contexts of threads and tasks
 * (synchronicity/context.h), as the call paths see them: the bytes a call
 * carries (a context as proto/proto.h describes it), owned by one thread
 * or one task, and touched only by it (or by the pool thread its task is
 * lent to, while the task waits for it).
 */
#ifndef SNI_CONTEXT_H
#define SNI_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

/* A context: len bytes of malloc'd memory, or none (bytes NULL, len 0). */
typedef struct sni_context {
	uint8_t *bytes;
	uint32_t len;
} sni_context;

/*
 * The context a call made from this thread now carries: the running
 * task's, the task's lent to this thread, or else the thread's own. NULL
 * when it is empty (and at once when no context is set anywhere in the
 * process: the cost of a call that carries none). Borrowed: valid until
 * its owner changes it.
 */
const sni_context *sni_context_current(void);

/*
 * Makes c a copy of the checked context bytes[0..len-1] (a call's, see
 * sni_call_view), empty when len is 0. c is empty before. SYN_ENOMEM,
 * c left empty.
 */
int sni_context_copy(sni_context *c, const uint8_t *bytes, size_t len);

/* Frees c's bytes, leaving it empty. */
void sni_context_fini(sni_context *c);

/*
 * Around a completion callback (syn_future_callback) that the calling
 * thread runs: meanwhile the context functions work on the thread's own
 * context, not on the task whose reply or await runs the callback.
 */
void sni_context_callback_begin(void);
void sni_context_callback_end(void);

/* A task that suspends inside a callback (one it ran on a done future,
 * which then awaits) takes the callback's mark along: the thread's other
 * tasks run unmarked meanwhile. Suspend returns the mark and clears it;
 * resume puts it back. */
unsigned sni_context_callback_suspend(void);
void     sni_context_callback_resume(unsigned n);

#endif /* SNI_CONTEXT_H */
