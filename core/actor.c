/*
 * core/actor.c: an actor's life. Starting its thread, the event loop that
 * serves its mailbox and timers, closing and destroying it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aio.h"
#include "backcall.h"
#include "batch.h"
#include "clock.h"
#include "door.h"
#include "errors.h"
#include "fdwait.h"
#include "future.h"
#include "gen.h"
#include "pool.h"
#include "registry.h"
#include "remote.h"
#include "reply.h"
#include "shared.h"
#include "task.h"

#define DEFAULT_STACK ((size_t) 256 * 1024)
#define MIN_STACK ((size_t) 16 * 1024)
#define MAX_STACK ((size_t) 64 * 1024 * 1024)
#define AUTO_SPIN_US 20

static _Thread_local sni_actor *self;

_Atomic int sni_actor_cpu_hint[SNI_ACTOR_CPU_SLOTS];

/* ---- the room left on the stack, for proto's recursion --------------- */

/* The bytes of c's stack below sp, or 0 when sp is not on it. */
static size_t
room_below(const sni_ctx *c, uintptr_t sp)
{
	uintptr_t lo = (uintptr_t) c->stack_lo;
	return c->stack_lo != NULL && sp > lo && sp - lo < c->stack_size
	    ? sp - lo
	    : 0;
}

/* sni_stack_left_fn: on an actor's thread, the room below the caller's
 * frame on the stack it runs on (a task's, the loop's, the thread's). */
static size_t
actor_stack_left(void)
{
	sni_actor *a  = self;
	uintptr_t  sp = (uintptr_t) __builtin_frame_address(0);
	size_t     n  = 0;
	if (a == NULL) {
		return SIZE_MAX; /* (another thread: its own, large, stack) */
	}
	if (a->current != NULL && a->current->ctx != NULL) {
		n = room_below(a->current->ctx, sp);
	}
	if (n == 0 && a->sched != NULL) {
		n = room_below(a->sched, sp);
	}
	if (n == 0) {
		n = room_below(&a->thread_ctx, sp);
	}
	return n != 0 ? n : SIZE_MAX;
}

__attribute__((constructor)) static void
tell_proto_the_stack(void)
{
	sni_stack_left_fn = actor_stack_left;
}

/* Records the CPU the actor runs on now, for its callers' waits
 * (sni_actor_cpu_hint); written only when it changed, so that the
 * callers reading it keep their copy of the line. */
static void
publish_cpu(sni_actor *a)
{
	_Atomic int *slot = sni_actor_cpu_slot(a->id);
	int          cpu  = sched_getcpu() + 1;
	if (atomic_load_explicit(slot, memory_order_relaxed) != cpu) {
		atomic_store_explicit(slot, cpu, memory_order_relaxed);
	}
}

/* How many actors a search for a ring of blocked threads visits, and
 * how far from the searching one (a frame of 96 bytes each: the search
 * may run on a task's stack). */
#define BLOCK_SEARCH_MAX 64
#define BLOCK_DEPTH_MAX 32

/*
 * The actors a's thread blocks for now, into ids: how many (0: none, or
 * its wait is over: one of the futures it waits on is done, its thread
 * has not woken yet). a's thread changes them, and frees those futures,
 * only after sni_actor_block_end, which waits until no reader counts
 * itself here.
 */
static size_t
blocked_on_now(sni_actor *a, uint32_t ids[SNI_BLOCK_MAX])
{
	atomic_fetch_add(&a->blocked_readers, 1);
	size_t            n    = atomic_load(&a->blocked_n);
	_Atomic uint32_t *done = atomic_load(&a->blocked_done);
	if (n > 0 && done != NULL && atomic_load(done) != 0) {
		n = 0; /* (answered: its thread has not woken yet) */
	}
	for (size_t i = 0; i < n; i++) {
		syn_future *f = atomic_load(&a->blocked_for[i]);
		if (f != NULL && (atomic_load(&f->state) & SNI_F_DONE) != 0) {
			n = 0;
			break;
		}
		ids[i] = atomic_load(&a->blocked_on[i]);
	}
	atomic_fetch_sub(&a->blocked_readers, 1);
	return n;
}

/* A search for a ring of blocked threads: the actor searching, the
 * actors on the way to the one visited, and how many more it may visit. */
typedef struct ring_search {
	uint32_t cur;
	uint32_t path[BLOCK_DEPTH_MAX];
	int      depth;
	int      budget;
} ring_search;

/*
 * True when actor id's thread would never wake while cur's blocks: id is
 * cur, or an actor on the way (assumed so: the search decides), or its
 * thread blocks and every wait it blocks for leads to such a thread. Then
 * those threads block for each other in a ring, each wait of each one
 * within it. False when not, or when the budget runs out.
 */
static bool
leads_back(ring_search *rs, uint32_t id)
{
	for (int i = 0; i < rs->depth; i++) {
		if (rs->path[i] == id) {
			return true;
		}
	}
	sni_actor *a;
	if (id == rs->cur || rs->depth == BLOCK_DEPTH_MAX || --rs->budget < 0 ||
	    sni_actor_hold_closed(id, &a) != 0) {
		return id == rs->cur;
	}
	uint32_t ids[SNI_BLOCK_MAX];
	size_t   n = blocked_on_now(a, ids);
	sni_actor_release(a);
	bool all              = n > 0;
	rs->path[rs->depth++] = id;
	for (size_t i = 0; all && i < n; i++) {
		all = leads_back(rs, ids[i]);
	}
	rs->depth--;
	return all;
}

/*
 * Notes that cur's thread blocks until one of n waits ends (the entries
 * set already), then looks for a ring. Noted first, then the others read
 * (both sequentially consistent): of two threads closing a ring at once,
 * at least one sees it.
 */
static int
block_and_check(sni_actor *cur, size_t n)
{
	atomic_store(&cur->blocked_n, (uint32_t) n);
	ring_search rs = { .cur = cur->id, .budget = BLOCK_SEARCH_MAX };
	for (size_t i = 0; i < n; i++) {
		if (!leads_back(&rs, atomic_load(&cur->blocked_on[i]))) {
			return 0;
		}
	}
	uint32_t ids[SNI_BLOCK_MAX];
	if (blocked_on_now(cur, ids) == 0) {
		return 0; /* what it waits for came meanwhile: no ring */
	}
	sni_actor_block_end();
	return sni_error_set(SYN_EDEADLK,
	    "waiting for a synchronizer whose thread waits, directly or "
	    "through others, for this one's: neither would go on (a task "
	    "awaits a call with syn_await() instead of blocking)",
	    cur->name);
}

int
sni_actor_block_begin(uint32_t target, syn_future *f)
{
	sni_actor *cur = sni_actor_self();
	if (cur == NULL || target == 0 || target == cur->id) {
		return 0; /* (its own: refused before, as EDEADLK) */
	}
	atomic_store(&cur->blocked_done, NULL);
	atomic_store(&cur->blocked_for[0], f);
	atomic_store(&cur->blocked_on[0], target);
	return block_and_check(cur, 1);
}

int
sni_actor_block_begin_flag(uint32_t target, _Atomic uint32_t *done)
{
	sni_actor *cur = sni_actor_self();
	if (cur == NULL || target == 0 || target == cur->id) {
		return 0;
	}
	atomic_store(&cur->blocked_done, done);
	atomic_store(&cur->blocked_for[0], NULL);
	atomic_store(&cur->blocked_on[0], target);
	return block_and_check(cur, 1);
}

/* True when cur's first m notes name id already. */
static bool
noted_already(const sni_actor *cur, size_t m, uint32_t id)
{
	for (size_t i = 0; i < m; i++) {
		if (atomic_load(&cur->blocked_on[i]) == id) {
			return true;
		}
	}
	return false;
}

int
sni_actor_block_begin_any(
    syn_future *const *fs, size_t n, _Atomic uint32_t *fired)
{
	sni_actor *cur = sni_actor_self();
	size_t     m   = 0;
	for (size_t i = 0; cur != NULL && i < n; i++) {
		uint32_t id = fs[i]->actor_id;
		if ((atomic_load(&fs[i]->state) & SNI_F_DONE) != 0 ||
		    id == cur->id || noted_already(cur, m, id)) {
			continue; /* (its own: refused before, as EDEADLK) */
		}
		if (m == SNI_BLOCK_MAX) {
			return 0;
		}
		/* (whether the wait is over: *fired tells, for all of them) */
		atomic_store(&cur->blocked_for[m], NULL);
		atomic_store(&cur->blocked_on[m], id);
		m++;
	}
	if (m == 0) {
		return 0;
	}
	atomic_store(&cur->blocked_done, fired);
	return block_and_check(cur, m);
}

void
sni_actor_block_on(syn_future *f)
{
	sni_actor *cur = sni_actor_self();
	if (cur != NULL && atomic_load(&cur->blocked_n) != 0) {
		atomic_store(&cur->blocked_for[0], f);
	}
}

void
sni_actor_block_end(void)
{
	sni_actor *cur = sni_actor_self();
	if (cur == NULL || atomic_load(&cur->blocked_n) == 0) {
		return;
	}
	atomic_store(&cur->blocked_n, 0);
	while (atomic_load(&cur->blocked_readers) > 0) {
		sched_yield(); /* a reader looks at a future: a moment */
	}
}

sni_actor *
sni_actor_self(void)
{
	return self;
}

/* ---- statistics ------------------------------------------------------- */

void
sni_actor_stats(sni_actor *a, syn_stats *out)
{
	struct sni_actor_stats *st = &a->stats;
	memset(out, 0, sizeof(*out));
	uint64_t handled =
	    atomic_load_explicit(&st->handled, memory_order_relaxed);
	uint64_t ended = atomic_load_explicit(&st->ended, memory_order_relaxed);
	uint64_t started =
	    atomic_load_explicit(&st->started, memory_order_relaxed);
	uint64_t pushed =
	    atomic_load_explicit(&a->mbox.pushed, memory_order_relaxed);
	out->calls_served    = ended;
	out->calls_in_flight = started > ended ? started - ended : 0;
	out->tasks_suspended =
	    atomic_load_explicit(&st->suspended, memory_order_relaxed);
	out->mailbox_depth = pushed > handled ? pushed - handled : 0;
	out->slow_tasks = atomic_load_explicit(&st->slow, memory_order_relaxed);
	out->shared_frames_bytes =
	    atomic_load_explicit(&st->frames_saved, memory_order_relaxed);
	for (int i = 0; i < SYN_LATENCY_BUCKETS; i++) {
		out->latency_us[i] =
		    atomic_load_explicit(&st->latency[i], memory_order_relaxed);
	}
}

/* ---- fork ------------------------------------------------------------- */

static void
atfork_child(void)
{
	self = NULL;
	sni_fork_generation_bump();
	sni_registry_forked();
	sni_door_forked();
	sni_process_nonce_reset();
}

static void
install_atfork(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

void
sni_actor_watch_forks(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_atfork);
}

/* ---- configuration ---------------------------------------------------- */

static uint32_t
spin_ns_for(int spin_us)
{
	if (spin_us == SYN_SPIN_OFF) {
		return 0;
	}
	if (spin_us == 0) {
		return sysconf(_SC_NPROCESSORS_ONLN) > 1 ? AUTO_SPIN_US * 1000u
		                                         : 0;
	}
	return (uint32_t) spin_us * 1000u;
}

static int
check_config(const syn_config *c)
{
	if (c->name != NULL && (c->name[0] == '\0' || strlen(c->name) > 63)) {
		return sni_error_set(
		    SYN_EINVAL, "config.name must have 1 to 63 bytes", "");
	}
	if (c->url != NULL &&
	    (strlen(c->url) > 127 || strncmp(c->url, "inproc://", 9) != 0 ||
	        c->url[9] == '\0')) {
		return sni_error_set(SYN_EINVAL,
		    "config.url must be an inproc:// address of at most 127 "
		    "bytes (other transports: syn_serve())",
		    "");
	}
	if (c->url != NULL && c->no_door) {
		return sni_error_set(SYN_EINVAL,
		    "config.url is where the door listens, and config.no_door "
		    "asks for none",
		    "");
	}
	if (c->stack_size != 0 &&
	    (c->stack_size < MIN_STACK || c->stack_size > MAX_STACK)) {
		return sni_error_set(SYN_EINVAL,
		    "config.stack_size must be 0 or 16 KiB to 64 MiB", "");
	}
	if (c->spin_us < SYN_SPIN_OFF || c->spin_us > 1000000) {
		return sni_error_set(SYN_EINVAL,
		    "config.spin_us must be SYN_SPIN_OFF, 0 or up to 1000000",
		    "");
	}
	if ((c->max_message != 0 && c->max_message < 64) || c->max_depth < 0 ||
	    c->max_depth > (int) SNI_MAX_DEPTH) {
		return sni_error_set(SYN_EINVAL,
		    "config.max_message must be 0 or at least 64, "
		    "config.max_depth 0 to 64",
		    "");
	}
	return 0;
}

static sni_actor *
actor_alloc(const syn_config *c)
{
	sni_actor *a = aligned_alloc(64, (sizeof(sni_actor) + 63) / 64 * 64);
	if (a == NULL) {
		return NULL;
	}
	memset(a, 0, sizeof(*a));
	sni_mpsc_init(&a->mbox);
	snprintf(a->name, sizeof(a->name), "%s", c->name ? c->name : "syn");
	a->spin_ns = spin_ns_for(c->spin_us);
	a->limits.max_depth =
	    c->max_depth ? (uint32_t) c->max_depth : SNI_DEFAULT_MAX_DEPTH;
	a->limits.max_size =
	    c->max_message ? c->max_message : SNI_DEFAULT_MAX_SIZE;
	a->limits.allow_ptr = true;
	a->max_message      = a->limits.max_size;
	a->on_blocking      = c->on_blocking;
	a->on_blocking_arg  = c->on_blocking_arg;
	a->on_slow_task     = c->on_slow_task;
	a->on_slow_task_arg = c->on_slow_task_arg;
	a->slow_ns          = (uint64_t) c->slow_task_us * 1000u;
	a->measure_latency  = c->measure_latency;
	a->shared_stack     = c->shared_stack;
	a->close_node.kind  = SNI_NODE_CLOSE;
	a->stop_node.kind   = SNI_NODE_STOP;
	sni_stack_pool_init(
	    &a->stacks, c->stack_size ? c->stack_size : DEFAULT_STACK);
	sni_timer_heap_init(&a->timers);
	atomic_init(&a->close_posted, false);
	atomic_init(&a->stop_posted, false);
	atomic_init(&a->stop_asked, false);
	atomic_init(&a->destroying, false);
	atomic_init(&a->started, 0);
	return a;
}

static int
set_url(sni_actor *a, const syn_config *c)
{
	char buf[64];
	if (c->no_door) {
		return 0;
	}
	if (c->url == NULL) {
		snprintf(buf, sizeof(buf), "inproc://synchronicity/%u", a->id);
		a->url_default = true;
	}
	a->url = strdup(c->url != NULL ? c->url : buf);
	return a->url != NULL ? 0 : SYN_ENOMEM;
}

/* ---- the loop --------------------------------------------------------- */

typedef struct ctrl {
	sni_node node;
	int (*fn)(sni_actor *, void *);
	void            *arg;
	int              rc;
	_Atomic uint32_t done;
} ctrl;

static void
run_ctrl(sni_actor *a, ctrl *c)
{
	c->rc = c->fn(a, c->arg);
	atomic_store(&c->done, 1);
	sni_futex_wake(&c->done, 1); /* c may be gone: harmless */
}

static void
begin_stop(sni_actor *a)
{
	a->closed = true;
	a->stopping =
	    true; /* the door stays open: callers by address get
	             their SYN_ECLOSED replies; it closes at the end */
	for (sni_task *t = a->tasks; t != NULL;) {
		sni_task *next = t->next;
		sni_task_cancel(t, true);
		t = next;
	}
}

static void
cancel_arrived(sni_actor *a, syn_future *f)
{
	if (f->task != NULL) {
		sni_task_cancel(f->task, false);
	}
	sni_future_cancel_done(f);
	(void) a;
}

static void dispatch(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim, bool here);
static void start_call(sni_actor *a, nng_msg *msg, const uint8_t *bytes,
    size_t len, int origin, void *origin_ptr, const sni_limits *lim, bool here);

/* The kind of the message in bytes, unchecked (the decoders check it);
 * 0 when too short to say. */
static int
kind_of(const uint8_t *bytes, size_t len)
{
	return len >= SNI_HDR_LEN ? bytes[2] : 0;
}

/* A CALL, a NEXT or a THROW whose bytes travel inside its future. */
static void
dispatch_inline(sni_actor *a, syn_future *f)
{
	sni_detail_clear();
	int kind = kind_of(f->inl, f->ilen);
	if (kind == SNI_MSG_NEXT || kind == SNI_MSG_THROW) {
		sni_gen_next(
		    a, NULL, f->inl, f->ilen, SNI_ORIGIN_FUTURE, f, &a->limits);
	} else { /* anything else is refused there as malformed */
		start_call(a, NULL, f->inl, f->ilen, SNI_ORIGIN_FUTURE, f,
		    &a->limits, true);
	}
}

static void
handle(sni_actor *a, sni_node *n)
{
	switch (n->kind) {
	case SNI_NODE_CALL: {
		/* The message is the actor's until the reply sets f->msg
		 * again; f's line is not written meanwhile, the caller may be
		 * reading it. */
		syn_future *f = (syn_future *) n;
		if (f->ilen > 0) {
			dispatch_inline(a, f);
		} else {
			dispatch(
			    a, f->msg, SNI_ORIGIN_FUTURE, f, &a->limits, true);
		}
		break;
	}
	case SNI_NODE_DOOR:
		sni_door_handle(a, n);
		break;
	case SNI_NODE_WAKE: {
		sni_task *t =
		    (sni_task *) ((char *) n - offsetof(sni_task, wake));
		if (t->wait == SNI_WAIT_FUTURE || t->wait == SNI_WAIT_PARK) {
			sni_task_resume(t, 0);
		}
		break;
	}
	case SNI_NODE_AIO:
		sni_aio_handle(a, n);
		break;
	case SNI_NODE_FD:
		sni_task_fd_ready((sni_fdwait *) n);
		break;
	case SNI_NODE_POOL: {
		sni_job *job = (sni_job *) n;
		sni_task_resume(job->task, 0);
		break;
	}
	case SNI_NODE_CANCEL:
		cancel_arrived(a,
		    (syn_future *) ((char *) n -
		        offsetof(syn_future, cancel_node)));
		break;
	case SNI_NODE_CTRL:
		run_ctrl(a, (ctrl *) n);
		break;
	case SNI_NODE_PIPE:
		sni_door_handle_pipe(a, n);
		break;
	case SNI_NODE_BACKCALL:
	case SNI_NODE_BACKCANCEL:
		sni_backcall_node(a, n);
		break;
	case SNI_NODE_CLOSE:
		a->closed =
		    true; /* the door stays open, to answer SYN_ECLOSED */
		break;
	case SNI_NODE_STOP:
		begin_stop(a);
		break;
	}
}

/* Handles everything on the mailbox; true when there was anything. What
 * is taken waits in a->pending: a call that suspends on the loop's stack
 * moves the loop to another, which goes on from there. */
static bool
drain(sni_actor *a)
{
	if (a->pending == NULL &&
	    (a->pending = sni_mpsc_take(&a->mbox)) == NULL) {
		return false;
	}
	sni_node *n;
	while ((n = a->pending) != NULL) {
		a->pending = n->next; /* handling may recycle n */
		if (a->pending != NULL) {
			__builtin_prefetch(a->pending); /* while n runs */
		}
		/* (counted first: whoever a handling answers finds the
		 * message out of the mailbox) */
		sni_stat_add(a->stats.handled, 1);
		handle(a, n);
	}
	return true;
}

/*
 * Nothing to do: spin a little (a caller that is about to post saves the
 * wake-up), then sleep until a node arrives or the next timer is due.
 * The spin yields the CPU at each turn, so that on a busy machine the
 * callers it waits for can run (with eight callers on two CPUs that
 * raised the throughput by a fifth; alone on its CPU a yield returns at
 * once).
 */
static void
idle(sni_actor *a)
{
	uint64_t next = sni_timer_next(&a->timers);
	if (a->spin_ns > 0) {
		uint64_t now = sni_now_ns();
		uint64_t end =
		    now + a->spin_ns < next ? now + a->spin_ns : next;
		publish_cpu(a);
		while (now < end) {
			for (int i = 0; i < 32; i++) {
				if (sni_mpsc_nonempty(&a->mbox)) {
					return;
				}
				sni_cpu_relax();
			}
			sched_yield();
			publish_cpu(a);
			now = sni_now_ns();
		}
		if (now >= next) {
			return;
		}
	}
	sni_mpsc_sleep(&a->mbox, next);
	publish_cpu(a); /* (a wake-up may have moved it) */
}

static void
loop(sni_actor *a)
{
	for (;;) {
		bool busy = drain(a);
		if (a->batch_retry) { /* what the work handled left waiting */
			sni_batch_retry(a);
			busy = true;
		}
		if (a->timers.len > 0) {
			busy |= sni_task_run_timers(a, sni_now_ns());
		}
		if (a->stopping && a->ntasks == 0) {
			return;
		}
		if (!busy) {
			idle(a);
		}
	}
}

static void
drain_all(sni_actor *a)
{
	while (drain(a)) { }
}

/* sni_door_stop's meanwhile: what came in is answered (SYN_ECLOSED);
 * true while replies of batches wait for their FETCH. */
static bool
drain_and_deliver(void *a)
{
	drain_all(a);
	return sni_batches_undelivered(a);
}

/* After the loop: nothing can reach the actor any more once this ends. */
static void
shutdown_actor(sni_actor *a)
{
	sni_registry_seal(a->id);
	sni_registry_quiesce(a->id);
	sni_backcalls_fini(a);
	sni_batches_stop(a);
	sni_door_stop(a->door, drain_and_deliver, a);
	sni_batches_fini(a);
	sni_aio_stop_all(a);
	drain_all(a);
	sni_aio_free_all(a);
	sni_ptrmap_fini(&a->streams);
	sni_ptrmap_fini(&a->door_tasks);
	sni_ptrmap_fini(&a->stream_counts);
	sni_ptrmap_fini(&a->host_streams);
	sni_ptrmap_fini(&a->live_pipes);
	sni_door_free(a->door);
	a->door = NULL;
	if (a->ops->fini != NULL) {
		a->ops->fini(a->ops_arg);
	}
	sni_timer_heap_fini(&a->timers);
	sni_shared_fini(a);
	sni_stack_pool_fini(&a->stacks);
}

static void
signal_started(sni_actor *a, int rc)
{
	a->start_rc = rc;
	atomic_store(&a->started, 1);
	sni_futex_wake(&a->started, 1);
}

/*
 * Opens the door at a's address. The default address shares inproc's
 * namespace with the addresses users pick: when one took it, a suffix
 * makes another (the synchronizer asked for none in particular).
 */
static int
open_door(sni_actor *a)
{
	int rc = sni_door_open(a, a->url, a->max_message, &a->door);
	for (int n = 1; rc == SYN_EADDRINUSE && a->url_default && n <= 16;
	     n++) {
		char  buf[64];
		char *url;
		snprintf(
		    buf, sizeof(buf), "inproc://synchronicity/%u.%d", a->id, n);
		if ((url = strdup(buf)) == NULL) {
			return SYN_ENOMEM;
		}
		free(a->url);
		a->url = url;
		rc     = sni_door_open(a, a->url, a->max_message, &a->door);
	}
	return rc;
}

SNI_NO_TSAN void
sni_actor_loop_entry(void *arg)
{
	sni_actor *a = arg;
	a->current   = NULL;
	if (a->batch_retry) { /* what the call's first run left waiting */
		sni_batch_retry(a);
	}
	loop(a);
	sni_ctx_exit(a->sched, &a->thread_ctx, NULL);
}

/* Runs the loop on a pooled stack (see sni_task_start), or on the
 * thread's own when none can be had or stacks are small: the loop's work
 * (the door, errors, nng) takes more room than a small task's stack. */
static void
run_loop(sni_actor *a)
{
	if (a->stacks.size < SNI_LOOP_STACK_MIN || !sni_task_spare_ready(a)) {
		loop(a);
		return;
	}
	a->sched_stack = a->spare;
	a->spare       = NULL;
	a->sched       = &a->sched_stack->ctx;
	sni_ctx_switch(&a->thread_ctx, a->sched, a);
	a->sched = &a->thread_ctx;
	sni_task_loop_stacks_back(a);
}

static void *
actor_main(void *arg)
{
	sni_actor *a         = arg;
	char       tname[16] = { 0 };
	self                 = a;
	memcpy(tname, a->name, sizeof(tname) - 1);
	pthread_setname_np(pthread_self(), tname);
	sni_ctx_init_thread(&a->thread_ctx);
	a->sched = &a->thread_ctx;
	if (a->url != NULL) {
		int rc = open_door(a);
		if (rc != 0) {
			signal_started(a, rc);
			return NULL;
		}
	}
	signal_started(a, 0);
	run_loop(a);
	shutdown_actor(a);
	self = NULL;
	return NULL;
}

/* ---- starting, closing, destroying ------------------------------------ */

static void
actor_free(sni_actor *a)
{
	free(a->url);
	free(a);
}

static int
spawn(sni_actor *a)
{
	int rc = pthread_create(&a->thread, NULL, actor_main, a);
	if (rc != 0) {
		return rc == EAGAIN ? SYN_ENOMEM : (SYN_ESYSERR | rc);
	}
	while (atomic_load(&a->started) == 0) {
		sni_futex_wait(&a->started, 0, UINT64_MAX);
	}
	if (a->start_rc != 0) {
		pthread_join(a->thread, NULL);
	}
	return a->start_rc;
}

int
sni_actor_start(const syn_config *cfg, const sni_actor_ops *ops, void *ops_arg,
    sni_actor **ap, uint32_t *idp)
{
	static const syn_config defaults;
	sni_actor_watch_forks();
	cfg    = cfg != NULL ? cfg : &defaults;
	int rc = check_config(cfg);
	if (rc != 0) {
		return rc;
	}
	if (!cfg->no_door && sni_door_unavailable()) {
		return sni_error_set(SYN_EFORK,
		    "nng cannot open sockets in a forked child of a process "
		    "that used it: set config.no_door",
		    "");
	}
	sni_actor *a = actor_alloc(cfg);
	if (a == NULL) {
		return sni_error_set(SYN_ENOMEM, NULL, "");
	}
	a->ops     = ops;
	a->ops_arg = ops_arg;
	if ((rc = sni_registry_add(a, &a->id)) != 0) {
		actor_free(a);
		return sni_error_set(rc, NULL, "");
	}
	if ((rc = set_url(a, cfg)) != 0 || (rc = spawn(a)) != 0) {
		sni_registry_seal(a->id);
		sni_registry_remove(a->id);
		sni_stack_pool_fini(&a->stacks);
		actor_free(a);
		return sni_error_set(rc, NULL, "");
	}
	*ap  = a;
	*idp = a->id;
	return 0;
}

int
sni_actor_hold(uint32_t id, sni_actor **ap)
{
	return sni_registry_pin(id, false, ap);
}

int
sni_actor_hold_closed(uint32_t id, sni_actor **ap)
{
	return sni_registry_pin(id, true, ap);
}

bool
sni_actor_post_held(sni_actor *a, sni_node *n)
{
	sni_actor *pinned;
	/* Not sealed while the waiting task keeps its loop going. */
	if (sni_registry_pin(a->id, true, &pinned) != 0) {
		return false;
	}
	sni_actor_post(pinned, n);
	sni_registry_unpin(a->id);
	return true;
}

void
sni_actor_release(sni_actor *a)
{
	sni_registry_unpin(a->id);
}

/* Marks a closed and tells its loop, once; a must be pinned. */
static void
post_close(sni_actor *a)
{
	sni_registry_set_closing(a->id);
	if (!atomic_exchange(&a->close_posted, true)) {
		sni_actor_post(a, &a->close_node);
	}
}

int
sni_actor_close(uint32_t id)
{
	sni_actor *a;
	int        rc = sni_registry_pin(id, true, &a);
	if (rc != 0) {
		return rc;
	}
	post_close(a);
	sni_registry_unpin(id);
	return 0;
}

int
sni_actor_destroy(uint32_t id)
{
	sni_actor *a;
	int        rc = sni_registry_pin(id, true, &a);
	if (rc != 0) {
		return rc;
	}
	if (a == self || a == sni_pool_job_actor()) { /* it waits for us */
		sni_registry_unpin(id);
		return sni_error_set(SYN_EDEADLK,
		    "a synchronizer cannot be destroyed from its own thread, "
		    "or from a blocking job of its own",
		    "");
	}
	if (a->back != NULL) { /* it goes with its client's connection */
		sni_registry_unpin(id);
		return SYN_ENOTSUP;
	}
	/* (from a task of another actor, whose thread a's may block for) */
	if (a->remote == NULL && (rc = sni_actor_block_begin(id, NULL)) != 0) {
		sni_registry_unpin(id);
		return rc;
	}
	if (atomic_exchange(&a->destroying, true)) {
		sni_actor_block_end();
		sni_registry_unpin(id);
		return SYN_ECLOSED; /* another thread destroys it */
	}
	/* (a blocking job that waits here must not hold a pool thread the
	 * actor's own jobs need to end) */
	bool pooled = sni_pool_block_begin();
	if (a->remote != NULL) { /* no thread: close its socket */
		sni_registry_seal(id);
		sni_registry_unpin(id);
		sni_registry_quiesce(id);
		sni_remote_close(a);
	} else {
		post_close(a);
		atomic_store(&a->stop_asked, true);
		if (!atomic_exchange(&a->stop_posted, true)) {
			sni_actor_post(a, &a->stop_node);
		}
		sni_registry_unpin(id);
		pthread_join(a->thread, NULL);
	}
	if (pooled) {
		sni_pool_block_end();
	}
	sni_actor_block_end();
	sni_registry_remove(id);
	actor_free(a);
	return 0;
}

bool
sni_actor_loop_is_here(uint32_t id)
{
	sni_actor *a;
	if (self == NULL || self->id == id) {
		return self != NULL;
	}
	if (sni_registry_pin(id, false, &a) != 0) {
		return false;
	}
	bool here = sni_backcall_server(a) == self;
	sni_registry_unpin(id);
	return here;
}

int
sni_actor_run(uint32_t id, int (*fn)(sni_actor *, void *), void *arg)
{
	if (self != NULL && self->id == id) {
		return fn(self, arg);
	}
	sni_actor *a;
	int        rc = sni_registry_pin(id, false, &a);
	if (rc != 0) {
		return rc;
	}
	if (a->post != NULL) {
		sni_registry_unpin(id);
		return SYN_ENOTSUP; /* another process's: no thread here */
	}
	ctrl c = { { NULL, SNI_NODE_CTRL }, fn, arg, 0, 0 };
	if ((rc = sni_actor_block_begin_flag(id, &c.done)) != 0) {
		sni_registry_unpin(id); /* (a's thread blocks for this one's) */
		return rc;
	}
	sni_actor_post(a, &c.node);
	sni_registry_unpin(id);
	while (atomic_load(&c.done) == 0) {
		sni_futex_wait(&c.done, 0, UINT64_MAX);
	}
	sni_actor_block_end();
	return c.rc;
}

/* ---- dispatching a call ----------------------------------------------- */

/* The kind byte of a body, unchecked (the decoders check it). */
static int
peek_kind(nng_msg *msg)
{
	return kind_of(nng_msg_body(msg), nng_msg_len(msg));
}

/* A CALL of a generator, or an OPEN of a function: which was meant. */
static int
check_kind(const sni_callable *c, uint64_t stream)
{
	bool method = c->self != NULL;
	if (c->kind == SYN_KIND_GENERATOR && stream == 0) {
		sni_detail_set("'%s' is a generator: iterate it with %s, one "
		               "item at a time",
		    c->name, method ? "syn_invoke_iter()" : "syn_iter_open()");
		return SYN_EINVAL;
	}
	if (c->kind != SYN_KIND_GENERATOR && stream != 0) {
		sni_detail_set("'%s' is not a generator: call it with %s",
		    c->name, method ? "syn_invoke()" : "syn_call()");
		return SYN_EINVAL;
	}
	return 0;
}

/* A RELEASE: references to an object of this actor come back. */
static void
handle_release(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim)
{
	uint64_t   id = 0;
	syn_handle h;
	uint64_t   count;
	int        rc = sni_msg_decode_release(
	           nng_msg_body(msg), nng_msg_len(msg), lim, &id, &h, &count);
	bool     remote;
	uint32_t pipe = sni_origin_pipe(origin, origin_ptr, &remote);
	if (rc == 0 && h.owner != a->id) {
		sni_detail_set("object of synchronizer %llu released on %u",
		    (unsigned long long) h.owner, a->id);
		rc = SYN_EINVAL;
	}
	if (rc != 0) {
		sni_reply_error(
		    origin, origin_ptr, msg, id, rc, sni_detail_get(), a->name);
		return;
	}
	if (a->ops->release != NULL) {
		a->ops->release(a->ops_arg, remote ? pipe : 0, h.object, count);
	}
	sni_reply_nil(origin, origin_ptr, msg, id);
}

/* ---- cancels from other processes ------------------------------------- */

/* The task of a call from pipe with call_id, cancelled; false: none. */
static bool
cancel_call(sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	sni_task *t = sni_task_of_call(a, pipe, call_id);
	if (t != NULL) {
		sni_task_cancel(t, false);
	}
	return t != NULL;
}

void
sni_actor_cancel_pipe_calls(sni_actor *a, uint32_t pipe)
{
	/* (by id: a cancel runs a task, which may end others meanwhile) */
	uint64_t *ids = malloc((size_t) a->ntasks * sizeof(*ids) + 1);
	size_t    n   = 0;
	for (sni_task *t = ids != NULL ? a->tasks : NULL; t != NULL;
	     t           = t->next) {
		if (t->origin == SNI_ORIGIN_DOOR && t->gen.pipe == pipe &&
		    t->call_id != 0 && !t->done) {
			ids[n++] = t->call_id;
		}
	}
	for (size_t k = 0; k < n; k++) {
		cancel_call(a, pipe, ids[k]);
	}
	free(ids);
}

/* How many of the ring's places one pipe may hold: a peer that cancels
 * calls it never sends pushes out its own notes only. */
#define EARLY_PER_PIPE 8

/* Whether note x came before note y (their numbers may wrap). */
static bool
older(const struct sni_early_cancel *x, const struct sni_early_cancel *y)
{
	return (int32_t) (x->seq - y->seq) < 0;
}

void
sni_actor_cancel_early(sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	/* The place: pipe's oldest note once it holds EARLY_PER_PIPE, else
	 * a free one, else the oldest of all. */
	int mine = -1, any = 0, held = 0;
	for (int i = 0; i < SNI_EARLY_MAX; i++) {
		const struct sni_early_cancel *e = &a->early[i];
		if (e->call_id != 0 && e->pipe == pipe &&
		    (held++ == 0 || older(e, &a->early[mine]))) {
			mine = i;
		}
		if (a->early[any].call_id != 0 &&
		    (e->call_id == 0 || older(e, &a->early[any]))) {
			any = i;
		}
	}
	int at = held >= EARLY_PER_PIPE ? mine : any;
	a->early[at] =
	    (struct sni_early_cancel) { pipe, a->early_seq++, call_id };
}

/* Where the early-cancel ring holds pipe's call call_id, or -1. */
static int
early_index(const sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	for (int i = 0; call_id != 0 && i < SNI_EARLY_MAX; i++) {
		if (a->early[i].call_id == call_id &&
		    a->early[i].pipe == pipe) {
			return i;
		}
	}
	return -1;
}

bool
sni_actor_cancelled_before(const sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	return early_index(a, pipe, call_id) >= 0;
}

/* True (and forgotten) when a CANCEL of this call came before it. */
static bool
cancelled_early(sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	int i = early_index(a, pipe, call_id);
	if (i >= 0) {
		a->early[i].call_id = 0;
	}
	return i >= 0;
}

static void
handle_cancel(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim)
{
	uint64_t id = 0, target = 0;
	int      rc = sni_msg_decode_cancel(
	         nng_msg_body(msg), nng_msg_len(msg), lim, &id, &target);
	if (rc == 0 && origin != SNI_ORIGIN_DOOR) {
		sni_detail_set("a CANCEL comes from another process");
		rc = SYN_EPROTO;
	}
	if (rc != 0) {
		sni_reply_error(
		    origin, origin_ptr, msg, id, rc, sni_detail_get(), a->name);
		return;
	}
	uint32_t pipe = sni_origin_pipe(origin, origin_ptr, NULL);
	if (target != 0 && !cancel_call(a, pipe, target) &&
	    !sni_batch_cancel_waiting(a, pipe, target) &&
	    !sni_door_backlog_cancel(a, pipe, target)) {
		sni_actor_cancel_early(a, pipe, target);
	}
	sni_reply_nil(origin, origin_ptr, msg, id);
}

/* What renaming a peer's handles needs. */
typedef struct own_ctx {
	sni_actor *a;
	uint32_t   pipe;
} own_ctx;

/*
 * sni_msg_each_handle's visitor: a plain handle names an object of this
 * actor; one marked SNI_PEER_OWNER, an object of the client (it becomes
 * a handle of the client's back actor). A reference (an OBJECT ext) only
 * an object's own synchronizer hands out: never a client.
 */
static int
own_handle(void *ctx, syn_handle *h, bool *owned)
{
	own_ctx *c = ctx;
	if (*owned) {
		sni_detail_set("a reference handed out by a peer that owns "
		               "no object here");
		return SYN_EPROTO;
	}
	if ((h->owner & SNI_PEER_OWNER) != 0) {
		return sni_backcall_name(c->a, c->pipe, h, owned);
	}
	h->owner = c->a->id;
	return 0;
}

/*
 * A message from another process names the objects of this synchronizer
 * (the only ones its peer can hold) by ids of its own side: from now on
 * they name them by this actor's id, as every handle here does.
 */
static int
own_handles(sni_actor *a, nng_msg *msg, void *origin_ptr, const sni_limits *lim)
{
	bool    remote;
	own_ctx c = { a,
		sni_origin_pipe(SNI_ORIGIN_DOOR, origin_ptr, &remote) };
	if (!remote) {
		return 0;
	}
	return sni_msg_each_handle(nng_msg_body(msg), nng_msg_len(msg),
	    lim->max_depth + 1, own_handle, &c);
}

/* The call id of a request refused as malformed, when it can be read (a
 * peer matches the error to its request by it); else 0. */
static uint64_t
readable_id(const void *bytes, size_t len)
{
	uint64_t id = 0;
	return sni_msg_call_id(bytes, len, &id) == 0 ? id : 0;
}

/* A renamed handle that carries a reference: it goes back (its proxy,
 * made and released, owes the peer a RELEASE). */
static int
drop_owned(void *ctx, syn_handle *h, bool *owned)
{
	sni_actor *a = ctx;
	if (*owned && (h->owner & SNI_PEER_OWNER) == 0) {
		syn_value v = { .type = SYN_TYPE_HANDLE,
			.len          = SNI_HANDLE_OWNED,
			.as.handle    = h };
		a->ops->value_drop(a->ops_arg, &v);
		*owned = false;
	}
	return 0;
}

/*
 * A request from another process refused before its values were
 * decoded: the references its handles carry once own_handles renamed
 * them (all, or those before the one it stopped at) go back, or they
 * would stay counted until the connection ends.
 */
static void
refused_from_peer(sni_actor *a, nng_msg *msg, const sni_limits *lim)
{
	if (msg != NULL && a->ops->value_drop != NULL) {
		sni_msg_each_handle(nng_msg_body(msg), nng_msg_len(msg),
		    lim->max_depth + 1, drop_owned, a);
	}
}

/* Whether the call v may start, and what it runs: 0, or the code with a
 * detail. */
static int
admit(sni_actor *a, const sni_call_view *v, int origin, void *origin_ptr,
    uint64_t stream, sni_callable *c, const char **detail)
{
	int rc;
	if (a->closed && origin == SNI_ORIGIN_DOOR) {
		*detail = "the synchronizer is closed";
		return SYN_ECLOSED;
	}
	if (a->stopping ||
	    atomic_load_explicit(&a->stop_asked, memory_order_relaxed)) {
		*detail = "the synchronizer was destroyed";
		return SYN_ECLOSED;
	}
	if (origin == SNI_ORIGIN_FUTURE &&
	    sni_future_cancel_requested(origin_ptr)) {
		return SYN_ECANCELED;
	}
	if (origin == SNI_ORIGIN_DOOR &&
	    (rc = sni_task_new_call_id(a, NULL, v->pipe, v->call_id)) != 0) {
		*detail = sni_detail_get();
		return rc;
	}
	if (origin == SNI_ORIGIN_DOOR &&
	    cancelled_early(a, v->pipe, v->call_id)) {
		*detail = "the call was cancelled";
		return SYN_ECANCELED;
	}
	if (origin == SNI_ORIGIN_DOOR &&
	    (rc = sni_door_refusal(origin_ptr, detail)) != 0) {
		return rc;
	}
	if ((rc = a->ops->resolve(a->ops_arg, v, c)) != 0 ||
	    (rc = check_kind(c, stream)) != 0) {
		*detail = sni_detail_get();
	}
	return rc;
}

/* sni_actor_dispatch; here: from the loop itself, with nothing to do
 * after (see sni_task_start). */
static void
dispatch(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim, bool here)
{
	int rc;
	sni_detail_clear();
	if (origin == SNI_ORIGIN_DOOR &&
	    (rc = own_handles(a, msg, origin_ptr, lim)) != 0) {
		refused_from_peer(a, msg, lim);
		sni_reply_error(origin, origin_ptr, msg,
		    readable_id(nng_msg_body(msg), nng_msg_len(msg)), rc,
		    sni_detail_get(), a->name);
		return;
	}
	switch (peek_kind(msg)) {
	case SNI_MSG_NEXT:
	case SNI_MSG_THROW:
		sni_gen_next(a, msg, nng_msg_body(msg), nng_msg_len(msg),
		    origin, origin_ptr, lim);
		return;
	case SNI_MSG_CLOSE:
		sni_gen_close(a, msg, origin, origin_ptr, lim);
		return;
	case SNI_MSG_RELEASE:
		handle_release(a, msg, origin, origin_ptr, lim);
		return;
	case SNI_MSG_CANCEL:
		handle_cancel(a, msg, origin, origin_ptr, lim);
		return;
	case SNI_MSG_HELLO:
		if (origin != SNI_ORIGIN_DOOR) {
			sni_reply_error(origin, origin_ptr, msg, 0, SYN_EPROTO,
			    "a HELLO comes through a socket", a->name);
		} else {
			sni_door_hello(a, msg, origin_ptr, lim);
		}
		return;
	case SNI_MSG_BATCH:
	case SNI_MSG_FETCH:
		if (origin != SNI_ORIGIN_DOOR) {
			sni_reply_error(origin, origin_ptr, msg, 0, SYN_EPROTO,
			    "a BATCH or FETCH comes from another process",
			    a->name);
		} else if (peek_kind(msg) == SNI_MSG_BATCH) {
			sni_batch_handle(a, msg, origin_ptr, lim);
		} else {
			sni_batch_fetch(a, msg, origin_ptr, lim);
		}
		return;
	case SNI_MSG_POLL:
	case SNI_MSG_RESULT:
		if (origin != SNI_ORIGIN_DOOR) {
			sni_reply_error(origin, origin_ptr, msg, 0, SYN_EPROTO,
			    "a POLL or RESULT comes from another process",
			    a->name);
		} else if (peek_kind(msg) == SNI_MSG_POLL) {
			sni_backcall_poll(a, msg, origin_ptr, lim);
		} else {
			sni_backcall_result(a, msg, origin_ptr, lim);
		}
		return;
	default:
		start_call(a, msg, nng_msg_body(msg), nng_msg_len(msg), origin,
		    origin_ptr, lim, here);
		return;
	}
}

void
sni_actor_dispatch(sni_actor *a, nng_msg *msg, int origin, void *origin_ptr,
    const sni_limits *lim)
{
	dispatch(a, msg, origin, origin_ptr, lim, false);
}

/*
 * A CALL or an OPEN, in bytes (inside msg, or inline in the future when
 * msg is NULL): decoded, admitted, started as a task, or answered with
 * an error. Takes msg. here: called by the loop with nothing to do after
 * (see sni_task_start).
 */
static void
start_call(sni_actor *a, nng_msg *msg, const uint8_t *bytes, size_t len,
    int origin, void *origin_ptr, const sni_limits *lim, bool here)
{
	sni_call_view v;
	sni_callable  c;
	uint64_t      stream = 0;
	uint32_t      window = 0;
	int           rc;
	if (kind_of(bytes, len) == SNI_MSG_OPEN) {
		rc = sni_msg_decode_open(bytes, len, lim, &v, &stream, &window);
	} else {
		rc = sni_msg_decode_call(bytes, len, lim, &v);
	}
	if (rc != 0) {
		if (origin == SNI_ORIGIN_DOOR) {
			refused_from_peer(a, msg, lim);
		}
		sni_reply_error(origin, origin_ptr, msg,
		    readable_id(bytes, len), rc, sni_detail_get(), a->name);
		return;
	}
	v.pipe             = sni_origin_pipe(origin, origin_ptr, &v.remote);
	const char *detail = NULL, *where = a->name;
	rc = admit(a, &v, origin, origin_ptr, stream, &c, &detail);
	if (rc == 0 &&
	    (rc = sni_task_start(a, &c, &v, origin, origin_ptr, msg, stream,
	         window, here)) != 0) {
		where  = c.name; /* (its detail, if any: a generator refused) */
		detail = sni_detail_get()[0] != '\0' ? sni_detail_get() : NULL;
	}
	if (rc != 0) {
		if (a->ops->discard != NULL) { /* before msg is overwritten */
			a->ops->discard(a->ops_arg, &v);
		}
		sni_reply_error(
		    origin, origin_ptr, msg, v.call_id, rc, detail, where);
	}
}
