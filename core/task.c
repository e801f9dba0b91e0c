/*
 * core/task.c: starting, suspending, resuming, cancelling and finishing
 * tasks, and the await points that need nothing but the loop (sleeping,
 * awaiting futures).
 */
#include <alloca.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "batch.h"
#include "clock.h"
#include "door.h"
#include "errors.h"
#include "proto/reader.h"
#include <sys/epoll.h>

#include "fdwait.h"
#include "gen.h"
#include "pool.h"
#include "reply.h"
#include "shared.h"
#include "task.h"

/* Arguments up to this size are decoded onto the task's own stack. */
#define SNI_ARGS_INLINE 1024

static void *
align_down(void *p, size_t a)
{
	return (void *) ((uintptr_t) p & ~(uintptr_t) (a - 1));
}

static void fd_give_up(sni_task *t, int rc);

/* ---- running and recycling -------------------------------------------- */

/* A run of t that held the thread ns: slow, when over the bound. */
static void
note_run(sni_actor *a, sni_task *t, uint64_t ns)
{
	if (ns <= a->slow_ns) {
		return;
	}
	sni_stat_add(a->stats.slow, 1);
	if (a->on_slow_task != NULL) {
		a->on_slow_task((syn_synchronizer) { a->id },
		    t->call.name != NULL ? t->call.name : "", ns / 1000,
		    a->on_slow_task_arg);
	}
}

/* t ended after ns: into its latency bucket (see syn_stats). */
static void
note_latency(sni_actor *a, uint64_t ns)
{
	uint64_t us = ns / 1000;
	int      i  = us == 0 ? 0 : 64 - __builtin_clzll(us);
	sni_stat_add(
	    a->stats
	        .latency[i < SYN_LATENCY_BUCKETS ? i : SYN_LATENCY_BUCKETS - 1],
	    1);
}

/* After a run of t that began at t0 (0: not measured): the loop's
 * bookkeeping; an ended task leaves the live ones. */
static void
after_run(sni_actor *a, sni_task *t, uint64_t t0)
{
	a->current = NULL;
	if (t0 != 0) {
		note_run(a, t, sni_now_ns() - t0);
	}
	if (t->done && t->shared) { /* its frames are dead: not to be kept */
		sni_shared_release(a, t);
	}
	if (a->batch_retry) { /* what its end left waiting, from here */
		sni_batch_retry(a);
	}
	if (!t->done) {
		return;
	}
	if (t->prev != NULL) {
		t->prev->next = t->next;
	} else {
		a->tasks = t->next;
	}
	if (t->next != NULL) {
		t->next->prev = t->prev;
	}
	a->ntasks--;
	if (t->origin == SNI_ORIGIN_DOOR) {
		sni_task_unindex(a, t);
	}
}

/* A stack some of whose frames were never left (a task that began on
 * the loop's stack, the loop's own): ThreadSanitizer forgets them. */
static void
forget_frames(sni_stack *s)
{
	sni_ctx_fiber_destroy(&s->ctx);
	sni_ctx_fiber_create(&s->ctx);
}

/* A task on the shared stack ended: its record and buffers go. */
static void
shared_task_free(sni_actor *a, sni_task *t)
{
	sni_shared_release(a, t);
	sni_ctx_fiber_destroy(t->ctx);
	sni_stat_add(a->stats.frames_saved, 0 - t->saved_cap);
	free(t->saved);
	free(t->shared_mem); /* (t lives in it) */
}

static void
run(sni_actor *a, sni_task *t)
{
	uint64_t t0 = a->slow_ns != 0 ? sni_now_ns() : 0;
	if (t->shared && a->shared_owner != t) {
		sni_shared_enter(a, t);
	}
	a->current = t;
	sni_ctx_switch(a->sched, t->ctx, t);
	after_run(a, t, t0);
	if (!t->done) {
		return;
	}
	if (t->shared) {
		shared_task_free(a, t);
		return;
	}
	sni_stack *s = t->stack; /* (t lives on it) */
	if (t->here) {
		forget_frames(s);
	}
	sni_stack_put(&a->stacks, s);
}

static void
free_task_memory(sni_task *t)
{
	if (t->args_mem != NULL || t->err_msg != NULL || t->err_where != NULL ||
	    t->context.len > 0) {
		free(t->args_mem); /* (most calls have none of them) */
		free(t->err_msg);
		free(t->err_where);
		sni_context_fini(&t->context);
	}
	while (t->blocks != NULL) {
		void *next = *(void **) t->blocks;
		free(t->blocks);
		t->blocks = next;
	}
}

/* ---- the reply -------------------------------------------------------- */

const char *
sni_task_error_text(sni_task *t, int rc, char *where, size_t size)
{
	bool own = rc == t->err_code && t->err_msg != NULL;
	if (own && t->err_where != NULL && t->err_where[0] != '\0') {
		snprintf(where, size, "%s <- %s", t->err_where, t->call.name);
	} else {
		snprintf(where, size, "%s", t->call.name);
	}
	return own ? t->err_msg : syn_strerror(rc);
}

sni_limits
sni_task_limits(const sni_task *t)
{
	sni_limits lim = t->actor->limits;
	lim.allow_ptr  = t->allow_ptr;
	lim.proxy_refs = t->allow_ptr && !t->call.raw;
	if (t->remote) {
		size_t peer  = sni_door_peer_max(t->actor, t->gen.pipe);
		lim.max_size = peer < lim.max_size ? peer : lim.max_size;
	}
	return lim;
}

size_t
sni_text_fit(const char *text, size_t max)
{
	size_t len = strlen(text);
	return len <= max ? len : sni_utf8_prefix((const uint8_t *) text, max);
}

/* An error message longer than the peer takes is cut to fit. */
static void
encode_error(sni_task *t, int rc, sni_wbuf *w)
{
	char        where[256];
	const char *msg   = sni_task_error_text(t, rc, where, sizeof(where));
	size_t      limit = sni_task_limits(t).max_size;
	sni_msg_encode_error(w, t->call_id, rc, msg, where);
	if (w->len <= limit) {
		return;
	}
	size_t room = limit > 2 * sizeof(where) ? limit - 2 * sizeof(where) : 0;
	char  *cut  = strndup(msg, sni_text_fit(msg, room));
	if (cut != NULL) {
		w->len = 0;
		sni_msg_encode_error(w, t->call_id, rc, cut, where);
		free(cut);
	}
}

/* Encodes the result into w; a result that cannot be encoded is an error. */
static int
encode_result(sni_task *t, int rc, sni_wbuf *w)
{
	sni_limits lim = sni_task_limits(t);
	if (rc == 0 && t->gen.stream != 0) {
		sni_msg_encode_end(w, t->call_id);
		return SYN_EEND; /* the code the END is delivered with */
	}
	if (rc == 0 && (rc = sni_task_value_out(t, &t->ret)) == 0) {
		rc = t->call.raw
		    ? sni_msg_encode_raw(w, t->call_id, &t->ret, &lim)
		    : sni_msg_encode_return(w, t->call_id, &t->ret, &lim);
		if (rc == 0 && w->err == 0) {
			sni_task_value_sent(t, &t->ret);
		} else {
			sni_task_value_unsent(t, &t->ret);
		}
		if (rc != 0) {
			char detail[200];
			snprintf(
			    detail, sizeof(detail), "%s", sni_detail_get());
			syn_raise(t, rc, "result: %s", detail);
			sni_wbuf_fini(w);
		}
	}
	if (rc != 0 && t->closing) {
		rc = syn_raise(t, SYN_ECLOSED,
		    "the synchronizer closed while the call ran");
	}
	if (rc != 0) {
		encode_error(t, rc, w);
	}
	return rc;
}

void
sni_task_note_future(sni_task *t)
{
	if (t->origin == SNI_ORIGIN_FUTURE && t->origin_ptr != NULL &&
	    !t->noted) {
		((syn_future *) t->origin_ptr)->task = t;
		t->noted                             = true;
	}
}

void
sni_task_deliver(sni_task *t, sni_wbuf *w, int rc)
{
	nng_msg *msg = t->msg;
	void    *to  = t->origin_ptr;
	if (t->noted) { /* answered: its future's cancel finds no task */
		((syn_future *) to)->task = NULL;
		t->noted                  = false;
	}
	t->msg        = NULL;
	t->origin_ptr = NULL;
	sni_reply_send(t->origin, to, msg, w, rc);
}

int
sni_task_valid_code(sni_task *t, int rc)
{
	if (!sni_code_valid(rc)) {
		rc = syn_raise(t, SYN_EBADCODE,
		    "%s returned %d: neither 0, a library code nor "
		    "SYN_EUSER(n)",
		    t->call.name, rc);
	}
	return rc;
}

bool
sni_task_answer_simple(sni_task *t, const syn_value *v)
{
	syn_future *f = t->origin_ptr;
	uint8_t     r[SNI_SIMPLE_RETURN_MAX];
	size_t      n;
	if (t->origin != SNI_ORIGIN_FUTURE || t->msg != NULL || f == NULL ||
	    !f->inline_ok ||
	    (n = sni_msg_put_simple_return(r, t->call_id, v)) == 0) {
		return false;
	}
	if (t->noted) { /* answered: its future's cancel finds no task */
		f->task  = NULL;
		t->noted = false;
	}
	if (!sni_future_answer_inline(f, r, n, 0)) {
		return false;
	}
	t->origin_ptr = NULL; /* (f is its caller's again) */
	return true;
}

void
sni_task_reply(sni_task *t, int rc)
{
	if (rc == 0 && t->gen.stream == 0 && !t->call.raw &&
	    sni_task_answer_simple(t, &t->ret)) {
		return;
	}
	rc = sni_task_valid_code(t, rc);
	sni_wbuf w;
	sni_wbuf_init(&w);
	rc = encode_result(t, rc, &w);
	sni_task_deliver(t, &w, rc);
}

/* Runs the implementation on the translated arguments. */
static int
run_call(sni_task *t)
{
	const sni_actor_ops *ops = t->actor->ops;
	int                  rc  = 0;
	if (ops->task_begin != NULL &&
	    (t->call.self != NULL || !sni_values_plain(t->args, t->nargs)) &&
	    (rc = ops->task_begin(t->actor->ops_arg, t)) != 0) {
		return rc;
	}
	if (t->call.method != NULL) {
		return t->call.method(
		    t, t->call.self, t->args, t->nargs, &t->ret);
	}
	return t->call.fn(t, t->args, t->nargs, &t->ret);
}

void
sni_task_value_sent(sni_task *t, const syn_value *v)
{
	const sni_actor_ops *ops = t->actor->ops;
	if (ops->value_sent != NULL && !sni_value_plain(v)) {
		ops->value_sent(t->actor->ops_arg, t, v);
	}
}

void
sni_task_value_unsent(sni_task *t, const syn_value *v)
{
	const sni_actor_ops *ops = t->actor->ops;
	if (ops->value_unsent != NULL && !sni_value_plain(v)) {
		ops->value_unsent(t->actor->ops_arg, t, v);
	}
}

int
sni_task_value_out(sni_task *t, const syn_value *v)
{
	const sni_actor_ops *ops = t->actor->ops;
	return ops->value_out != NULL && !sni_value_plain(v)
	    ? ops->value_out(t->actor->ops_arg, t, v)
	    : 0;
}

/* Runs t's call to its end, reply sent and memory freed. */
static void
task_body(sni_task *t)
{
	int        rc = run_call(t);
	sni_actor *a  = t->actor;
	/* Counted ended before the reply leaves: whoever has the reply
	 * finds the call no longer in flight. */
	sni_stat_add(a->stats.ended, 1);
	if (a->measure_latency) {
		note_latency(a, sni_now_ns() - t->started_ns);
	}
	if (t->gen.stream != 0) {
		sni_gen_finish(t, rc);
	} else {
		sni_task_reply(t, rc);
	}
	if (t->actor->ops->task_end != NULL &&
	    (t->holds != NULL || t->call.self != NULL)) {
		t->actor->ops->task_end(t->actor->ops_arg, t);
	}
	free_task_memory(t);
	t->done = true;
}

/* Never returns: its last act is the switch out (see SNI_NO_TSAN). */
SNI_NO_TSAN static void
task_entry(void *arg)
{
	sni_task *t = arg;
	task_body(t);
	sni_ctx_exit(t->ctx, t->actor->sched, t);
}

/* ---- starting --------------------------------------------------------- */

static void
task_init(sni_task *t, sni_actor *a, sni_stack *s, const sni_callable *c)
{
	/* glibc's memset: gcc inlines a constant-size one as rep stos,
	 * which cost twice as much for the record's 376 bytes (perf). */
	size_t size = offsetof(sni_task, wait_room);
	__asm__("" : "+r"(size));
	memset(t, 0, size);
	t->actor     = a;
	t->stack     = s;
	t->ctx       = s != NULL ? &s->ctx : NULL;
	t->call      = *c;
	t->ret       = syn_nil();
	t->wake.kind = SNI_NODE_WAKE;
	sni_timer_init(&t->timer);
}

/* Undoes place_args, for a task that does not start after all. */
static void
unplace_args(sni_task *t)
{
	free(t->args_mem);
	t->args_mem = NULL;
	sni_context_fini(&t->context);
}

/* Decodes the arguments below t on its stack, or on the heap; returns the
 * lowest address used on the stack. */
static char *
place_args(sni_task *t, const sni_call_view *v)
{
	size_t   need = v->args_need;
	char    *lo   = (char *) t;
	sni_bump b;
	if (need <= SNI_ARGS_INLINE) {
		lo  = align_down((char *) t - need, 16);
		b.p = (uint8_t *) lo;
	} else if ((t->args_mem = malloc(need)) == NULL) {
		return NULL;
	} else {
		b.p = t->args_mem;
	}
	b.end          = b.p + need;
	syn_value *out = (syn_value *) b.p;
	if (v->args_decoded) { /* numbers and such, read once already */
		for (uint32_t i = 0; i < v->nargs; i++) {
			out[i] = v->simple_args[i];
		}
	} else {
		b.p += sni_bump_round((size_t) v->nargs * sizeof(syn_value));
		sni_reader r = v->args;
		sni_fill_array(&r, &b, out);
	}
	t->args  = out;
	t->nargs = v->nargs;
	if (sni_context_copy(&t->context, v->context, v->context_len) != 0) {
		unplace_args(t);
		return NULL;
	}
	return lo;
}

static void
link_task(sni_actor *a, sni_task *t)
{
	t->prev = NULL;
	t->next = a->tasks;
	if (a->tasks != NULL) {
		a->tasks->prev = t;
	}
	a->tasks = t;
	a->ntasks++;
	if (t->origin == SNI_ORIGIN_DOOR) {
		sni_task_reindex(a, t);
	}
	sni_stat_add(a->stats.started, 1);
	if (a->measure_latency) {
		t->started_ns = sni_now_ns();
	}
}

/* Where t's reply goes, and what it answers. */
static void
set_origin(sni_task *t, const sni_call_view *v, int origin, void *origin_ptr,
    nng_msg *msg)
{
	t->origin     = (uint8_t) origin;
	t->origin_ptr = origin_ptr;
	t->remote     = v->remote;
	t->gen.pipe   = v->pipe;
	t->allow_ptr  = origin == SNI_ORIGIN_FUTURE;
	t->call_id    = v->call_id;
	t->msg        = msg;
}

bool
sni_task_spare_ready(sni_actor *a)
{
	sni_stack *s;
	if (a->spare != NULL) {
		return true;
	}
	if (sni_stack_get(&a->stacks, &s) != 0) {
		return false;
	}
	size_t size = (size_t) ((char *) s - (char *) s->lo);
	sni_ctx_unpoison(s->lo, size);
	if (sni_ctx_make(&s->ctx, s->lo,
	        (size_t) ((char *) align_down(s, 16) - (char *) s->lo),
	        sni_actor_loop_entry) != 0) {
		sni_stack_put(&a->stacks, s);
		return false;
	}
	a->spare = s;
	return true;
}

void
sni_task_loop_stacks_back(sni_actor *a)
{
	if (a->sched_stack != NULL) {
		forget_frames(a->sched_stack);
		sni_stack_put(&a->stacks, a->sched_stack);
		a->sched_stack = NULL;
	}
	if (a->spare != NULL) {
		sni_stack_put(&a->stacks, a->spare);
		a->spare = NULL;
	}
}

/*
 * t, started on the loop's stack, suspends: the stack becomes t's, with
 * the loop's frames below t's, and the loop goes on from its top on the
 * spare stack. Returns once t is resumed.
 */
static void
take_loop_stack(sni_task *t)
{
	sni_actor *a   = t->actor;
	sni_stack *own = a->sched_stack;
	sni_stack *n   = a->spare;
	if (a->run_t0 != 0) { /* its first run ends here */
		note_run(a, t, sni_now_ns() - a->run_t0);
	}
	a->spare       = NULL;
	t->stack       = own;
	t->ctx         = &own->ctx;
	a->sched_stack = n;
	a->sched       = &n->ctx;
	sni_ctx_switch(&own->ctx, &n->ctx, a);
}

/*
 * Runs a plain call on the loop's own stack, from the loop's level, with
 * no switch: the record and arguments go below the loop's frames. Only
 * when the loop runs on a pooled stack with a spare ready (a suspension
 * then takes the stack, see take_loop_stack).
 */
static int
start_here(sni_actor *a, const sni_callable *c, const sni_call_view *v,
    int origin, void *origin_ptr, nng_msg *msg)
{
	size_t    need = v->args_need <= SNI_ARGS_INLINE ? v->args_need : 0;
	char     *mem  = alloca(sizeof(sni_task) + need + 32);
	sni_task *t    = align_down(mem + need + 16, 16);
	task_init(t, a, NULL, c);
	if (place_args(t, v) == NULL) {
		return SYN_ENOMEM;
	}
	set_origin(t, v, origin, origin_ptr, msg);
	link_task(a, t);
	t->here     = true;
	uint64_t t0 = a->slow_ns != 0 ? sni_now_ns() : 0;
	a->run_t0   = t0; /* (for take_loop_stack) */
	a->current  = t;
	task_body(t);
	if (t->stack != NULL) { /* it suspended: the loop is elsewhere */
		sni_ctx_exit(t->ctx, a->sched, t);
	}
	after_run(a, t, t0);
	return 0;
}

/*
 * Starts a task of a synchronizer with a shared stack (shared.h): its
 * record, context and arguments on the heap, its frames on the stack,
 * whose waiting owner's frames are copied out first.
 */
static int
start_shared(sni_actor *a, const sni_callable *c, const sni_call_view *v,
    int origin, void *origin_ptr, nng_msg *msg, uint64_t stream,
    uint32_t window)
{
	size_t need  = v->args_need <= SNI_ARGS_INLINE ? v->args_need : 0;
	size_t below = (need + 31) / 16 * 16; /* (malloc aligns to 16) */
	char  *mem   = malloc(below + sizeof(sni_task) + sizeof(sni_ctx));
	if (mem == NULL) {
		return SYN_ENOMEM;
	}
	sni_task *t   = (sni_task *) (mem + below);
	sni_ctx  *ctx = (sni_ctx *) (t + 1);
	task_init(t, a, NULL, c);
	t->shared     = true;
	t->shared_mem = mem;
	t->ctx        = ctx;
	memset(ctx, 0, sizeof(*ctx));
	int rc = SYN_ENOMEM;
	if (place_args(t, v) == NULL || (rc = sni_shared_claim(a)) != 0) {
		goto fail;
	}
	sni_stack *s = a->shared;
	if (sni_ctx_make(ctx, s->lo,
	        (size_t) ((char *) align_down(s, 16) - (char *) s->lo),
	        task_entry) != 0) {
		rc = SYN_ENOMEM;
		goto fail;
	}
	set_origin(t, v, origin, origin_ptr, msg);
	if (stream != 0 && (rc = sni_gen_register(t, stream, window)) != 0) {
		goto fail;
	}
	sni_ctx_fiber_create(ctx);
	t->stack        = s;
	a->shared_owner = t;
	link_task(a, t);
	run(a, t);
	return 0;
fail:
	unplace_args(t);
	free(mem);
	return rc;
}

int
sni_task_start(sni_actor *a, const sni_callable *c, const sni_call_view *v,
    int origin, void *origin_ptr, nng_msg *msg, uint64_t stream,
    uint32_t window, bool here)
{
	if (a->shared_stack) {
		return start_shared(
		    a, c, v, origin, origin_ptr, msg, stream, window);
	}
	if (here && stream == 0 && a->sched_stack != NULL &&
	    a->current == NULL && sni_task_spare_ready(a)) {
		return start_here(a, c, v, origin, origin_ptr, msg);
	}
	sni_stack *s;
	int        rc = sni_stack_get(&a->stacks, &s);
	if (rc != 0) {
		return rc;
	}
	/* (the record and the arguments go where the last task's frames
	 * were) */
	sni_ctx_unpoison(s->lo, (size_t) ((char *) s - (char *) s->lo));
	sni_task *t = align_down((char *) s - sizeof(sni_task), 16);
	task_init(t, a, s, c);
	char *lo = place_args(t, v);
	if (lo == NULL ||
	    sni_ctx_make(&s->ctx, s->lo,
	        (size_t) ((char *) align_down(lo, 16) - (char *) s->lo),
	        task_entry) != 0) {
		unplace_args(t);
		sni_stack_put(&a->stacks, s);
		return SYN_ENOMEM;
	}
	set_origin(t, v, origin, origin_ptr, msg);
	if (stream != 0 && (rc = sni_gen_register(t, stream, window)) != 0) {
		unplace_args(t);
		sni_stack_put(&a->stacks, s);
		return rc;
	}
	link_task(a, t);
	run(a, t);
	return 0;
}

/* ---- suspending, resuming, cancelling --------------------------------- */

/* The key of pipe's call call_id in a->door_tasks (its low 32 bits: a
 * call 2^32 ids apart on the same pipe is refused while this one runs),
 * or NULL: none fits. */
static const void *
door_key(uint32_t pipe, uint64_t call_id)
{
	return pipe != 0 && call_id != 0
	    ? (const void *) ((uintptr_t) pipe << 32 | (uint32_t) call_id)
	    : NULL;
}

/* The task holding the place of pipe's call call_id in a->door_tasks
 * (which may be a call 2^32 ids apart), or NULL. */
static sni_task *
place_holder(const sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	const void *key = door_key(pipe, call_id);
	return key != NULL ? sni_ptrmap_get(&a->door_tasks, key) : NULL;
}

/* A generator between requests: its last one was answered, its call id
 * is no call in flight (a new request of its peer may take it). */
static bool
answered(const sni_task *t)
{
	return t->wait == SNI_WAIT_YIELD;
}

void
sni_task_reindex(sni_actor *a, sni_task *t)
{
	const void *key = door_key(t->gen.pipe, t->call_id);
	if (t->origin != SNI_ORIGIN_DOOR || key == NULL) {
		return; /* (a call id 0 is no CANCEL's target) */
	}
	sni_task *held = sni_ptrmap_get(&a->door_tasks, key);
	/* (held by a call in flight: a request nothing checked; or no
	 * memory: only a walk finds it) */
	t->unindexed = (held != NULL && !answered(held)) ||
	    sni_ptrmap_put(&a->door_tasks, key, t) != 0;
	a->door_unindexed += t->unindexed;
}

void
sni_task_unindex(sni_actor *a, sni_task *t)
{
	const void *key = door_key(t->gen.pipe, t->call_id);
	if (key != NULL && sni_ptrmap_get(&a->door_tasks, key) == t) {
		sni_ptrmap_del(&a->door_tasks, key);
	}
	a->door_unindexed -= t->unindexed;
	t->unindexed = false;
}

sni_task *
sni_task_of_call(sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	if (door_key(pipe, call_id) == NULL) {
		return NULL;
	}
	sni_task *t = place_holder(a, pipe, call_id);
	if (t != NULL && !t->done && t->call_id == call_id) {
		return t;
	}
	/* (only calls that found no memory for their place are walked) */
	for (t = a->door_unindexed > 0 ? a->tasks : NULL; t != NULL;
	     t = t->next) {
		if (t->origin == SNI_ORIGIN_DOOR && t->gen.pipe == pipe &&
		    t->call_id == call_id && !t->done) {
			return t;
		}
	}
	return NULL;
}

int
sni_task_new_call_id(
    sni_actor *a, const sni_task *self, uint32_t pipe, uint64_t call_id)
{
	const sni_task *t = place_holder(a, pipe, call_id);
	if (t == NULL || t->done || t == self || answered(t)) {
		return 0;
	}
	sni_detail_set(t->call_id == call_id
	        ? "call id %llu is in flight on this connection already"
	        : "call id %llu is 2^32 from a call in flight on this "
	          "connection",
	    (unsigned long long) call_id);
	return SYN_EPROTO;
}

sni_task *
sni_task_current(void)
{
	sni_actor *a = sni_actor_self();
	return a != NULL ? a->current : NULL;
}

int
sni_task_check(sni_task *t)
{
	if (t == NULL || t != sni_task_current()) {
		return SYN_ESTATE;
	}
	return 0;
}

static _Thread_local sni_task *lent_here;

void
sni_task_lend(sni_task *t)
{
	lent_here = t;
}

void
sni_task_unlend(void)
{
	lent_here = NULL;
}

sni_task *
sni_task_lent(void)
{
	return lent_here;
}

int
sni_task_check_data(sni_task *t)
{
	return t != NULL && t == lent_here ? 0 : sni_task_check(t);
}

int
sni_task_park(sni_task *t)
{
	if (t->cancelled) {
		return SYN_ECANCELED;
	}
	t->unparked = false;
	t->wait     = SNI_WAIT_PARK;
	return sni_task_suspend(t);
}

void
sni_task_unpark(sni_task *t)
{
	if (t->wait == SNI_WAIT_PARK && !t->unparked) {
		t->unparked = true;
		sni_actor_post(t->actor, &t->wake);
	}
}

int
sni_task_refuse(sni_task *t, int code)
{
	if (t->refused) { /* told before: a loop turn, then the answer */
		t->unparked = true;
		t->wait     = SNI_WAIT_PARK;
		sni_actor_post(t->actor, &t->wake);
		sni_task_suspend(t);
	}
	t->refused = true;
	return code;
}

int
sni_task_suspend(sni_task *t)
{
	if (t->gen.batch != NULL && t->origin_ptr != NULL) {
		sni_gen_flush(t); /* what it has, before it waits */
	}
	if (t->msg != NULL) { /* a suspended call keeps no message */
		nng_msg_free(t->msg);
		t->msg = NULL;
	}
	sni_task_note_future(t);
	sni_actor *a  = t->actor;
	unsigned   cb = sni_context_callback_suspend();
	sni_stat_add(a->stats.suspended, 1);
	if (t->stack == NULL) {
		take_loop_stack(t);
	} else {
		sni_ctx_switch(t->ctx, a->sched, NULL);
	}
	sni_stat_add(a->stats.suspended, (uint64_t) -1);
	sni_context_callback_resume(cb);
	return t->wake_rc;
}

void
sni_task_resume(sni_task *t, int rc)
{
	t->wake_rc = rc;
	t->wait    = SNI_WAIT_NONE;
	run(t->actor, t);
}

void
sni_task_cancel(sni_task *t, bool closing)
{
	if (t->done || (t->cancelled && (t->closing || !closing)) ||
	    (t->wait == SNI_WAIT_YIELD && !closing)) {
		return; /* a generator between requests: nothing to cancel */
	}
	t->cancelled = true;
	t->closing |= closing;
	switch (t->wait) {
	case SNI_WAIT_SLEEP:
		sni_timer_cancel(&t->actor->timers, &t->timer);
		sni_task_resume(t, SYN_ECANCELED);
		break;
	case SNI_WAIT_FUTURE:
		/* Cancellation goes on to the awaited call; a closing actor
		 * does not wait for that call's cleanup. */
		syn_future_cancel(t->awaited);
		if (closing && sni_future_unlisten(t->awaited, &t->listener)) {
			sni_task_resume(t, SYN_ECANCELED);
		}
		break;
	case SNI_WAIT_AIO:
		sni_aio_cancel_wait(t);
		break;
	case SNI_WAIT_POOL: /* the job runs to its end; then t sees it */
		break;
	case SNI_WAIT_PARK: /* once unparked, its wake is on its way */
		if (!t->unparked) {
			sni_task_resume(t, SYN_ECANCELED);
		}
		break;
	case SNI_WAIT_FD:
		sni_timer_cancel(&t->actor->timers, &t->timer);
		fd_give_up(t, SYN_ECANCELED);
		break;
	case SNI_WAIT_YIELD:
		/* Between requests nobody waits on it: only a closing actor
		 * reaches it here, and closes the stream. */
		sni_task_resume(t, SYN_EITERCLOSED);
		break;
	default:
		break;
	}
}

bool
sni_task_run_timers(sni_actor *a, uint64_t now)
{
	sni_timer *tm;
	bool       ran = false;
	while ((tm = sni_timer_pop_due(&a->timers, now)) != NULL) {
		sni_task *t =
		    (sni_task *) ((char *) tm - offsetof(sni_task, timer));
		if (t->wait == SNI_WAIT_FD) {
			fd_give_up(t, SYN_ETIMEDOUT);
		} else if (t->wait == SNI_WAIT_FUTURE) {
			/* syn_await_timeout: the call is cancelled, and the
			 * task waits for its cleanup, as for its own cancel */
			uint32_t fs = atomic_load(&t->awaited->state);
			if ((fs & SNI_F_DONE) == 0) { /* else: in time */
				t->timed_out = true;
				syn_future_cancel(t->awaited);
			}
		} else if (t->wait == SNI_WAIT_SLEEP) {
			sni_task_resume(t, 0);
		} /* (else no await of t's waits for it now) */
		ran = true;
	}
	return ran;
}

void
sni_task_adopt_error(
    sni_task *t, int code, const char *message, const char *where)
{
	free(t->err_msg);
	free(t->err_where);
	t->err_code  = code;
	t->err_msg   = strdup(message != NULL ? message : "");
	t->err_where = strdup(where != NULL ? where : "");
}

/* ---- await points ----------------------------------------------------- */

int
syn_sleep(syn_task *t, syn_duration ms)
{
	int rc = sni_task_check(t);
	if (rc != 0) {
		return rc;
	}
	if (ms < 0 && ms != SYN_DURATION_INFINITE) {
		return syn_raise(t, SYN_EINVAL, "sleep of %d ms", (int) ms);
	}
	if (t->cancelled) {
		return sni_task_refuse(t, SYN_ECANCELED);
	}
	if (ms >= 0 &&
	    sni_timer_arm(&t->actor->timers, &t->timer,
	        sni_now_ns() + (uint64_t) ms * 1000000u) != 0) {
		return SYN_ENOMEM;
	}
	t->wait = SNI_WAIT_SLEEP;
	return sni_task_suspend(t);
}

/* The awaited future completed (on any thread, under its lock, so t is
 * alive): t's wake goes to its loop under a pin, so that its actor is
 * not freed while the push still touches its mailbox. t waits for it,
 * so its loop goes on, and the pin is taken. */
static void
wake_notify(sni_listener *l)
{
	sni_task *t = (sni_task *) ((char *) l - offsetof(sni_task, listener));
	sni_actor_post_held(t->actor, &t->wake);
}

int
syn_await(syn_task *t, syn_future *f)
{
	int rc = sni_task_check(t);
	if (rc != 0 || f == NULL) {
		return rc != 0 ? rc
		               : syn_raise(t, SYN_EINVAL, "future is NULL");
	}
	if (t->cancelled) {
		return sni_task_refuse(t, SYN_ECANCELED);
	}
	if (f->fork_gen != sni_fork_generation()) {
		return syn_raise(t, SYN_EFORK,
		    "the future belongs to the parent process of a fork");
	}
	t->listener.notify = wake_notify;
	t->awaited         = f;
	t->wait            = SNI_WAIT_FUTURE;
	if (sni_future_listen(f, &t->listener)) {
		sni_task_suspend(t);
	}
	t->wait    = SNI_WAIT_NONE;
	t->awaited = NULL;
	if (t->cancelled) {
		return SYN_ECANCELED;
	}
	if (t->timed_out) {
		return syn_raise(t, SYN_ETIMEDOUT,
		    "the awaited call did not finish in time and was "
		    "cancelled");
	}
	rc = sni_future_outcome(f, NULL);
	if (rc != 0) {
		const syn_error *e = syn_future_error(f);
		sni_task_adopt_error(t, rc, e->message, e->where);
	}
	return rc;
}

int
syn_await_timeout(syn_task *t, syn_future *f, syn_duration timeout)
{
	int rc = sni_task_check(t);
	if (rc != 0 || timeout == SYN_DURATION_INFINITE) {
		return rc != 0 ? rc : syn_await(t, f);
	}
	if (timeout < 0 || f == NULL) {
		return syn_raise(t, SYN_EINVAL, "await of %s with timeout %d",
		    f == NULL ? "NULL" : "a future", (int) timeout);
	}
	if (t->cancelled) { /* (before the timer: nothing waits for it) */
		return sni_task_refuse(t, SYN_ECANCELED);
	}
	if (sni_timer_arm(&t->actor->timers, &t->timer,
	        sni_now_ns() + (uint64_t) timeout * 1000000u) != 0) {
		return SYN_ENOMEM;
	}
	t->timed_out = false;
	rc           = syn_await(t, f);
	if (sni_timer_armed(&t->timer)) {
		sni_timer_cancel(&t->actor->timers, &t->timer);
	}
	t->timed_out = false;
	return rc;
}

/* ---- file descriptors ------------------------------------------------- */

/* t stops waiting for its descriptor with rc (a timeout, a cancel); if
 * the poller fired first, t waits for the node on its way. */
static void
fd_give_up(sni_task *t, int rc)
{
	sni_fdwait *w = t->awaited_fd;
	if (sni_fdwait_drop(w)) {
		sni_task_resume(t, rc);
	} else {
		w->give_up_rc = rc == SYN_ECANCELED ? rc : 0; /* it is ready */
	}
}

void
sni_task_fd_ready(sni_fdwait *w)
{
	sni_task *t = w->task;
	if (t->wait == SNI_WAIT_FD && t->awaited_fd == w) {
		sni_timer_cancel(&t->actor->timers, &t->timer);
		sni_task_resume(t, w->give_up_rc);
	}
}

static unsigned
fd_events_of(uint32_t ev)
{
	return ((ev & EPOLLIN) ? SYN_FD_READ : 0) |
	    ((ev & EPOLLOUT) ? SYN_FD_WRITE : 0) |
	    ((ev & (EPOLLERR | EPOLLHUP)) ? SYN_FD_ERROR : 0);
}

int
syn_await_fd(syn_task *t, int fd, unsigned events, syn_duration timeout,
    unsigned *revents)
{
	int rc = sni_task_check(t);
	if (rc != 0) {
		return rc;
	}
	if (fd < 0 || events == 0 ||
	    (events & ~(unsigned) (SYN_FD_READ | SYN_FD_WRITE)) != 0 ||
	    (timeout < 0 && timeout != SYN_DURATION_INFINITE)) {
		return syn_raise(t, SYN_EINVAL,
		    "await of fd %d for events %#x with timeout %d", fd, events,
		    (int) timeout);
	}
	if (t->cancelled) {
		return sni_task_refuse(t, SYN_ECANCELED);
	}
	_Static_assert(sizeof(sni_fdwait) <= SNI_WAIT_ROOM, "wait_room");
	sni_fdwait *w = (sni_fdwait *) t->wait_room;
	*w            = (sni_fdwait) { .fd = fd, .task = t, .actor = t->actor };
	w->events     = ((events & SYN_FD_READ) ? EPOLLIN : 0) |
	    ((events & SYN_FD_WRITE) ? EPOLLOUT : 0);
	/* (the timer first: once w is added, the poller may post it at any
	 * time, so w must not be given up without waiting for it) */
	if (timeout >= 0 &&
	    sni_timer_arm(&t->actor->timers, &t->timer,
	        sni_now_ns() + (uint64_t) timeout * 1000000u) != 0) {
		return syn_raise(t, SYN_ENOMEM, "no memory for the timeout");
	}
	if ((rc = sni_fdwait_add(w)) != 0) {
		sni_timer_cancel(&t->actor->timers, &t->timer);
		return syn_raise(t, rc,
		    rc == SYN_EBUSY ? "another task awaits fd %d"
		                    : "fd %d cannot be awaited",
		    fd);
	}
	t->awaited_fd = w;
	t->wait       = SNI_WAIT_FD;
	rc            = sni_task_suspend(t);
	t->awaited_fd = NULL;
	if (atomic_load(&w->state) == SNI_FD_FIRED) {
		sni_fdwait_done(w);
		if (revents != NULL) {
			*revents = fd_events_of(w->revents);
		}
	}
	return rc;
}

int
syn_run_blocking(syn_task *t, int (*fn)(void *arg), void *arg)
{
	int rc = sni_task_check(t);
	if (rc != 0 || fn == NULL) {
		return rc != 0 ? rc : syn_raise(t, SYN_EINVAL, "fn is NULL");
	}
	if (t->cancelled) {
		return sni_task_refuse(t, SYN_ECANCELED);
	}
	if (sni_shared_lends_frame(t, arg)) {
		return syn_raise(t, SYN_EINVAL, SNI_SHARED_REFUSAL);
	}
	_Static_assert(sizeof(sni_job) <= SNI_WAIT_ROOM, "wait_room");
	sni_job *job = (sni_job *) t->wait_room;
	*job = (sni_job) { .fn = fn, .arg = arg, .task = t, .actor = t->actor };
	if ((rc = sni_pool_submit(job)) != 0) {
		return syn_raise(t, rc, "no thread to run the blocking job");
	}
	t->wait = SNI_WAIT_POOL; /* the job lives in t till then */
	sni_task_suspend(t);
	return t->cancelled ? SYN_ECANCELED
	    : job->unrun    ? syn_raise(t, SYN_ENOMEM,
	                          "no thread was left to run the blocking job")
	                    : job->rc;
}

/* ---- what implementation code calls ----------------------------------- */

bool
syn_task_cancelled(syn_task *t)
{
	return t != NULL && t->cancelled;
}

/* Records code with the message fmt, ap (NULL: the code's own), raised
 * at file:line. */
static int
raise_v(syn_task *t, int code, const char *file, int line, const char *fmt,
    va_list ap)
{
	char *text = NULL, *msg = NULL;
	char  at[128];
	if (fmt == NULL || vasprintf(&text, fmt, ap) < 0) {
		text = NULL;
	}
	sni_raised_at(at, sizeof(at), file, line);
	if (asprintf(&msg, "%s%s", text != NULL ? text : syn_strerror(code),
	        at) < 0) {
		msg = NULL;
	}
	free(text);
	free(t->err_msg);
	free(t->err_where);
	t->err_code  = code;
	t->err_msg   = msg != NULL ? msg : strdup(syn_strerror(code));
	t->err_where = NULL;
	return code;
}

int
syn_raise_at(
    syn_task *t, int code, const char *file, int line, const char *fmt, ...)
{
	if (t == NULL || code == 0) {
		return code;
	}
	va_list ap;
	va_start(ap, fmt);
	raise_v(t, code, file, line, fmt, ap);
	va_end(ap);
	return code;
}

/* The function behind the macro, for callers that take its address. */
int(syn_raise)(syn_task *t, int code, const char *fmt, ...)
{
	if (t == NULL || code == 0) {
		return code;
	}
	va_list ap;
	va_start(ap, fmt);
	raise_v(t, code, NULL, 0, fmt, ap);
	va_end(ap);
	return code;
}

void *
syn_task_alloc(syn_task *t, size_t size)
{
	if (t == NULL || size > SIZE_MAX - 16) {
		return NULL;
	}
	void **block = malloc(16 + size);
	if (block == NULL) {
		return NULL;
	}
	*block    = t->blocks;
	t->blocks = block;
	return (char *) block + 16;
}

syn_value
syn_task_printf(syn_task *t, const char *fmt, ...)
{
	va_list ap;
	if (fmt == NULL) {
		return syn_str(NULL); /* invalid, as out of memory */
	}
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = n >= 0 ? syn_task_alloc(t, (size_t) n + 1) : NULL;
	if (s == NULL) {
		return syn_str(NULL);
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return syn_strn(s, (size_t) n);
}

void *
syn_task_userdata(syn_task *t)
{
	return t != NULL ? t->call.userdata : NULL;
}

syn_synchronizer
syn_task_synchronizer(syn_task *t)
{
	syn_synchronizer s = { t != NULL ? t->actor->id : 0 };
	return s;
}
