/*
 * core/task.h: the inside of a task, one call running as a coroutine on
 * its actor's thread. Everything here runs on that thread.
 *
 * The task record lives at the top of its own stack, with the decoded
 * arguments just below it, so a task that suspends in shallow frames costs
 * one page of memory and no allocation. A plain call starts on the loop's
 * own stack instead, with no switch (most calls end without suspending);
 * the first suspension makes that stack the task's, with the loop's
 * frames below its own, and moves the loop to a spare stack. With
 * config.shared_stack the record and arguments are on the heap instead,
 * and every task's frames on one stack (shared.h).
 */
#ifndef SNI_TASK_H
#define SNI_TASK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include <synchronicity/task.h>

#include "actor.h"
#include "context.h"
#include "future.h"
#include "stack.h"
#include "timer.h"

/* Where a task's reply goes. */
enum sni_origin {
	SNI_ORIGIN_FUTURE = 1, /* a syn_future of this process */
	SNI_ORIGIN_DOOR,       /* a door slot: back over nng */
};

/* What a suspended task waits for. */
enum sni_wait {
	SNI_WAIT_NONE = 0,
	SNI_WAIT_SLEEP,
	SNI_WAIT_FUTURE,
	SNI_WAIT_AIO,
	SNI_WAIT_YIELD, /* a generator, for its consumer's next request */
	SNI_WAIT_POOL,  /* a job on the blocking pool */
	SNI_WAIT_FD,    /* a file descriptor (fdwait.c) */
	SNI_WAIT_PARK,  /* another task of its actor (sni_task_unpark) */
};

/*
 * A generator's own state (gen.c). stream is 0 for a plain call. While a
 * request (OPEN or NEXT) is pending, the task's origin fields name where
 * its answer goes; origin_ptr is NULL between requests.
 */
typedef struct sni_gen {
	uint64_t stream; /* the id its consumer chose */
	uint32_t pipe;   /* the consumer's nng pipe; 0: this process */
	uint32_t window;
	bool     close_asked; /* a CLOSE came: syn_yield ends the stream */
	uint8_t  close_origin;
	bool     thrown;     /* the last request was a THROW: sent is its
	                        error, which syn_yield returns */
	uint32_t  host;      /* its peer's host, as the door counts it */
	void     *close_ptr; /* where the CLOSE's answer goes, or NULL */
	uint64_t  close_id;
	nng_msg  *close_msg;
	syn_value sent; /* the value the last NEXT sent (or THROW) */
	void     *sent_mem;
	struct sni_batch *batch; /* with a window: items not yet sent */
} sni_gen;

/*
 * Room in the record for what an await point keeps while its task waits
 * and others touch (a sni_fdwait, a sni_job, an object's turn): not in
 * the task's frames, which a shared stack copies away meanwhile.
 */
#define SNI_WAIT_ROOM 80

struct syn_task {
	sni_actor *actor;
	sni_stack *stack;
	sni_ctx   *ctx;  /* its context: its stack's, or its own when shared */
	sni_task  *prev; /* the actor's live tasks */
	sni_task  *next;

	sni_callable     call;
	const syn_value *args;
	uint32_t         nargs;
	void            *args_mem; /* heap arguments, when too big for here */
	syn_value        ret;

	uint8_t origin;        /* an sni_origin */
	bool    here;          /* started on the loop's stack (stack is
	                          NULL until it first suspends) */
	bool noted;            /* origin_ptr, a future, points at t (its
	                          task field); cleared with the reply */
	bool        allow_ptr; /* the reply may carry pointers */
	bool        done;
	atomic_bool cancelled;  /* atomic: a lent task's pool thread reads it */
	bool        closing;    /* cancelled because the actor closes */
	bool        unparked;   /* sni_task_unpark's wake is on its way */
	bool        refused;    /* an await point refused it (cancelled) */
	bool        unindexed;  /* counted in a->door_unindexed */
	bool        timed_out;  /* syn_await_timeout's deadline passed */
	bool        remote;     /* its call came from another process */
	uint8_t     wait;       /* an sni_wait */
	void       *origin_ptr; /* the syn_future or the door slot */
	uint64_t    call_id;
	nng_msg *msg; /* the request, kept for the reply until a suspension */

	int          wake_rc; /* what the await point returns */
	sni_timer    timer;
	sni_node     wake;     /* posted when an awaited future completes */
	sni_listener listener; /* on the awaited future */
	syn_future  *awaited;
	sni_aio     *awaited_aio;
	void        *awaited_fd; /* its sni_fdwait, in wait_room */

	uint64_t started_ns; /* with measure_latency: when it started */

	int         err_code; /* the detail of the error raised last */
	char       *err_msg;
	char       *err_where;
	void       *blocks;  /* syn_task_alloc memory */
	void       *holds;   /* what translation holds for it (actors layer) */
	sni_context context; /* its call context: its call's, then its own */

	sni_gen gen;

	/* With a shared stack (shared.h): the record's own memory, and
	 * the task's frames while another task has the stack. */
	bool   shared;
	void  *shared_mem;
	void  *saved;
	size_t saved_len;
	size_t saved_cap;

	/* (not cleared at the start: each await point sets what it uses) */
	_Alignas(16) unsigned char wait_room[SNI_WAIT_ROOM];
};

/*
 * Starts a task for a call described by v, whose request is msg (kept for
 * the reply) and whose reply goes to origin. stream is 0 for a plain call,
 * else the task is a generator serving that stream (window items ahead).
 * Runs it until its first suspension or its end. On failure (no stack, no
 * memory) nothing was started and the caller replies with the code.
 * here: the caller is the loop itself, with nothing left to do after
 * this returns but go on with the loop (a suspension of a plain call
 * started here leaves the caller's frames to that call for good).
 */
int sni_task_start(sni_actor *a, const sni_callable *c, const sni_call_view *v,
    int origin, void *origin_ptr, nng_msg *msg, uint64_t stream,
    uint32_t window, bool here);

/*
 * Makes a->spare ready: a stack whose context runs the loop
 * (sni_actor_loop_entry); false when no stack could be had. The loop.
 */
bool sni_task_spare_ready(sni_actor *a);

/* Once the loop ended and left its stack: that stack and the spare go
 * back to the pool. The actor's thread, on its own stack. */
void sni_task_loop_stacks_back(sni_actor *a);

/*
 * Actor thread: when t answers a future (origin SNI_ORIGIN_FUTURE), points
 * that future's task field at t, so that its caller's cancel finds t; the
 * reply (sni_task_deliver) clears it. Called when t suspends, and when a
 * generator that is not resumed at once takes a request: a task that
 * answers before it suspends cannot be cancelled meanwhile, and the
 * future's second line, its caller's, stays unwritten.
 */
void sni_task_note_future(sni_task *t);

/*
 * Sends the bytes of w, a reply of kind rc (0 or the error's code), to
 * where t's pending request came from, in the request's message when t
 * still holds it; t then has no pending request. Frees w's buffer.
 */
void sni_task_deliver(sni_task *t, sni_wbuf *w, int rc);

/*
 * Before v leaves t as a result or an item: the actors layer's check of
 * the objects in it (a raw callable may hand out none); once v is
 * encoded, sni_task_value_sent counts them as handed out; when it is not
 * sent after all (it does not encode, or t suspends before it encodes it
 * again), sni_task_value_unsent gives back what the check made ready.
 */
int  sni_task_value_out(sni_task *t, const syn_value *v);
void sni_task_value_sent(sni_task *t, const syn_value *v);
void sni_task_value_unsent(sni_task *t, const syn_value *v);

/* rc, or SYN_EBADCODE (raised on t) when t returned an invalid code. */
int sni_task_valid_code(sni_task *t, int rc);

/*
 * The limits t's replies and items are encoded with: the synchronizer's,
 * and for a call from another process no larger than that peer takes (a
 * larger message would cut its whole connection); pointers, and proxies
 * that carry a reference (proxy_refs), for a caller of this process. The
 * loop.
 */
sni_limits sni_task_limits(const sni_task *t);

/* How many bytes of text fit in max, cut on a UTF-8 boundary. */
size_t sni_text_fit(const char *text, size_t max);

/*
 * Answers t's pending request with t's outcome rc: its result (or, for a
 * generator, the end of the stream) when rc is 0, else the error with
 * t's detail.
 */
void sni_task_reply(sni_task *t, int rc);

/*
 * Actor thread: the commonest answer, a RETURN of v (a number, bool or
 * nil) to t's future of this process, straight into the future: no
 * buffer, no limits (a dozen bytes are under any a synchronizer accepts),
 * no translation (a plain value has none); as sni_task_deliver, t then
 * answers nothing more. False, nothing done, for any other answer.
 */
bool sni_task_answer_simple(sni_task *t, const syn_value *v);

/* Resumes suspended task t; its await point returns rc. The loop only. */
void sni_task_resume(sni_task *t, int rc);

/*
 * Cancels t: from now on its await points return SYN_ECANCELED; a
 * suspended task is woken (or its await finishes cancelling). closing:
 * because the actor closes (the caller then gets SYN_ECLOSED). The loop
 * only.
 */
void sni_task_cancel(sni_task *t, bool closing);

/*
 * Suspends t until another task of its actor calls sni_task_unpark(t), or
 * t is cancelled first. Returns 0 once unparked (t may have been cancelled
 * meanwhile: check t->cancelled), SYN_ECANCELED when cancelled while
 * parked (nobody will unpark it: whoever keeps it for that must drop it).
 * Only t itself, running.
 */
int sni_task_park(sni_task *t);

/*
 * Whether a request of pipe (a peer) may take call_id: 0, or SYN_EPROTO
 * (with a detail) when a call of that pipe in flight other than self
 * (NULL: none) has that id, or one 2^32 apart (which would share its
 * place in the index that CANCELs search). The loop.
 */
int sni_task_new_call_id(
    sni_actor *a, const sni_task *self, uint32_t pipe, uint64_t call_id);

/* Wakes parked task t, once. Its actor's thread (a task or the loop). */
void sni_task_unpark(sni_task *t);

/*
 * An await point's answer to t, cancelled (or its stream closed) before
 * the await: code, at once. From the second such answer on, t first lets
 * its loop run (it goes behind what its mailbox holds), so that a task
 * that ignores its cancellation and awaits again and again does not keep
 * its synchronizer from serving others. Only t itself, running.
 */
int sni_task_refuse(sni_task *t, int code);

/*
 * Lends t to the calling thread (a blocking pool thread running a job of
 * t) until sni_task_unlend(): there syn_unpack, syn_raise, syn_task_alloc
 * and the like work on t; await points still refuse it (SYN_ESTATE).
 */
void sni_task_lend(sni_task *t);
void sni_task_unlend(void);

/* 0 when t runs here, or is lent to this thread; else SYN_ESTATE. */
int sni_task_check_data(sni_task *t);

/* The task lent to this thread, or NULL. */
sni_task *sni_task_lent(void);

/* A descriptor a task awaits is ready (its node came): resumes it. */
struct sni_fdwait;
void sni_task_fd_ready(struct sni_fdwait *w);

/* Resumes the tasks whose timers are due; true when any ran. */
bool sni_task_run_timers(sni_actor *a, uint64_t now);

/* The task running on this thread now, or NULL. */
sni_task *sni_task_current(void);

/*
 * The task, not ended, of the door's call call_id from pipe, or NULL.
 * Found by a->door_tasks (thousands of CANCELs may come at once, and a
 * synchronizer may hold 100,000 tasks); a task it could not hold (a call
 * id over 32 bits, no memory, an id in use twice) is looked for among
 * all. The loop only.
 */
sni_task *sni_task_of_call(sni_actor *a, uint32_t pipe, uint64_t call_id);

/* t's origin or call id is about to change (a generator's next request):
 * it leaves a->door_tasks; sni_task_reindex() puts it back after. */
void sni_task_unindex(sni_actor *a, sni_task *t);
void sni_task_reindex(sni_actor *a, sni_task *t);

/*
 * Checks that t is the task running on this thread; otherwise (a task
 * pointer used outside its task) returns SYN_ESTATE.
 */
int sni_task_check(sni_task *t);

/* Suspends the running task t until sni_task_resume; returns its rc. */
int sni_task_suspend(sni_task *t);

/*
 * The message of t's error rc (its own detail when it raised rc, else the
 * code's description), with where it happened written into where.
 */
const char *sni_task_error_text(sni_task *t, int rc, char *where, size_t size);

/*
 * Replaces t's error detail with code, message and where (copied; NULLs
 * allowed): how a failure that t awaited becomes t's own.
 */
void sni_task_adopt_error(
    sni_task *t, int code, const char *message, const char *where);

#endif /* SNI_TASK_H */
