/*
 * synchronicity: the synchronizer, an actor with one thread.
 *
 * A synchronizer owns one thread, its event loop and its mailbox. All the
 * implementation code registered on it runs on that thread, as tasks; any
 * other thread reaches it only by sending it calls. It is named by a small
 * value handle, as an nng_socket is: once it is destroyed, every function
 * given its handle returns SYN_ECLOSED instead of touching freed memory.
 */
#ifndef SYNCHRONICITY_SYNCHRONIZER_H
#define SYNCHRONICITY_SYNCHRONIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <synchronicity/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A synchronizer's handle. The zero value names no synchronizer. */
typedef struct syn_synchronizer {
	uint32_t id;
} syn_synchronizer;

#define SYN_SYNCHRONIZER_INITIALIZER \
	{                            \
		0                    \
	}

/*
 * Durations and timeouts, in milliseconds, as nng_duration: the named
 * values pass straight into nng.
 */
typedef int32_t syn_duration;
#define SYN_DURATION_INFINITE (-1)
#define SYN_DURATION_DEFAULT (-2)
#define SYN_DURATION_ZERO (0)

/* Spinning: see syn_config.spin_us. */
#define SYN_SPIN_OFF (-1)

/*
 * How to build a synchronizer. A zeroed struct asks for every default, so
 * new fields never change the meaning of old code.
 */
typedef struct syn_config {
	/* Names the actor thread (first 15 bytes) and the synchronizer in
	 * error paths: 1 to 63 bytes. NULL: "syn". Copied. */
	const char *name;
	/* The nng address the mailbox listens on, for callers that come by
	 * address: an inproc:// address of at most 127 bytes (other
	 * processes come through syn_serve()'s listeners). NULL:
	 * "inproc://synchronicity/<id>", or "inproc://synchronicity/<id>.<n>"
	 * when a user's address took that one (syn_synchronizer_url() says
	 * which). Copied. */
	const char *url;
	/* true: no nng socket, only in-process callers (it also lets a
	 * forked child whose parent used nng create synchronizers). With a
	 * url: SYN_EINVAL. */
	bool no_door;
	/* Bytes of address space reserved for each task's stack, guard
	 * excluded (64 KiB below each stack, which fault: a frame larger
	 * than that could step over it, as on any thread's stack); only the
	 * pages a task touches use memory. 0: 256 KiB. Rounded up to whole
	 * pages; 16 KiB to 64 MiB. From 64 KiB, a call starts on the
	 * loop's own stack, whose frames take about 1 KiB of it. Reading or
	 * writing a nested value takes some 150 bytes of it per level (more
	 * in a debug or sanitizer build): a value too deep for the room left
	 * gives SYN_ENOMEM, not a fault (64 levels need more than 16 KiB). */
	size_t stack_size;
	/* How long, in microseconds, an idle actor and a waiting caller spin
	 * before they sleep in the kernel. 0: automatic, 20 where the machine
	 * has more than one CPU and none where it has one; SYN_SPIN_OFF:
	 * never spin; at most 1000000. Spinning trades CPU for latency; at
	 * most CPUs - 1 threads spin at once, the others yield, then sleep. */
	int spin_us;
	/* The largest message accepted, in bytes (0 or at least 64), and the
	 * deepest nesting of values (0 to 64). 0: 16 MiB and 32 levels. */
	size_t max_message;
	int    max_depth;
	/* Called on the synchronizer's thread each time one of its tasks
	 * makes a blocking call (syn_call, syn_invoke, syn_iter_next,
	 * syn_future_wait, ... on another synchronizer), which stalls this
	 * one until it returns: the reference's blocking_in_async_callback.
	 * s is this synchronizer, what names the call. It runs before the
	 * call waits, and must not block. NULL: nothing is reported. */
	void (*on_blocking)(syn_synchronizer s, const char *what, void *arg);
	void *on_blocking_arg;
	/* A task that holds the synchronizer's thread longer than this, in
	 * microseconds, between two await points (a computation, or a
	 * blocking call, that starves every other task of the
	 * synchronizer) is counted in syn_stats.slow_tasks and reported to
	 * on_slow_task, on the synchronizer's thread, once it lets go: what
	 * names its call, us is how long it held on. It must not block.
	 * 0: not watched (then nothing is measured). */
	uint32_t slow_task_us;
	void (*on_slow_task)(
	    syn_synchronizer s, const char *what, uint64_t us, void *arg);
	void *on_slow_task_arg;
	/* true: each call's time from its start to its end goes into
	 * syn_stats.latency_us (two clock reads per call). */
	bool measure_latency;
	/* true: every task runs on one stack, and a task that waits keeps
	 * only its frames, copied out to a buffer of their size when another
	 * task needs the stack (about 1 KiB for a call suspended in a
	 * shallow await, instead of a 4 KiB page), and copied back when it
	 * resumes (a copy of that size at most twice per switch between two
	 * tasks). Its task's local variables then exist only while it runs:
	 * nothing may use their addresses while it waits. syn_run_blocking
	 * and syn_future_callback refuse an arg that points into the stack,
	 * and a call or result a syn_ptr into it (SYN_EINVAL; allocate it
	 * with syn_task_alloc); the buffers of an awaited nng_aio, a pointer
	 * handed to another thread or task otherwise are the caller's care.
	 * Running out of memory to copy a waiting task's frames out fails a new
	 * call with SYN_ENOMEM, and aborts the process when a task must resume.
	 * false: each task has a stack of its own. */
	bool shared_stack;
} syn_config;

/*
 * Creates a synchronizer: starts its thread and, unless cfg->no_door,
 * opens its mailbox socket and listens on its address. cfg may be NULL
 * for every default. On success *sp names it; the caller must destroy it.
 * Any thread, including another synchronizer's tasks.
 * Errors: SYN_EINVAL (bad config), SYN_ENOMEM, SYN_EADDRINUSE (the url
 * is taken), SYN_EFORK (a door was asked for in a forked child of a
 * process that used nng), nng's errors for a bad url, SYN_ESYSERR|errno.
 */
SYN_API int syn_synchronizer_new(syn_synchronizer *sp, const syn_config *cfg);

/*
 * Closes s: from now on calls fail with SYN_ECLOSED (callers by address
 * get an SYN_ECLOSED reply); calls in flight go on until
 * syn_synchronizer_destroy(). Idempotent and non-blocking; any thread, any
 * callback. Errors: SYN_ECLOSED when s names no synchronizer, SYN_EFORK.
 */
SYN_API int syn_synchronizer_close(syn_synchronizer s);

/*
 * Closes s, cancels its tasks (each sees SYN_ECANCELED at its next await
 * point, and its cleanup runs), fails every call still pending with
 * SYN_ECLOSED, joins the thread and frees everything. Blocks until done.
 * Must not be called from s's own thread, or from a blocking job of s's
 * tasks (SYN_EDEADLK); from a task of another synchronizer whose thread
 * s's thread blocks for (directly or through others: it would never read
 * the stop) it returns SYN_EDEADLK at once, and s goes on. Errors:
 * SYN_ECLOSED when s names no synchronizer (destroyed already) or another
 * thread is destroying it (that thread waits; this one returns at once),
 * SYN_EFORK in a forked child (the parent's synchronizers cannot be
 * destroyed there).
 */
SYN_API int syn_synchronizer_destroy(syn_synchronizer s);

/* The buckets of syn_stats.latency_us. */
#define SYN_LATENCY_BUCKETS 32

/*
 * What a synchronizer has done and is doing, as syn_synchronizer_stats()
 * reads it. Each count is read on its own while the synchronizer runs:
 * the struct is a snapshot of each, not of all at one instant.
 */
typedef struct syn_stats {
	/* Calls whose task ended (calls, method calls, generators, context
	 * manager enters and exits), since the synchronizer started. */
	uint64_t calls_served;
	/* Tasks started and not ended: calls running or suspended. A call
	 * stops counting just before its reply is sent. */
	uint64_t calls_in_flight;
	/* Of those, the tasks waiting at an await point now. */
	uint64_t tasks_suspended;
	/* Messages posted to the mailbox (calls, replies of what its tasks
	 * await, timers' and nng's wake-ups) and not taken up yet (the one
	 * being handled no longer counts). */
	uint64_t mailbox_depth;
	/* Times a task held the thread longer than config.slow_task_us. */
	uint64_t slow_tasks;
	/* With config.measure_latency: calls served by their time from
	 * start to end. latency_us[0] counts those under 1 us; latency_us[i]
	 * those from 2^(i-1) up to 2^i us; the last bucket, all longer. */
	uint64_t latency_us[SYN_LATENCY_BUCKETS];
	/* With config.shared_stack: bytes of memory holding the frames of
	 * waiting tasks, copied off the stack (a buffer per task, sized to
	 * the frames it last held); 0 without. */
	uint64_t shared_frames_bytes;
} syn_stats;

/*
 * Reads s's counts into *out. Any thread, any time: it does not stop s.
 * Errors: SYN_EINVAL (out NULL), SYN_ECLOSED, SYN_ENOTSUP (s is a
 * syn_connect() handle: its synchronizer is in another process),
 * SYN_EFORK (s belongs to the parent of this forked process).
 */
SYN_API int syn_synchronizer_stats(syn_synchronizer s, syn_stats *out);

/*
 * Copies the address s listens on into buf (size bytes, NUL-terminated).
 * Any thread. Errors: SYN_ECLOSED, SYN_EFORK, SYN_ENOENT (created with
 * no_door), SYN_EINVAL (buf too small or NULL).
 */
SYN_API int syn_synchronizer_url(syn_synchronizer s, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_SYNCHRONIZER_H */
