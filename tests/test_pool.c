/*
 * Offloading blocking work: syn_run_blocking() runs a blocking function
 * on the pool and suspends only the task (the seed's "opposite case").
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* While set, no thread can be started in this process (the pool's
 * threads included): pthread_create fails as at a thread limit. */
static atomic_int no_threads;

int
pthread_create(
    pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*real)(
	    pthread_t *, const pthread_attr_t *, void *(*) (void *), void *);
	if (real == NULL) {
		*(void **) &real = dlsym(RTLD_NEXT, "pthread_create");
	}
	return atomic_load(&no_threads) ? EAGAIN : real(th, attr, fn, arg);
}

static atomic_int jobs_done;

/* A blocking job: sleeps the milliseconds arg points to. */
static int
nap(void *arg)
{
	usleep((useconds_t) (*(int64_t *) arg * 1000));
	atomic_fetch_add(&jobs_done, 1);
	return (int) *(int64_t *) arg > 1000 ? SYN_EUSER(5) : 0;
}

/* offload(ms): runs nap(ms) on the pool; returns ms. */
static int
offload(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t *ms = syn_task_alloc(t, sizeof(*ms));
	int      rc = syn_unpack(t, args, nargs, "i", ms);
	if (rc != 0 || (rc = syn_run_blocking(t, nap, ms)) != 0) {
		return rc == SYN_EUSER(5) ? syn_raise(t, rc, "nap too long")
		                          : rc;
	}
	*ret = syn_int(*ms);
	return 0;
}

static syn_synchronizer
pool_sync(void)
{
	syn_synchronizer s = th_new();
	th_register(s, "offload", offload, NULL);
	atomic_store(&jobs_done, 0);
	return s;
}

/* Four blocking jobs of 0.2 to 0.3 s offloaded together: under 0.5 s. */
START_TEST(four_jobs_run_together)
{
	syn_synchronizer s     = pool_sync();
	int64_t          ms[4] = { 200, 250, 300, 300 };
	syn_future      *fs[4];
	double           t0 = th_now_ms();
	for (int i = 0; i < 4; i++) {
		syn_value a = syn_int(ms[i]);
		ck_assert_syn_ok(syn_call_future(s, "offload", &a, 1, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, 4, SYN_DURATION_INFINITE));
	double took = th_now_ms() - t0;
	for (int i = 0; i < 4; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, ms[i]);
		syn_future_free(fs[i]);
	}
	ck_assert_msg(took >= 299 && took < 500, "took %.1f ms", took);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* While a job blocks a pool thread, the synchronizer serves calls. */
START_TEST(actor_serves_meanwhile)
{
	syn_synchronizer s = pool_sync();
	syn_value        a = syn_int(300);
	syn_future      *f;
	ck_assert_syn_ok(syn_call_future(s, "offload", &a, 1, &f));
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(s, "square_now", 7), 49);
	ck_assert_msg(th_now_ms() - t0 < 100, "the actor was blocked");
	ck_assert_syn_ok(syn_future_wait(f));
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The job's result is the call's; a cancel waits for the job. */
START_TEST(results_and_cancel)
{
	syn_synchronizer s = pool_sync();
	syn_value        a = syn_int(1001);
	ck_assert_syn_rc(syn_call(s, "offload", &a, 1, NULL), SYN_EUSER(5));
	ck_assert_str_eq(syn_last_error()->message, "nap too long");
	a = syn_int(200);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "offload", &a, 1, &f));
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 >= 150, "the cancel did not wait");
	ck_assert_int_eq(atomic_load(&jobs_done), 2);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static atomic_int misuse_rc;

static int
misuse(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	atomic_store(&misuse_rc, syn_run_blocking(t, NULL, NULL));
	return 0;
}

/* Misuse gets clear errors; destroy waits for a job in flight. */
START_TEST(misuse_and_destroy)
{
	syn_synchronizer s = pool_sync();
	th_register(s, "misuse", misuse, NULL);
	ck_assert_syn_ok(syn_call(s, "misuse", NULL, 0, NULL));
	ck_assert_int_eq(atomic_load(&misuse_rc), SYN_EINVAL);
	int64_t ms = 1;
	ck_assert_int_eq(syn_run_blocking(NULL, nap, &ms), SYN_ESTATE);
	syn_value   a = syn_int(200);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "offload", &a, 1, &f));
	usleep(20000);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_int_eq(atomic_load(&jobs_done), 1); /* it waited */
	int rc = syn_future_wait(f);
	ck_assert_msg(rc == SYN_ECLOSED || rc == SYN_ECANCELED, "got %s",
	    syn_errname(rc));
	syn_future_free(f);
}
END_TEST

/*
 * Sixteen blocking jobs (the pool's limit) each destroy a synchronizer
 * whose task waits for a job of its own, queued behind them: a job that
 * waits in destroy must not hold a pool thread, or nothing runs again.
 */
#define DESTROYERS 16
static syn_synchronizer victims[DESTROYERS];

static int
destroy_victim(void *arg)
{
	usleep(100000);
	return syn_synchronizer_destroy(victims[*(int64_t *) arg]);
}

static int
destroyer(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t *i  = syn_task_alloc(t, sizeof(*i));
	int      rc = syn_unpack(t, args, nargs, "i", i);
	return rc != 0 ? rc : syn_run_blocking(t, destroy_victim, i);
}

START_TEST(destroy_from_jobs)
{
	syn_synchronizer m = pool_sync();
	th_register(m, "destroyer", destroyer, NULL);
	syn_future *fd[DESTROYERS], *fv[DESTROYERS];
	for (int i = 0; i < DESTROYERS; i++) {
		victims[i] = pool_sync();
	}
	for (int i = 0; i < DESTROYERS; i++) {
		syn_value a = syn_int(i);
		ck_assert_syn_ok(
		    syn_call_future(m, "destroyer", &a, 1, &fd[i]));
	}
	usleep(30000); /* the destroyers' jobs hold the pool, sleeping */
	for (int i = 0; i < DESTROYERS; i++) {
		syn_value a = syn_int(10);
		ck_assert_syn_ok(
		    syn_call_future(victims[i], "offload", &a, 1, &fv[i]));
	}
	for (int i = 0; i < DESTROYERS; i++) {
		ck_assert_syn_ok(syn_future_wait_timeout(fd[i], 5000));
		syn_future_free(fd[i]);
		int rc = syn_future_wait_timeout(fv[i], 5000);
		ck_assert_msg(
		    rc == 0 || rc == SYN_ECLOSED || rc == SYN_ECANCELED,
		    "got %s", syn_errname(rc));
		syn_future_free(fv[i]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(m));
}
END_TEST

/* ---- when no thread can be started ------------------------------------
 */

static atomic_int job_a_started, job_a_go;

static int
nothing_job(void *arg)
{
	(void) arg;
	return 0;
}

/* run_nothing(): runs an empty job on the pool. */
static int
run_nothing(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	(void) ret;
	return syn_run_blocking(t, nothing_job, NULL);
}

/* The pool's only thread, from here on: a blocking call of
 * run_nothing() on the synchronizer arg names, waiting for a job. */
static int
call_from_job(void *arg)
{
	atomic_store(&no_threads, 1);
	return syn_call(
	    *(syn_synchronizer *) arg, "run_nothing", NULL, 0, NULL);
}

/* A blocking call of square (which sleeps: the thread blocks), once
 * job_a_go is set. */
static int
job_a(void *arg)
{
	atomic_store(&no_threads, 1);
	atomic_store(&job_a_started, 1);
	while (!atomic_load(&job_a_go)) {
		usleep(1000);
	}
	syn_value x = syn_int(2);
	return syn_call(*(syn_synchronizer *) arg, "square", &x, 1, NULL);
}

/* on_pool(which): runs call_from_job (0) or job_a (1) on the pool. */
static int
on_pool(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t           which;
	syn_synchronizer *self = syn_task_alloc(t, sizeof(*self));
	int               rc   = syn_unpack(t, args, nargs, "i", &which);
	if (rc == 0) {
		*self = syn_task_synchronizer(t);
		rc = syn_run_blocking(t, which ? job_a : call_from_job, self);
	}
	return rc;
}

static syn_synchronizer
starved_sync(void)
{
	syn_synchronizer s = th_new();
	th_register(s, "run_nothing", run_nothing, NULL);
	th_register(s, "on_pool", on_pool, NULL);
	atomic_store(&no_threads, 0);
	atomic_store(&job_a_started, 0);
	atomic_store(&job_a_go, 0);
	return s;
}

/*
 * A job's blocking call waits for a job of its own while no thread can
 * be started and the pool's only thread is the one waiting: the second
 * job is refused with SYN_ENOMEM (it was queued, and both waited for
 * good: found by review).
 */
START_TEST(no_thread_for_a_job)
{
	syn_synchronizer s   = starved_sync();
	syn_value        one = syn_int(0);
	syn_future      *f;
	ck_assert_syn_ok(syn_call_future(s, "on_pool", &one, 1, &f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 10000), SYN_ENOMEM);
	syn_future_free(f);
	atomic_store(&no_threads, 0);
	ck_assert_syn_ok(syn_call(s, "run_nothing", NULL, 0, NULL));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * A job queued while the pool's only thread ran another, and no thread
 * could be started, comes back unrun with SYN_ENOMEM once that thread
 * blocks (a call of it may wait for the queued job: nothing would run
 * it); the blocking call goes on.
 */
START_TEST(queued_job_unrun)
{
	syn_synchronizer s   = starved_sync();
	syn_value        a   = syn_int(1);
	syn_result       res = SYN_RESULT_INIT;
	syn_future      *fa, *fb;
	ck_assert_syn_ok(syn_call_future(s, "on_pool", &a, 1, &fa));
	double t0 = th_now_ms();
	while (!atomic_load(&job_a_started)) {
		ck_assert_msg(th_now_ms() - t0 < 10000, "job A did not start");
		usleep(1000);
	}
	ck_assert_syn_ok(syn_call_future(s, "run_nothing", NULL, 0, &fb));
	ck_assert_syn_rc(syn_future_wait_timeout(fb, 200), SYN_ETIMEDOUT);
	atomic_store(&job_a_go, 1); /* B waits in the queue by now */
	ck_assert_syn_rc(syn_future_wait_timeout(fb, 10000), SYN_ENOMEM);
	ck_assert_str_eq(syn_future_error(fb)->message,
	    "no thread was left to run the blocking job");
	ck_assert_syn_ok(syn_future_wait_timeout(fa, 10000));
	syn_future_free(fa);
	syn_future_free(fb);
	atomic_store(&no_threads, 0);
	ck_assert_syn_ok(syn_call(s, "run_nothing", NULL, 0, &res));
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The synchronizer that nested_job calls, and the highest number of
 * counted_job running at once. */
static syn_synchronizer nest_sync;
static atomic_int       counted_now, counted_max;

/* A pool job that calls offload(50) and so waits for a job of its own. */
static int
nested_job(void *unused)
{
	(void) unused;
	syn_value ms = syn_int(50);
	return syn_call(nest_sync, "offload", &ms, 1, NULL);
}

/* A pool job of 100 ms that counts how many such run at once. */
static int
counted_job(void *unused)
{
	(void) unused;
	int now = atomic_fetch_add(&counted_now, 1) + 1;
	int max = atomic_load(&counted_max);
	while (now > max &&
	    !atomic_compare_exchange_weak(&counted_max, &max, now)) { }
	usleep(100000);
	atomic_fetch_sub(&counted_now, 1);
	return 0;
}

/* Which job run_on_pool runs (its userdata). */
typedef struct job_ref {
	int (*fn)(void *);
} job_ref;

static const job_ref nested_ref  = { nested_job };
static const job_ref counted_ref = { counted_job };

static int
run_on_pool(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	(void) ret;
	const job_ref *job = syn_task_userdata(t);
	return syn_run_blocking(t, job->fn, NULL);
}

/*
 * At most 16 jobs run at once, also once jobs that waited for calls made
 * the pool start more threads than that (each thread took any queued job:
 * 32 ran at once; found by review).
 */
START_TEST(at_most_16_running)
{
	enum { NESTED = 40, COUNTED = 32 };
	syn_synchronizer s = pool_sync();
	nest_sync          = s;
	th_register(s, "call_in_job", run_on_pool, (void *) &nested_ref);
	th_register(s, "counted", run_on_pool, (void *) &counted_ref);
	syn_future *fs[NESTED];
	for (int i = 0; i < NESTED; i++) {
		ck_assert_syn_ok(
		    syn_call_future(s, "call_in_job", NULL, 0, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, NESTED, 20000));
	for (int i = 0; i < NESTED; i++) {
		ck_assert_syn_ok(syn_future_poll(fs[i]));
		syn_future_free(fs[i]);
	}
	atomic_store(&counted_max, 0);
	for (int i = 0; i < COUNTED; i++) {
		ck_assert_syn_ok(
		    syn_call_future(s, "counted", NULL, 0, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, COUNTED, 20000));
	for (int i = 0; i < COUNTED; i++) {
		syn_future_free(fs[i]);
	}
	int most = atomic_load(&counted_max);
	ck_assert_int_le(most, 16);
	ck_assert_int_ge(most, 2);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("four_together", four_jobs_run_together),
		TH_CASE("serves_meanwhile", actor_serves_meanwhile),
		TH_CASE("results_cancel", results_and_cancel),
		TH_CASE("misuse_destroy", misuse_and_destroy),
		TH_CASE("destroy_from_jobs", destroy_from_jobs),
		TH_CASE("no_thread_for_a_job", no_thread_for_a_job),
		TH_CASE("queued_job_unrun", queued_job_unrun),
		TH_CASE("at_most_16_running", at_most_16_running),
	};
	return TH_SUITE("pool", cases);
}
