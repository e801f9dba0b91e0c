/*
 * Cancellers: a thread's blocking calls interrupted from another thread
 * or by a deadline, each after the call's cleanup ran.
 */
#include <pthread.h>
#include <unistd.h>

#include "helpers.h"

/* slow_gen(): sleeps a minute before its first item. */
static int
slow_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	int rc = syn_sleep(t, 60000);
	if (rc == SYN_ECANCELED) {
		atomic_fetch_add(&th_cleanups, 1);
		return rc;
	}
	syn_value one = syn_int(1);
	return syn_yield(t, &one, NULL);
}

/* bind_here(): what binding a canceller on a synchronizer's thread says. */
static int
bind_here(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	syn_canceller *c;
	int            rc = syn_canceller_new(&c);
	if (rc == 0) {
		*ret = syn_int(syn_canceller_bind(c, SYN_DURATION_INFINITE));
		syn_canceller_free(c);
	}
	return rc;
}

/* A context manager: enter takes enter_ms, exit 20 ms; both count. */
static atomic_int exits, enters, enter_ms;

static int
tx_enter(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) args, (void) nargs;
	*ret   = syn_int(1);
	int rc = syn_sleep(t, atomic_load(&enter_ms));
	if (rc == 0) {
		atomic_fetch_add(&enters, 1);
	}
	return rc;
}

static int
tx_exit(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) args, (void) nargs, (void) ret;
	int rc = syn_sleep(t, 20); /* not cancelled: exit is shielded */
	if (rc == 0) {
		atomic_fetch_add(&exits, 1);
	}
	return rc;
}

static const syn_method_def tx_methods[] = {
	{ "enter", SYN_KIND_FUNCTION, tx_enter, 0 },
	{ "exit", SYN_KIND_FUNCTION, tx_exit, 0 },
};
static const syn_class_def tx_class = { "Tx", 8, NULL, NULL, tx_methods, 2, 0 };

static syn_synchronizer
cancel_sync(void)
{
	syn_synchronizer s = th_new();
	syn_func_def     g = { "slow_gen", SYN_KIND_GENERATOR, slow_gen, NULL };
	syn_func_def     h = { "count_gen", SYN_KIND_GENERATOR, th_count_gen,
		    NULL };
	syn_func_def b = { "bind_here", SYN_KIND_FUNCTION, bind_here, NULL };
	ck_assert_syn_ok(syn_register(s, &g));
	ck_assert_syn_ok(syn_register(s, &h));
	ck_assert_syn_ok(syn_register(s, &b));
	atomic_store(&enters, 0);
	atomic_store(&enter_ms, 0);
	ck_assert_syn_ok(syn_register_class(s, &tx_class));
	atomic_store(&th_cleanups, 0);
	atomic_store(&exits, 0);
	return s;
}

typedef struct caller {
	syn_synchronizer s;
	syn_canceller   *c;
	atomic_int       started;
	int              rc, cleanups_at_return, again_rc, after_rc;
	double           took_ms;
} caller;

/* Binds c, calls sleep_ms(60 s) blocking, then once more, unbinds and
 * calls square_now. */
static void *
sleeper(void *arg)
{
	caller *k = arg;
	ck_assert_syn_ok(syn_canceller_bind(k->c, SYN_DURATION_INFINITE));
	syn_value a = syn_int(60000);
	atomic_store(&k->started, 1);
	double t0             = th_now_ms();
	k->rc                 = syn_call(k->s, "sleep_ms", &a, 1, NULL);
	k->took_ms            = th_now_ms() - t0;
	k->cleanups_at_return = atomic_load(&th_cleanups);
	k->again_rc           = syn_call(k->s, "sleep_ms", &a, 1, NULL);
	ck_assert_syn_ok(syn_canceller_unbind(k->c));
	syn_value x = syn_int(3);
	k->after_rc = syn_call(k->s, "square_now", &x, 1, NULL);
	return NULL;
}

/* Another thread cancels a blocking call: it returns SYN_ECANCELED after
 * its task's cleanup ran; the canceller stays cancelled until unbound. */
START_TEST(cancel_from_another_thread)
{
	syn_synchronizer s = cancel_sync();
	caller           k = { .s = s };
	ck_assert_syn_ok(syn_canceller_new(&k.c));
	pthread_t th;
	pthread_create(&th, NULL, sleeper, &k);
	while (!atomic_load(&k.started)) {
		usleep(1000);
	}
	usleep(50000);
	ck_assert(!syn_canceller_cancelled(k.c));
	ck_assert_syn_ok(syn_canceller_cancel(k.c));
	ck_assert(syn_canceller_cancelled(k.c));
	pthread_join(th, NULL);
	ck_assert_int_eq(k.rc, SYN_ECANCELED);
	ck_assert_int_eq(k.cleanups_at_return, 1);
	ck_assert_msg(k.took_ms < 30000, "the cancel was not seen");
	ck_assert_int_eq(k.again_rc, SYN_ECANCELED); /* sticky */
	/* (cancelled before it started: it may not have run at all) */
	ck_assert_int_le(atomic_load(&th_cleanups), 2);
	ck_assert_int_eq(k.after_rc, 0); /* unbound */
	syn_canceller_free(k.c);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A deadline: the call returns SYN_ETIMEDOUT once it passed and the
 * cleanup ran; later calls fail at once until the canceller is rebound. */
START_TEST(deadline)
{
	syn_synchronizer s = cancel_sync();
	syn_canceller   *c;
	ck_assert_syn_ok(syn_canceller_new(&c));
	ck_assert_syn_ok(syn_canceller_bind(c, 100));
	syn_value a  = syn_int(60000);
	double    t0 = th_now_ms();
	ck_assert_syn_rc(syn_call(s, "sleep_ms", &a, 1, NULL), SYN_ETIMEDOUT);
	double took = th_now_ms() - t0;
	ck_assert_msg(took >= 99 && took < 5000, "took %.1f ms", took);
	ck_assert_int_eq(atomic_load(&th_cleanups), 1);
	t0 = th_now_ms();
	ck_assert_syn_rc(syn_call(s, "sleep_ms", &a, 1, NULL), SYN_ETIMEDOUT);
	ck_assert_msg(th_now_ms() - t0 < 5000, "a passed deadline waited");
	ck_assert_syn_ok(syn_canceller_unbind(c));
	ck_assert_syn_ok(syn_canceller_bind(c, 60000));
	ck_assert_int_eq(th_call_int(s, "square_now", 4), 16);
	/* A call's own timeout still counts, whichever comes first. */
	ck_assert_syn_rc(
	    syn_call_timeout(s, "sleep_ms", &a, 1, 50, NULL), SYN_ETIMEDOUT);
	ck_assert_syn_ok(syn_canceller_unbind(c));
	syn_canceller_free(c);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Iterators obey it too, with and without a prefetch window. */
START_TEST(iterators_obey_it)
{
	syn_synchronizer s = cancel_sync();
	syn_canceller   *c;
	ck_assert_syn_ok(syn_canceller_new(&c));
	for (uint32_t window = 0; window <= 8; window += 8) {
		syn_iter       *it;
		syn_iter_config cfg = { .prefetch = window };
		ck_assert_syn_ok(
		    syn_iter_open(s, "slow_gen", NULL, 0, &cfg, &it));
		ck_assert_syn_ok(syn_canceller_bind(c, 50));
		syn_result item = SYN_RESULT_INIT;
		ck_assert_syn_rc(syn_iter_next(it, &item), SYN_ETIMEDOUT);
		ck_assert_syn_ok(syn_canceller_unbind(c));
		syn_iter_close(it);
	}
	/* (cancelled before it started: it may not have run at all) */
	ck_assert_int_le(atomic_load(&th_cleanups), 2);
	syn_canceller_free(c);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct with_caller {
	syn_synchronizer s;
	syn_canceller   *c;
	syn_proxy       *tx;
	atomic_int       in_body;
	int              body_rc, outcome;
} with_caller;

static void *
with_body(void *arg)
{
	with_caller *w = arg;
	ck_assert_syn_ok(syn_canceller_bind(w->c, SYN_DURATION_INFINITE));
	SYN_WITH(scope, w->tx, &w->outcome)
	{
		syn_value a = syn_int(60000);
		atomic_store(&w->in_body, 1);
		w->body_rc = syn_call(w->s, "sleep_ms", &a, 1, NULL);
		scope.rc   = w->body_rc;
	}
	ck_assert_syn_ok(syn_canceller_unbind(w->c));
	return NULL;
}

/* A cancel in the body of SYN_WITH: the body's call is cancelled, and the
 * manager's exit still runs to its end. */
START_TEST(context_manager_exit_runs)
{
	syn_synchronizer s = cancel_sync();
	with_caller      w = { .s = s };
	ck_assert_syn_ok(syn_canceller_new(&w.c));
	ck_assert_syn_ok(syn_new(s, "Tx", NULL, 0, &w.tx));
	pthread_t th;
	pthread_create(&th, NULL, with_body, &w);
	while (!atomic_load(&w.in_body)) {
		usleep(1000);
	}
	usleep(30000);
	syn_canceller_cancel(w.c);
	pthread_join(th, NULL);
	ck_assert_int_eq(w.body_rc, SYN_ECANCELED);
	ck_assert_int_eq(w.outcome, SYN_ECANCELED);
	ck_assert_int_eq(atomic_load(&exits), 1);
	syn_proxy_release(w.tx);
	syn_canceller_free(w.c);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Past its deadline or cancelled, a canceller lets no call be made, and
 * a prefetching iterator hands out no buffered item. */
START_TEST(nothing_is_made_after_a_cancel)
{
	syn_synchronizer s = cancel_sync();
	syn_canceller   *c;
	ck_assert_syn_ok(syn_canceller_new(&c));
	ck_assert_syn_ok(syn_canceller_bind(c, 0));
	usleep(2000);
	int       before = atomic_load(&th_calls);
	syn_value x      = syn_int(3);
	for (int i = 0; i < 50; i++) {
		ck_assert_syn_rc(
		    syn_call(s, "square_now", &x, 1, NULL), SYN_ETIMEDOUT);
	}
	ck_assert_int_eq(atomic_load(&th_calls), before);
	ck_assert_syn_ok(syn_canceller_unbind(c));

	syn_iter       *it;
	syn_iter_config cfg = { .prefetch = 8 };
	syn_value       n   = syn_int(100);
	ck_assert_syn_ok(syn_iter_open(s, "count_gen", &n, 1, &cfg, &it));
	ck_assert_syn_ok(syn_canceller_bind(c, SYN_DURATION_INFINITE));
	syn_result item = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_next(it, &item));
	ck_assert_int_eq(item.value.as.i, 0);
	syn_result_fini(&item);
	syn_canceller_cancel(c);
	ck_assert_syn_rc(syn_iter_next(it, &item), SYN_ECANCELED);
	ck_assert_syn_ok(syn_canceller_unbind(c));
	syn_iter_close(it);

	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "bind_here", NULL, 0, &res));
	ck_assert_int_eq(res.value.as.i, SYN_ESTATE);
	syn_result_fini(&res);
	syn_canceller_free(c);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct enterer {
	syn_proxy     *tx;
	syn_canceller *c;
	atomic_int     started;
	int            outcome, body_ran;
} enterer;

static void *
enter_slowly(void *arg)
{
	enterer *e = arg;
	ck_assert_syn_ok(syn_canceller_bind(e->c, SYN_DURATION_INFINITE));
	atomic_store(&e->started, 1);
	SYN_WITH(scope, e->tx, &e->outcome)
	{
		e->body_ran = 1;
	}
	ck_assert_syn_ok(syn_canceller_unbind(e->c));
	return NULL;
}

/* A cancel while enter runs: enter finishes, exit runs once, the body is
 * skipped, and the outcome is SYN_ECANCELED. */
START_TEST(cancel_while_entering)
{
	syn_synchronizer s = cancel_sync();
	enterer          e = { 0 };
	atomic_store(&enter_ms, 100);
	ck_assert_syn_ok(syn_canceller_new(&e.c));
	ck_assert_syn_ok(syn_new(s, "Tx", NULL, 0, &e.tx));
	pthread_t th;
	pthread_create(&th, NULL, enter_slowly, &e);
	while (!atomic_load(&e.started)) {
		usleep(1000);
	}
	usleep(30000);
	syn_canceller_cancel(e.c);
	pthread_join(th, NULL);
	ck_assert_int_eq(e.outcome, SYN_ECANCELED);
	ck_assert_int_eq(e.body_ran, 0);
	ck_assert_int_eq(atomic_load(&enters), 1);
	ck_assert_int_eq(atomic_load(&exits), 1);
	syn_proxy_release(e.tx);
	syn_canceller_free(e.c);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static void *
bind_elsewhere(void *arg)
{
	return (void *) (intptr_t) syn_canceller_bind(arg, 10);
}

static void *
unbind_elsewhere(void *arg)
{
	return (void *) (intptr_t) syn_canceller_unbind(arg);
}

/* A blocking job's attempt to bind a canceller: its code. */
static int
bind_in_job(void *arg)
{
	syn_canceller *c  = arg;
	int            rc = syn_canceller_bind(c, SYN_DURATION_INFINITE);
	if (rc == 0) {
		syn_canceller_unbind(c);
	}
	return rc;
}

static int
job_binds(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	int rc = syn_run_blocking(t, bind_in_job, syn_task_userdata(t));
	*ret   = syn_int(rc);
	return 0;
}

START_TEST(bad_use_is_refused)
{
	syn_canceller *c, *d;
	ck_assert_syn_rc(syn_canceller_new(NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_canceller_new(&c));
	ck_assert_syn_ok(syn_canceller_new(&d));
	ck_assert_syn_rc(syn_canceller_bind(NULL, 0), SYN_EINVAL);
	ck_assert_syn_rc(syn_canceller_bind(c, -5), SYN_EINVAL);
	ck_assert_syn_rc(syn_canceller_unbind(c), SYN_ESTATE);
	ck_assert_syn_ok(syn_canceller_bind(c, SYN_DURATION_INFINITE));
	ck_assert_syn_rc(syn_canceller_bind(d, 10), SYN_EBUSY);
	ck_assert_syn_rc(syn_canceller_bind(c, 10), SYN_EBUSY);
	pthread_t th;
	void     *rc;
	pthread_create(&th, NULL, bind_elsewhere, c);
	pthread_join(th, &rc);
	ck_assert_int_eq((int) (intptr_t) rc, SYN_EBUSY);
	pthread_create(&th, NULL, unbind_elsewhere, c);
	pthread_join(th, &rc);
	ck_assert_int_eq((int) (intptr_t) rc, SYN_ESTATE);
	ck_assert_syn_rc(syn_canceller_unbind(d), SYN_ESTATE);
	ck_assert_syn_ok(syn_canceller_unbind(c));
	ck_assert_syn_rc(syn_canceller_cancel(NULL), SYN_EINVAL);
	ck_assert(!syn_canceller_cancelled(NULL));
	/* a pool thread is shared by every task's jobs, like the actor's:
	 * a canceller bound there would cancel the next job's calls */
	syn_synchronizer s = th_new();
	th_register(s, "job_binds", job_binds, c);
	ck_assert_int_eq(th_call_int(s, "job_binds", 0), SYN_ESTATE);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	syn_canceller_free(c);
	syn_canceller_free(d);
	syn_canceller_free(NULL);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("from_another_thread", cancel_from_another_thread),
		TH_CASE("deadline", deadline),
		TH_CASE("iterators", iterators_obey_it),
		TH_CASE("context_manager", context_manager_exit_runs),
		TH_CASE("bad_use", bad_use_is_refused),
		TH_CASE("nothing_made", nothing_is_made_after_a_cancel),
		TH_CASE("cancel_entering", cancel_while_entering),
	};
	return TH_SUITE("cancel", cases);
}
