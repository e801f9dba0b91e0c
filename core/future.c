/*
 * core/future.c: futures, completed once by an actor, awaited anywhere.
 * See future.h for the state word that decides who frees a future.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "actor.h"
#include "cancel.h"
#include "clock.h"
#include "context.h"
#include "errors.h"
#include "futex.h"
#include "future.h"
#include "pool.h"
#include "registry.h"
#include "sanitize.h"
#include "shared.h"
#include "task.h"

/* Replies of this process's own actors: trusted sizes, pointers allowed,
 * as deep as any actor may be configured to send. */
static const sni_limits reply_limits = { SNI_MAX_DEPTH, SIZE_MAX, true, false,
	false, false };

_Static_assert(
    sizeof(syn_future) == 192, "a future is three cache lines (see future.h)");

static const syn_error no_error       = { 0, "", "" };
static const syn_error canceled_error = { SYN_ECANCELED, "canceled", "" };
static const syn_error forked_error   = { SYN_EFORK,
	  "the call belongs to the parent process of a fork", "" };

/*
 * Each thread keeps a few freed futures, with the message each carried,
 * so that a call allocates nothing in the steady state: a blocking call's
 * future and message come back to the thread that made them.
 */
#define CACHE_MAX 128
#define CACHE_MSG_MAX 4096 /* bigger messages are not kept */

typedef struct future_cache {
	syn_future *head;
	uint32_t    n;
} future_cache;

static _Thread_local future_cache cache;
static _Thread_local bool         cache_registered;
static pthread_key_t              cache_key;
static pthread_once_t             cache_once = PTHREAD_ONCE_INIT;

/*
 * Futures are cut, in order, from blocks of BLOCK_FUTURES by the thread
 * that makes calls, and freed one by one by any thread: a block goes with
 * its last future. A million calls in flight then cost one malloc per
 * sixteen, not one each (malloc's path for 192-byte chunks, outside its
 * fast bins, and free's merging of neighbours showed in the pipelined
 * bench). The price: a future kept for long keeps its block's 3 KiB.
 */
#define BLOCK_FUTURES 16

/* A future given back is poisoned, so that ASan still sees a use after
 * free of one future in a block that lives on. */
#ifdef SNI_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
#define POISON_FUTURE(f) __asan_poison_memory_region(f, sizeof(syn_future))
#else
#define POISON_FUTURE(f) ((void) 0)
#endif

struct sni_future_block {
	_Alignas(64) _Atomic uint32_t live; /* futures not yet freed */
	_Alignas(64) syn_future f[BLOCK_FUTURES];
};

static _Thread_local sni_future_block *cutting; /* this thread's block */
static _Thread_local uint32_t          cut;     /* futures cut from it */

static void thread_register(void);

static syn_future *
future_new(void)
{
	if (cutting == NULL || cut == BLOCK_FUTURES) {
		sni_future_block *b = aligned_alloc(64, sizeof(*b));
		if (b == NULL) {
			return NULL;
		}
		atomic_init(&b->live, BLOCK_FUTURES);
		thread_register();
		cutting = b;
		cut     = 0;
	}
	syn_future *f = &cutting->f[cut++];
	f->block      = cutting;
	return f;
}

/* Gives back n futures of b; the last one frees b. */
static void
block_put(sni_future_block *b, uint32_t n)
{
	if (atomic_fetch_sub_explicit(&b->live, n, memory_order_acq_rel) == n) {
		free(b);
	}
}

static void
future_delete(syn_future *f)
{
	sni_future_block *b = f->block;
	POISON_FUTURE(f);
	block_put(b, 1);
}

/* Frees f for good, with the message and the extension it kept. */
static void
future_free_now(syn_future *f)
{
	if (f->msg != NULL) {
		nng_msg_free(f->msg);
	}
	free(f->ext);
	future_delete(f);
}

/* At thread exit: frees what the thread's cache holds, and gives back
 * the futures of its block it never cut. */
static void
cache_drain(void *unused)
{
	(void) unused;
	while (cache.head != NULL) {
		syn_future *f = cache.head;
		cache.head    = (syn_future *) f->node.next;
		future_free_now(f);
	}
	cache.n          = 0;
	cache_registered = false; /* a later TSD destructor may call */
	/* (a block cut to its end may be gone already) */
	if (cutting != NULL && cut < BLOCK_FUTURES) {
		block_put(cutting, BLOCK_FUTURES - cut);
	}
	cutting = NULL;
}

static void
cache_init(void)
{
	pthread_key_create(&cache_key, cache_drain);
}

/* So that cache_drain runs when this thread exits. */
static void
thread_register(void)
{
	if (!cache_registered) {
		pthread_once(&cache_once, cache_init);
		pthread_setspecific(cache_key, &cache);
		cache_registered = true;
	}
}

static void
cache_put(syn_future *f)
{
	if (f->msg != NULL && nng_msg_capacity(f->msg) > CACHE_MSG_MAX) {
		nng_msg_free(f->msg);
		f->msg = NULL;
	}
	if (cache.n >= CACHE_MAX) {
		future_free_now(f);
		return;
	}
	thread_register();
	f->node.next = (sni_node *) cache.head;
	cache.head   = f;
	cache.n++;
}

syn_future *
sni_future_alloc(uint32_t actor_id, uint32_t spin_ns)
{
	syn_future *f = cache.head;
	if (f != NULL) {
		cache.head = (syn_future *) f->node.next;
		cache.n--;
	} else if ((f = future_new()) == NULL) {
		return NULL;
	} else {
		f->msg = NULL;
		f->ext = NULL;
	}
	f->node.kind        = SNI_NODE_CALL;
	f->cancel_node.kind = SNI_NODE_CANCEL;
	atomic_init(&f->state, 0);
	f->rc       = 0;
	f->actor_id = actor_id;
	f->spin_ns  = spin_ns;
	f->fork_gen = sni_fork_generation();
	f->task     = NULL;
	atomic_flag_clear(&f->lock.f);
	f->listeners = NULL;
	f->decoded   = false;
	f->code      = 0;
	f->value     = syn_nil();
	f->mem       = NULL;
	f->err       = &no_error;
	f->inline_ok = false;
	f->ilen      = 0;
	return f;
}

const uint8_t *
sni_future_bytes(const syn_future *f, size_t *len)
{
	if (f->ilen > 0) {
		*len = f->ilen;
		return f->inl;
	}
	if (f->msg != NULL) {
		*len = nng_msg_len(f->msg);
		return nng_msg_body(f->msg);
	}
	*len = 0;
	return NULL;
}

int
sni_future_take_msg(syn_future *f, nng_msg **mp)
{
	*mp = NULL;
	if (f->ilen == 0) {
		*mp    = f->msg;
		f->msg = NULL;
		return 0;
	}
	if (nng_msg_alloc(mp, 0) != 0 ||
	    nng_msg_append(*mp, f->inl, f->ilen) != 0) {
		if (*mp != NULL) {
			nng_msg_free(*mp);
		}
		*mp = NULL;
		return SYN_ENOMEM;
	}
	f->ilen = 0; /* taken: freeing f drops nothing the copy holds */
	return 0;
}

/* The extension stays with a cached future, emptied, for its next use
 * (an iterator's requests each need one). */
static void
future_destroy(syn_future *f)
{
	size_t         len;
	const uint8_t *bytes = sni_future_bytes(f, &len);
	if (!f->decoded && bytes != NULL && f->rc == 0) { /* never read */
		sni_reply_drop(bytes, len);
	}
	if (f->msg != NULL) {
		/* (a cached future keeps its message, not the reply in it: a
		 * next use discarded before a reply came would drop it again)
		 */
		nng_msg_clear(f->msg);
	}
	if (f->mem != NULL) {
		free(f->mem);
		f->mem = NULL;
	}
	if (f->ext != NULL) {
		if (f->ext->efd >= 0) {
			close(f->ext->efd);
		}
		sni_held_release(f->ext->held);
		*f->ext     = (sni_future_ext) { 0 };
		f->ext->efd = -1;
	}
	cache_put(f);
}

void
sni_future_discard(syn_future *f)
{
	future_destroy(f);
}

/* Freed once done and released, with nobody notifying or cancelling. */
static bool
terminal(uint32_t s)
{
	return (s &
	           (SNI_F_DONE | SNI_F_RELEASED | SNI_F_NOTIFYING |
	               SNI_F_CANCEL_NODE)) == (SNI_F_DONE | SNI_F_RELEASED);
}

/* Sets and clears bits; frees f when this change made it terminal. */
static void
update(syn_future *f, uint32_t set, uint32_t clear)
{
	uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
	uint32_t new;
	do {
		new = (old | set) & ~clear;
	} while (!atomic_compare_exchange_weak_explicit(
	    &f->state, &old, new, memory_order_acq_rel, memory_order_relaxed));
	if (terminal(new) && !terminal(old)) {
		future_destroy(f);
	}
}

/* ---- completion and listeners ----------------------------------------- */

/* A listener that is not linked points to itself. */
static void
unlink_listener(syn_future *f, sni_listener *l)
{
	if (l->prev != NULL) {
		l->prev->next = l->next;
	} else {
		f->listeners = l->next;
	}
	if (l->next != NULL) {
		l->next->prev = l->prev;
	}
	l->next = l;
	l->prev = l;
}

static void
notify_all(syn_future *f)
{
	sni_spin_lock(&f->lock);
	while (f->listeners != NULL) {
		sni_listener *l = f->listeners;
		unlink_listener(f, l);
		l->notify(l);
	}
	void (*cb)(syn_future *, void *) = NULL;
	void *arg                        = NULL;
	if (f->ext != NULL) {
		cb         = f->ext->cb;
		arg        = f->ext->cb_arg;
		f->ext->cb = NULL;
	}
	sni_spin_unlock(&f->lock);
	if (cb != NULL) {
		sni_context_callback_begin();
		cb(f, arg);
		sni_context_callback_end();
	}
}

/* Runs f's hook, if it has one, with the outcome of rc; old: f's state. */
static void
run_hook(syn_future *f, uint32_t old, int rc)
{
	if (old & SNI_F_HOOK) { /* ext was set before f was posted */
		/* A cancelled request failed, whatever its reply says. */
		f->ext->hook(f->ext->hook_arg,
		    (old & SNI_F_CANCEL_REQ) ? SYN_ECANCELED : rc);
	}
}

/* Sets DONE on f, whose state was old, and wakes or notifies whoever
 * waits; f->rc and the reply are in place. */
static void
publish(syn_future *f, uint32_t old)
{
	uint32_t new;
	do {
		new = old | SNI_F_DONE;
		if (old & SNI_F_LISTENERS) {
			new |= SNI_F_NOTIFYING;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &f->state, &old, new, memory_order_acq_rel, memory_order_relaxed));
	if (old & SNI_F_WAITERS) {
		/* The owner may free f as soon as it sees DONE: waking a
		 * freed word is harmless, at worst a spurious wake-up. */
		sni_futex_wake(&f->state, INT32_MAX);
	}
	if ((old & SNI_F_LISTENERS) == 0) {
		if (terminal(new)) {
			future_destroy(f);
		}
		return;
	}
	notify_all(f);
	update(f, 0, SNI_F_NOTIFYING);
}

void
sni_future_complete(syn_future *f, int rc)
{
	f->rc        = rc;
	uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
	run_hook(f, old, rc);
	publish(f, old);
}

bool
sni_future_answer_inline(syn_future *f, const void *bytes, size_t len, int rc)
{
	if (!f->inline_ok || len == 0 || len > SNI_FUTURE_INLINE) {
		return false;
	}
	uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
	run_hook(f, old, rc);
	if (f->ilen == 0) { /* (with inline bytes msg is NULL already) */
		f->msg = NULL;
	}
	memcpy(f->inl, bytes, len);
	f->ilen = (uint8_t) len;
	f->rc   = rc;
	publish(f, old);
	return true;
}

bool
sni_future_listen(syn_future *f, sni_listener *l)
{
	sni_spin_lock(&f->lock);
	uint32_t old = atomic_load_explicit(&f->state, memory_order_acquire);
	do {
		if (old & SNI_F_DONE) {
			sni_spin_unlock(&f->lock);
			l->next = l;
			l->prev = l;
			return false;
		}
	} while (!atomic_compare_exchange_weak_explicit(&f->state, &old,
	    old | SNI_F_LISTENERS, memory_order_acq_rel, memory_order_acquire));
	l->prev = NULL;
	l->next = f->listeners;
	if (l->next != NULL) {
		l->next->prev = l;
	}
	f->listeners = l;
	sni_spin_unlock(&f->lock);
	return true;
}

bool
sni_future_unlisten(syn_future *f, sni_listener *l)
{
	sni_spin_lock(&f->lock);
	bool linked = l->next != l;
	if (linked) {
		unlink_listener(f, l);
	}
	sni_spin_unlock(&f->lock);
	return linked;
}

void
sni_future_cancel_done(syn_future *f)
{
	update(f, 0, SNI_F_CANCEL_NODE);
}

bool
sni_future_cancel_requested(syn_future *f)
{
	return (atomic_load_explicit(&f->state, memory_order_acquire) &
	           SNI_F_CANCEL_REQ) != 0;
}

/*
 * Spinning pays only while a CPU is free for the thread that completes the
 * future: with more waiters than CPUs, spinners would take the CPU the
 * actor needs. So at most (CPUs - 1) threads of the process spin at once
 * (see spin_slot_take); the others yield at once.
 */
static atomic_int spinners;

static _Atomic uint16_t fork_generation;

uint16_t
sni_fork_generation(void)
{
	return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

void
sni_fork_generation_bump(void)
{
	atomic_fetch_add(&fork_generation, 1);
	atomic_store(&spinners, 0); /* (the parent's threads did not come) */
}

/* ---- waiting ---------------------------------------------------------- */

static bool
is_done(syn_future *f)
{
	return (atomic_load_explicit(&f->state, memory_order_acquire) &
	           SNI_F_DONE) != 0;
}

/*
 * How a waiter's spin ended: answered; not answered (out of time, or no
 * spin slot was free); or given up because the actor was last seen on
 * the waiter's own CPU, where it cannot run while the waiter spins.
 */
typedef enum { SPIN_DONE, SPIN_NOT_DONE, SPIN_ACTOR_HERE } spin_end;

/* Whether the actor that completes f was last seen on this CPU. */
static bool
actor_here(const syn_future *f)
{
	int cpu = atomic_load_explicit(
	    sni_actor_cpu_slot(f->actor_id), memory_order_relaxed);
	return cpu != 0 && cpu == sched_getcpu() + 1;
}

static spin_end
spin_until_done(syn_future *f, uint64_t deadline_ns)
{
	uint64_t end = sni_now_ns() + f->spin_ns;
	if (end > deadline_ns) {
		end = deadline_ns;
	}
	do {
		for (int i = 0; i < 32; i++) {
			if (is_done(f)) {
				return SPIN_DONE;
			}
			sni_cpu_relax();
		}
		if (actor_here(f)) {
			return SPIN_ACTOR_HERE;
		}
	} while (sni_now_ns() < end);
	return SPIN_NOT_DONE;
}

static atomic_int max_spinners = -1;

static bool
spin_slot_take(void)
{
	int max = atomic_load_explicit(&max_spinners, memory_order_relaxed);
	if (max < 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		max    = n > 1 ? (int) n - 1 : 0;
		atomic_store_explicit(&max_spinners, max, memory_order_relaxed);
	}
	if (atomic_fetch_add_explicit(&spinners, 1, memory_order_relaxed) <
	    max) {
		return true;
	}
	atomic_fetch_sub_explicit(&spinners, 1, memory_order_relaxed);
	return false;
}

static spin_end
spin_briefly(syn_future *f, uint64_t deadline_ns)
{
	if (!spin_slot_take()) {
		return SPIN_NOT_DONE;
	}
	spin_end end = spin_until_done(f, deadline_ns);
	atomic_fetch_sub_explicit(&spinners, 1, memory_order_relaxed);
	return end;
}

/* Gives the CPU away while the future is pending, for a while. */
static bool
yield_until_done(syn_future *f, uint64_t deadline_ns)
{
	uint64_t end = sni_now_ns() + 10 * (uint64_t) f->spin_ns;
	end          = end < deadline_ns ? end : deadline_ns;
	do {
		sched_yield();
		if (is_done(f)) {
			return true;
		}
	} while (sni_now_ns() < end);
	return false;
}

/*
 * A waiter that finds its actor on its own CPU yields to it. But when
 * every wait of a thread finds them together, the scheduler has most
 * likely put the actor and its callers on one CPU and left another idle
 * (it keeps threads that ran a moment ago where they are): yielding keeps
 * them there, each call taking a turn of every thread (40,000 calls/s
 * instead of 2,500,000, for milliseconds at a time). A thread that sleeps
 * is woken onto an idle CPU, so the HERE_STREAK-th such wait in a row
 * sleeps.
 */
#define HERE_STREAK 4
static _Thread_local uint8_t here_streak;

/* Spins, then yields, while that may pay; true once f is done. */
static bool
wait_awake(syn_future *f, uint64_t deadline_ns)
{
	if (f->spin_ns == 0) {
		return false;
	}
	spin_end end = spin_briefly(f, deadline_ns);
	if (end == SPIN_DONE) {
		here_streak = 0;
		return true;
	}
	if (end != SPIN_ACTOR_HERE) {
		here_streak = 0;
	} else if (++here_streak >= HERE_STREAK) {
		here_streak = 0;
		return false;
	}
	return yield_until_done(f, deadline_ns);
}

/*
 * A future of the parent, in a forked child: nothing of it is touched
 * there, done or not (a thread that stayed in the parent may have held
 * its lock at the fork, for ever in the child), and its call goes on in
 * the parent only.
 */
static bool
orphaned(const syn_future *f)
{
	return f->fork_gen != sni_fork_generation();
}

static int sleep_until_done(syn_future *f, uint64_t deadline_ns);

int
sni_future_wait_until(syn_future *f, uint64_t deadline_ns)
{
	if (orphaned(f)) {
		return SYN_EFORK;
	}
	if (is_done(f) || wait_awake(f, deadline_ns)) {
		return 0;
	}
	bool pooled = sni_pool_block_begin();
	int  rc     = sleep_until_done(f, deadline_ns);
	if (pooled) {
		sni_pool_block_end();
	}
	return rc;
}

static int
sleep_until_done(syn_future *f, uint64_t deadline_ns)
{
	for (;;) {
		uint32_t s =
		    atomic_load_explicit(&f->state, memory_order_acquire);
		if (s & SNI_F_DONE) {
			return 0;
		}
		if (sni_now_ns() >= deadline_ns) {
			return SYN_ETIMEDOUT;
		}
		if ((s & SNI_F_WAITERS) == 0 &&
		    !atomic_compare_exchange_weak_explicit(&f->state, &s,
		        s | SNI_F_WAITERS, memory_order_acq_rel,
		        memory_order_acquire)) {
			continue;
		}
		sni_futex_wait(&f->state, s | SNI_F_WAITERS, deadline_ns);
	}
}

/* Waiting on f from the thread that must complete it never ends. */
static int
check_deadlock(syn_future *f)
{
	sni_actor *self = sni_actor_self();
	if (self != NULL && !is_done(f) &&
	    sni_actor_loop_is_here(f->actor_id)) {
		return sni_error_set(SYN_EDEADLK,
		    "waiting on a future of this synchronizer from its own "
		    "thread: await it with syn_await() instead",
		    self->name);
	}
	sni_task *lent = sni_task_lent();
	if (lent != NULL && f->ext != NULL && f->ext->turn_of != NULL &&
	    f->ext->turn_of == lent->call.self && !is_done(f)) {
		return sni_error_set(SYN_EDEADLK,
		    "waiting, in a blocking method, on a call to its own "
		    "object: it would wait for the turn this method holds",
		    lent->call.name != NULL ? lent->call.name : "");
	}
	return 0;
}

/* ---- outcome ---------------------------------------------------------- */

/* Why a reply could not be decoded (rc: the decoder's code). */
static const char *
unreadable_reply(int rc)
{
	return rc == SYN_ENOMEM
	    ? "the reply could not be read: no memory, or it is nested "
	      "deeper than this task's stack has room for (config.stack_size)"
	    : "malformed reply";
}

/* An error with no reply to read it from, kept in f->mem. */
static void
set_bare_error(syn_future *f, int code, const char *message)
{
	syn_error *e = malloc(sizeof(*e));
	free(f->mem);
	f->mem  = e;
	f->code = code;
	f->err  = e != NULL ? e : &no_error;
	if (e != NULL) {
		*e = (syn_error) { code, message, "" };
	}
}

static int (*_Atomic translator)(syn_value *v, void **held);

void
sni_future_set_translator(int (*fn)(syn_value *v, void **held))
{
	atomic_store(&translator, fn);
}

int
sni_reply_translate(syn_value *v, void **held)
{
	int (*fn)(syn_value *, void **) = atomic_load(&translator);
	*held                           = NULL;
	return fn != NULL ? fn(v, held) : 0;
}

static void (*_Atomic dropper)(const void *body, size_t len);

void
sni_future_set_dropper(void (*fn)(const void *body, size_t len))
{
	atomic_store(&dropper, fn);
}

void
sni_reply_drop(const void *body, size_t len)
{
	void (*fn)(const void *, size_t) = atomic_load(&dropper);
	if (fn != NULL) {
		fn(body, len);
	}
}

static void (*_Atomic items_dropper)(const void *, size_t, uint32_t, uint32_t);

void
sni_future_set_items_dropper(
    void (*fn)(const void *items, size_t len, uint32_t count, uint32_t pipe))
{
	atomic_store(&items_dropper, fn);
}

void
sni_items_drop(const void *items, size_t len, uint32_t count, uint32_t pipe)
{
	void (*fn)(const void *, size_t, uint32_t, uint32_t) =
	    atomic_load(&items_dropper);
	if (fn != NULL && count > 0) {
		fn(items, len, count, pipe);
	}
}

static sni_future_ext *ext_of(syn_future *f);

/* Under f->lock: the handles in f's value become proxies, kept by f. */
static void
keep_translated(syn_future *f)
{
	void *held;
	int   rc = sni_reply_translate(&f->value, &held);
	if (rc == 0 && held != NULL) {
		sni_future_ext *x = ext_of(f);
		if (x != NULL) {
			x->held = held;
			return;
		}
		sni_held_release(held);
		rc = SYN_ENOMEM;
	}
	if (rc != 0) {
		f->value = syn_nil();
		set_bare_error(f, rc, "the result's objects could not be kept");
	}
}

/* Under f->lock, once: turns the reply into code, value and err. */
static void
decode_locked(syn_future *f)
{
	if (f->decoded) {
		return;
	}
	f->decoded = true;
	f->code    = f->rc;
	size_t         len;
	const uint8_t *bytes = sni_future_bytes(f, &len);
	if (bytes == NULL) {
		set_bare_error(f, f->rc, syn_strerror(f->rc));
		return;
	}
	if (f->rc == 0 && sni_msg_simple_return(bytes, len, &f->value)) {
		f->mem = NULL;
		f->err = &no_error;
		return;
	}
	uint64_t id;
	int rc = sni_msg_decode_reply(bytes, len, &reply_limits, &id, &f->code,
	    &f->value, &f->err, &f->mem);
	if (rc != 0) {
		set_bare_error(f, rc, unreadable_reply(rc));
	} else if (f->code == 0) {
		f->err = &no_error;
		if (sni_msg_kind(bytes, len) != SNI_MSG_RAW) {
			keep_translated(f);
		}
	}
	/* The message stays, reply and all, while f lives (f->value may
	 * point into it); future_destroy empties it for the next call. */
}

/* sni_future_outcome's work; under f->lock, or with f in one thread's
 * hands. */
static int
outcome(syn_future *f, syn_result *res)
{
	decode_locked(f);
	int              code = f->code;
	const syn_error *err  = f->err;
	if (sni_future_cancel_requested(f)) {
		code = SYN_ECANCELED;
		err  = &canceled_error;
	}
	if (code == 0 && res != NULL) {
		res->value = f->value;
		res->mem_  = f->mem;
		res->held_ = f->ext != NULL ? f->ext->held : NULL;
		f->value   = syn_nil();
		f->mem     = NULL;
		if (f->ext != NULL) {
			f->ext->held = NULL;
		}
	}
	if (code != 0) {
		sni_error_set(code, err->message, err->where);
	}
	return code;
}

int
sni_future_outcome(syn_future *f, syn_result *res)
{
	sni_spin_lock(&f->lock);
	int code = outcome(f, res);
	sni_spin_unlock(&f->lock);
	return code;
}

int
sni_future_outcome_owned(syn_future *f, syn_result *res)
{
	return outcome(f, res);
}

int
sni_reply_take(nng_msg *msg, int rc, syn_result *res)
{
	if (msg == NULL) {
		return rc != 0 ? sni_error_set(rc, NULL, "") : 0;
	}
	uint64_t         id;
	int              code;
	syn_value        v;
	void            *mem;
	const syn_error *err;
	bool             raw =
	    sni_msg_kind(nng_msg_body(msg), nng_msg_len(msg)) == SNI_MSG_RAW;
	int dr = sni_msg_decode_reply(nng_msg_body(msg), nng_msg_len(msg),
	    &reply_limits, &id, &code, &v, &err, &mem);
	nng_msg_free(msg);
	if (dr != 0) {
		return sni_error_set(dr, unreadable_reply(dr), "");
	}
	if (code != 0) {
		sni_error_set(code, err->message, err->where);
		free(mem);
		return code;
	}
	void *held = NULL;
	if (!raw && (dr = sni_reply_translate(&v, &held)) != 0) {
		free(mem);
		return sni_error_set(
		    dr, "the result's objects could not be kept", "");
	}
	if (res != NULL) {
		res->value = v;
		res->mem_  = mem;
		res->held_ = held;
	} else {
		sni_held_release(held);
		free(mem);
	}
	return 0;
}

/* ---- the public API --------------------------------------------------- */

/* The detail of a wait that ended without the future completing. */
static int
fail_wait(int rc)
{
	return sni_error_set(rc,
	    rc == SYN_EFORK ? "the call belongs to the parent process of a fork"
	                    : NULL,
	    "");
}

/*
 * Waits for f until deadline. An endless wait on an actor's thread is
 * noted first, and refused when it would close a ring of threads that
 * block for each other (a wait with a timeout ends by itself: no ring).
 * 0, or the error set.
 */
static int
wait_noted(syn_future *f, uint64_t deadline, bool endless)
{
	bool noted = endless && sni_actor_self() != NULL && !is_done(f);
	int  rc;
	if (noted && (rc = sni_actor_block_begin(f->actor_id, f)) != 0) {
		return rc;
	}
	rc = sni_future_wait_until(f, deadline);
	if (noted) {
		sni_actor_block_end();
	}
	return rc != 0 ? fail_wait(rc) : 0;
}

int
syn_future_wait(syn_future *f)
{
	return syn_future_wait_timeout(f, SYN_DURATION_INFINITE);
}

int
syn_future_wait_timeout(syn_future *f, syn_duration timeout)
{
	if (f == NULL) {
		return sni_error_set(SYN_EINVAL, "future is NULL", "");
	}
	if (orphaned(f)) {
		return fail_wait(SYN_EFORK);
	}
	if (timeout != SYN_DURATION_ZERO) {
		int rc = check_deadlock(f);
		if (rc != 0) {
			return rc;
		}
		if (!is_done(f)) {
			sni_blocking_report("syn_future_wait");
		}
		rc = wait_noted(f, sni_deadline_ms(timeout), timeout < 0);
		if (rc != 0) {
			return rc;
		}
	} else if (!is_done(f)) {
		return fail_wait(SYN_ETIMEDOUT);
	}
	return sni_future_outcome(f, NULL);
}

int
syn_future_poll(syn_future *f)
{
	if (f == NULL) {
		return sni_error_set(SYN_EINVAL, "future is NULL", "");
	}
	if (orphaned(f)) {
		return fail_wait(SYN_EFORK);
	}
	if (!is_done(f)) {
		return SYN_EAGAIN;
	}
	return sni_future_outcome(f, NULL);
}

int
syn_future_value(syn_future *f, const syn_value **vp)
{
	if (f == NULL || vp == NULL) {
		return sni_error_set(SYN_EINVAL, "future or value is NULL", "");
	}
	if (orphaned(f)) {
		return fail_wait(SYN_EFORK);
	}
	if (!is_done(f)) {
		return SYN_EAGAIN;
	}
	int rc = sni_future_outcome(f, NULL);
	if (rc == 0) {
		*vp = &f->value;
	}
	return rc;
}

const syn_error *
syn_future_error(syn_future *f)
{
	if (f != NULL && orphaned(f)) {
		return &forked_error;
	}
	if (f == NULL || !is_done(f)) {
		return &no_error;
	}
	if (sni_future_cancel_requested(f)) {
		return &canceled_error;
	}
	sni_spin_lock(&f->lock);
	decode_locked(f);
	sni_spin_unlock(&f->lock);
	return f->code != 0 ? f->err : &no_error;
}

/* f's cancellation was just asked (CANCEL_REQ set by this thread): its
 * actor hears of it, unless gone (its destruction completes f). */
static void
post_cancel(syn_future *f)
{
	sni_actor *a;
	if (sni_registry_pin(f->actor_id, true, &a) != 0) {
		return;
	}
	update(f, SNI_F_CANCEL_NODE, 0);
	sni_actor_post(a, &f->cancel_node);
	sni_registry_unpin(f->actor_id);
}

void
sni_future_own(syn_future *f)
{
	update(f, SNI_F_OWN | SNI_F_CANCEL_NODE, 0);
}

bool
sni_future_claim(syn_future *f)
{
	return (atomic_fetch_or(&f->state, SNI_F_CLAIMED) & SNI_F_CLAIMED) == 0;
}

void
sni_future_complete_own(syn_future *f, int rc, nng_msg *reply)
{
	if (f->msg != NULL) { /* (an empty one, left to be reused) */
		nng_msg_free(f->msg);
	}
	f->msg = reply;
	sni_future_complete(f, rc);
}

/* A cancel of f: an actor's task is cancelled, or (an own future) f is
 * completed at once. */
static void
cancel(syn_future *f, uint32_t old)
{
	if ((old & SNI_F_OWN) == 0) {
		post_cancel(f);
	} else if (sni_future_claim(f)) {
		sni_future_complete_own(f, SYN_ECANCELED, NULL);
	}
}

int
syn_future_cancel(syn_future *f)
{
	if (f == NULL) {
		return SYN_EINVAL;
	}
	if (orphaned(f)) {
		return fail_wait(SYN_EFORK);
	}
	uint32_t old = atomic_fetch_or(&f->state, SNI_F_CANCEL_REQ);
	if (old & (SNI_F_CANCEL_REQ | SNI_F_DONE)) {
		return 0;
	}
	cancel(f, old);
	return 0;
}

void
sni_future_cancel_pending(syn_future *f)
{
	uint32_t old = atomic_load_explicit(&f->state, memory_order_relaxed);
	do {
		if (old & (SNI_F_CANCEL_REQ | SNI_F_DONE)) {
			return; /* answered: its outcome stays */
		}
	} while (!atomic_compare_exchange_weak(
	    &f->state, &old, old | SNI_F_CANCEL_REQ));
	cancel(f, old);
}

/* Under f->lock: the extension, made on first use; NULL without memory. */
static sni_future_ext *
ext_of(syn_future *f)
{
	if (f->ext == NULL && (f->ext = calloc(1, sizeof(*f->ext))) != NULL) {
		f->ext->efd = -1;
	}
	return f->ext;
}

int
sni_future_mark_turn(syn_future *f, const void *self)
{
	sni_future_ext *x = ext_of(f); /* nobody else knows f yet */
	if (x == NULL) {
		return SYN_ENOMEM;
	}
	x->turn_of = self;
	return 0;
}

int
sni_future_set_hook(syn_future *f, void (*hook)(void *, int), void *arg)
{
	sni_future_ext *x = ext_of(f); /* nobody else knows f yet */
	if (x == NULL) {
		return SYN_ENOMEM;
	}
	x->hook     = hook;
	x->hook_arg = arg;
	atomic_fetch_or_explicit(&f->state, SNI_F_HOOK, memory_order_relaxed);
	return 0;
}

int
syn_future_callback(syn_future *f, void (*cb)(syn_future *, void *), void *arg)
{
	if (f == NULL || cb == NULL) {
		return SYN_EINVAL;
	}
	if (orphaned(f)) {
		return fail_wait(SYN_EFORK);
	}
	sni_task *t = sni_task_current();
	if (t != NULL && sni_shared_lends_frame(t, arg)) {
		return sni_error_set(SYN_EINVAL, SNI_SHARED_REFUSAL,
		    t->call.name != NULL ? t->call.name : "");
	}
	sni_spin_lock(&f->lock);
	sni_future_ext *x = ext_of(f);
	if (x == NULL || x->cb_set) {
		sni_spin_unlock(&f->lock);
		return x == NULL ? SYN_ENOMEM : SYN_EBUSY;
	}
	x->cb_set    = true;
	uint32_t old = atomic_load_explicit(&f->state, memory_order_acquire);
	do {
		if (old & SNI_F_DONE) {
			sni_spin_unlock(&f->lock);
			sni_context_callback_begin();
			cb(f, arg);
			sni_context_callback_end();
			return 0;
		}
	} while (!atomic_compare_exchange_weak_explicit(&f->state, &old,
	    old | SNI_F_LISTENERS, memory_order_acq_rel, memory_order_acquire));
	x->cb     = cb;
	x->cb_arg = arg;
	sni_spin_unlock(&f->lock);
	return 0;
}

int
syn_future_wait_all(syn_future *const *fs, size_t n, syn_duration timeout)
{
	if (fs == NULL && n > 0) {
		return sni_error_set(SYN_EINVAL, "futures are NULL", "");
	}
	uint64_t deadline = sni_deadline_ms(timeout);
	bool     reported = false;
	for (size_t i = 0; i < n; i++) { /* every argument first */
		int rc = fs[i] == NULL
		    ? sni_error_set(SYN_EINVAL, "a future is NULL", "")
		    : orphaned(fs[i])              ? fail_wait(SYN_EFORK)
		    : timeout == SYN_DURATION_ZERO ? 0
		                                   : check_deadlock(fs[i]);
		if (rc != 0) {
			return rc;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (timeout == SYN_DURATION_ZERO) {
			rc = !is_done(fs[i]) ? fail_wait(SYN_ETIMEDOUT) : 0;
		} else {
			if (!reported && !is_done(fs[i])) {
				sni_blocking_report("syn_future_wait_all");
				reported = true;
			}
			rc = wait_noted(fs[i], deadline, timeout < 0);
		}
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* ---- wait-any --------------------------------------------------------- */

typedef struct any_listener {
	sni_listener      l; /* first: the listener is the struct */
	_Atomic uint32_t *fired;
} any_listener;

static void
any_notify(sni_listener *l)
{
	any_listener *al = (any_listener *) l;
	atomic_fetch_add(al->fired, 1);
	sni_futex_wake(al->fired, 1);
}

/* Stops the n listeners of syn_future_wait_any, and frees them. */
static void
unlisten_all(syn_future *const *fs, size_t n, any_listener *ls)
{
	for (size_t i = 0; i < n; i++) {
		sni_future_unlisten(fs[i], &ls[i].l);
	}
	free(ls);
}

static bool
first_done(syn_future *const *fs, size_t n, size_t *index)
{
	for (size_t i = 0; i < n; i++) {
		if (is_done(fs[i])) {
			*index = i;
			return true;
		}
	}
	return false;
}

static int
check_any_args(
    syn_future *const *fs, size_t n, size_t *index, syn_duration timeout)
{
	if (fs == NULL || n == 0 || index == NULL) {
		return sni_error_set(SYN_EINVAL, "no futures to wait for", "");
	}
	for (size_t i = 0; i < n; i++) {
		if (fs[i] == NULL) {
			return sni_error_set(
			    SYN_EINVAL, "a future is NULL", "");
		}
	}
	for (size_t i = 0; i < n; i++) { /* (done or not: see orphaned) */
		if (orphaned(fs[i])) {
			return fail_wait(SYN_EFORK);
		}
	}
	/* (first_done below reads every entry: all checked first) */
	for (size_t i = 0; i < n; i++) {
		int rc = timeout == SYN_DURATION_ZERO
		    ? 0 /* a poll never waits */
		    : check_deadlock(fs[i]);
		if (rc != 0 && !first_done(fs, n, index)) {
			return rc;
		}
	}
	return 0;
}

static void
wait_fired(
    _Atomic uint32_t *fired, syn_future *const *fs, size_t n, uint64_t deadline)
{
	size_t index;
	while (atomic_load(fired) == 0 && !first_done(fs, n, &index) &&
	    sni_now_ns() < deadline) {
		sni_futex_wait(fired, 0, deadline);
	}
}

int
syn_future_wait_any(
    syn_future *const *fs, size_t n, syn_duration timeout, size_t *index)
{
	int rc = check_any_args(fs, n, index, timeout);
	if (rc != 0 || first_done(fs, n, index)) {
		return rc;
	}
	if (timeout == SYN_DURATION_ZERO) {
		return sni_error_set(SYN_ETIMEDOUT, NULL, "");
	}
	any_listener *ls = calloc(n, sizeof(*ls));
	if (ls == NULL) {
		return sni_error_set(SYN_ENOMEM, NULL, "");
	}
	_Atomic uint32_t fired = 0;
	for (size_t i = 0; i < n; i++) {
		ls[i].l.notify = any_notify;
		ls[i].fired    = &fired;
		sni_future_listen(fs[i], &ls[i].l);
	}
	/* (noted once every future is listened to, so that fired tells
	 * whether the wait is over; one done before that is seen here) */
	if (timeout < 0 && !first_done(fs, n, index) &&
	    (rc = sni_actor_block_begin_any(fs, n, &fired)) != 0) {
		unlisten_all(fs, n, ls);
		return rc;
	}
	sni_blocking_report("syn_future_wait_any");
	bool pooled = sni_pool_block_begin();
	wait_fired(&fired, fs, n, sni_deadline_ms(timeout));
	sni_actor_block_end();
	if (pooled) {
		sni_pool_block_end();
	}
	unlisten_all(fs, n, ls);
	if (!first_done(fs, n, index)) {
		return sni_error_set(SYN_ETIMEDOUT, NULL, "");
	}
	return 0;
}

/* ---- a pollable descriptor -------------------------------------------- */

static void
efd_notify(sni_listener *l)
{
	sni_future_ext *x   = (sni_future_ext *) ((char *) l -
            offsetof(sni_future_ext, efd_listener));
	uint64_t        one = 1;
	(void) !write(x->efd, &one, sizeof(one));
}

/* f's descriptor (syn_future_fd), if any, closes as its owner lets go
 * of f, pending or not: nothing writes to it afterwards. */
static void
close_fd(syn_future *f)
{
	/* (both set by the owner's calls only: read here without the lock,
	 * so that a future without a descriptor costs nothing) */
	sni_future_ext *x = f->ext;
	if (x == NULL || x->efd < 0) {
		return;
	}
	sni_spin_lock(&f->lock);
	if (x->efd_listener.next != &x->efd_listener) {
		unlink_listener(f, &x->efd_listener);
	}
	int fd = x->efd;
	x->efd = -1;
	sni_spin_unlock(&f->lock);
	close(fd);
}

int
syn_future_fd(syn_future *f, int *fdp)
{
	if (f == NULL || fdp == NULL) {
		return SYN_EINVAL;
	}
	if (orphaned(f)) {
		return fail_wait(SYN_EFORK);
	}
	sni_spin_lock(&f->lock);
	sni_future_ext *x = ext_of(f);
	if (x == NULL || x->efd >= 0) {
		sni_spin_unlock(&f->lock);
		if (x != NULL) {
			*fdp = x->efd;
		}
		return x == NULL ? SYN_ENOMEM : 0;
	}
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		sni_spin_unlock(&f->lock);
		return SYN_ESYSERR | errno;
	}
	x->efd = fd;
	sni_spin_unlock(&f->lock);
	x->efd_listener.notify = efd_notify;
	if (!sni_future_listen(f, &x->efd_listener)) {
		efd_notify(&x->efd_listener);
	}
	*fdp = fd;
	return 0;
}

void
sni_future_release_owned(syn_future *f)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_acquire);
	if (terminal(s | SNI_F_RELEASED)) {
		future_destroy(f);
	} else {
		update(f, SNI_F_RELEASED, 0);
	}
}

void
syn_future_free(syn_future *f)
{
	if (f != NULL && !orphaned(f)) { /* (the child frees no parent's) */
		close_fd(f);
		update(f, SNI_F_RELEASED, 0);
	}
}
