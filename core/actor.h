/*
 * core/actor.h: a synchronizer's runtime: its thread, its event loop, its
 * mailbox (the fast lane and the nng door) and its tasks.
 *
 * The actors layer creates one per synchronizer and installs how calls
 * are resolved to implementations (sni_actor_ops); the loop does the rest:
 * decodes calls, starts a task per call, resumes tasks when what they await
 * completes, and sends the replies.
 */
#ifndef SNI_ACTOR_H
#define SNI_ACTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <synchronicity/class.h>
#include <synchronicity/function.h>
#include <synchronicity/synchronizer.h>

#include "ctx.h"
#include "mpsc.h"
#include "proto/proto.h"
#include "ptrmap.h"
#include "stack.h"
#include "timer.h"

/* How many futures of other actors a thread's block is noted with, at
 * most (sni_actor_block_begin_any). */
#define SNI_BLOCK_MAX 8

/* The CANCELs that came before their calls, kept: the newest this many. */
#define SNI_EARLY_MAX 32

typedef struct sni_actor sni_actor;
typedef struct syn_task  sni_task;
typedef struct sni_door  sni_door;
typedef struct sni_aio   sni_aio;

/* An implementation, as resolved for one call. */
typedef struct sni_callable {
	syn_func_fn   fn;     /* a function, or */
	syn_method_fn method; /* a method, of self */
	void         *self;
	void         *object; /* the actors layer's record of self, or NULL */
	void         *userdata;
	const char   *name; /* lives as long as the synchronizer */
	int           kind; /* a syn_kind */
	bool          raw;  /* no translation of arguments and results */
} sni_callable;

/* What the actors layer plugs into an actor; all run on its thread. */
typedef struct sni_actor_ops {
	/* Finds the implementation for a call, or fails (SYN_ENOENT, with
	 * a detail through sni_detail_set). Holds nothing. */
	int (*resolve)(void *arg, const sni_call_view *v, sni_callable *out);
	/* In the task, before the implementation runs: holds the object a
	 * method runs on, and translates the handles in the arguments
	 * (objects of this synchronizer become OBJECT values, others PROXY
	 * values; not for raw callables). task_end lets go of it all. Not
	 * called for a function whose arguments are all plain
	 * (sni_values_plain): there is nothing to do. */
	int (*task_begin)(void *arg, sni_task *t);
	/* Before a result or an item of t is encoded: checks its OBJECT
	 * values (a raw callable may hand out none). Once it is encoded,
	 * value_sent counts each as a reference handed out. Neither is
	 * called for a plain value (sni_value_plain). */
	int (*value_out)(void *arg, sni_task *t, const syn_value *v);
	void (*value_sent)(void *arg, sni_task *t, const syn_value *v);
	/* A value that value_out passed will not be sent after all (it did
	 * not encode, or the task waits before it encodes it again): what
	 * value_out made ready for it goes. */
	void (*value_unsent)(void *arg, sni_task *t, const syn_value *v);
	/* A value sent into generator t (syn_iter_send): translated as its
	 * arguments are, held until t ends. On failure nothing is held. */
	int (*value_in)(void *arg, sni_task *t, syn_value *v);
	/* t ended: lets go of what resolve and args_in held for it. Called
	 * when t has a method's object or t->holds is set. */
	void (*task_end)(void *arg, sni_task *t);
	/* A call that will not run (refused, or its task could not
	 * start): gives back the references its arguments carried. */
	void (*discard)(void *arg, const sni_call_view *v);
	/* A value sent into a generator that will not take it (its
	 * request was refused, or the generator is raw or runs ahead):
	 * gives back the references it carried. */
	void (*value_drop)(void *arg, const syn_value *v);
	/* A RELEASE: count references to object come back; from peer, the
	 * pipe of another process (0: from this process), which can give
	 * back only what it was handed. */
	void (*release)(
	    void *arg, uint32_t peer, uint64_t object, uint64_t count);
	/* A pipe of the door closed: what its peer held is let go. */
	void (*pipe_gone)(void *arg, uint32_t pipe);
	/* Frees arg once the loop has ended. */
	void (*fini)(void *arg);
} sni_actor_ops;

struct sni_actor {
	sni_mpsc mbox; /* touched by every producer: lines of its own */

	/* Set before the thread starts, then read-only. */
	_Alignas(64) uint32_t id;
	char       name[64];
	uint32_t   spin_ns;
	sni_limits limits; /* for calls on the fast lane */
	void (*on_blocking)(syn_synchronizer, const char *, void *);
	void *on_blocking_arg;
	void (*on_slow_task)(syn_synchronizer, const char *, uint64_t, void *);
	void                *on_slow_task_arg;
	uint64_t             slow_ns; /* 0: tasks' run times not measured */
	bool                 measure_latency;
	struct sni_remote   *remote; /* another process's: no thread */
	struct sni_backcall *back;   /* a client of a door's: no thread */
	/* For an actor with no thread (remote or back): takes every node
	 * posted to it, on the posting thread. NULL: the mailbox. */
	void (*post)(sni_actor *a, sni_node *n);
	const sni_actor_ops *ops;
	void                *ops_arg;
	pthread_t            thread;

	/* The actor thread's own state. The loop runs on a pooled stack
	 * (sched_stack) and starts a plain call right there, on its own
	 * frames; if that call suspends, the stack becomes the call's and
	 * the loop goes on on the spare stack (see sni_task_start). */
	sni_ctx    thread_ctx;  /* the thread's own stack */
	sni_ctx   *sched;       /* the loop's context, on sched_stack */
	sni_stack *sched_stack; /* NULL: the loop is on the thread's */
	sni_stack *spare;       /* made ready for the loop to go on */
	sni_node  *pending;     /* taken from the mailbox, not handled */
	uint64_t   run_t0;      /* when the run of a call started on the
	                           loop's stack began (slow_ns set) */
	sni_task      *current; /* the task running now */
	sni_stack_pool stacks;
	bool           shared_stack; /* config.shared_stack (shared.h) */
	sni_stack     *shared;       /* then the stack every task runs on */
	sni_task      *shared_owner; /* whose frames are on it, or NULL */
	sni_timer_heap timers;
	sni_task      *tasks; /* every live task */
	uint32_t       ntasks;
	sni_door      *door;
	sni_aio       *aios;    /* every syn_aio_alloc() aio */
	sni_ptrmap     aio_map; /* their nng_aio to them */
	sni_ptrmap     streams; /* open generators, by stream id and pipe */
	/* The tasks of calls from the door, by pipe << 32 | the call id's low
	 * 32 bits (see sni_task_of_call), and how many such tasks with a
	 * call id it does not hold (no memory for their place). */
	sni_ptrmap door_tasks;
	uint32_t   door_unindexed;
	sni_ptrmap backcalls;          /* pipe + 2 -> its sni_backcall */
	sni_ptrmap live_pipes;         /* the door's pipes now: pipe + 2 */
	sni_ptrmap batches;            /* pipe << 32 | id -> sni_batch */
	sni_ptrmap batch_counts;       /* pipe -> its open batches */
	sni_ptrmap unfetched;          /* pipe -> bytes of its replies kept */
	sni_ptrmap batch_waiting;      /* pipe -> bytes of its batches queued */
	sni_ptrmap stream_counts;      /* pipe + 2 -> its open generators */
	sni_ptrmap host_streams;       /* host -> its open generators */
	uint32_t   peer_streams;       /* all of other processes' */
	struct sni_batch *batch_queue; /* batches waiting to start */
	bool              batch_starting;
	bool batch_retry; /* a place freed where nothing may start: the loop
	                     starts waiting batches and the door's backlog */
	bool closed;      /* new calls are refused */
	/* CANCELs from other processes that came before their call (the
	 * door's contexts may hand requests over out of order): the newest,
	 * each numbered in order (seq); call id 0: a free place. */
	struct sni_early_cancel {
		uint32_t pipe;
		uint32_t seq;
		uint64_t call_id;
	} early[SNI_EARLY_MAX];
	uint32_t early_seq;
	bool     stopping; /* tasks are cancelled; the loop ends */

	sni_node         close_node;
	sni_node         stop_node;
	atomic_bool      close_posted;
	atomic_bool      stop_posted;
	atomic_bool      stop_asked; /* destroy began: calls not started fail */
	atomic_bool      destroying;
	char            *url; /* the door's address; NULL without a door */
	bool             url_default; /* url is of the library's choosing */
	size_t           max_message;
	int              start_rc;
	_Atomic uint32_t started;
	/* What this one's thread blocks for: blocked_n waits (0: none),
	 * each the actor whose reply ends it and the future it waits on
	 * (NULL: not known yet); any one ending ends the block; or, for a
	 * wait that is no future's (sni_actor_run), blocked_done: the flag
	 * that turns non-zero when it ends. See sni_actor_block_begin.
	 * Written by its thread, the entries before blocked_n; read by any
	 * that counts itself in blocked_readers first. */
	_Atomic uint32_t           blocked_n;
	_Atomic uint32_t           blocked_on[SNI_BLOCK_MAX];
	struct syn_future *_Atomic blocked_for[SNI_BLOCK_MAX];
	_Atomic uint32_t *_Atomic  blocked_done;
	atomic_int                 blocked_readers;

	/* Counts for syn_synchronizer_stats: written by the loop only
	 * (sni_stat_add), read by any thread. */
	struct sni_actor_stats {
		_Atomic uint64_t started, ended, suspended, handled, slow;
		_Atomic uint64_t frames_saved; /* (bytes: shared.c) */
		_Atomic uint64_t latency[SYN_LATENCY_BUCKETS];
	} stats;
};

/* Adds n to a count of the loop's: a plain add, read atomically. */
#define sni_stat_add(x, n)                                                     \
	atomic_store_explicit(&(x),                                            \
	    atomic_load_explicit(&(x), memory_order_relaxed) + (uint64_t) (n), \
	    memory_order_relaxed)

/* The loop, as the entry of a context on a pooled stack (arg: the
 * actor); when the loop ends it switches to the thread's own stack. Never
 * returns. */
void sni_actor_loop_entry(void *arg);

/* Reads a's counts into *out. Any thread, while a is pinned. */
void sni_actor_stats(sni_actor *a, syn_stats *out);

/* From now on a fork marks this process's synchronizers, connections and
 * futures as the parent's in the child (SYN_EFORK there). Any thread;
 * once is enough, more do nothing. */
void sni_actor_watch_forks(void);

/*
 * Starts an actor for cfg (NULL: defaults) with the given ops: registers
 * its id, opens its door, starts its thread and waits until the loop runs.
 * On success *ap and *idp name it. Any thread.
 */
int sni_actor_start(const syn_config *cfg, const sni_actor_ops *ops,
    void *ops_arg, sni_actor **ap, uint32_t *idp);

/*
 * Whether the calls of actor id are carried out by the loop of the
 * calling thread: it is that actor's thread, or the server of that back
 * actor (a client's object lent to it). A blocking wait there would never
 * end. Any thread.
 */
bool sni_actor_loop_is_here(uint32_t id);

/* Looks id up and pins the actor (SYN_ECLOSED, SYN_EFORK); any thread. */
int sni_actor_hold(uint32_t id, sni_actor **ap);

/*
 * As sni_actor_hold, also while the actor is closed (not once its destroy
 * began): for requests that go on with what began before the close, such
 * as the next item of an open generator, or its close.
 */
int sni_actor_hold_closed(uint32_t id, sni_actor **ap);

/*
 * Posts n to a from a thread of the library's own (the blocking pool, the
 * poller) for a task that waits for it: pins a around the post, so that
 * its destroy, which the task's resumption may let finish at once, waits
 * until the post is over. false: a is sealed (its destroy is past the
 * point of taking nodes), and n was not posted.
 */
bool sni_actor_post_held(sni_actor *a, sni_node *n);

/* Unpins an actor pinned by sni_actor_hold. */
void sni_actor_release(sni_actor *a);

/* Pushes n onto a's mailbox; any thread. The actor must be pinned, or n
 * must belong to something the actor waits for. */
static inline void
sni_actor_post(sni_actor *a, sni_node *n)
{
	if (__builtin_expect(a->post != NULL, 0)) {
		a->post(a, n); /* core/remote.c, core/backcall.c */
		return;
	}
	sni_mpsc_push(&a->mbox, n);
}

/* Closes id: new calls fail; calls in flight go on. Idempotent. */
int sni_actor_close(uint32_t id);

/* Closes id, cancels its tasks, waits for its thread to finish, frees. */
int sni_actor_destroy(uint32_t id);

/* The actor whose thread is calling, or NULL. */
sni_actor *sni_actor_self(void);

/*
 * The calling thread is about to block until actor target completes a
 * future (a blocking call, or a wait). On an actor's thread, that is
 * noted, and when target's thread blocks for this one's reply (directly
 * or through a chain of actors that each block for the next), the wait
 * would never end: SYN_EDEADLK (with the error's message set), and
 * nothing noted. Else 0; then sni_actor_block_end() after the wait. Any
 * thread (on others, always 0).
 */
int sni_actor_block_begin(uint32_t target, struct syn_future *f);

/*
 * sni_actor_block_begin for a wait that ends when any one of fs[0..n-1]
 * completes (syn_future_wait_any), which turns *fired non-zero: the
 * caller listens to each future first. SYN_EDEADLK when the synchronizer
 * of every one of them waits for this thread that way. Those complete
 * already are left out, and futures of one synchronizer count once; with
 * more than SNI_BLOCK_MAX synchronizers left, nothing is noted or checked
 * (0).
 */
int sni_actor_block_begin_any(
    struct syn_future *const *fs, size_t n, _Atomic uint32_t *fired);

/* The future of the wait noted by sni_actor_block_begin(target, NULL),
 * now known (until then the wait counts as not over). */
void sni_actor_block_on(struct syn_future *f);

/* As sni_actor_block_begin, for a wait that ends when *done turns
 * non-zero (a message the actor runs: sni_actor_run). */
int sni_actor_block_begin_flag(uint32_t target, _Atomic uint32_t *done);

/* The calling thread's wait noted by sni_actor_block_begin() is over:
 * the note goes (once no other thread reads it, as f may go next). */
void sni_actor_block_end(void);

/*
 * Runs fn(a, arg) on the thread of actor id and returns its result:
 * directly when called there, else through the mailbox, blocking.
 * SYN_ECLOSED when the actor is closed or closes first.
 */
int sni_actor_run(uint32_t id, int (*fn)(sni_actor *a, void *arg), void *arg);

/* The loop: a CANCEL of pipe's call call_id (not 0) came before the
 * call: when it is dispatched, it is refused with SYN_ECANCELED (after
 * its handles were taken, so that what it lent goes back). The last 32,
 * at most 8 of one pipe, are remembered. (A call cancelled while it waited at
 * the door is refused through its slot: sni_door_refusal.) */
void sni_actor_cancel_early(sni_actor *a, uint32_t pipe, uint64_t call_id);

/*
 * Cancels the calls of pipe (a peer that went) still running: their
 * replies would reach nobody. Calls with id 0, which no CANCEL names, run
 * on. The loop.
 */
void sni_actor_cancel_pipe_calls(sni_actor *a, uint32_t pipe);

/* The loop: whether a CANCEL of pipe's call call_id came before it (and
 * is still remembered); nothing changes. */
bool sni_actor_cancelled_before(
    const sni_actor *a, uint32_t pipe, uint64_t call_id);

/*
 * The loop: decodes the request in msg (which it takes: a CALL, or a
 * generator's OPEN, NEXT or CLOSE) and starts or resumes its task, or
 * replies with the error. origin and origin_ptr say where the reply
 * goes; lim bounds the decoding.
 */
void sni_actor_dispatch(sni_actor *a, nng_msg *msg, int origin,
    void *origin_ptr, const sni_limits *lim);

/*
 * The CPU each actor's thread was on when last idle or woken: CPU + 1,
 * or 0 when not known; indexed by sni_actor_cpu_slot(id). Written by the
 * actor's thread, read by callers waiting for its answer (future.c): on
 * that CPU, spinning cannot see the call answered (the actor cannot run
 * while its caller does). Actors whose slots collide share an entry: a
 * wrong hint costs a caller a yield or a sleep, never a wrong result.
 */
#define SNI_ACTOR_CPU_SLOTS 256
extern _Atomic int sni_actor_cpu_hint[SNI_ACTOR_CPU_SLOTS];

static inline _Atomic int *
sni_actor_cpu_slot(uint32_t id)
{
	return &sni_actor_cpu_hint[id % SNI_ACTOR_CPU_SLOTS];
}

#endif /* SNI_ACTOR_H */
