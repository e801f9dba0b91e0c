/*
 * Generators: functions that hand out items with syn_yield(), iterated by
 * their callers blocking, as futures and through nng_aio, in strict
 * lock-step, with early close, errors and destruction (the reference
 * library's "Generators" and its tests, in C).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static atomic_int started;  /* generators that began */
static atomic_int closed;   /* generators that saw SYN_EITERCLOSED */
static atomic_int finished; /* generators that returned */

static void
reset_counts(void)
{
	atomic_store(&started, 0);
	atomic_store(&closed, 0);
	atomic_store(&finished, 0);
}

static void
register_gen(syn_synchronizer s, const char *name, syn_func_fn fn)
{
	syn_func_def def = { name, SYN_KIND_GENERATOR, fn, NULL };
	ck_assert_syn_ok(syn_register(s, &def));
}

/* count(n [, sleep_ms]): yields 0 .. n-1, sleeping before each item. */
static int
count_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n, ms = 0;
	int     rc = syn_unpack(t, args, nargs, "i|i", &n, &ms);
	if (rc != 0) {
		return rc;
	}
	atomic_fetch_add(&started, 1);
	for (int64_t i = 0; i < n && rc == 0; i++) {
		if (ms > 0 && (rc = syn_sleep(t, (syn_duration) ms)) != 0) {
			break;
		}
		syn_value v = syn_int(i);
		rc          = syn_yield(t, &v, NULL);
	}
	if (rc == SYN_EITERCLOSED) {
		atomic_fetch_add(&closed, 1);
		rc = 0;
	}
	atomic_fetch_add(&finished, 1);
	return rc;
}

static syn_synchronizer
gen_sync(void)
{
	syn_synchronizer s = th_new();
	register_gen(s, "count", count_gen);
	reset_counts();
	return s;
}

static int64_t
next_int(syn_iter *it)
{
	syn_result r = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_next(it, &r));
	ck_assert_int_eq(r.value.type, SYN_TYPE_INT);
	int64_t v = r.value.as.i;
	syn_result_fini(&r);
	return v;
}

/* A blocking consumer gets every item, then SYN_EEND, again and again. */
START_TEST(blocking_iteration)
{
	syn_synchronizer s    = gen_sync();
	syn_value        n    = syn_int(5);
	syn_iter        *it   = NULL;
	syn_result       item = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_open(s, "count", &n, 1, NULL, &it));
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(next_int(it), i);
	}
	ck_assert_syn_rc(syn_iter_next(it, &item), SYN_EEND);
	ck_assert_int_eq(syn_last_error()->code, SYN_EEND);
	ck_assert_syn_rc(syn_iter_next(it, &item), SYN_EEND);
	ck_assert_int_eq(atomic_load(&finished), 1);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_int_eq(atomic_load(&closed), 0); /* no close at the end */
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The side effects of producer and consumer alternate exactly. */
static char        order_log[256];
static atomic_int  order_len;
static const char *order_expected = "pcpcpcpc";

static void
log_step(char c)
{
	int i = atomic_fetch_add(&order_len, 1);
	if (i < (int) sizeof(order_log) - 1) {
		order_log[i] = c;
	}
}

static int
logging_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	for (int i = 0; i < 4; i++) {
		log_step('p');
		syn_value v  = syn_int(i);
		int       rc = syn_yield(t, &v, NULL);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

START_TEST(lock_step_order)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "logging", logging_gen);
	memset(order_log, 0, sizeof(order_log));
	atomic_store(&order_len, 0);
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(s, "logging", NULL, 0, NULL, &it));
	usleep(20000); /* opening runs nothing */
	ck_assert_int_eq(atomic_load(&order_len), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(next_int(it), i);
		usleep(2000); /* time for a generator that ran ahead */
		log_step('c');
	}
	ck_assert_str_eq(order_log, order_expected);
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* send: the value reaches the generator's syn_yield. */
static int
doubler_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value v = syn_int(0);
	for (;;) {
		syn_value sent;
		int       rc = syn_yield(t, &v, &sent);
		if (rc != 0) {
			return rc == SYN_EITERCLOSED ? 0 : rc;
		}
		if (sent.type == SYN_TYPE_NIL) {
			return 0;
		}
		if (sent.type != SYN_TYPE_INT) {
			return syn_raise(t, SYN_EBADTYPE, "send an int");
		}
		v = syn_int(sent.as.i * 2);
	}
}

START_TEST(send_reaches_the_generator)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "doubler", doubler_gen);
	syn_iter  *it;
	syn_result r     = SYN_RESULT_INIT;
	syn_value  seven = syn_int(7);
	ck_assert_syn_ok(syn_iter_open(s, "doubler", NULL, 0, NULL, &it));
	/* Nothing but nil can go to a generator that has not started. */
	ck_assert_syn_rc(syn_iter_send(it, &seven, &r), SYN_EINVAL);
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_syn_ok(syn_iter_send(it, &seven, &r));
	ck_assert_int_eq(r.value.as.i, 14);
	syn_result_fini(&r);
	syn_value s21 = syn_int(21);
	ck_assert_syn_ok(syn_iter_send(it, &s21, &r));
	ck_assert_int_eq(r.value.as.i, 42);
	syn_result_fini(&r);
	syn_value str = syn_str("x");
	ck_assert_syn_rc(syn_iter_send(it, &str, &r), SYN_EBADTYPE);
	ck_assert_str_eq(syn_last_error()->message, "send an int");
	ck_assert_syn_rc(syn_iter_next(it, &r), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Thrown errors reach the generator's syn_yield with their message, in
 * every form; the generator goes on, fails or ends as it handles them;
 * what cannot be thrown is refused. */
static void
item_is_str(syn_result *r, const char *want)
{
	ck_assert_int_eq(r->value.type, SYN_TYPE_STR);
	ck_assert_str_eq(r->value.as.str, want);
	syn_result_fini(r);
}

START_TEST(throw_reaches_the_generator)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "catcher", th_catcher_gen);
	syn_iter  *it;
	syn_result r = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_open(s, "catcher", NULL, 0, NULL, &it));
	ck_assert_syn_rc(syn_iter_throw(it, SYN_EUSER(1), "x", &r), SYN_EINVAL);
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_syn_rc(syn_iter_throw(it, 0, "x", &r), SYN_EINVAL);
	/* nor what the generator could not tell from its stream's events */
	ck_assert_syn_rc(syn_iter_throw(it, SYN_EEND, "x", &r), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_iter_throw(it, SYN_EITERCLOSED, "x", &r), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_iter_throw(it, SYN_ECANCELED, "x", &r), SYN_EINVAL);
	ck_assert_syn_rc(syn_iter_throw(it, 123456, "x", &r), SYN_EINVAL);
	ck_assert_syn_ok(syn_iter_throw(it, SYN_EUSER(1), "hello", &r));
	item_is_str(&r, "hello");
	ck_assert_int_eq(next_int(it), 1);
	syn_future *f;
	ck_assert_syn_ok(syn_iter_throw_future(it, SYN_EUSER(1), NULL, &f));
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_str_eq(v->as.str, syn_strerror(SYN_EUSER(1)));
	syn_future_free(f);
	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_iter_throw_aio(it, SYN_EUSER(1), "by aio", aio);
	nng_aio_wait(aio);
	ck_assert_syn_ok(syn_aio_result(aio, &r));
	item_is_str(&r, "by aio");
	syn_iter_throw_aio(it, 0, NULL, aio);
	nng_aio_wait(aio);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_EINVAL);
	nng_aio_free(aio);
	ck_assert_syn_rc(
	    syn_iter_throw(it, SYN_EUSER(2), "boom", &r), SYN_EUSER(3));
	ck_assert_str_eq(syn_last_error()->message, "caught boom");
	ck_assert_syn_rc(syn_iter_next(it, &r), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));

	/* handled by returning: the stream ends; passed on: its error */
	ck_assert_syn_ok(syn_iter_open(s, "catcher", NULL, 0, NULL, &it));
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_syn_rc(syn_iter_throw(it, SYN_EUSER(4), "end", &r), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_iter_open(s, "catcher", NULL, 0, NULL, &it));
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_syn_rc(
	    syn_iter_throw(it, SYN_EUSER(5), "passed on", &r), SYN_EUSER(5));
	ck_assert_str_eq(syn_last_error()->message, "passed on");
	ck_assert_syn_ok(syn_iter_close(it));

	/* nothing is thrown into a generator that runs ahead */
	syn_iter_config cfg = { .prefetch = 4 };
	ck_assert_syn_ok(syn_iter_open(s, "catcher", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_syn_rc(
	    syn_iter_throw(it, SYN_EUSER(1), "x", &r), SYN_ENOTSUP);
	ck_assert_syn_rc(
	    syn_iter_throw_future(it, SYN_EUSER(1), "x", &f), SYN_ENOTSUP);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_rc(
	    syn_iter_throw(NULL, SYN_EUSER(1), "x", &r), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_iter_throw_future(NULL, SYN_EUSER(1), "x", NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An error reaches the consumer at its item, code and message. */
static int
failing_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	for (int i = 0; i < 2; i++) {
		syn_value v  = syn_int(i);
		int       rc = syn_yield(t, &v, NULL);
		if (rc != 0) {
			return rc;
		}
	}
	return syn_raise(t, SYN_EUSER(7), "no third item");
}

START_TEST(error_reaches_the_consumer_at_its_item)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "failing", failing_gen);
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(s, "failing", NULL, 0, NULL, &it));
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EUSER(7));
	ck_assert_str_eq(syn_last_error()->message, "no third item");
	ck_assert_str_eq(syn_last_error()->where, "failing");
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Closing a partly consumed iterator runs the cleanup once. */
START_TEST(early_close_runs_the_cleanup_once)
{
	syn_synchronizer s = gen_sync();
	syn_value        n = syn_int(100);
	syn_iter        *it;
	ck_assert_syn_ok(syn_iter_open(s, "count", &n, 1, NULL, &it));
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_ok(syn_iter_close(it)); /* waits for the cleanup */
	ck_assert_int_eq(atomic_load(&closed), 1);
	ck_assert_int_eq(atomic_load(&finished), 1);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&closed), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_int_eq(atomic_load(&closed), 1);
}
END_TEST

/* A generator that never started is not run by its close. */
START_TEST(close_before_the_first_item_runs_nothing)
{
	syn_synchronizer s = gen_sync();
	syn_value        n = syn_int(3);
	syn_iter        *it;
	ck_assert_syn_ok(syn_iter_open(s, "count", &n, 1, NULL, &it));
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_iter_close(NULL));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_int_eq(atomic_load(&started), 0);
}
END_TEST

/* A generator that yields again after the close is told again. */
static atomic_int stubborn_yields;

static int
stubborn_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value v  = syn_int(1);
	int       rc = syn_yield(t, &v, NULL);
	for (int i = 0; i < 3 && rc == SYN_EITERCLOSED; i++) {
		atomic_fetch_add(&stubborn_yields, 1);
		rc = syn_yield(t, &v, NULL); /* told again */
	}
	atomic_fetch_add(&finished, 1);
	return rc == SYN_EITERCLOSED ? 0 : SYN_EINTERNAL;
}

START_TEST(yield_after_close_returns_at_once)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "stubborn", stubborn_gen);
	atomic_store(&stubborn_yields, 0);
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(s, "stubborn", NULL, 0, NULL, &it));
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_int_eq(atomic_load(&stubborn_yields), 3);
	ck_assert_int_eq(atomic_load(&finished), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A slow cleanup passes the bound: close returns, the cleanup finishes. */
static atomic_int slow_cleanups;

static int
slow_cleanup_gen(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value v  = syn_int(1);
	int       rc = syn_yield(t, &v, NULL);
	if (rc == SYN_EITERCLOSED) {
		syn_sleep(t, 3 * D_MS); /* cleanup that takes a while */
		atomic_fetch_add(&slow_cleanups, 1);
	}
	return 0;
}

START_TEST(slow_cleanup_finishes_in_the_background)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "slow_cleanup", slow_cleanup_gen);
	atomic_store(&slow_cleanups, 0);
	syn_iter_config cfg = { .close_timeout = D_MS / 5 };
	syn_iter       *it;
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	double t0 = th_now_ms();
	ck_assert_syn_rc(syn_iter_close(it), SYN_ETIMEDOUT);
	double took = th_now_ms() - t0;
	ck_assert_msg(took >= D_MS / 5 - 1 && took < 2 * D_MS,
	    "close took %.1f ms", took);
	ck_assert_int_eq(atomic_load(&slow_cleanups), 0);
	for (int i = 0; i < 200 && atomic_load(&slow_cleanups) == 0; i++) {
		usleep(10000);
	}
	ck_assert_int_eq(atomic_load(&slow_cleanups), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* closer(it): closes the iterator it (a pointer) without holding the
 * thread, and returns how the close ended. */
static int
closer(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	void       *it;
	syn_future *f;
	int         rc = syn_unpack(t, args, nargs, "p", &it);
	if (rc != 0 || (rc = syn_iter_close_future(it, &f)) != 0) {
		return rc;
	}
	rc = syn_await(t, f);
	syn_future_free(f);
	*ret = syn_int(rc);
	return 0;
}

/* Closing without waiting: the future completes once the cleanup ran,
 * or at the close timeout; a task of another synchronizer awaits it while
 * its thread serves others; the aio form; nothing to close. */
START_TEST(close_without_waiting)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "slow_cleanup", slow_cleanup_gen);
	atomic_store(&slow_cleanups, 0);
	syn_iter_config cfg = { .close_timeout = 20 * D_MS };
	syn_iter       *it;
	syn_future     *f;
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_iter_close_future(it, &f));
	ck_assert_msg(th_now_ms() - t0 < D_MS, "the close waited");
	ck_assert_syn_rc(syn_future_poll(f), SYN_EAGAIN);
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_int_eq(atomic_load(&slow_cleanups), 1);
	syn_future_free(f);

	cfg.close_timeout = D_MS / 5; /* bounded by the close timeout */
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_ok(syn_iter_close_future(it, &f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 2 * D_MS), SYN_ETIMEDOUT);
	ck_assert_str_eq(syn_future_error(f)->message,
	    "the generator's cleanup did not finish in time; it goes on in "
	    "the background");
	syn_future_free(f);
	for (int i = 0; i < 200 && atomic_load(&slow_cleanups) == 1; i++) {
		usleep(10000);
	}
	ck_assert_int_eq(atomic_load(&slow_cleanups), 2);

	/* cancelled: it ends at once, and the close goes on */
	cfg.close_timeout = 20 * D_MS;
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_ok(syn_iter_close_future(it, &f));
	t0 = th_now_ms();
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "the cancel waited");
	syn_future_free(f);
	for (int i = 0; i < 200 && atomic_load(&slow_cleanups) == 2; i++) {
		usleep(10000);
	}
	ck_assert_int_eq(atomic_load(&slow_cleanups), 3);
	/* many short close timeouts: each watch ends once (ASan: no leak) */
	cfg.close_timeout = 1;
	for (int i = 0; i < 20; i++) {
		ck_assert_syn_ok(
		    syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
		ck_assert_int_eq(next_int(it), 1);
		ck_assert_syn_ok(syn_iter_close_future(it, &f));
		ck_assert_syn_rc(syn_future_wait(f), SYN_ETIMEDOUT);
		syn_future_free(f);
	}
	for (int i = 0; i < 300 && atomic_load(&slow_cleanups) < 23; i++) {
		usleep(10000);
	}
	ck_assert_int_eq(atomic_load(&slow_cleanups), 23);

	/* from a task of another synchronizer, whose thread goes on */
	syn_synchronizer other = th_new();
	th_register(other, "closer", closer, NULL);
	cfg.close_timeout = 20 * D_MS;
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	syn_value   p = syn_ptr(it);
	syn_future *g;
	ck_assert_syn_ok(syn_call_future(other, "closer", &p, 1, &g));
	usleep(D_MS * 1000 / 2);
	t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(other, "square_now", 9), 81);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "the closer held its thread");
	ck_assert_syn_ok(syn_future_wait(g));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(g, &v));
	ck_assert_int_eq(v->as.i, 0);
	ck_assert_int_eq(atomic_load(&slow_cleanups), 24);
	syn_future_free(g);

	nng_aio *aio; /* the aio form */
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	syn_iter_close_aio(it, aio);
	nng_aio_wait(aio);
	ck_assert_syn_ok(syn_aio_result(aio, NULL));
	ck_assert_int_eq(atomic_load(&slow_cleanups), 25);
	nng_aio_free(aio);

	/* nothing to close: done at once */
	ck_assert_syn_ok(syn_iter_open(s, "slow_cleanup", NULL, 0, &cfg, &it));
	ck_assert_syn_ok(syn_iter_close_future(it, &f));
	ck_assert_syn_ok(syn_future_poll(f));
	syn_future_free(f);
	ck_assert_syn_ok(syn_iter_close_future(NULL, &f));
	ck_assert_syn_ok(syn_future_poll(f));
	syn_future_free(f);
	ck_assert_syn_rc(syn_iter_close_future(NULL, NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(other));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The async forms: a future per item, and the caller's aio. */
START_TEST(future_and_aio_iteration)
{
	syn_synchronizer s       = gen_sync();
	syn_value        args[2] = { syn_int(3), syn_int(D_MS / 10) };
	syn_iter        *it;
	ck_assert_syn_ok(syn_iter_open(s, "count", args, 2, NULL, &it));
	syn_future *f, *g;
	ck_assert_syn_ok(syn_iter_next_future(it, NULL, &f));
	/* One request at a time (the item takes D/10 to come). */
	ck_assert_syn_rc(syn_iter_next_future(it, NULL, &g), SYN_EBUSY);
	ck_assert_ptr_null(g);
	const syn_value *v;
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_int_eq(v->as.i, 0);
	syn_future_free(f);

	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	for (int i = 1; i < 3; i++) {
		syn_result r = SYN_RESULT_INIT;
		syn_iter_next_aio(it, NULL, aio);
		nng_aio_wait(aio);
		ck_assert_syn_ok(syn_aio_result(aio, &r));
		ck_assert_int_eq(r.value.as.i, i);
		syn_result_fini(&r);
	}
	syn_iter_next_aio(it, NULL, aio);
	nng_aio_wait(aio);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_EEND);
	syn_iter_next_aio(it, NULL, aio); /* over: at once */
	nng_aio_wait(aio);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_EEND);
	ck_assert_syn_rc(syn_iter_next_future(it, NULL, &f), SYN_EEND);
	nng_aio_free(aio);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * relay(id, name, args...): on another synchronizer's task, iterates
 * generator name(args...) of synchronizer id by awaiting each item, and
 * yields it on.
 */
static int
relay_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	if (nargs < 2 || args[0].type != SYN_TYPE_INT ||
	    args[1].type != SYN_TYPE_STR) {
		return syn_raise(t, SYN_EINVAL, "relay(id, name, args...)");
	}
	syn_synchronizer src = { (uint32_t) args[0].as.i };
	syn_iter        *it;
	int              rc =
	    syn_iter_open(src, args[1].as.str, args + 2, nargs - 2, NULL, &it);
	if (rc != 0) {
		return rc;
	}
	for (;;) {
		syn_future      *f;
		const syn_value *item;
		if ((rc = syn_iter_next_future(it, NULL, &f)) != 0) {
			break;
		}
		if ((rc = syn_await(t, f)) == 0 &&
		    (rc = syn_future_value(f, &item)) == 0) {
			rc = syn_yield(t, item, NULL);
		}
		syn_future_free(f);
		if (rc != 0) {
			break;
		}
	}
	syn_iter_close(it);
	return rc == SYN_EEND || rc == SYN_EITERCLOSED ? 0 : rc;
}

static void
check_relay(syn_synchronizer relay_on, syn_synchronizer source)
{
	syn_value args[3] = { syn_int(source.id), syn_str("count"),
		syn_int(4) };
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(relay_on, "relay", args, 3, NULL, &it));
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(next_int(it), i);
	}
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
}

START_TEST(generator_relays_a_generator)
{
	syn_synchronizer a = gen_sync();
	syn_synchronizer b = gen_sync();
	register_gen(a, "relay", relay_gen);
	register_gen(b, "relay", relay_gen);
	check_relay(b, a); /* across synchronizers */
	check_relay(a, a); /* on its own synchronizer */
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
}
END_TEST

/* Awaiting items of a slow generator does not block the awaiting actor. */
START_TEST(awaiting_items_does_not_block_the_actor)
{
	syn_synchronizer a = gen_sync();
	syn_synchronizer b = gen_sync();
	register_gen(b, "relay", relay_gen);
	syn_value   args[4] = { syn_int(a.id), syn_str("count"), syn_int(2),
		  syn_int(D_MS) };
	syn_iter   *it;
	syn_future *f;
	ck_assert_syn_ok(syn_iter_open(b, "relay", args, 4, NULL, &it));
	ck_assert_syn_ok(syn_iter_next_future(it, NULL, &f));
	usleep(20000); /* b's relay now awaits a's first item */
	double t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(b, "square_now", 9), 81);
	ck_assert_msg(th_now_ms() - t0 < D_MS / 2, "b was blocked");
	ck_assert_syn_ok(syn_future_wait(f));
	syn_future_free(f);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
}
END_TEST

/* A whole generator call as one result is a clear error. */
START_TEST(a_generator_is_not_a_function)
{
	syn_synchronizer s = gen_sync();
	syn_value        n = syn_int(3);
	ck_assert_syn_rc(syn_call(s, "count", &n, 1, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(syn_last_error()->message, "is a generator"));
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "count", &n, 1, &f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_EINVAL);
	syn_future_free(f);
	/* And a function is no generator; a missing name is missing. */
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(s, "square_now", &n, 1, NULL, &it));
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(syn_last_error()->message, "not a generator"));
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_iter_open(s, "nothing", NULL, 0, NULL, &it));
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_ENOENT);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_int_eq(atomic_load(&started), 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Destroying the synchronizer closes its open generators. */
START_TEST(destroy_closes_open_iterators)
{
	syn_synchronizer s       = gen_sync();
	syn_value        n       = syn_int(10);
	syn_value        slow[2] = { syn_int(10), syn_int(10 * D_MS) };
	syn_iter        *idle, *busy;
	syn_future      *f;
	ck_assert_syn_ok(syn_iter_open(s, "count", &n, 1, NULL, &idle));
	ck_assert_syn_ok(syn_iter_open(s, "count", slow, 2, NULL, &busy));
	ck_assert_int_eq(next_int(idle), 0);
	ck_assert_syn_ok(syn_iter_next_future(busy, NULL, &f));
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_msg(th_now_ms() - t0 < D_MS, "destroy waited");
	ck_assert_int_eq(atomic_load(&finished), 2); /* cleanups ran */
	ck_assert_int_eq(atomic_load(&closed), 1);   /* the idle one */
	int rc = syn_future_wait(f);
	ck_assert_msg(rc == SYN_ECLOSED || rc == SYN_ECANCELED, "got %s",
	    syn_errname(rc));
	syn_future_free(f);
	ck_assert_syn_rc(syn_iter_next(idle, NULL), SYN_ECLOSED);
	ck_assert_syn_ok(syn_iter_close(idle));
	ck_assert_syn_ok(syn_iter_close(busy));
}
END_TEST

/* Closing the synchronizer refuses new iterators; open ones go on. */
START_TEST(close_lets_open_streams_go_on)
{
	syn_synchronizer s = gen_sync();
	syn_value        n = syn_int(10);
	syn_iter        *a, *b, *c;
	ck_assert_syn_ok(syn_iter_open(s, "count", &n, 1, NULL, &a));
	ck_assert_syn_ok(syn_iter_open(s, "count", &n, 1, NULL, &b));
	ck_assert_int_eq(next_int(a), 0);
	ck_assert_int_eq(next_int(b), 0);
	ck_assert_syn_ok(syn_synchronizer_close(s));
	ck_assert_syn_rc(
	    syn_iter_open(s, "count", &n, 1, NULL, &c), SYN_ECLOSED);
	ck_assert_int_eq(next_int(a), 1);
	ck_assert_syn_ok(syn_iter_close(a)); /* its cleanup runs */
	ck_assert_int_eq(atomic_load(&closed), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s)); /* closes b */
	ck_assert_int_eq(atomic_load(&closed), 2);
	ck_assert_syn_rc(syn_iter_next(b, NULL), SYN_ECLOSED);
	ck_assert_syn_ok(syn_iter_close(b));
}
END_TEST

/* Cancelling a pending item cancels the generator: its cleanup runs. */
START_TEST(cancelled_item_ends_the_stream)
{
	syn_synchronizer s       = gen_sync();
	syn_value        slow[2] = { syn_int(3), syn_int(10 * D_MS) };
	syn_iter        *it;
	syn_future      *f;
	ck_assert_syn_ok(syn_iter_open(s, "count", slow, 2, NULL, &it));
	ck_assert_syn_ok(syn_iter_next_future(it, NULL, &f));
	usleep(20000);
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);
	ck_assert_int_eq(atomic_load(&finished), 1);
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Closing with a request in flight cancels it and closes the stream. */
START_TEST(close_with_a_request_in_flight)
{
	syn_synchronizer s       = gen_sync();
	syn_value        slow[2] = { syn_int(3), syn_int(10 * D_MS) };
	syn_iter        *it;
	syn_future      *f;
	ck_assert_syn_ok(syn_iter_open(s, "count", slow, 2, NULL, &it));
	ck_assert_syn_ok(syn_iter_next_future(it, NULL, &f));
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_msg(th_now_ms() - t0 < D_MS, "close waited for the item");
	ck_assert_int_eq(atomic_load(&finished), 1);
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static void *
next_blocked(void *arg)
{
	return (void *) (intptr_t) syn_iter_next(arg, NULL);
}

/* A blocking request in one thread, the close in another: the request
 * ends cancelled at once, and the iterator goes once both let go (the
 * blocked caller, not the loop, finishes its own request). */
START_TEST(close_while_a_blocking_request_waits)
{
	syn_synchronizer s       = gen_sync();
	syn_value        slow[2] = { syn_int(3), syn_int(10 * D_MS) };
	syn_iter        *it;
	pthread_t        th;
	void            *rc;
	ck_assert_syn_ok(syn_iter_open(s, "count", slow, 2, NULL, &it));
	ck_assert_syn_ok(syn_iter_next(it, NULL)); /* the first item */
	pthread_create(&th, NULL, next_blocked, it);
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_iter_close(it));
	pthread_join(th, &rc);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "the request waited");
	ck_assert_int_eq((int) (intptr_t) rc, SYN_ECANCELED);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* flag_gen(): sleeps 2 ms, sets about_to_yield, yields 0, 1, 2, ... */
static atomic_int about_to_yield;

static int
flag_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	int rc = 0;
	for (int64_t i = 0; rc == 0 && (rc = syn_sleep(t, 2)) == 0; i++) {
		syn_value v = syn_int(i);
		atomic_store(&about_to_yield, 1);
		rc = syn_yield(t, &v, NULL);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

typedef struct late_close {
	syn_synchronizer s;
	syn_iter        *it;
} late_close;

/* Closes the iterator once its item was answered: a call made after the
 * generator began its yield is served after the answer went. */
static void *
close_late(void *arg)
{
	late_close *c = arg;
	while (!atomic_load(&about_to_yield)) { }
	syn_value x = syn_int(3);
	syn_call(c->s, "square_now", &x, 1, NULL);
	syn_iter_close(c->it);
	return NULL;
}

/* A close that comes after the item was answered, while the blocked
 * caller has not woken yet, leaves the item to it (one in ten or so
 * was lost when the caller, not the loop, cleared the request). */
START_TEST(close_after_the_answer)
{
	syn_config       cfg = { .spin_us = SYN_SPIN_OFF };
	syn_synchronizer s   = th_new_cfg(&cfg);
	register_gen(s, "flag", flag_gen);
	int lost = 0, runs = 300;
	for (int i = 0; i < runs; i++) {
		late_close c = { s, NULL };
		ck_assert_syn_ok(
		    syn_iter_open(s, "flag", NULL, 0, NULL, &c.it));
		ck_assert_syn_ok(syn_iter_next(c.it, NULL));
		atomic_store(&about_to_yield, 0);
		pthread_t th;
		pthread_create(&th, NULL, close_late, &c);
		int rc = syn_iter_next(c.it, NULL);
		lost += rc == SYN_ECANCELED;
		ck_assert_msg(
		    rc == 0 || rc == SYN_ECANCELED, "%s", syn_errname(rc));
		pthread_join(th, NULL);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_msg(lost == 0, "%d of %d answered items lost", lost, runs);
}
END_TEST

/* ignoring(): yields 1, then ignores its close and yields again and
 * again until another call (square_now) counts in th_calls (or 10 s
 * pass). */
static int
ignoring_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	syn_value v  = syn_int(1);
	int       rc = syn_yield(t, &v, NULL);
	double    t0 = th_now_ms();
	while (rc == SYN_EITERCLOSED && atomic_load(&th_calls) == 0 &&
	    th_now_ms() - t0 < 10000) {
		rc = syn_yield(t, &v, NULL);
	}
	return 0;
}

/*
 * A generator that ignores its close and yields again and again does not
 * keep its synchronizer from serving other calls (each syn_yield returned
 * SYN_EITERCLOSED at once and nothing else ran; found by review).
 */
START_TEST(ignored_close_serves_others)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "ignoring", ignoring_gen);
	atomic_store(&th_calls, 0);
	syn_iter_config cfg = { .close_timeout = 100 };
	syn_iter       *it;
	ck_assert_syn_ok(syn_iter_open(s, "ignoring", NULL, 0, &cfg, &it));
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_rc(syn_iter_close(it), SYN_ETIMEDOUT);
	syn_value two = syn_int(2);
	ck_assert_syn_ok(
	    syn_call_timeout(s, "square_now", &two, 1, 5000, NULL));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Misuse gets clear errors. */
static atomic_int misuse_rc;

static int
yields_in_a_function(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value v = syn_int(1);
	atomic_store(&misuse_rc, syn_yield(t, &v, NULL));
	return 0;
}

static int
yields_null(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int rc = syn_yield(t, NULL, NULL);
	atomic_store(&misuse_rc, rc);
	syn_value bad = { .type = SYN_TYPE_INVALID_ };
	rc            = syn_yield(t, &bad, NULL);
	return rc; /* nothing was handed out: the consumer gets this */
}

START_TEST(misuse_is_reported)
{
	syn_synchronizer s = gen_sync();
	syn_iter        *it;
	syn_future      *f;
	th_register(s, "yields_in_a_function", yields_in_a_function, NULL);
	register_gen(s, "yields_null", yields_null);
	ck_assert_syn_rc(syn_iter_next(NULL, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_iter_next_future(NULL, NULL, &f), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_iter_open(s, NULL, NULL, 0, NULL, &it), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_iter_open(s, "count", NULL, 0, NULL, NULL), SYN_EINVAL);
	syn_iter_config bad = { .close_timeout = -7 };
	ck_assert_syn_rc(
	    syn_iter_open(s, "count", NULL, 0, &bad, &it), SYN_EINVAL);
	ck_assert_ptr_null(it);
	ck_assert_syn_ok(syn_call(s, "yields_in_a_function", NULL, 0, NULL));
	ck_assert_int_eq(atomic_load(&misuse_rc), SYN_ESTATE);
	ck_assert_syn_ok(syn_iter_open(s, "yields_null", NULL, 0, NULL, &it));
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EINVAL);
	ck_assert_int_eq(atomic_load(&misuse_rc), SYN_EINVAL);
	ck_assert_syn_ok(syn_iter_close(it));
	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_iter_next_aio(NULL, NULL, aio);
	nng_aio_wait(aio);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_EINVAL);
	nng_aio_free(aio);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Many iterators at once on one synchronizer, from several threads. */
static syn_synchronizer many_sync;

static void *
many_consumer(void *arg)
{
	(void) arg;
	for (int k = 0; k < 20; k++) {
		syn_value n = syn_int(50);
		syn_iter *it;
		if (syn_iter_open(many_sync, "count", &n, 1, NULL, &it) != 0) {
			return "open";
		}
		for (int i = 0; i < (k % 2 ? 50 : 10); i++) {
			syn_result r = SYN_RESULT_INIT;
			if (syn_iter_next(it, &r) != 0 || r.value.as.i != i) {
				return "item";
			}
			syn_result_fini(&r);
		}
		if (k % 2 && syn_iter_next(it, NULL) != SYN_EEND) {
			return "end";
		}
		if (syn_iter_close(it) != 0) {
			return "close";
		}
	}
	return NULL;
}

START_TEST(many_iterators_from_many_threads)
{
	many_sync = gen_sync();
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		pthread_create(&th[i], NULL, many_consumer, NULL);
	}
	for (int i = 0; i < 4; i++) {
		void *res;
		pthread_join(th[i], &res);
		ck_assert_msg(res == NULL, "consumer failed at %s",
		    res != NULL ? (char *) res : "");
	}
	ck_assert_int_eq(atomic_load(&started), 80);
	ck_assert_int_eq(atomic_load(&finished), 80);
	ck_assert_int_eq(atomic_load(&closed), 40);
	ck_assert_syn_ok(syn_synchronizer_destroy(many_sync));
}
END_TEST

/* ---- prefetch windows ------------------------------------------------- */

static atomic_int produced;

/* counted(n [, ms]): yields 0 .. n-1, counting the items made. */
static int
counted_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n, ms = 0;
	int     rc = syn_unpack(t, args, nargs, "i|i", &n, &ms);
	for (int64_t i = 0; i < n && rc == 0; i++) {
		if (ms > 0 && (rc = syn_sleep(t, (syn_duration) ms)) != 0) {
			break;
		}
		syn_value v = syn_int(i);
		if ((rc = syn_yield(t, &v, NULL)) == 0) {
			atomic_fetch_add(&produced, 1);
		}
	}
	if (rc == SYN_EITERCLOSED) {
		atomic_fetch_add(&closed, 1);
		rc = 0;
	}
	atomic_fetch_add(&finished, 1);
	return rc;
}

static syn_iter *
open_window(syn_synchronizer s, const char *name, const syn_value *args,
    size_t nargs, uint32_t prefetch)
{
	syn_iter_config cfg = { .prefetch = prefetch };
	syn_iter       *it;
	ck_assert_syn_ok(syn_iter_open(s, name, args, nargs, &cfg, &it));
	return it;
}

/* Every item, in order, then the end, in batches. */
START_TEST(prefetch_in_order)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "counted", counted_gen);
	for (int window = 1; window <= 1000; window *= 10) {
		syn_value n  = syn_int(1000);
		syn_iter *it = open_window(s, "counted", &n, 1, window);
		for (int i = 0; i < 1000; i++) {
			ck_assert_int_eq(next_int(it), i);
		}
		ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
		ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
		ck_assert_syn_ok(syn_iter_close(it));
	}
	ck_assert_int_eq(atomic_load(&closed), 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The generator runs ahead, by the window at most. */
START_TEST(prefetch_is_flow_controlled)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "counted", counted_gen);
	atomic_store(&produced, 0);
	syn_value n  = syn_int(100000);
	syn_iter *it = open_window(s, "counted", &n, 1, 64);
	ck_assert_int_eq(next_int(it), 0);
	usleep(50000); /* time to run ahead as far as it may */
	int made = atomic_load(&produced);
	ck_assert_msg(made > 1 && made <= 64, "made %d items ahead", made);
	for (int i = 1; i < 200; i++) {
		ck_assert_int_eq(next_int(it), i);
	}
	usleep(50000);
	made = atomic_load(&produced);
	ck_assert_msg(made > 200 && made <= 200 + 64, "made %d", made);
	ck_assert_syn_ok(syn_iter_close(it)); /* the rest is dropped */
	ck_assert_int_eq(atomic_load(&closed), 1);
	ck_assert_int_eq(atomic_load(&finished), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Items made with waits between them are not held back for a batch. */
START_TEST(prefetch_sends_what_it_has_before_waiting)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "counted", counted_gen);
	syn_value args[2] = { syn_int(4), syn_int(D_MS / 5) };
	syn_iter *it      = open_window(s, "counted", args, 2, 1000);
	double    t0      = th_now_ms();
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(next_int(it), i);
		double took = th_now_ms() - t0;
		ck_assert_msg(
		    took < (i + 3) * D_MS / 5, "item %d at %.1f ms", i, took);
	}
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An error follows the items made before it. */
START_TEST(prefetch_error_after_items)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "failing", failing_gen);
	syn_iter *it = open_window(s, "failing", NULL, 0, 16);
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_int_eq(next_int(it), 1);
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EUSER(7));
	ck_assert_str_eq(syn_last_error()->message, "no third item");
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A thread that asks a window iterator for one item. */
static void *
read_one(void *arg)
{
	syn_iter  *it = arg;
	syn_result r  = SYN_RESULT_INIT;
	int        rc = syn_iter_next(it, &r);
	syn_result_fini(&r);
	return (void *) (intptr_t) rc;
}

/*
 * A window iterator closed from another thread while a reader is inside
 * syn_iter_next() (waiting for a batch, or asking for the next one
 * ahead): the reader gets its item or an error, never a freed iterator,
 * and the batch asked for ahead is given up once (the reader wrote into
 * the freed iterator before).
 */
START_TEST(prefetch_closed_from_another_thread)
{
	syn_synchronizer s    = gen_sync();
	unsigned         seed = 7;
	for (int round = 0; round < 200; round++) {
		bool      slow      = round == 0; /* the reader surely waits */
		syn_value a[2]      = { syn_int(100), syn_int(slow ? 300 : 1) };
		syn_iter_config cfg = { .prefetch = 8 };
		syn_iter       *it;
		pthread_t       th;
		ck_assert_syn_ok(syn_iter_open(s, "count", a, 2, &cfg, &it));
		int before = atomic_load(&started);
		pthread_create(&th, NULL, read_one, it);
		/* The generator starts on the reader's request, which the
		 * reader makes holding its reference: from then on a close
		 * frees the iterator only after the reader is done with it (a
		 * close before the reader's call is the caller's misuse). */
		while (atomic_load(&started) == before) {
			usleep(50);
		}
		usleep(slow ? 50000 : 200 + rand_r(&seed) % 6000);
		ck_assert_syn_ok(syn_iter_close(it));
		void *rc;
		pthread_join(th, &rc);
		ck_assert_msg(!slow || (intptr_t) rc == SYN_ECANCELED,
		    "the waiting reader got %s",
		    syn_errname((int) (intptr_t) rc));
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* sized(sizes...): yields, for each size, that many bytes of its index;
 * a size over max_message makes syn_yield fail, and that is returned. */
static int
sized_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int rc = 0;
	for (size_t i = 0; i < nargs && rc == 0; i++) {
		size_t   len = (size_t) args[i].as.i;
		uint8_t *buf = malloc(len);
		ck_assert_ptr_nonnull(buf);
		memset(buf, (int) i, len);
		syn_value v = syn_bytes(buf, len);
		rc          = syn_yield(t, &v, NULL);
		free(buf);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

/* An item larger than a batch (64 KiB) goes alone, up to max_message;
 * only one larger than that fails, with SYN_EMSGSIZE. */
START_TEST(prefetch_big_items)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "sized", sized_gen);
	const int64_t sizes[] = { 10, 70000, 1 << 20, 100, 65536, 3 << 20,
		200 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	syn_value args[N + 1];
	for (int i = 0; i < N; i++) {
		args[i] = syn_int(sizes[i]);
	}
	for (uint32_t window = 1; window <= 64; window *= 4) {
		syn_iter *it = open_window(s, "sized", args, N, window);
		for (int i = 0; i < N; i++) {
			syn_result res = SYN_RESULT_INIT;
			ck_assert_syn_ok(syn_iter_next(it, &res));
			ck_assert_int_eq(res.value.type, SYN_TYPE_BYTES);
			ck_assert_uint_eq(res.value.len, (uint32_t) sizes[i]);
			ck_assert_int_eq(
			    ((const uint8_t *) res.value.as.bytes)[0], i);
			ck_assert_int_eq(((const uint8_t *) res.value.as
			                         .bytes)[sizes[i] - 1],
			    i);
			syn_result_fini(&res);
		}
		ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EEND);
		ck_assert_syn_ok(syn_iter_close(it));
	}
	args[N]      = syn_int(20 << 20); /* over the 16 MiB of max_message */
	syn_iter *it = open_window(s, "sized", &args[N], 1, 4);
	ck_assert_syn_rc(syn_iter_next(it, NULL), SYN_EMSGSIZE);
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* What a window does not do, it says; destroy ends it too. */
START_TEST(prefetch_limits)
{
	syn_synchronizer s = gen_sync();
	register_gen(s, "counted", counted_gen);
	syn_value       n = syn_int(100);
	syn_iter       *it;
	syn_future     *f;
	syn_iter_config too_big = { .prefetch = (1u << 20) + 1 };
	ck_assert_syn_rc(
	    syn_iter_open(s, "counted", &n, 1, &too_big, &it), SYN_EINVAL);
	it = open_window(s, "counted", &n, 1, 8);
	ck_assert_syn_rc(syn_iter_next_future(it, NULL, &f), SYN_ENOTSUP);
	syn_value one = syn_int(1);
	ck_assert_syn_rc(syn_iter_send(it, &one, NULL), SYN_ENOTSUP);
	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_iter_next_aio(it, NULL, aio);
	nng_aio_wait(aio);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_ENOTSUP);
	nng_aio_free(aio);
	ck_assert_int_eq(next_int(it), 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_int_eq(atomic_load(&finished), 1);
	for (int i = 1; i < 8; i++) { /* what it holds, then the news */
		int rc = syn_iter_next(it, NULL);
		if (rc != 0) {
			ck_assert_int_eq(rc, SYN_ECLOSED);
			break;
		}
	}
	ck_assert_syn_ok(syn_iter_close(it));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("close_while_blocked",
		    close_while_a_blocking_request_waits),
		TH_CASE("close_after_answer", close_after_the_answer),
		TH_CASE("blocking", blocking_iteration),
		TH_CASE("lock_step", lock_step_order),
		TH_CASE("send", send_reaches_the_generator),
		TH_CASE("throw", throw_reaches_the_generator),
		TH_CASE("close_without_waiting", close_without_waiting),
		TH_CASE(
		    "error_at_item", error_reaches_the_consumer_at_its_item),
		TH_CASE("early_close", early_close_runs_the_cleanup_once),
		TH_CASE("close_unstarted",
		    close_before_the_first_item_runs_nothing),
		TH_CASE("yield_after_close", yield_after_close_returns_at_once),
		TH_CASE(
		    "slow_cleanup", slow_cleanup_finishes_in_the_background),
		TH_CASE("future_and_aio", future_and_aio_iteration),
		TH_CASE("relay", generator_relays_a_generator),
		TH_CASE("await_does_not_block",
		    awaiting_items_does_not_block_the_actor),
		TH_CASE("not_a_function", a_generator_is_not_a_function),
		TH_CASE("destroy", destroy_closes_open_iterators),
		TH_CASE("close_sync", close_lets_open_streams_go_on),
		TH_CASE("cancel_item", cancelled_item_ends_the_stream),
		TH_CASE("close_in_flight", close_with_a_request_in_flight),
		TH_CASE("misuse", misuse_is_reported),
		TH_CASE("many", many_iterators_from_many_threads),
		TH_CASE("prefetch_in_order", prefetch_in_order),
		TH_CASE("prefetch_flow_control", prefetch_is_flow_controlled),
		TH_CASE("prefetch_flush",
		    prefetch_sends_what_it_has_before_waiting),
		TH_CASE("prefetch_error", prefetch_error_after_items),
		TH_CASE("prefetch_limits", prefetch_limits),
		TH_CASE("prefetch_big_items", prefetch_big_items),
		TH_CASE("prefetch_closed", prefetch_closed_from_another_thread),
		TH_CASE("ignored_close", ignored_close_serves_others),
	};
	return TH_SUITE("generator", cases);
}
