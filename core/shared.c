/*
 * core/shared.c: one stack for every task of a synchronizer, the frames
 * of waiting tasks copied out and back (see shared.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synchronicity/error.h>

#include "shared.h"
#include "task.h"

/* One past the highest byte a task's frames may use. */
static char *
shared_top(const sni_actor *a)
{
	return (char *) ((uintptr_t) a->shared & ~(uintptr_t) 15);
}

/* The bytes of o's frames, o suspended on the shared stack. */
static size_t
frames_len(const sni_actor *a, const sni_task *o)
{
	return (size_t) (shared_top(a) - (char *) sni_ctx_sp(o->ctx));
}

/*
 * A buffer that held deep frames once is cut down when the frames it
 * must hold now take under a quarter of it (past a page: below that a
 * task's frames come and go in every call).
 */
#define SAVED_KEEP 4096

/* Makes o's buffer fit len bytes of frames. 0, SYN_ENOMEM. */
static int
fit_buffer(sni_actor *a, sni_task *o, size_t len)
{
	bool grow   = len > o->saved_cap;
	bool shrink = o->saved_cap > SAVED_KEEP && len < o->saved_cap / 4;
	if (!grow && !shrink) {
		return 0;
	}
	void *p = realloc(o->saved, len);
	if (p == NULL) {
		return grow ? SYN_ENOMEM : 0; /* (a shrink may keep it all) */
	}
	sni_stat_add(a->stats.frames_saved, len - o->saved_cap);
	o->saved     = p;
	o->saved_cap = len;
	return 0;
}

/* Copies the frames of o, suspended on the shared stack, to its buffer. */
static int
save_frames(sni_actor *a, sni_task *o)
{
	size_t len = frames_len(a, o);
	int    rc  = fit_buffer(a, o, len);
	if (rc != 0) {
		return rc;
	}
	sni_ctx_copy_frames(o->saved, shared_top(a) - len, len);
	o->saved_len    = len;
	a->shared_owner = NULL;
	return 0;
}

int
sni_shared_claim(sni_actor *a)
{
	if (a->shared == NULL) {
		int rc = sni_stack_get(&a->stacks, &a->shared);
		if (rc != 0) {
			return rc;
		}
		sni_encode_refuse_ptrs(a->shared->lo, a->shared);
	}
	if (a->shared_owner != NULL) {
		int rc = save_frames(a, a->shared_owner);
		if (rc != 0) {
			return rc;
		}
	}
	/* (a new task's frames go where others' were) */
	sni_ctx_unpoison(
	    a->shared->lo, (size_t) (shared_top(a) - (char *) a->shared->lo));
	return 0;
}

void
sni_shared_enter(sni_actor *a, sni_task *t)
{
	if (a->shared_owner != NULL && save_frames(a, a->shared_owner) != 0) {
		fprintf(stderr,
		    "synchronicity: %s: no memory to copy a waiting task's "
		    "%zu bytes of frames off the shared stack\n",
		    a->name, frames_len(a, a->shared_owner));
		abort();
	}
	char *sp = shared_top(a) - t->saved_len;
	sni_ctx_unpoison(sp, t->saved_len);
	memcpy(sp, t->saved, t->saved_len);
	a->shared_owner = t;
}

void
sni_shared_release(sni_actor *a, sni_task *t)
{
	if (a->shared_owner == t) {
		a->shared_owner = NULL;
	}
}

/* True when p lies in a's shared stack (a task's local variable). */
static bool
shared_holds(const sni_actor *a, const void *p)
{
	/* (addresses as numbers: p need not point into the stack) */
	return a->shared != NULL &&
	    (uintptr_t) p >= (uintptr_t) a->shared->lo &&
	    (uintptr_t) p < (uintptr_t) a->shared;
}

bool
sni_shared_lends_frame(const sni_task *t, const void *p)
{
	return t->shared && shared_holds(t->actor, p);
}

void
sni_shared_fini(sni_actor *a)
{
	if (a->shared != NULL) {
		sni_encode_refuse_ptrs(NULL, NULL);
		sni_stack_put(&a->stacks, a->shared);
		a->shared       = NULL;
		a->shared_owner = NULL;
	}
}
