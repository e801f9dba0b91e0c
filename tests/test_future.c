/*
 * Futures: wait, wait with a timeout, poll, cancel, completion callbacks,
 * wait-all and wait-any, and the pollable descriptor.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "helpers.h"

static syn_future *
start(syn_synchronizer s, const char *name, int64_t x)
{
	syn_future *f;
	syn_value   arg = syn_int(x);
	ck_assert_syn_ok(syn_call_future(s, name, &arg, 1, &f));
	return f;
}

/* A wait with a timeout gives SYN_ETIMEDOUT and the task keeps running. */
START_TEST(wait_timeout_leaves_the_task_running)
{
	syn_synchronizer s = th_new();
	syn_future      *f = start(s, "square", 6);
	ck_assert_syn_rc(syn_future_wait_timeout(f, D_MS / 5), SYN_ETIMEDOUT);
	ck_assert_syn_rc(syn_future_poll(f), SYN_EAGAIN);
	const syn_value *v;
	ck_assert_syn_rc(syn_future_value(f, &v), SYN_EAGAIN);
	ck_assert_int_eq(syn_future_error(f)->code, 0);
	ck_assert_syn_ok(syn_future_wait_timeout(f, 4 * D_MS));
	ck_assert_syn_ok(syn_future_poll(f));
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_int_eq(v->as.i, 36);
	ck_assert_syn_ok(syn_future_wait(f)); /* again: same result */
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Cancel delivers SYN_ECANCELED into the task, its cleanup runs, and the
 * waiter gets SYN_ECANCELED. */
START_TEST(cancel_reaches_the_task_and_the_waiter)
{
	syn_synchronizer s = th_new();
	syn_future      *f = start(s, "sleep_ms", 20 * D_MS);
	usleep(D_MS * 1000 / 5); /* let it start and sleep */
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_ok(syn_future_cancel(f)); /* idempotent */
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "cancel was slow");
	ck_assert_int_eq(atomic_load(&th_cleanups), 1);
	ck_assert_int_eq(syn_future_error(f)->code, SYN_ECANCELED);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Cancel after completion still makes the outcome SYN_ECANCELED, as in
 * the reference; a call cancelled before it starts never starts. */
START_TEST(cancel_always_wins)
{
	syn_synchronizer s = th_new();
	syn_future      *f = start(s, "square_now", 3);
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);

	/* Keep the actor busy so the next calls queue behind it. */
	syn_future *blocker = start(s, "block_ms", D_MS / 2);
	int         before  = atomic_load(&th_calls);
	syn_future *g       = start(s, "square_now", 4);
	ck_assert_syn_ok(syn_future_cancel(g));
	ck_assert_syn_rc(syn_future_wait(g), SYN_ECANCELED);
	ck_assert_syn_ok(syn_future_wait(blocker));
	ck_assert_int_eq(atomic_load(&th_calls), before); /* never ran */
	syn_future_free(g);
	syn_future_free(blocker);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct cb_state {
	atomic_int  calls;
	int         code;
	syn_future *seen;
} cb_state;

static void
on_done(syn_future *f, void *arg)
{
	cb_state *st = arg;
	st->code     = syn_future_poll(f);
	st->seen     = f;
	atomic_fetch_add(&st->calls, 1);
}

static void
free_in_callback(syn_future *f, void *arg)
{
	atomic_fetch_add((atomic_int *) arg, 1);
	syn_future_free(f);
}

/* A completion callback runs once, when the future completes, or at once
 * when it is complete already; it may free the future. */
START_TEST(callback_runs_once)
{
	syn_synchronizer s  = th_new();
	cb_state         st = { 0 };
	syn_future      *f  = start(s, "square", 2);
	ck_assert_syn_ok(syn_future_callback(f, on_done, &st));
	ck_assert_syn_rc(syn_future_callback(f, on_done, &st), SYN_EBUSY);
	ck_assert_syn_ok(syn_future_wait(f));
	for (int i = 0; i < 100 && atomic_load(&st.calls) == 0; i++) {
		usleep(1000);
	}
	ck_assert_int_eq(atomic_load(&st.calls), 1);
	ck_assert_int_eq(st.code, 0);
	ck_assert_ptr_eq(st.seen, f);
	syn_future_free(f);

	cb_state late = { 0 };
	f             = start(s, "square_now", 2);
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_callback(f, on_done, &late));
	ck_assert_int_eq(atomic_load(&late.calls), 1); /* ran at once */
	syn_future_free(f);

	atomic_int freed = 0;
	f                = start(s, "square", 2);
	ck_assert_syn_ok(syn_future_callback(f, free_in_callback, &freed));
	for (int i = 0; i < 4 * D_MS && atomic_load(&freed) == 0; i++) {
		usleep(1000);
	}
	ck_assert_int_eq(atomic_load(&freed), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* wait_all waits for every future; wait_any returns the first done. */
START_TEST(wait_all_and_wait_any)
{
	syn_synchronizer s     = th_new();
	double           t0    = th_now_ms(); /* before any sleep starts */
	syn_future      *fs[3] = { start(s, "sleep_ms", 3 * D_MS),
		     start(s, "sleep_ms", D_MS / 5),
		     start(s, "sleep_ms", 2 * D_MS) };
	size_t           index = 99;
	ck_assert_syn_ok(
	    syn_future_wait_any(fs, 3, SYN_DURATION_INFINITE, &index));
	ck_assert_int_eq(index, 1);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "wait_any was slow");
	ck_assert_syn_rc(syn_future_wait_all(fs, 3, D_MS / 5), SYN_ETIMEDOUT);
	ck_assert_syn_ok(syn_future_wait_all(fs, 3, SYN_DURATION_INFINITE));
	ck_assert_msg(th_now_ms() - t0 >= 3 * D_MS - 1, "wait_all was early");
	index = 99;
	ck_assert_syn_ok(syn_future_wait_any(fs, 3, SYN_DURATION_ZERO, &index));
	ck_assert_int_eq(index, 0);
	for (int i = 0; i < 3; i++) {
		syn_future_free(fs[i]);
	}
	syn_future *slow = start(s, "sleep_ms", 10 * D_MS);
	ck_assert_syn_rc(
	    syn_future_wait_any(&slow, 1, D_MS / 5, &index), SYN_ETIMEDOUT);
	ck_assert_syn_rc(syn_future_wait_any(&slow, 0, 0, &index), SYN_EINVAL);
	ck_assert_syn_rc(syn_future_wait_any(NULL, 1, 0, &index), SYN_EINVAL);
	syn_future *with_null[2] = { slow, NULL }; /* checked before waiting */
	t0                       = th_now_ms();
	ck_assert_syn_rc(syn_future_wait_all(with_null, 2, D_MS), SYN_EINVAL);
	ck_assert_msg(th_now_ms() - t0 < D_MS / 2, "wait_all waited first");
	syn_future_cancel(slow);
	syn_future_free(slow);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The descriptor becomes readable when the future completes. */
START_TEST(fd_becomes_readable)
{
	syn_synchronizer s = th_new();
	syn_future      *f = start(s, "square", 9);
	int              fd, fd2;
	ck_assert_syn_ok(syn_future_fd(f, &fd));
	ck_assert_syn_ok(syn_future_fd(f, &fd2));
	ck_assert_int_eq(fd, fd2);
	struct pollfd pfd = { fd, POLLIN, 0 };
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(poll(&pfd, 1, 4 * D_MS), 1);
	ck_assert_syn_ok(syn_future_poll(f));
	syn_future_free(f);

	f = start(s, "square_now", 9); /* complete before the fd exists */
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_fd(f, &fd));
	pfd.fd = fd;
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	syn_future_free(f);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);

	/* freed pending, the descriptor closes at once (it stayed open
	 * until the call ended) */
	f = start(s, "square", 9);
	ck_assert_syn_ok(syn_future_fd(f, &fd));
	syn_future_free(f);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	f = start(s, "square", 9); /* (the call above ends meanwhile) */
	ck_assert_syn_ok(syn_future_fd(f, &fd2));
	pfd.fd = fd2;
	ck_assert_int_eq(poll(&pfd, 1, 4 * D_MS), 1);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Freeing a pending future drops the result; the call still runs. */
START_TEST(free_pending_future)
{
	syn_synchronizer s = th_new();
	for (int i = 0; i < 100; i++) {
		syn_future_free(start(s, "square_now", i));
	}
	syn_future_free(start(s, "sleep_ms", D_MS / 5));
	ck_assert_int_eq(th_call_int(s, "square_now", 2), 4);
	ck_assert_int_eq(atomic_load(&th_calls), 101);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct waiter_arg {
	syn_future *f;
	int         rc;
} waiter_arg;

static void *
waiter(void *arg)
{
	waiter_arg *w = arg;
	w->rc         = syn_future_wait(w->f);
	return NULL;
}

/* Several threads may wait on one future. */
START_TEST(many_waiters)
{
	syn_synchronizer s = th_new();
	syn_future      *f = start(s, "square", 5);
	pthread_t        th[4];
	waiter_arg       w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (waiter_arg) { f, -1 };
		pthread_create(&th[i], NULL, waiter, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_syn_ok(w[i].rc);
	}
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* wait_any(a future of this task's own synchronizer, NULL) on the
 * synchronizer's thread: its code. */
static int
any_of_own_and_null(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_future *own;
	syn_value   x  = syn_int(2);
	int         rc = syn_call_future(
	            syn_task_synchronizer(t), "square_now", &x, 1, &own);
	if (rc != 0) {
		return rc;
	}
	syn_future *fs[2] = { own, NULL };
	size_t      index;
	*ret = syn_int(syn_future_wait_any(fs, 2, 100, &index));
	syn_future_free(own);
	return 0;
}

START_TEST(null_futures_are_errors)
{
	const syn_value *v;
	int              fd;
	ck_assert_syn_rc(syn_future_wait(NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_future_poll(NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_future_value(NULL, &v), SYN_EINVAL);
	ck_assert_syn_rc(syn_future_cancel(NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_future_fd(NULL, &fd), SYN_EINVAL);
	ck_assert_syn_rc(syn_future_callback(NULL, on_done, NULL), SYN_EINVAL);
	ck_assert_int_eq(syn_future_error(NULL)->code, 0);
	syn_future_free(NULL);
	syn_future *one[1] = { NULL };
	ck_assert_syn_rc(syn_future_wait_all(one, 1, 0), SYN_EINVAL);
	ck_assert_syn_ok(syn_future_wait_all(NULL, 0, 0));
	/* a NULL after a future refused (SYN_EDEADLK: its own synchronizer)
	 * is found first (the refusal read every entry, and crashed) */
	syn_synchronizer s = th_new();
	th_register(s, "any_null", any_of_own_and_null, NULL);
	syn_result r = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "any_null", NULL, 0, &r));
	ck_assert_int_eq(r.value.as.i, SYN_EINVAL);
	syn_result_fini(&r);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("wait_timeout", wait_timeout_leaves_the_task_running),
		TH_CASE("cancel", cancel_reaches_the_task_and_the_waiter),
		TH_CASE("cancel_wins", cancel_always_wins),
		TH_CASE("callback", callback_runs_once),
		TH_CASE("wait_all_any", wait_all_and_wait_any),
		TH_CASE("fd", fd_becomes_readable),
		TH_CASE("free_pending", free_pending_future),
		TH_CASE("many_waiters", many_waiters),
		TH_CASE("null", null_futures_are_errors),
	};
	return TH_SUITE("future", cases);
}
