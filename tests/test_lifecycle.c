/*
 * A synchronizer's life: configuration, close, destroy with calls in
 * flight, use after destroy, and fork.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

typedef struct caller {
	syn_synchronizer s;
	int              rc;
} caller;

static void *
blocking_caller(void *arg)
{
	caller   *c    = arg;
	syn_value arg1 = syn_int(40 * D_MS);
	c->rc          = syn_call(c->s, "sleep_ms", &arg1, 1, NULL);
	return NULL;
}

/* Reads it until a request fails; that request's code. */
static void *
iter_reader(void *arg)
{
	int rc;
	while ((rc = syn_iter_next(arg, NULL)) == 0) { }
	return (void *) (intptr_t) rc;
}

/*
 * Destroying while threads read iterators (lock-step and with a window)
 * in a loop: the request in flight ends with SYN_ECLOSED or
 * SYN_ECANCELED. (A request that reached the synchronizer after destroy
 * ended its generator was told SYN_ENOENT, "no such stream": found by
 * review, in every run of four.)
 */
START_TEST(destroy_with_iterators_read)
{
	for (int round = 0; round < 4; round++) {
		syn_synchronizer s = th_new();
		syn_func_def g = { "count", SYN_KIND_GENERATOR, th_count_gen,
			NULL };
		ck_assert_syn_ok(syn_register(s, &g));
		syn_value       n   = syn_int(1000000000);
		syn_iter_config win = { .prefetch = 64 };
		syn_iter       *its[2];
		ck_assert_syn_ok(
		    syn_iter_open(s, "count", &n, 1, NULL, &its[0]));
		ck_assert_syn_ok(
		    syn_iter_open(s, "count", &n, 1, &win, &its[1]));
		pthread_t th[2];
		for (int i = 0; i < 2; i++) {
			pthread_create(&th[i], NULL, iter_reader, its[i]);
		}
		usleep(D_MS * 1000 / 5);
		ck_assert_syn_ok(syn_synchronizer_destroy(s));
		for (int i = 0; i < 2; i++) {
			void *rc;
			pthread_join(th[i], &rc);
			int code = (int) (intptr_t) rc;
			ck_assert_msg(
			    code == SYN_ECLOSED || code == SYN_ECANCELED,
			    "round %d, iterator %d: %s", round, i,
			    syn_errname(code));
			ck_assert_syn_ok(syn_iter_close(its[i]));
		}
	}
}
END_TEST

/* Waits until n tasks of s are suspended (for 100 D at most). */
static void
wait_suspended(syn_synchronizer s, uint64_t n)
{
	syn_stats st = { 0 };
	double    t0 = th_now_ms();
	while (syn_synchronizer_stats(s, &st) == 0 && st.tasks_suspended < n &&
	    th_now_ms() - t0 < 100 * D_MS) {
		usleep(1000);
	}
	ck_assert_msg(st.tasks_suspended >= n, "%llu of %llu tasks started",
	    (unsigned long long) st.tasks_suspended, (unsigned long long) n);
}

/* Destroying with calls in flight: every call ends with SYN_ECLOSED or
 * SYN_ECANCELED in bounded time, task cleanup runs, nothing hangs. */
START_TEST(destroy_with_calls_in_flight)
{
	enum { THREADS = 4, FUTURES = 20, AIOS = 4, QUEUED = 10 };
	syn_synchronizer s = th_new();
	pthread_t        th[THREADS];
	caller           cs[THREADS];
	syn_future      *fs[FUTURES + QUEUED];
	nng_aio         *aios[AIOS];
	syn_value        long_sleep = syn_int(40 * D_MS);
	for (int i = 0; i < THREADS; i++) {
		cs[i] = (caller) { s, -1 };
		pthread_create(&th[i], NULL, blocking_caller, &cs[i]);
	}
	for (int i = 0; i < FUTURES; i++) {
		ck_assert_syn_ok(
		    syn_call_future(s, "sleep_ms", &long_sleep, 1, &fs[i]));
	}
	for (int i = 0; i < AIOS; i++) {
		ck_assert_int_eq(nng_aio_alloc(&aios[i], NULL, NULL), 0);
		syn_call_aio(s, "sleep_ms", &long_sleep, 1, aios[i]);
	}
	/* all of them started and sleep (on a loaded machine, not at once) */
	wait_suspended(s, THREADS + FUTURES + AIOS);
	/* These wait behind a blocked actor and never start. */
	syn_value hold = syn_int(D_MS / 2);
	ck_assert_syn_ok(
	    syn_call_future(s, "block_ms", &hold, 1, &fs[FUTURES]));
	for (int i = FUTURES + 1; i < FUTURES + QUEUED; i++) {
		ck_assert_syn_ok(
		    syn_call_future(s, "square_now", &hold, 1, &fs[i]));
	}
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_msg(th_now_ms() - t0 < 4 * D_MS, "destroy took long");
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(cs[i].rc == SYN_ECLOSED, "caller got %s",
		    syn_errname(cs[i].rc));
	}
	for (int i = 0; i < FUTURES + QUEUED; i++) {
		int rc = syn_future_wait(fs[i]);
		ck_assert_msg(rc == SYN_ECLOSED || (i == FUTURES && rc == 0),
		    "future %d got %s", i, syn_errname(rc));
		syn_future_free(fs[i]);
	}
	for (int i = 0; i < AIOS; i++) {
		nng_aio_wait(aios[i]);
		ck_assert_int_eq(nng_aio_result(aios[i]), SYN_ECLOSED);
		ck_assert_syn_rc(syn_aio_result(aios[i], NULL), SYN_ECLOSED);
		nng_aio_free(aios[i]);
	}
	ck_assert_int_eq(atomic_load(&th_cleanups), THREADS + FUTURES + AIOS);
	ck_assert_int_eq(atomic_load(&th_calls), 0);
}
END_TEST

/* After destroy, every function given the handle says SYN_ECLOSED. */
START_TEST(use_after_destroy_is_closed)
{
	syn_synchronizer s = th_new();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	syn_value   arg = syn_int(1);
	syn_future *f   = (syn_future *) &arg;
	char        url[128];
	ck_assert_syn_rc(syn_call(s, "square_now", &arg, 1, NULL), SYN_ECLOSED);
	ck_assert_syn_rc(
	    syn_call_future(s, "square_now", &arg, 1, &f), SYN_ECLOSED);
	ck_assert_ptr_null(f);
	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_call_aio(s, "square_now", &arg, 1, aio);
	nng_aio_wait(aio);
	ck_assert_int_eq(nng_aio_result(aio), SYN_ECLOSED);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_ECLOSED);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "closed"));
	nng_aio_free(aio);
	syn_func_def def = { "x", SYN_KIND_FUNCTION, NULL, NULL };
	ck_assert_syn_rc(syn_register(s, &def), SYN_EINVAL);
	ck_assert_syn_rc(syn_synchronizer_close(s), SYN_ECLOSED);
	ck_assert_syn_rc(syn_synchronizer_destroy(s), SYN_ECLOSED);
	ck_assert_syn_rc(
	    syn_synchronizer_url(s, url, sizeof(url)), SYN_ECLOSED);
	/* A new synchronizer does not revive the old handle. */
	syn_synchronizer t = th_new();
	ck_assert_int_ne(t.id, s.id);
	ck_assert_syn_rc(syn_call(s, "square_now", &arg, 1, NULL), SYN_ECLOSED);
	ck_assert_syn_ok(syn_synchronizer_destroy(t));
}
END_TEST

/* close: idempotent, refuses new calls, lets calls in flight finish. */
START_TEST(close_lets_calls_in_flight_finish)
{
	syn_synchronizer s = th_new();
	syn_future      *f;
	syn_value        arg = syn_int(3);
	ck_assert_syn_ok(syn_call_future(s, "square", &arg, 1, &f));
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_synchronizer_close(s));
	ck_assert_syn_ok(syn_synchronizer_close(s));
	ck_assert_msg(th_now_ms() - t0 < D_MS / 2, "close blocked");
	ck_assert_syn_rc(syn_call(s, "square_now", &arg, 1, NULL), SYN_ECLOSED);
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_int_eq(v->as.i, 9);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static int
destroy_self(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	*ret = syn_int(syn_synchronizer_destroy(syn_task_synchronizer(t)));
	return 0;
}

/* Destroy from the synchronizer's own thread is SYN_EDEADLK; from another
 * synchronizer's task it works. */
START_TEST(destroy_from_tasks)
{
	syn_synchronizer a = th_new(), b = th_new();
	th_register(a, "destroy_self", destroy_self, NULL);
	ck_assert_int_eq(th_call_int(a, "destroy_self", 0), SYN_EDEADLK);
	ck_assert_int_eq(th_call_int(a, "destroy", b.id), 0);
	syn_value arg = syn_int(1);
	ck_assert_syn_rc(syn_call(b, "square_now", &arg, 1, NULL), SYN_ECLOSED);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
}
END_TEST

START_TEST(config_is_checked)
{
	syn_synchronizer s;
	syn_config       c = { 0 };
	ck_assert_syn_rc(syn_synchronizer_new(NULL, NULL), SYN_EINVAL);
	c.name = "";
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c.name = "a name that is far too long for a synchronizer to carry, "
	         "really, even for a thread name it would be";
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c            = (syn_config) { 0 };
	c.stack_size = 1024;
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c         = (syn_config) { 0 };
	c.spin_us = -5;
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c           = (syn_config) { 0 };
	c.max_depth = 100;
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c     = (syn_config) { 0 };
	c.url = "nonsense";
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c.url = "tcp://127.0.0.1:0";
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c.url = "inproc://";
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	c.url     = "inproc://fine";
	c.no_door = true; /* an address for no door (was ignored) */
	ck_assert_syn_rc(syn_synchronizer_new(&s, &c), SYN_EINVAL);
	ck_assert_int_eq(s.id, 0);
}
END_TEST

START_TEST(urls_and_names)
{
	syn_config       c = { .name = "db", .url = "inproc://lifecycle-test" };
	syn_synchronizer s = th_new_cfg(&c), t;
	char             url[64];
	ck_assert_syn_ok(syn_synchronizer_url(s, url, sizeof(url)));
	ck_assert_str_eq(url, "inproc://lifecycle-test");
	ck_assert_syn_rc(syn_synchronizer_url(s, url, 4), SYN_EINVAL);
	ck_assert_syn_rc(syn_synchronizer_new(&t, &c), SYN_EADDRINUSE);
	syn_value arg = syn_int(1);
	ck_assert_syn_rc(syn_call(s, "nope", &arg, 1, NULL), SYN_ENOENT);
	ck_assert_str_eq(syn_last_error()->where, "db");

	syn_config       nodoor = { .no_door = true,
		      .spin_us               = SYN_SPIN_OFF,
		      .stack_size            = 64 * 1024 };
	syn_synchronizer n      = th_new_cfg(&nodoor);
	ck_assert_syn_rc(syn_synchronizer_url(n, url, sizeof(url)), SYN_ENOENT);
	ck_assert_int_eq(th_call_int(n, "square_now", 4), 16);
	syn_synchronizer d = th_new();
	ck_assert_syn_ok(syn_synchronizer_url(d, url, sizeof(url)));
	ck_assert_ptr_nonnull(strstr(url, "inproc://"));
	/* A user's address that is the next default one: the next
	 * synchronizer asked for none, and gets another. */
	char taken[64];
	snprintf(taken, sizeof(taken), "inproc://synchronicity/%u", d.id + 2);
	syn_config       squat = { .url = taken };
	syn_synchronizer x     = th_new_cfg(&squat);
	syn_synchronizer z     = th_new();
	ck_assert_uint_eq(z.id, d.id + 2); /* (ids go round in order) */
	ck_assert_syn_ok(syn_synchronizer_url(z, url, sizeof(url)));
	ck_assert_str_ne(url, taken);
	ck_assert_int_eq(th_call_int(z, "square_now", 5), 25);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_ok(syn_synchronizer_destroy(n));
	ck_assert_syn_ok(syn_synchronizer_destroy(d));
	ck_assert_syn_ok(syn_synchronizer_destroy(x));
	ck_assert_syn_ok(syn_synchronizer_destroy(z));
}
END_TEST

/* use_aio(): makes an aio and frees it (nng starts). */
static int
use_aio(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	nng_aio *aio;
	int      rc = syn_aio_alloc(t, &aio);
	if (rc == 0) {
		syn_aio_free(t, aio);
	}
	return rc;
}

/*
 * A process whose only use of nng was an aio that a task made (its
 * synchronizer has no door) forks: in the child a synchronizer with a
 * door is refused with SYN_EFORK, as after any other use of nng. (Only
 * doors and connections were noted, so nng aborted the child: found by
 * review.)
 */
START_TEST(fork_after_an_aio_only)
{
	syn_config       nodoor = { .no_door = true };
	syn_synchronizer s      = th_new_cfg(&nodoor);
	th_register(s, "use_aio", use_aio, NULL);
	ck_assert_syn_ok(syn_call(s, "use_aio", NULL, 0, NULL));
	usleep(50000); /* (see fork_child_gets_clear_errors) */
	pid_t pid = fork();
	if (pid == 0) {
		syn_synchronizer c;
		int              rc = syn_synchronizer_new(&c, NULL);
		_exit(rc == SYN_EFORK ? 0 : 1);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child: %s %d", WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* In a forked child the parent's synchronizers are SYN_EFORK; new ones
 * work without a door (nng itself refuses sockets after fork). */
static int
child_checks(syn_synchronizer parents, syn_future *pending, syn_future *done,
    syn_iter *it)
{
	if (syn_iter_next(it, NULL) != SYN_EFORK ||
	    syn_iter_close(it) != SYN_EFORK) { /* (left alone) */
		return 10;
	}
	syn_value        arg = syn_int(3);
	const syn_value *v;
	if (syn_future_poll(pending) != SYN_EFORK ||
	    syn_future_wait(pending) != SYN_EFORK ||
	    syn_future_wait_timeout(pending, 10) != SYN_EFORK) {
		return 7; /* it would never complete here */
	}
	/* (a complete one is the parent's too: its lock may be held) */
	size_t index;
	if (syn_future_poll(done) != SYN_EFORK ||
	    syn_future_value(done, &v) != SYN_EFORK ||
	    syn_future_error(done)->code != SYN_EFORK ||
	    syn_future_error(pending)->code != SYN_EFORK ||
	    syn_future_wait_all(&done, 1, SYN_DURATION_ZERO) != SYN_EFORK ||
	    syn_future_wait_any(&done, 1, SYN_DURATION_ZERO, &index) !=
	        SYN_EFORK ||
	    syn_future_cancel(done) != SYN_EFORK) {
		return 9;
	}
	syn_future_free(done); /* (left alone) */
	if (syn_call(parents, "square_now", &arg, 1, NULL) != SYN_EFORK) {
		return 1;
	}
	syn_stats st;
	if (syn_synchronizer_stats(parents, &st) != SYN_EFORK) {
		return 8;
	}
	if (syn_synchronizer_destroy(parents) != SYN_EFORK) {
		return 2;
	}
	syn_synchronizer s;
	if (syn_synchronizer_new(&s, NULL) != SYN_EFORK) {
		return 3;
	}
	syn_config c = { .no_door = true };
	if (syn_synchronizer_new(&s, &c) != 0) {
		return 4;
	}
	th_register_std(s);
	syn_result res = SYN_RESULT_INIT;
	if (syn_call(s, "square_now", &arg, 1, &res) != 0 ||
	    res.value.as.i != 9) {
		return 5;
	}
	return syn_synchronizer_destroy(s) == 0 ? 0 : 6;
}

START_TEST(fork_child_gets_clear_errors)
{
	syn_synchronizer s = th_new();
	ck_assert_int_eq(th_call_int(s, "square_now", 2), 4);
	syn_future *pending, *done;
	syn_value   long_sleep = syn_int(20 * D_MS);
	ck_assert_syn_ok(
	    syn_call_future(s, "sleep_ms", &long_sleep, 1, &pending));
	syn_value two = syn_int(2);
	ck_assert_syn_ok(syn_call_future(s, "square_now", &two, 1, &done));
	ck_assert_syn_ok(syn_future_wait(done));
	syn_func_def g = { "count", SYN_KIND_GENERATOR, th_count_gen, NULL };
	ck_assert_syn_ok(syn_register(s, &g));
	syn_value ten = syn_int(10);
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(s, "count", &ten, 1, NULL, &it));
	ck_assert_syn_ok(syn_iter_next(it, NULL));
	/* Let the actor finish its bookkeeping first: AddressSanitizer's
	 * allocator (gcc 12) is not fork-safe, and a child forked while
	 * another thread holds its lock deadlocks in its first malloc. */
	usleep(50000);
	pid_t pid = fork();
	if (pid == 0) {
		_exit(child_checks(s, pending, done, it));
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child died");
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(th_call_int(s, "square_now", 3), 9);
	syn_future_cancel(pending);
	ck_assert_syn_rc(syn_future_wait(pending), SYN_ECANCELED);
	syn_future_free(pending);
	const syn_value *v; /* (the parent's own stays as it was) */
	ck_assert_syn_ok(syn_future_value(done, &v));
	ck_assert_int_eq(v->as.i, 4);
	syn_future_free(done);
	ck_assert_syn_ok(syn_iter_next(it, NULL)); /* the parent's goes on */
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Many synchronizers side by side, created and destroyed repeatedly. */
START_TEST(many_synchronizers)
{
	enum { N = 32 };
	syn_synchronizer ss[N];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			ss[i] = th_new();
		}
		for (int i = 0; i < N; i++) {
			ck_assert_int_eq(
			    th_call_int(ss[i], "square_now", i), i * i);
		}
		for (int i = 0; i < N; i++) {
			ck_assert_syn_ok(syn_synchronizer_destroy(ss[i]));
		}
	}
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("destroy_in_flight", destroy_with_calls_in_flight),
		TH_CASE("destroy_iterators", destroy_with_iterators_read),
		TH_CASE("after_destroy", use_after_destroy_is_closed),
		TH_CASE("close", close_lets_calls_in_flight_finish),
		TH_CASE("destroy_from_tasks", destroy_from_tasks),
		TH_CASE("config", config_is_checked),
		TH_CASE("urls_names", urls_and_names),
		TH_CASE("fork", fork_child_gets_clear_errors),
		TH_CASE("fork_after_aio", fork_after_an_aio_only),
		TH_CASE("many", many_synchronizers),
	};
	return TH_SUITE("lifecycle", cases);
}
