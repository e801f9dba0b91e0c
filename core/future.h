/*
 * core/future.h: the inside of a syn_future, the record of one call.
 *
 * The caller allocates it, posts it to the actor as a CALL node, and
 * frees it; the actor completes it. Its life is one state word:
 *
 *   DONE        the actor published the result (rc and msg)
 *   WAITERS     a thread sleeps on the word (futex)
 *   RELEASED    the owner freed it
 *   LISTENERS   listeners or a callback are registered
 *   NOTIFYING   the completer is still running them
 *   CANCEL_REQ  cancellation was asked: the outcome is SYN_ECANCELED
 *   CANCEL_NODE the cancel node is on the actor's queue
 *   HOOK        ext->hook runs at completion, before DONE (set before
 *               the future is posted, never cleared)
 *
 * Every change is one atomic read-modify-write; whoever's change makes the
 * word read DONE|RELEASED with neither NOTIFYING nor CANCEL_NODE frees the
 * record, so exactly one party frees it, on any thread.
 */
#ifndef SNI_FUTURE_H
#define SNI_FUTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include <synchronicity/future.h>
#include <synchronicity/task.h>

#include "mpsc.h"
#include "spinlock.h"

enum {
	SNI_F_DONE        = 1u << 0,
	SNI_F_WAITERS     = 1u << 1,
	SNI_F_RELEASED    = 1u << 2,
	SNI_F_LISTENERS   = 1u << 3,
	SNI_F_NOTIFYING   = 1u << 4,
	SNI_F_CANCEL_REQ  = 1u << 5,
	SNI_F_CANCEL_NODE = 1u << 6,
	SNI_F_HOOK        = 1u << 7,
	SNI_F_OWN         = 1u << 8, /* completed by its owner's code */
	SNI_F_CLAIMED     = 1u << 9, /* ... which is completing it */
};

/*
 * Something waiting for a future besides a sleeping thread: a task's
 * syn_await, a wait-any, an event fd. notify runs once, under the future's
 * lock, on the completing thread: it must be short and must not block or
 * touch the future.
 */
typedef struct sni_listener sni_listener;
struct sni_listener {
	sni_listener *next;
	sni_listener *prev;
	void (*notify)(sni_listener *l);
};

/* What few futures need (a callback, a descriptor), allocated on demand. */
typedef struct sni_future_ext {
	void (*cb)(syn_future *, void *);
	void *cb_arg;
	bool  cb_set; /* syn_future_callback was called */
	/* With SNI_F_HOOK: runs on the completing thread before DONE is
	 * published, so whoever sees DONE sees what it did. */
	void (*hook)(void *arg, int rc);
	void        *hook_arg;
	void        *held; /* the proxies the decoded value holds (sni_held) */
	int          efd;  /* syn_future_fd's eventfd, or -1 */
	sni_listener efd_listener;
	/* A call to the object whose blocking method made it: that
	 * method holds the object's turn, and waiting for the call there
	 * never ends (SYN_EDEADLK). The object's self, or NULL. */
	const void *turn_of;
} sni_future_ext;

/*
 * The bytes of a small call and of its reply travel inside the future
 * (SNI_FUTURE_INLINE at most), so that a call to this process's own actor
 * makes one allocation, not three (a future and an nng_msg's header and
 * body), and a million calls in flight take 192 bytes each, not 352.
 */
#define SNI_FUTURE_INLINE 62

typedef struct sni_future_block sni_future_block;

/*
 * Three cache lines, 192 bytes; small keeps many calls in flight cheap.
 * Futures are cut from blocks (future.c), aligned to a cache line.
 *
 * The first line is the one the call crosses on: the node, the state
 * word the caller watches and the first bytes of the call and of its
 * reply, so that a small call moves one line to the actor's CPU and its
 * reply one line back. The actor writes that line once, when it answers;
 * what only the caller touches comes after it. The actor writes the
 * second line only for a call whose task suspends (task), a reply longer
 * than the first line's 38 bytes, or a request in a message (msg).
 */
struct syn_future {
	sni_node         node; /* the CALL node */
	_Atomic uint32_t state;
	int              rc; /* the actor's code; valid once DONE */
	bool             inline_ok;
	/* The request's bytes, then the reply's, when ilen > 0 (then msg
	 * is NULL). Replies go here only when inline_ok: whoever reads
	 * this future's reply reads it with sni_future_bytes(). */
	uint8_t ilen;
	uint8_t inl[SNI_FUTURE_INLINE];

	nng_msg     *msg;  /* the request, then the reply */
	syn_task    *task; /* its suspended task (see sni_task_note_future) */
	uint32_t     actor_id; /* the synchronizer that completes it */
	uint32_t     spin_ns;  /* how long waiters spin first */
	bool         decoded;  /* the reply was decoded (see outcome) */
	sni_spinlock lock;     /* guards listeners, ext, decoding */
	uint16_t     fork_gen; /* sni_fork_generation() when made */
	int          code;     /* the decoded outcome */
	syn_value    value;

	void             *mem;         /* memory behind value or err */
	const syn_error  *err;         /* the decoded error, in mem */
	sni_node          cancel_node; /* the CANCEL node */
	sni_listener     *listeners;
	sni_future_ext   *ext;
	sni_future_block *block; /* where it was cut from (future.c) */
};

/*
 * The bytes f carries (its request before the actor took it, its reply
 * once done): inline or in f->msg; NULL (*len 0) when neither.
 */
const uint8_t *sni_future_bytes(const syn_future *f, size_t *len);

/*
 * Actor thread: answers f with the reply of len bytes, inline, and code
 * rc, as sni_future_complete does (f->msg must not hold the actor's
 * message). The reply and DONE are written together, after the state is
 * read, so that the line the caller watches moves to the actor once.
 * False, and nothing done, when f does not take inline replies or they
 * do not fit.
 */
bool sni_future_answer_inline(
    syn_future *f, const void *bytes, size_t len, int rc);

/*
 * A done future's reply as an nng_msg of its own (an aio's caller gets
 * one): f->msg, taken, or a copy of the inline bytes. *mp NULL when there
 * is no reply; SYN_ENOMEM when the copy could not be made.
 */
int sni_future_take_msg(syn_future *f, nng_msg **mp);

/*
 * Allocates a pending future for a call to the synchronizer actor_id.
 * NULL when out of memory. The caller owns it (RELEASED not set). Its msg
 * may hold an empty message left from an earlier call, to be reused.
 */
syn_future *sni_future_alloc(uint32_t actor_id, uint32_t spin_ns);

/*
 * How many times this process has been the child of a fork (wrapping).
 * A future made before the fork is the parent's: nothing of it is used
 * in the child. The bump (in the child, at the fork) also forgets the
 * parent's threads that were spinning on futures.
 */
uint16_t sni_fork_generation(void);
void     sni_fork_generation_bump(void);

/*
 * Before f is posted: installs hook(arg, rc), run once when f completes,
 * on the completing thread, before anyone can see f done. It must be
 * short and must not touch f. 0 or SYN_ENOMEM.
 */
int sni_future_set_hook(syn_future *f, void (*hook)(void *, int), void *arg);

/* Frees a future that was never posted (nobody else knows of it). */
void sni_future_discard(syn_future *f);

/*
 * Publishes rc and the reply in f->msg (may be NULL: code only), wakes
 * waiters, runs listeners and the callback. Called once, by the actor.
 */
void sni_future_complete(syn_future *f, int rc);

/*
 * Registers l unless f is complete. Returns true when registered (l will
 * be notified once), false when f is already complete.
 */
bool sni_future_listen(syn_future *f, sni_listener *l);

/*
 * Unregisters l. Returns true when removed before being notified; false
 * when the notification has run (it always has, once this returns).
 */
bool sni_future_unlisten(syn_future *f, sni_listener *l);

/*
 * Makes f (allocated, never posted) one that its owner's code completes,
 * not an actor: whoever sni_future_claim()s it first completes it, with
 * sni_future_complete_own(); a cancel claims it and completes it at once
 * with SYN_ECANCELED, on the cancelling thread. It stays allocated, even
 * freed by its user, until sni_future_cancel_done(f).
 */
void sni_future_own(syn_future *f);

/* For a future of sni_future_own: true for the first caller only, who
 * then completes it. Any thread. */
bool sni_future_claim(syn_future *f);

/* Completes f, claimed, with rc and reply (taken; NULL: none). */
void sni_future_complete_own(syn_future *f, int rc, nng_msg *reply);

/* Drops the reference held by the cancel node (the actor, after it). */
void sni_future_cancel_done(syn_future *f);

/* True when cancellation was asked for f. */
bool sni_future_cancel_requested(syn_future *f);

/*
 * Cancels f only if it is not done yet (syn_future_cancel marks a done
 * future cancelled, and its outcome reads SYN_ECANCELED): a request
 * answered already keeps its answer. Any thread.
 */
void sni_future_cancel_pending(syn_future *f);

/*
 * After completion: the outcome code, decoding the reply once. When res
 * is not NULL and the call succeeded, moves the value into res (the
 * future keeps none). Sets the thread's last error on failure.
 */
int sni_future_outcome(syn_future *f, syn_result *res);

/*
 * sni_future_outcome without taking f's lock, for the thread that alone
 * decodes f: the caller of a blocking request, once f is done
 * (sni_request_finish). A CANCEL of f may still be on its way to the
 * actor, which then touches only f's state word and task, never what
 * decoding writes. The lock's atomic exchange would wait for the line the
 * actor last read.
 */
int sni_future_outcome_owned(syn_future *f, syn_result *res);

/*
 * syn_future_free for the thread that alone holds f (the caller of a
 * blocking request, sni_request_finish, after its canceller let go of
 * f): when f is done, nobody notifies it and no CANCEL of it is on its
 * way, f goes back to the thread's cache without an atomic update of its
 * state, which would wait for the line the actor answered in; otherwise
 * as syn_future_free.
 */
void sni_future_release_owned(syn_future *f);

/*
 * Decodes a reply message of this process's actors and frees it: returns
 * its code; on success, when res is not NULL, res receives the value; on
 * failure, the thread's last error is set. msg may be NULL (then rc is
 * the code, with no detail).
 */
int sni_reply_take(nng_msg *msg, int rc, syn_result *res);

/*
 * How replies' handles become proxies: the actors layer installs fn once.
 * fn translates the handles in v in place and returns in *held what v now
 * holds (NULL for nothing), released with sni_held_release().
 */
void sni_future_set_translator(int (*fn)(syn_value *v, void **held));

/* Runs the installed translator on v (nothing when none is). */
int sni_reply_translate(syn_value *v, void **held);

/*
 * A reply (RETURN or ITEMS body) that nobody will read: the references
 * its objects carried go back to their synchronizers (installed by the
 * actors layer with sni_future_set_translator's companion below).
 */
void sni_future_set_dropper(void (*fn)(const void *body, size_t len));
void sni_reply_drop(const void *body, size_t len);

/*
 * As sni_reply_drop, for count items encoded one after another in
 * items[0..len-1] (a batch never sent), without making a message of them
 * (which could fail for want of memory). pipe: the connection the items
 * were for, whose grants they carried (0: a caller of this process). The
 * actor's thread that made them.
 */
void sni_future_set_items_dropper(
    void (*fn)(const void *items, size_t len, uint32_t count, uint32_t pipe));
void sni_items_drop(
    const void *items, size_t len, uint32_t count, uint32_t pipe);

/*
 * f is a call to the object self by a blocking method of that object
 * (which holds its turn): waits for f in that method give SYN_EDEADLK.
 * Before f is known to anyone else. 0 or SYN_ENOMEM.
 */
int sni_future_mark_turn(syn_future *f, const void *self);

/* Waits for completion until deadline_ns (UINT64_MAX: no deadline). */
int sni_future_wait_until(syn_future *f, uint64_t deadline_ns);

#endif /* SNI_FUTURE_H */
