/*
 * core/mpsc.h: an actor's mailbox queue, the fast lane.
 *
 * Many producers (any thread) push nodes; one consumer (the actor thread)
 * takes everything at once. Producers push onto an atomic stack with one
 * compare-and-swap; the consumer swaps the whole stack out and reverses it,
 * which gives the nodes back in the order they were pushed. There is no
 * moment where a push is half done, so the consumer never waits on a
 * producer that was preempted.
 *
 * Sleeping: when the consumer has nothing to do it parks the stack in the
 * SLEEPING state and sleeps on wake_seq. The producer whose push finds the
 * stack SLEEPING (the idle-to-busy transition) is the only one that makes
 * the wake-up system call.
 */
#ifndef SNI_MPSC_H
#define SNI_MPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "futex.h"

/* What a node on the queue carries; the actor dispatches on it. */
enum sni_node_kind {
	SNI_NODE_CALL = 1,   /* a syn_future: a call from this process */
	SNI_NODE_DOOR,       /* a door slot: a call that came by address */
	SNI_NODE_WAKE,       /* a task whose awaited future completed */
	SNI_NODE_AIO,        /* an aio of syn_aio_alloc() completed */
	SNI_NODE_CANCEL,     /* a syn_future whose cancellation was asked */
	SNI_NODE_CTRL,       /* a function to run on the actor thread */
	SNI_NODE_CLOSE,      /* the synchronizer takes no more calls */
	SNI_NODE_STOP,       /* the synchronizer is destroyed: cancel, end */
	SNI_NODE_POOL,       /* a job of syn_run_blocking() returned */
	SNI_NODE_FD,         /* a descriptor a task awaits is ready */
	SNI_NODE_PIPE,       /* a peer of the door went away (door.c) */
	SNI_NODE_BACKCALL,   /* a call to a client's object (backcall.c) */
	SNI_NODE_BACKCANCEL, /* ... whose cancellation was asked */
};

typedef struct sni_node sni_node;
struct sni_node {
	sni_node *next;
	uint8_t   kind;
};

/*
 * pushed sits on a cache line of its own: the consumer spins reading
 * head, and a producer that made two changes to head's line would lose
 * it to that reader between them (a second transfer per push).
 */
typedef struct sni_mpsc {
	_Atomic(sni_node *) head;
	_Atomic uint32_t    wake_seq;
	_Alignas(64) _Atomic uint64_t pushed; /* nodes pushed (statistics) */
} sni_mpsc;

#define SNI_MPSC_SLEEPING ((sni_node *) (uintptr_t) 1)

static inline void
sni_mpsc_init(sni_mpsc *q)
{
	atomic_init(&q->head, NULL);
	atomic_init(&q->wake_seq, 0);
	atomic_init(&q->pushed, 0);
}

/*
 * Pushes n; any thread. Wakes the consumer when it sleeps. n belongs to
 * the consumer until it processes it.
 */
static inline void
sni_mpsc_push(sni_mpsc *q, sni_node *n)
{
	atomic_fetch_add_explicit(&q->pushed, 1, memory_order_relaxed);
	/* First guess an empty queue, its consumer awake: the line, which
	 * that consumer reads as it spins, then moves here once, for the
	 * write, rather than once to be read and again to be written. */
	sni_node *old = NULL;
	n->next       = NULL;
	while (!atomic_compare_exchange_weak_explicit(
	    &q->head, &old, n, memory_order_seq_cst, memory_order_relaxed)) {
		n->next = old == SNI_MPSC_SLEEPING ? NULL : old;
	}
	if (old == SNI_MPSC_SLEEPING) {
		atomic_fetch_add_explicit(
		    &q->wake_seq, 1, memory_order_seq_cst);
		sni_futex_wake(&q->wake_seq, 1);
	}
}

/* True when nodes wait; the consumer, for its spin loop. */
static inline bool
sni_mpsc_nonempty(sni_mpsc *q)
{
	sni_node *h = atomic_load_explicit(&q->head, memory_order_relaxed);
	return h != NULL && h != SNI_MPSC_SLEEPING;
}

/*
 * Takes every node pushed so far, oldest first (NULL when none). The
 * consumer only.
 */
static inline sni_node *
sni_mpsc_take(sni_mpsc *q)
{
	/* The newest node's line starts on its way here while the exchange
	 * waits for the head's line: two transfers at once, not in turn. */
	sni_node *peek = atomic_load_explicit(&q->head, memory_order_relaxed);
	if (peek != NULL && peek != SNI_MPSC_SLEEPING) {
		__builtin_prefetch(peek);
	}
	sni_node *h =
	    atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
	sni_node *fifo = NULL;
	if (h == SNI_MPSC_SLEEPING) {
		return NULL;
	}
	if (h != NULL && h->next == NULL) {
		return h; /* alone: its line, which its producer may be
		           * reading, is not written */
	}
	while (h != NULL) {
		sni_node *next = h->next;
		h->next        = fifo;
		fifo           = h;
		h              = next;
	}
	return fifo;
}

/*
 * Sleeps until a node is pushed or the absolute deadline passes. The
 * consumer only, with the queue found empty. Returns at once when a push
 * raced with the decision to sleep.
 */
static inline void
sni_mpsc_sleep(sni_mpsc *q, uint64_t deadline_ns)
{
	uint32_t seq = atomic_load_explicit(&q->wake_seq, memory_order_seq_cst);
	sni_node *none = NULL;
	if (!atomic_compare_exchange_strong_explicit(&q->head, &none,
	        SNI_MPSC_SLEEPING, memory_order_seq_cst,
	        memory_order_seq_cst) &&
	    none != SNI_MPSC_SLEEPING) {
		return; /* a node arrived */
	}
	sni_futex_wait(&q->wake_seq, seq, deadline_ns);
}

#endif /* SNI_MPSC_H */
