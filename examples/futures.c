/*
 * Futures beyond wait: the first of several, a completion callback, and
 * the descriptor that lets a foreign event loop (poll, epoll, libuv,
 * libevent) wait for a future.
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <synchronicity.h>

#include "example.h"

static int
nap(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 && (rc = syn_sleep(t, (syn_duration) ms)) == 0) {
		*ret = syn_int(ms);
	}
	return rc;
}

static syn_future *
start(syn_synchronizer s, int64_t ms)
{
	syn_future *f;
	syn_value   arg = syn_int(ms);
	check(syn_call_future(s, "nap", &arg, 1, &f), "nap");
	return f;
}

static void
first_of_three(syn_synchronizer s)
{
	/* [wait_any] */
	syn_future *fs[3] = { start(s, 300), start(s, 50), start(s, 200) };
	size_t      first;
	check(syn_future_wait_any(fs, 3, SYN_DURATION_INFINITE, &first),
	    "wait_any"); /* after about 50 ms: first is 1 */
	printf("nap %zu finished first\n", first);
	check(syn_future_wait_all(fs, 3, 1000), "wait_all"); /* or ETIMEDOUT */
	for (int i = 0; i < 3; i++) {
		syn_future_free(fs[i]);
	}
	/* [wait_any] */
	expect(first == 1, "the 50 ms nap finishes first");
}

/* [callback] */
/* Runs once, on the thread that completes the future (usually the
 * synchronizer's own): it must not block. */
static void
on_done(syn_future *f, void *arg)
{
	atomic_int *code = arg;
	atomic_store(code, syn_future_poll(f)); /* complete: its code */
	syn_future_free(f); /* a callback may free its own future */
}
/* [callback] */

static void
callback(syn_synchronizer s)
{
	/* [set_callback] */
	static atomic_int code = -1; /* outlives this function */
	syn_future       *f    = start(s, 50);
	check(syn_future_callback(f, on_done, &code), "callback");
	/* f belongs to the callback now: this thread must not touch it. */
	/* [set_callback] */
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < 2000 && atomic_load(&code) == -1; i++) {
		nanosleep(&ms, NULL);
	}
	expect(atomic_load(&code) == 0, "the callback saw success");
}

static void
foreign_loop(syn_synchronizer s)
{
	/* [fd] */
	syn_future *f = start(s, 50);
	int         fd;
	check(syn_future_fd(f, &fd), "syn_future_fd"); /* owned by f */
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (poll(&pfd, 1, -1) != 1) { /* a foreign loop waits here */
	}
	check(syn_future_poll(f), "nap"); /* readable: f is complete */
	syn_future_free(f);               /* closes fd */
	                                  /* [fd] */
}

int
main(void)
{
	syn_synchronizer   s;
	const syn_func_def def = {
		.name = "nap", .kind = SYN_KIND_FUNCTION, .fn = nap
	};
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &def), "syn_register");
	first_of_three(s);
	callback(s);
	foreign_loop(s);
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	return failures == 0 ? 0 : 1;
}
