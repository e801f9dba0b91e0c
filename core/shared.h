/*
 * core/shared.h: the shared stack of a synchronizer made with
 * config.shared_stack. Every task of it runs at the same addresses, on
 * one stack; a task that waits keeps its frames there until another task
 * needs the stack, which copies them out to a buffer of their size, and
 * back when the task resumes. A parked task then costs its frames (about
 * 1 KiB), not a page.
 *
 * Everything here runs on the actor's thread, in its loop (never on a
 * task: the copies overwrite the stack a task would run on).
 */
#ifndef SNI_SHARED_H
#define SNI_SHARED_H

#include <stdbool.h>

#include "actor.h"

/*
 * Makes the shared stack ready for a new task: takes it from the pool the
 * first time, and copies out the frames of the task waiting on it.
 * 0, SYN_ENOMEM (no stack, or no memory for those frames: they stay).
 */
int sni_shared_claim(sni_actor *a);

/*
 * Puts suspended task t's frames back on the shared stack before it
 * resumes, after copying out the frames of the task waiting there. With
 * no memory for those, it prints why and aborts: t cannot run anywhere
 * else, and nothing else can make room.
 */
void sni_shared_enter(sni_actor *a, sni_task *t);

/* t, the task on the shared stack, ended: its frames are dead. */
void sni_shared_release(sni_actor *a, sni_task *t);

/* True when t runs on a shared stack and p lies in it: p must then not
 * be lent to others while t waits (syn_run_blocking and
 * syn_future_callback refuse it: SYN_EINVAL, SNI_SHARED_REFUSAL). */
bool sni_shared_lends_frame(const sni_task *t, const void *p);
#define SNI_SHARED_REFUSAL                                             \
	"arg points into the task's stack, which is shared "           \
	"(config.shared_stack) and copied away while the task waits: " \
	"allocate it with syn_task_alloc"

/* The loop ended: the stack goes back to the pool. No task is left. */
void sni_shared_fini(sni_actor *a);

#endif /* SNI_SHARED_H */
